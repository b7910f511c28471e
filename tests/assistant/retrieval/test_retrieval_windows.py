"""The dense score mixes a chunk's cosine with the best of its late-pooled windows (two sentences each)."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from assistant.retrieval import HybridRetriever
from assistant.settings import RetrievalSettings
from ingest.index_store import WINDOW_OFFSETS, WINDOWS, ChromaConfig, IndexSnapshot, IndexWriter
from ingest.records import Chunk, DocumentInfo, chunk_id

pytestmark = pytest.mark.unit

# The answer is two sentences at the end of a passage that is mostly about other things;
# the distractor shares the question's topic words throughout.
TEXTS = {
    "long": (
        "Kitchens are inspected weekly by the catering manager. Menus follow religious and medical diets. "
        "Laundry is changed twice a week. Libraries lend books to every wing. "
        "Segregation reviews happen daily. No prisoner stays segregated beyond fifteen days."
    ),
    "topic": (
        "Segregation reviews happen in segregation units daily. Prisoners in segregation are reviewed daily by "
        "segregation staff. A prisoner in segregation may exercise daily. Segregation units hold no prisoner "
        "without reviews."
    ),
}
QUERY = "segregation reviews daily and no prisoner segregated beyond fifteen days"


def _chunk(doc: str, text: str) -> Chunk:
    return Chunk(
        id=chunk_id(doc, doc, "", [], text),
        doc_id=doc,
        title=doc,
        ref="",
        headings=[],
        page_start=1,
        page_end=1,
        text=text,
    )


@pytest.fixture(scope="module")
def index_root(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from fakes import FakeEmbedder

    chunks = [_chunk(doc, text) for doc, text in TEXTS.items()]
    vectors = FakeEmbedder().encode_passages([c.embedding_text() for c in chunks], [c.window_spans() for c in chunks])
    documents = {c.doc_id: DocumentInfo(id=c.doc_id, title=c.title, sha256="0", pages=1, chunks=1) for c in chunks}
    root = tmp_path_factory.mktemp("windows") / "index"
    IndexWriter(root, ChromaConfig()).write(chunks, vectors, [], documents, "fake", "/fake/model", {})
    return root


def _retriever(root, **options):  # type: ignore[no-untyped-def]
    from fakes import FakeEmbedder

    config = RetrievalSettings(weights={"en": {"minilm": 1.0}}, prior_weight=0.0, **options)
    return HybridRetriever.build(IndexSnapshot.open(root), FakeEmbedder(), config)


def test_windows_are_stored_per_chunk(index_root) -> None:  # type: ignore[no-untyped-def]
    snapshot = IndexSnapshot.open(index_root)
    assert snapshot.has_windows
    stored = snapshot.passage_vectors()
    assert [len(stored.windows_of(i)) for i in range(len(snapshot.chunks))] == [5, 3]  # sentences - 1
    assert stored.windows.dtype == np.float16


def test_a_passage_whose_two_sentences_answer_outranks_one_on_the_topic(index_root) -> None:  # type: ignore[no-untyped-def]
    plain = _retriever(index_root, window_weight=0.0).search(QUERY, k=2).hits
    mixed = _retriever(index_root, window_weight=0.5).search(QUERY, k=2).hits
    assert [h.chunk.doc_id for h in plain] == ["topic", "long"]
    assert [h.chunk.doc_id for h in mixed] == ["long", "topic"]


def test_dense_score_is_the_weighted_mix(index_root) -> None:  # type: ignore[no-untyped-def]
    from fakes import FakeEmbedder

    retriever = _retriever(index_root, window_weight=0.3)
    snapshot = retriever.snapshot
    stored = snapshot.passage_vectors()
    query = FakeEmbedder().encode([QUERY])[0]
    result = retriever.search(QUERY, k=2)
    for hit in result.hits:
        row = snapshot.chunks.index(hit.chunk)
        similarities = np.asarray(stored.windows_of(row), dtype=np.float32) @ query
        best = float(similarities.max())
        assert hit.window == int(similarities.argmax())
        expected = 0.7 * float(stored.vectors[row] @ query) + 0.3 * best
        assert hit.dense == pytest.approx(expected, abs=1e-5)
    assert result.best_dense == pytest.approx(max(h.dense for h in result.hits), abs=1e-6)


def test_an_index_without_windows_falls_back_to_the_chunk_cosine(index_root, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    from fakes import FakeEmbedder

    old = tmp_path / "index"
    shutil.copytree(index_root, old)
    generation = IndexSnapshot.open(old).directory
    (generation / WINDOWS).unlink()
    (generation / WINDOW_OFFSETS).unlink()
    with caplog.at_level(logging.WARNING, logger="assistant.retrieval"):
        hits = _retriever(old, window_weight=0.5).search(QUERY, k=2).hits
    assert "run `handbook ingest`" in caplog.text
    query = FakeEmbedder().encode([QUERY])[0]
    vectors = IndexSnapshot.open(old).embeddings()
    for hit in hits:
        assert hit.window is None
        row = [c.id for c in IndexSnapshot.open(old).chunks].index(hit.chunk.id)
        assert hit.dense == pytest.approx(float(vectors[row] @ query), abs=1e-5)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_window_weight_outside_zero_one_is_refused(index_root, weight: float) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="window_weight"):
        _retriever(index_root, window_weight=weight)
