"""The retrieval pipeline's fusers: the convex combination of normalised scores (default) and RRF."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.retrieval import HybridRetriever, normalise
from assistant.settings import RetrievalSettings
from ingest.index_store import ChromaConfig, IndexSnapshot, IndexWriter
from ingest.records import Chunk, DocumentInfo, chunk_id

_normalise = normalise

TEXTS = {
    "solitary": "Prolonged solitary confinement beyond fifteen consecutive days is prohibited.",
    "searches": "Intrusive body searches are conducted in private by trained staff of the same sex.",
    "visits": "Prisoners may receive visits from family and friends at regular intervals.",
    "health": "Health care is provided free of charge without discrimination on the grounds of legal status.",
    "complaints": "Every prisoner may make a complaint to the director without censorship as to substance.",
    "restraints": "Instruments of restraint are never applied as a punishment for disciplinary offences.",
}
KINDS = {"solitary": "binding-standard", "searches": "policy", "visits": "guidance"}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> IndexSnapshot:
    from fakes import FakeEmbedder

    chunks = [
        Chunk(
            id=chunk_id(doc, doc.title(), "", [], text),
            doc_id=doc,
            title=doc.title(),
            ref="",
            headings=[],
            page_start=1,
            page_end=1,
            text=text,
        )
        for doc, text in TEXTS.items()
    ]
    embedder = FakeEmbedder()
    documents = {
        c.doc_id: DocumentInfo(id=c.doc_id, title=c.title, kind=KINDS.get(c.doc_id, ""), sha256="0", pages=1, chunks=1)
        for c in chunks
    }
    root = tmp_path_factory.mktemp("fusion") / "index"
    vectors = embedder.encode([c.embedding_text() for c in chunks])
    IndexWriter(root, ChromaConfig()).write(chunks, vectors, [], documents, "fake", embedder.model_path, {})
    return IndexSnapshot.open(root)


def _retriever(snapshot: IndexSnapshot, alpha: float | None = None, **options: Any) -> HybridRetriever:
    from fakes import FakeEmbedder

    if alpha is not None:
        options["weights"] = {"en": {"minilm": alpha, "bm25": 1 - alpha} if 0 < alpha < 1 else _one(alpha)}
    config = RetrievalSettings(**options)
    return HybridRetriever.build(snapshot, FakeEmbedder(), config)  # type: ignore[arg-type]


def _one(alpha: float) -> dict[str, float]:
    return {"minilm": 1.0} if alpha == 1 else {"bm25": 1.0}


QUERY = "solitary confinement and body searches of prisoners"


@pytest.mark.unit
def test_rrf_scores_are_the_weighted_reciprocal_ranks(snapshot: IndexSnapshot) -> None:
    assert _retriever(snapshot).config.fusion == "convex"  # the default since the SciFact/dev-set comparison
    retriever = _retriever(snapshot, fusion="rrf", weights={"en": {"minilm": 1.0, "bm25": 0.5}})
    assert (retriever.config.fusion, retriever.config.rrf_k, retriever.weights("en")) == (
        "rrf",
        20,
        {"minilm": 1.0, "bm25": 0.5},
    )
    hits = retriever.search(QUERY, k=10).hits
    assert hits
    prior = {"binding-standard": 1.0, "policy": 0.8, "guidance": 0.8}
    for hit in hits:
        expected = retriever.config.prior_weight * prior.get(KINDS.get(hit.chunk.doc_id, ""), 0.5) / 20
        if hit.dense_rank is not None:
            expected += 1.0 / (20 + hit.dense_rank + 1)
        if hit.lexical_rank is not None:
            expected += 0.5 / (20 + hit.lexical_rank + 1)
        assert hit.score == pytest.approx(expected)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.unit
def test_convex_alpha_one_ranks_by_cosine_and_zero_by_bm25(snapshot: IndexSnapshot) -> None:
    dense_only = _retriever(snapshot, fusion="convex", alpha=1.0, prior_weight=0.0).search(QUERY, k=10).hits
    assert [h.chunk.doc_id for h in dense_only] == [h.chunk.doc_id for h in sorted(dense_only, key=lambda h: -h.dense)]
    lexical_only = _retriever(snapshot, fusion="convex", alpha=0.0, prior_weight=0.0).search(QUERY, k=10).hits
    assert lexical_only[0].lexical == max(h.lexical for h in lexical_only) > 0
    assert lexical_only[0].chunk.doc_id in {"solitary", "searches"}
    assert lexical_only[0].score == pytest.approx(1.0)  # min-max: the best BM25 score maps to 1


@pytest.mark.unit
def test_convex_fills_in_the_missing_score_of_a_one_sided_candidate(snapshot: IndexSnapshot) -> None:
    # Stop words weigh in the (bag-of-words) fake vectors but not in BM25, so the two dense
    # candidates are documents full of "of" and "the", and "restraint" is found by BM25 alone.
    query = "the the the the of of of of restraint"
    retriever = _retriever(snapshot, alpha=0.5, fusion="convex", candidate_k=2, prior_weight=0.0)
    hits = retriever.search(query, k=10).hits
    vector = retriever.embedder.encode_query(query)
    stored = snapshot.embeddings()
    lexical_only = [h for h in hits if h.dense_rank is None]
    assert lexical_only, "expected a candidate found by BM25 alone"
    for hit in lexical_only:
        row = [c.id for c in snapshot.chunks].index(hit.chunk.id)
        assert hit.dense == pytest.approx(float(stored[row] @ vector), abs=1e-5)
    scores = {h.chunk.id: h.score for h in hits}
    dense = _normalise(np.asarray([h.dense for h in hits]), "minmax")
    lexical = _normalise(np.asarray([h.lexical for h in hits]), "minmax")
    for hit, d, lex in zip(hits, dense, lexical, strict=True):
        assert scores[hit.chunk.id] == pytest.approx(0.5 * d + 0.5 * lex)


@pytest.mark.unit
def test_convex_prior_is_on_the_normalised_scale(snapshot: IndexSnapshot) -> None:
    search = _retriever(snapshot, fusion="convex", prior_weight=0.0).search(QUERY, k=10)
    plain = {h.chunk.doc_id: h.score for h in search.hits}
    with_prior = _retriever(snapshot, fusion="convex", prior_weight=0.2).search(QUERY, k=10).hits
    # binding-standard 1.0, policy and guidance 0.8, documents without a kind 0.5
    prior = {"solitary": 1.0, "searches": 0.8, "visits": 0.8}
    assert {h.chunk.doc_id for h in with_prior} == set(plain)
    for hit in with_prior:
        assert hit.score - plain[hit.chunk.doc_id] == pytest.approx(0.2 * prior.get(hit.chunk.doc_id, 0.5))


@pytest.mark.unit
def test_normalise() -> None:
    values = np.asarray([1.0, 3.0, 5.0])
    assert _normalise(values, "minmax").tolist() == [0.0, 0.5, 1.0]
    assert _normalise(values, "zscore") == pytest.approx(np.asarray([-1.0, 0.0, 1.0]) * np.sqrt(1.5))
    assert _normalise(np.asarray([2.0, 2.0]), "minmax").tolist() == [1.0, 1.0]
    assert _normalise(np.asarray([2.0, 2.0]), "zscore").tolist() == [0.0, 0.0]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fusion": "sum"}, "fusion"),
        ({"normalization": "rank"}, "normalization"),
        ({"window_weight": 1.5}, "window_weight"),
        ({"weights": {"en": {"minilm": 1.0, "colbert": 1.0}}}, "unknown source 'colbert'"),
        ({"weights": {"en": {"minilm": 0.0}}}, "at least one > 0"),
        ({"weights": {"ru": {"e5": 1.0}}}, "needs an 'en' entry"),
        ({"evidence_source": {"en": "bm25"}}, "not a dense model"),
    ],
)
def test_bad_options(snapshot: IndexSnapshot, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _retriever(snapshot, **options)
