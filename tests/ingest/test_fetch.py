"""Tests for ingest.fetch: mirror copies, verification, downloads from a local server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.corpus_manifest import CorpusDocument
from ingest.fetch import CorpusFetcher, FetchReport, default_mirror, sha256_file

PDF_A = b"%PDF-1.4\n% fake document A\n1 0 obj << >> endobj\n%%EOF\n"
PDF_B = b"%PDF-1.4\n% fake document B, a little longer\n1 0 obj << >> endobj\n%%EOF\n"
SERVER_LIFETIME_S = 30  # the test server shuts itself down after this, whatever happens


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _doc(
    doc_id: str, data: bytes | None = None, url: str = "https://example.invalid/x.pdf", **extra: object
) -> CorpusDocument:
    return CorpusDocument(
        **extra,  # type: ignore[arg-type]
        id=doc_id,
        title=f"Title of {doc_id}",
        publisher="Publisher",
        year=2020,
        kind="guidance",
        jurisdiction="International (UN)",
        source_url=url,
        sha256=_sha(data) if data is not None else "",
        reuse="public",
        local=True,
    )


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.endswith(".part"))


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment would intercept requests to the local test server.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow.pdf":
            time.sleep(1.5)  # longer than the fetcher's timeout in the test
            try:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(PDF_A)
            except OSError:
                pass  # the client has given up; that is the point of the test
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving a temp folder; yields (base_url, folder)."""
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    watchdog = threading.Timer(SERVER_LIFETIME_S, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.unit
def test_copies_from_mirror(tmp_path: Path) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    (mirror / "doc-a.pdf").write_bytes(PDF_A)
    (mirror / "doc-b.pdf").write_bytes(PDF_B)
    docs = [_doc("doc-a", PDF_A), _doc("doc-b", PDF_B)]

    report = CorpusFetcher(docs, dest, mirror, allow_download=False).fetch()

    assert isinstance(report, FetchReport)
    assert [r.status for r in report.results] == ["copied", "copied"]
    assert report.ok
    assert (dest / "doc-a.pdf").read_bytes() == PDF_A
    assert (dest / "doc-b.pdf").read_bytes() == PDF_B
    assert report.get("doc-a").path == dest / "doc-a.pdf"
    assert _leftovers(dest) == []
    assert report.summary() == "2 documents: 2 copied"


@pytest.mark.unit
def test_present_file_not_recopied(tmp_path: Path) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    dest.mkdir()
    (dest / "doc-a.pdf").write_bytes(PDF_A)
    (mirror / "doc-a.pdf").write_bytes(PDF_A)
    # No checksum recorded: whatever is in place is accepted, even if it differs.
    (dest / "doc-b.pdf").write_bytes(PDF_A)
    (mirror / "doc-b.pdf").write_bytes(PDF_B)
    before = {name: (dest / name).stat().st_mtime_ns for name in ("doc-a.pdf", "doc-b.pdf")}

    report = CorpusFetcher([_doc("doc-a", PDF_A), _doc("doc-b")], dest, mirror, allow_download=False).fetch()

    assert [r.status for r in report.results] == ["present", "present"]
    assert {name: (dest / name).stat().st_mtime_ns for name in before} == before
    assert (dest / "doc-b.pdf").read_bytes() == PDF_A


@pytest.mark.unit
def test_checksum_mismatch_rejected_and_not_left_on_disk(tmp_path: Path) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    (mirror / "doc-a.pdf").write_bytes(PDF_B)  # wrong content for the recorded hash

    report = CorpusFetcher([_doc("doc-a", PDF_A)], dest, mirror, allow_download=False).fetch()

    result = report.get("doc-a")
    assert result.status == "checksum-mismatch"
    assert result.path is None
    assert "doc-a.pdf" in result.message
    assert _sha(PDF_A)[:12] in result.message and _sha(PDF_B)[:12] in result.message
    assert "\n" not in result.message
    assert not (dest / "doc-a.pdf").exists()
    assert _leftovers(dest) == []
    assert not report.ok


@pytest.mark.unit
def test_wrong_existing_file_replaced_by_verified_copy(tmp_path: Path) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    dest.mkdir()
    (dest / "doc-a.pdf").write_bytes(PDF_B)
    (mirror / "doc-a.pdf").write_bytes(PDF_A)

    report = CorpusFetcher([_doc("doc-a", PDF_A)], dest, mirror, allow_download=False).fetch()

    assert report.get("doc-a").status == "copied"
    assert sha256_file(dest / "doc-a.pdf") == _sha(PDF_A)


@pytest.mark.unit
def test_missing_document_reported_while_others_fetched(tmp_path: Path) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    (mirror / "doc-a.pdf").write_bytes(PDF_A)
    (mirror / "doc-c.pdf").write_bytes(PDF_B)
    docs = [_doc("doc-a", PDF_A), _doc("doc-missing", PDF_B), _doc("doc-c", PDF_B)]

    report = CorpusFetcher(docs, dest, mirror, allow_download=False).fetch()

    assert [r.status for r in report.results] == ["copied", "missing", "copied"]
    missing = report.get("doc-missing")
    assert missing.path is None
    assert "not in mirror" in missing.message and "download disabled" in missing.message
    assert [r.id for r in report.problems] == ["doc-missing"]
    assert report.counts() == {"copied": 2, "missing": 1}


@pytest.mark.unit
def test_download_with_404_and_bad_content(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    base, served = http_root
    (served / "a.pdf").write_bytes(PDF_A)
    (served / "b.pdf").write_bytes(PDF_A)  # served content does not match doc-b's hash
    (served / "page.html").write_bytes(b"<html>Not the PDF you wanted</html>")
    dest = tmp_path / "dest"
    docs = [
        _doc("doc-a", PDF_A, url=f"{base}/a.pdf"),
        _doc("doc-404", PDF_A, url=f"{base}/nope.pdf"),
        _doc("doc-b", PDF_B, url=f"{base}/b.pdf"),
        _doc("doc-html", None, url=f"{base}/page.html", format="pdf"),  # an HTML error page where a PDF was due
        _doc("doc-nohash", None, url=f"{base}/a.pdf"),
    ]

    report = CorpusFetcher(docs, dest, mirror=None, timeout_s=5).fetch()

    status = {r.id: r.status for r in report.results}
    assert status == {
        "doc-a": "downloaded",
        "doc-404": "failed",
        "doc-b": "checksum-mismatch",
        "doc-html": "failed",
        "doc-nohash": "downloaded",
    }
    assert (dest / "doc-a.pdf").read_bytes() == PDF_A
    assert "HTTP 404" in report.get("doc-404").message
    assert "not a PDF" in report.get("doc-html").message
    for doc_id in ("doc-404", "doc-b", "doc-html"):
        assert not (dest / f"{doc_id}.pdf").exists()
    assert _leftovers(dest) == []


@pytest.mark.unit
def test_documents_of_other_formats_are_fetched_under_their_extension(
    tmp_path: Path, http_root: tuple[str, Path]
) -> None:
    base, served = http_root
    docx, page, notes = b"PK\x03\x04 a Word package", b"<!DOCTYPE html><p>Knives</p>", b"# Knives\n"
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    (mirror / "orders.docx").write_bytes(docx)
    for name, data in {"knives.html": page, "notes.md": notes, "error.md": page, "fake.docx": page}.items():
        (served / name).write_bytes(data)
    docs = [
        _doc("orders", docx, url=f"{base}/unused.docx"),
        _doc("knives", None, url=f"{base}/knives.html"),
        _doc("notes", None, url=f"{base}/notes.md"),
        _doc("error", None, url=f"{base}/error.md"),  # the server's HTML page instead of the Markdown file
        _doc("fake", None, url=f"{base}/fake.docx"),
    ]

    report = CorpusFetcher(docs, dest, mirror, timeout_s=5).fetch()

    assert {r.id: r.status for r in report.results} == {
        "orders": "copied", "knives": "downloaded", "notes": "downloaded", "error": "failed", "fake": "failed",
    }  # fmt: skip
    assert (dest / "orders.docx").read_bytes() == docx
    assert (dest / "knives.html").read_bytes() == page and (dest / "notes.md").read_bytes() == notes
    assert "not a Markdown file (an HTML page)" in report.get("error").message
    assert "not a DOCX (not a ZIP package)" in report.get("fake").message
    assert not (dest / "error.md").exists() and not (dest / "fake.docx").exists()
    assert _leftovers(dest) == []


@pytest.mark.unit
def test_mirror_preferred_then_download_fallback(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    base, served = http_root
    (served / "b.pdf").write_bytes(PDF_B)
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    (mirror / "doc-a.pdf").write_bytes(PDF_A)
    docs = [_doc("doc-a", PDF_A, url=f"{base}/absent.pdf"), _doc("doc-b", PDF_B, url=f"{base}/b.pdf")]

    report = CorpusFetcher(docs, dest, mirror, timeout_s=5).fetch()

    assert [r.status for r in report.results] == ["copied", "downloaded"]


@pytest.mark.unit
def test_download_timeout_fails_cleanly(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    dest = tmp_path / "dest"

    report = CorpusFetcher([_doc("doc-slow", PDF_A, url=f"{base}/slow.pdf")], dest, None, timeout_s=0.3).fetch()

    result = report.get("doc-slow")
    assert result.status == "failed"
    assert "timed out" in result.message
    assert not (dest / "doc-slow.pdf").exists()
    assert _leftovers(dest) == []


@pytest.mark.unit
def test_unreachable_host_fails_without_aborting(tmp_path: Path) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    (mirror / "doc-a.pdf").write_bytes(PDF_A)
    # Port 9 on localhost: nothing listens, so the connection is refused at once.
    docs = [_doc("doc-x", PDF_B, url="http://127.0.0.1:9/x.pdf"), _doc("doc-a", PDF_A)]

    report = CorpusFetcher(docs, dest, mirror, timeout_s=2).fetch()

    assert [r.status for r in report.results] == ["failed", "copied"]
    assert "cannot download" in report.get("doc-x").message


@pytest.mark.unit
def test_sha256_file_reads_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = b"x" * (3 * 1024 * 1024 + 17)  # spans several 1 MiB blocks
    path.write_bytes(data)
    assert sha256_file(path) == _sha(data)


@pytest.mark.unit
def test_default_mirror(tmp_path: Path) -> None:
    repo_root = tmp_path / "main"
    repo_root.mkdir()
    assert default_mirror(repo_root) is None
    shared = tmp_path / "shared" / "corpus"
    shared.mkdir(parents=True)
    assert default_mirror(repo_root) == shared
