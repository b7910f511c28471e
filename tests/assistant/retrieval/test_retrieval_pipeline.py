"""The retrieval pipeline's stages: sources per model, weights per question language, determinism."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder
from pdf_factory import make_pdf, sample_rules_pages

from assistant.retrieval import HybridRetriever, normalise
from assistant.retrieval.sources import top_rows
from assistant.settings import RetrievalSettings
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor

E5_PATH = "/fake/models/e5-like"
QUESTION = "how long may solitary confinement last"


def _build(folder: Path, with_e5: bool = True) -> Path:
    pdfs = folder / "pdfs"
    make_pdf(pdfs / "rules.pdf", sample_rules_pages())
    extra = {"e5": FakeEmbedder(E5_PATH)} if with_e5 else None
    Ingestor(folder / "index", FakeEmbedder(), progress=False, extra_encoders=extra).run([pdfs])  # type: ignore[arg-type]
    return folder / "index"


@pytest.fixture(scope="module")
def two_model_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("two-models"))


def _retriever(index: Path, config: RetrievalSettings, lang: str | None = None) -> HybridRetriever:
    encoders = {"minilm": FakeEmbedder(), "e5": FakeEmbedder(E5_PATH)}
    options = {"language_of": lambda _: lang} if lang else {}
    return HybridRetriever.build(IndexSnapshot.open(index), encoders, config, **options)  # type: ignore[arg-type]


@pytest.mark.unit
def test_three_sources_fuse_by_their_normalised_weighted_scores(two_model_index: Path) -> None:
    weights = {"minilm": 0.4, "e5": 0.2, "bm25": 0.2}
    config = RetrievalSettings(weights={"en": weights}, prior_weight=0.0, window_weight=0.0)
    result = _retriever(two_model_index, config).search(QUESTION, k=50)
    assert result.sources == ("minilm", "e5", "bm25")
    hits = result.hits
    assert hits and all(set(h.scores) == {"minilm", "e5", "bm25"} for h in hits)
    expected = np.zeros(len(hits))
    for source, weight in weights.items():
        expected += weight / 0.8 * normalise(np.asarray([h.scores[source] for h in hits]), "minmax")
    # Every candidate of every source is among the 50 hits here, so the normalisation ranges agree.
    assert [h.score for h in hits] == pytest.approx(expected.tolist())
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.unit
def test_a_zero_weight_source_does_not_run(two_model_index: Path) -> None:
    config = RetrievalSettings(weights={"en": {"minilm": 1.0, "e5": 0.0, "bm25": 0.0}})
    result = _retriever(two_model_index, config).search(QUESTION)
    assert result.sources == ("minilm",)
    assert "dense_e5" not in result.timings_ms and "lexical" not in result.timings_ms


@pytest.mark.unit
def test_a_cyrillic_question_uses_its_language_weights_and_evidence(two_model_index: Path) -> None:
    config = RetrievalSettings()  # ru: e5 only; evidence from e5
    result = _retriever(two_model_index, config, lang="ru").search("сколько дней можно держать в одиночной камере")
    assert result.lang == "ru"
    assert result.sources == ("e5",)
    assert result.best_dense == result.best_scores["e5"]
    assert all(h.dense == h.scores["e5"] for h in result.hits)


@pytest.mark.unit
def test_the_language_is_detected_from_the_question(two_model_index: Path) -> None:
    retriever = _retriever(two_model_index, RetrievalSettings())
    assert retriever.search(QUESTION).lang == "en"
    assert retriever.search("можно ли читать письма осуждённого адвокату?").lang == "ru"


@pytest.mark.unit
def test_an_index_without_e5_answers_with_what_it_has_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index = _build(tmp_path, with_e5=False)
    with caplog.at_level(logging.WARNING, logger="assistant.retrieval"):
        retriever = _retriever(index, RetrievalSettings(), lang="ru")
    assert retriever.missing_models == ["e5"]
    assert "no e5 vectors" in caplog.text
    result = retriever.search("сколько дней можно держать в одиночной камере")
    assert result.sources == ("minilm", "bm25")  # the English weights stand in
    assert result.hits


@pytest.mark.unit
def test_the_same_corpus_ranks_the_same_after_another_ingest(tmp_path: Path) -> None:
    first = _build(tmp_path / "a")
    second = _build(tmp_path / "b")
    config = RetrievalSettings(weights={"en": {"minilm": 0.4, "e5": 0.3, "bm25": 0.3}})
    for question in (QUESTION, "visits by family", "instruments of restraint", "the the of"):
        a = _retriever(first, config).search(question, k=20).hits
        b = _retriever(second, config).search(question, k=20).hits
        assert [(h.chunk.id, round(h.score, 6)) for h in a] == [(h.chunk.id, round(h.score, 6)) for h in b]


@pytest.mark.unit
def test_equal_scores_are_ordered_by_row() -> None:
    scores = np.asarray([1.0, 2.0, 2.0, 0.5, 2.0, 2.0], dtype=np.float32)
    assert top_rows(scores, 3) == [(1, 2.0), (2, 2.0), (4, 2.0)]
    assert top_rows(scores, 6) == [(1, 2.0), (2, 2.0), (4, 2.0), (5, 2.0), (0, 1.0), (3, 0.5)]
    assert top_rows(scores, 0) == []


@pytest.mark.unit
def test_chroma_search_above_the_exact_limit_finds_the_same_passages(two_model_index: Path) -> None:
    weights = {"en": {"minilm": 1.0}}
    exact = _retriever(two_model_index, RetrievalSettings(weights=weights)).search(QUESTION, k=5).hits
    approximate = _retriever(two_model_index, RetrievalSettings(weights=weights, exact_search_limit=0))
    hits = approximate.search(QUESTION, k=5).hits
    assert [h.chunk.id for h in hits] == [h.chunk.id for h in exact]


@pytest.mark.unit
def test_english_only_sources_join_a_cyrillic_question_only_with_english_words(
    two_model_index: Path, tmp_path: Path
) -> None:
    from assistant.glossary import Glossary

    glossary_file = tmp_path / "glossary.toml"
    glossary_file.write_text('[[term]]\nphrases = ["одиночная камера"]\nmeans = ["solitary confinement"]\n')
    encoders = {"minilm": FakeEmbedder(), "e5": FakeEmbedder(E5_PATH)}
    retriever = HybridRetriever.build(
        IndexSnapshot.open(two_model_index),
        encoders,
        RetrievalSettings(),
        Glossary.load(glossary_file),  # type: ignore[arg-type]
    )
    known = retriever.search("сколько дней можно держать в одиночная камера")
    assert known.lang == "ru" and "solitary confinement" in known.expanded_query
    assert known.sources == ("minilm", "e5", "bm25")
    unknown = retriever.search("сколько раз в месяц положено свидание")
    assert unknown.sources == ("e5",)  # no English word to read: e5 alone


@pytest.mark.unit
def test_a_minilm_only_configuration_is_not_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = _build(tmp_path, with_e5=False)
    with caplog.at_level(logging.WARNING, logger="assistant.retrieval"):
        retriever = HybridRetriever.build(IndexSnapshot.open(index), FakeEmbedder(), RetrievalSettings())  # type: ignore[arg-type]
    assert retriever.missing_models == [] and "no e5 vectors" not in caplog.text
    assert retriever.search("сколько дней можно держать в одиночной камере").hits  # Russian still answered


@pytest.mark.unit
def test_the_lead_reads_the_query_vectors_windows_and_embeds_texts_once(two_model_index: Path) -> None:
    retriever = _retriever(two_model_index, RetrievalSettings())
    result = retriever.search(QUESTION, k=5)
    assert set(result.query_vectors) == {"minilm", "e5"}  # each dense source's question vector
    hit = result.hits[0]
    windows = retriever.window_similarities(result, hit)
    stored = retriever.sources["minilm"].vectors().windows_of(hit.row)  # type: ignore[attr-defined]
    assert windows.tolist() == pytest.approx((np.asarray(stored, np.float32) @ result.query_vectors["minilm"]).tolist())
    e5 = retriever.sources["e5"].encoder  # type: ignore[attr-defined]
    texts = ["Solitary confinement shall be limited.", "Visits are allowed."]
    before = e5.embedded
    first = retriever.text_similarities(result, texts, "e5")
    assert first is not None and e5.embedded == before + 2
    again = retriever.text_similarities(result, [texts[1], texts[0], texts[1]], "e5")
    assert e5.embedded == before + 2  # kept: nothing embedded twice
    assert again is not None and again.tolist() == pytest.approx([first[1], first[0], first[1]])
    assert retriever.text_similarities(result, texts, "no-such-model") is None
