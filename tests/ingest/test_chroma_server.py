"""Ingest into a real Chroma server (`chroma run`) and query it through the index snapshot."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pdf_factory import make_pdf, sample_rules_pages

from ingest.index_store import ChromaConfig, IndexSnapshot
from ingest.pipeline import Ingestor

if TYPE_CHECKING:
    from fakes import FakeEmbedder  # annotations only: fixtures supply the objects

pytestmark = pytest.mark.integration

STARTUP_TIMEOUT_S = 30
PREFIX = "handbook-test"


@dataclass
class ChromaServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    def client(self):  # type: ignore[no-untyped-def]
        import chromadb
        from chromadb.config import Settings

        return chromadb.HttpClient(host=self.host, port=self.port, settings=Settings(anonymized_telemetry=False))

    def collection_names(self) -> set[str]:
        return {getattr(c, "name", c) for c in self.client().list_collections()}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _heartbeat(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def chroma_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChromaServer]:
    binary = Path(sys.executable).parent / "chroma"
    if not binary.exists():
        pytest.skip(f"chroma server binary not found at {binary}")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    host, port = "127.0.0.1", _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    process = subprocess.Popen(
        [str(binary), "run", "--host", host, "--port", str(port), "--path", str(tmp_path / "chroma-data")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://{host}:{port}/api/v2/heartbeat"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _heartbeat(url):
            if process.poll() is not None:
                pytest.fail(
                    f"chroma server exited with {process.returncode}: {(tmp_path / 'chroma.log').read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"chroma server not answering {url} after {STARTUP_TIMEOUT_S} s")
            time.sleep(0.2)
        yield ChromaServer(host, port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        with contextlib.suppress(Exception):
            log.close()


def _ingestor(index_dir: Path, embedder: FakeEmbedder, server: ChromaServer) -> Ingestor:
    config = ChromaConfig(host=server.host, port=server.port, collection_prefix=PREFIX)
    return Ingestor(index_dir, embedder, chroma=config, progress=False)


def test_ingest_into_chroma_server_and_query(
    tmp_path: Path, chroma_server: ChromaServer, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "pdfs"
    make_pdf(folder / "rules.pdf", sample_rules_pages())
    make_pdf(folder / "other-rules.pdf", sample_rules_pages(" This copy has one more sentence."))
    index_dir = tmp_path / "index"

    report = _ingestor(index_dir, fake_embedder, chroma_server).run([folder])
    assert report.switched and not report.failed
    snap = IndexSnapshot.open(index_dir)
    assert snap.meta.chroma.host == chroma_server.host
    assert snap.meta.chroma.port == chroma_server.port
    assert snap.meta.chroma.collection.startswith(f"{PREFIX}-gen-")
    assert not (snap.directory / "chroma").exists()  # vectors live on the server only

    collection = snap.collection()
    assert collection.count() == len(snap.chunks)
    target = next(c for c in snap.chunks if c.doc_id == "rules" and c.ref == "Rule 4")
    result = collection.query(query_embeddings=fake_embedder.encode([target.embedding_text()]), n_results=3)
    assert result["ids"][0][0] == target.id
    assert result["metadatas"][0][0]["doc_id"] == "rules"
    assert result["documents"][0][0] == target.text
    assert snap.meta.chroma.collection in chroma_server.collection_names()


def test_reingest_deletes_old_collections_from_the_server(
    tmp_path: Path, chroma_server: ChromaServer, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "pdfs"
    index_dir = tmp_path / "index"
    collections = []
    for revision in ("", " First revision.", " Second revision."):
        make_pdf(folder / "rules.pdf", sample_rules_pages(revision))
        report = _ingestor(index_dir, fake_embedder, chroma_server).run([folder])
        assert report.switched
        collections.append(IndexSnapshot.open(index_dir).meta.chroma.collection)
    assert len(set(collections)) == 3

    names = {n for n in chroma_server.collection_names() if n.startswith(PREFIX)}
    # The live collection and the one before it (kept for readers) remain; older ones are deleted.
    assert names == {collections[1], collections[2]}
    assert collections[0] not in names

    # An unchanged re-ingest creates nothing on the server.
    report = _ingestor(index_dir, fake_embedder, chroma_server).run([folder])
    assert not report.switched
    assert {n for n in chroma_server.collection_names() if n.startswith(PREFIX)} == names
    snap = IndexSnapshot.open(index_dir)
    assert snap.collection().count() == len(snap.chunks)


def test_failed_write_drops_the_partial_collection(
    tmp_path: Path, chroma_server: ChromaServer, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pdfs"
    index_dir = tmp_path / "index"
    make_pdf(folder / "rules.pdf", sample_rules_pages())
    _ingestor(index_dir, fake_embedder, chroma_server).run([folder])
    live = IndexSnapshot.open(index_dir).meta.chroma.collection

    def fail_meta(*args: object, **kwargs: object) -> None:
        raise OSError("disk full (simulated)")

    # Chroma is written, then the step after it fails: the new collection must not stay behind.
    make_pdf(folder / "rules.pdf", sample_rules_pages(" Changed."))
    with monkeypatch.context() as patch, pytest.raises(OSError, match="simulated"):
        patch.setattr("ingest.index_store._fsync_tree", fail_meta)
        _ingestor(index_dir, fake_embedder, chroma_server).run([folder])

    assert {n for n in chroma_server.collection_names() if n.startswith(PREFIX)} == {live}
    snap = IndexSnapshot.open(index_dir)
    assert snap.meta.chroma.collection == live
    assert snap.collection().count() == len(snap.chunks)


def test_collection_of_a_killed_ingest_is_deleted_later(
    tmp_path: Path, chroma_server: ChromaServer, fake_embedder: FakeEmbedder
) -> None:
    """A kill -9 after the Chroma write leaves a gen-* folder without meta.json and its collection."""
    folder = tmp_path / "pdfs"
    index_dir = tmp_path / "index"
    make_pdf(folder / "rules.pdf", sample_rules_pages())
    _ingestor(index_dir, fake_embedder, chroma_server).run([folder])

    stray = "gen-20000101-000000-dead01"
    (index_dir / stray).mkdir()
    (index_dir / stray / "chunks.jsonl").write_text("")
    orphan = f"{PREFIX}-{stray}"
    chroma_server.client().create_collection(orphan, embedding_function=None)
    assert orphan in chroma_server.collection_names()

    make_pdf(folder / "rules.pdf", sample_rules_pages(" Changed."))
    assert _ingestor(index_dir, fake_embedder, chroma_server).run([folder]).switched
    assert not (index_dir / stray).exists()
    assert orphan not in chroma_server.collection_names()
