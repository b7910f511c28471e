"""An index with the vectors of two embedding models: stored per model, reused per model by chunk id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder
from pdf_factory import make_pdf, sample_rules_pages

from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor

E5_PATH = "/fake/models/e5-like"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    make_pdf(folder / "rules.pdf", sample_rules_pages())
    return folder


def _ingest(index: Path, corpus: Path, minilm: FakeEmbedder, e5: FakeEmbedder | None) -> Ingestor:
    ingestor = Ingestor(
        index,
        minilm,  # type: ignore[arg-type]
        progress=False,
        extra_encoders={"e5": e5} if e5 is not None else None,  # type: ignore[dict-item]
    )
    ingestor.run([corpus])
    return ingestor


@pytest.mark.unit
def test_both_models_vectors_are_stored_in_chunk_order(tmp_path: Path, corpus: Path) -> None:
    minilm, e5 = FakeEmbedder(), FakeEmbedder(E5_PATH, dimension=64)
    _ingest(tmp_path / "index", corpus, minilm, e5)
    snapshot = IndexSnapshot.open(tmp_path / "index")
    entry = snapshot.meta.extra_vectors["e5"]
    assert (entry.model_path, entry.dimension, entry.file) == (E5_PATH, 64, "vectors-e5.npy")
    stored = snapshot.extra_vectors("e5")
    assert stored is not None and stored.shape == (len(snapshot.chunks), 64)
    expected = FakeEmbedder(E5_PATH, dimension=64).encode([c.embedding_text() for c in snapshot.chunks])
    assert np.allclose(stored, expected, atol=1e-6)


@pytest.mark.unit
def test_reingest_embeds_nothing_with_either_model(tmp_path: Path, corpus: Path) -> None:
    minilm, e5 = FakeEmbedder(), FakeEmbedder(E5_PATH)
    _ingest(tmp_path / "index", corpus, minilm, e5)
    generation = IndexSnapshot.open(tmp_path / "index").meta.generation
    minilm.reset_counts()
    e5.reset_counts()
    report = Ingestor(tmp_path / "index", minilm, progress=False, extra_encoders={"e5": e5}).run([corpus])  # type: ignore[arg-type, dict-item]
    assert not report.switched
    assert (minilm.embedded, e5.embedded) == (0, 0)
    assert IndexSnapshot.open(tmp_path / "index").meta.generation == generation


@pytest.mark.unit
def test_an_index_without_e5_gets_only_the_e5_vectors_embedded(tmp_path: Path, corpus: Path) -> None:
    minilm = FakeEmbedder()
    _ingest(tmp_path / "index", corpus, minilm, None)
    assert IndexSnapshot.open(tmp_path / "index").meta.extra_vectors == {}
    minilm.reset_counts()
    e5 = FakeEmbedder(E5_PATH)
    report = Ingestor(tmp_path / "index", minilm, progress=False, extra_encoders={"e5": e5}).run([corpus])  # type: ignore[arg-type, dict-item]
    snapshot = IndexSnapshot.open(tmp_path / "index")
    assert report.switched
    assert report.embedded_by_model == {"minilm": 0, "e5": len(snapshot.chunks)}
    assert minilm.embedded == 0
    assert "e5" in snapshot.meta.extra_vectors


@pytest.mark.unit
def test_another_e5_model_path_embeds_e5_again(tmp_path: Path, corpus: Path) -> None:
    minilm = FakeEmbedder()
    _ingest(tmp_path / "index", corpus, minilm, FakeEmbedder(E5_PATH))
    minilm.reset_counts()
    other = FakeEmbedder("/fake/models/e5-other")
    report = Ingestor(tmp_path / "index", minilm, progress=False, extra_encoders={"e5": other}).run([corpus])  # type: ignore[arg-type, dict-item]
    chunks = len(IndexSnapshot.open(tmp_path / "index").chunks)
    assert report.embedded_by_model == {"minilm": 0, "e5": chunks}
    assert IndexSnapshot.open(tmp_path / "index").meta.extra_vectors["e5"].model_path == "/fake/models/e5-other"


@pytest.mark.unit
def test_an_ingest_without_e5_drops_the_e5_vectors(tmp_path: Path, corpus: Path) -> None:
    minilm = FakeEmbedder()
    _ingest(tmp_path / "index", corpus, minilm, FakeEmbedder(E5_PATH))
    (tmp_path / "pdfs" / "more.pdf").write_bytes((tmp_path / "pdfs" / "rules.pdf").read_bytes())
    make_pdf(tmp_path / "pdfs" / "more.pdf", sample_rules_pages(" A changed sentence."))
    _ingest(tmp_path / "index", corpus, minilm, None)
    # A MiniLM-only configuration writes a MiniLM-only index: no stale e5 rows for new chunks.
    assert IndexSnapshot.open(tmp_path / "index").meta.extra_vectors == {}


class _WatchingEncoder(FakeEmbedder):
    """An e5 stand-in that looks at the live index when it is asked to embed."""

    def __init__(self, index: Path) -> None:
        super().__init__(E5_PATH)
        self.index = index
        self.seen: list[tuple[int, list[str]]] = []

    def encode_passages(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        live = IndexSnapshot.open(self.index)
        self.seen.append((len(live.chunks), sorted(live.meta.extra_vectors)))
        return super().encode_passages(texts, spans, progress)


@pytest.mark.unit
def test_minilm_and_bm25_serve_while_the_slow_model_embeds(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    e5 = _WatchingEncoder(index)
    report = Ingestor(index, FakeEmbedder(), progress=False, extra_encoders={"e5": e5}, early_switch_chunks=1).run(  # type: ignore[arg-type, dict-item]
        [corpus]
    )
    snapshot = IndexSnapshot.open(index)
    assert report.early_switch
    # While e5 embedded, the live index already held every chunk, without e5 vectors.
    assert e5.seen == [(len(snapshot.chunks), [])]
    assert "e5" in snapshot.meta.extra_vectors


@pytest.mark.unit
def test_few_chunks_for_the_slow_model_switch_once(tmp_path: Path, corpus: Path) -> None:
    report = Ingestor(
        tmp_path / "index",
        FakeEmbedder(),
        progress=False,
        extra_encoders={"e5": FakeEmbedder(E5_PATH)},  # type: ignore[arg-type, dict-item]
    ).run([corpus])
    assert report.switched and not report.early_switch  # a handful of chunks: below the default 256
