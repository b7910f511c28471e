"""Page rendering with pypdfium2 and the /pdf route that serves indexed PDFs only."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.app.pdf_pages import PageRenderer, SourceDocuments, SourceNotFound, add_pdf_route
from ingest.records import DocumentInfo


def _info(doc_id: str, path: Path | str) -> DocumentInfo:
    return DocumentInfo(
        id=doc_id, title=doc_id, kind="binding-standard", sha256="ab" * 32, pages=2, chunks=1, source_path=str(path)
    )


@pytest.fixture
def two_page_pdf(tmp_path: Path) -> Path:
    from pdf_factory import make_pdf

    return make_pdf(
        tmp_path / "corpus" / "rules.pdf", [["Rule 1", "First page text."], ["Rule 2", "Second page text."]]
    )


@pytest.mark.unit
def test_renders_a_page_to_png_once_and_caches_it(tmp_path: Path, two_page_pdf: Path) -> None:
    from PIL import Image

    renderer = PageRenderer(tmp_path / "cache", scale=1.5)
    first = renderer.render(two_page_pdf, 2)
    assert first.parent == tmp_path / "cache" and first.suffix == ".png"
    with Image.open(first) as image:
        # A4 is 595 x 842 points; at scale 1.5 that is about 893 x 1263 pixels.
        assert abs(image.width - 893) <= 2 and abs(image.height - 1263) <= 2
        darkest, _ = image.convert("L").getextrema()
        assert isinstance(darkest, int) and darkest < 128  # some dark (text) pixels, not a blank page
    mtime = first.stat().st_mtime_ns
    again = renderer.render(two_page_pdf, 2)
    assert again == first and again.stat().st_mtime_ns == mtime  # served from the cache
    assert renderer.render(two_page_pdf, 1) != first
    assert not list((tmp_path / "cache").glob("*.tmp"))


@pytest.mark.unit
def test_page_out_of_range_is_refused(tmp_path: Path, two_page_pdf: Path) -> None:
    renderer = PageRenderer(tmp_path / "cache")
    with pytest.raises(ValueError, match="has 2 pages, not 3"):
        renderer.render(two_page_pdf, 3)
    with pytest.raises(ValueError, match="pages start at 1"):
        renderer.render(two_page_pdf, 0)


@pytest.mark.unit
def test_sources_resolve_indexed_documents_only(tmp_path: Path, two_page_pdf: Path) -> None:
    moved = tmp_path / "elsewhere" / "rules.pdf"
    sources = SourceDocuments(
        {
            "rules": _info("rules", two_page_pdf),
            "moved": _info("moved", moved),
            "notes": _info("notes", tmp_path / "notes.txt"),
        },
        corpus_dir=two_page_pdf.parent,
    )
    assert sources.pdf_path("rules") == two_page_pdf
    assert sources.pdf_path("moved") == two_page_pdf  # found by name in the corpus folder
    with pytest.raises(SourceNotFound, match="not in the index"):
        sources.pdf_path("../../etc/passwd")
    (tmp_path / "notes.txt").write_text("not a pdf")
    with pytest.raises(SourceNotFound, match="PDF is missing"):
        sources.pdf_path("notes")


@pytest.mark.unit
def test_pdf_route_serves_indexed_pdfs_and_refuses_everything_else(tmp_path: Path, two_page_pdf: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    add_pdf_route(app, SourceDocuments({"rules": _info("rules", two_page_pdf)}))
    client = TestClient(app)
    ok = client.get("/pdf/rules")
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/pdf"
    assert ok.headers["content-disposition"].startswith("inline")
    assert ok.content == two_page_pdf.read_bytes()
    for path in ("/pdf/unknown", "/pdf/..%2F..%2Fetc%2Fpasswd", "/pdf/rules.pdf", f"/pdf/{two_page_pdf}"):
        assert client.get(path).status_code == 404, path


@pytest.mark.unit
def test_pdf_route_asks_the_login_guard(two_page_pdf: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    add_pdf_route(
        app,
        SourceDocuments({"rules": _info("rules", two_page_pdf)}),
        is_allowed=lambda request: "ok" in request.cookies,
    )
    client = TestClient(app)
    assert client.get("/pdf/rules").status_code == 401
    client.cookies.set("ok", "1")
    assert client.get("/pdf/rules").status_code == 200


@pytest.mark.unit
def test_a_planted_file_with_the_expected_name_is_never_served(tmp_path: Path, two_page_pdf: Path) -> None:
    import io

    from PIL import Image

    genuine = PageRenderer(tmp_path / "probe").render(two_page_pdf, 1)
    fake = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(fake, format="PNG")
    planted = fake.getvalue()
    cache = tmp_path / "cache"
    cache.mkdir()
    # The name the old shared cache used (the index's sha256 prefix) and the name used now.
    for name in ("ab" * 8 + "-p0001-x150.png", genuine.name):
        (cache / name).write_bytes(planted)
    renderer = PageRenderer(cache)
    shown = renderer.render(two_page_pdf, 1)
    assert shown.read_bytes() == genuine.read_bytes() != planted
    shown.write_bytes(planted)  # replaced after it was written: rendered again, not served
    assert renderer.render(two_page_pdf, 1).read_bytes() == genuine.read_bytes()
