"""The reference retrievers: plain BM25 on cached tutorial chunks, and (slow) the LangChain tutorial pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.baselines import (
    BaselineError,
    Bm25Baseline,
    NaiveRagBaseline,
    TutorialChunk,
    TutorialCorpus,
    index_pdfs,
    tokenize,
)
from ingest.records import DocumentInfo

CAT = "un-convention-against-torture-1984"


def _corpus_with_chunks(tmp_path: Path, chunks: list[TutorialChunk]) -> TutorialCorpus:
    """A corpus whose chunk cache is already filled, so no PDF is parsed."""
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4 stand-in")
    corpus = TutorialCorpus([pdf], tmp_path / "cache")
    corpus.directory.mkdir(parents=True)
    (corpus.directory / "chunks.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in chunks))
    (corpus.directory / "chunks.meta.json").write_text('{"split_seconds": 2.5, "chunks": 3}')
    return corpus


@pytest.mark.unit
def test_tokenize_lowercases_words_without_stemming() -> None:
    assert tokenize("Visits, VISITING and visit's") == ["visits", "visiting", "and", "visit", "s"]


@pytest.mark.unit
def test_bm25_baseline_ranks_chunks_and_keeps_their_pages(tmp_path: Path) -> None:
    chunks = [
        TutorialChunk(doc="a", page=1, text="Prisoners shall be allowed to bathe or shower at least once a week."),
        TutorialChunk(doc="a", page=2, text="Visits take place in the visits hall under supervision."),
        TutorialChunk(doc="b", page=7, text="Every prisoner shall have a separate bed."),
    ]
    baseline = Bm25Baseline(_corpus_with_chunks(tmp_path, chunks))
    baseline.prepare()
    hits = baseline.search("how often can they shower?", k=5)
    assert [(h.doc, h.pages) for h in hits] == [("a", [1])]  # only chunks sharing a word score
    assert baseline.search("visits hall", k=1)[0].pages == [2]
    assert baseline.search("zzz unknown words", k=5) == []
    assert baseline.build_seconds is not None and baseline.build_seconds >= 2.5  # includes the split time


@pytest.mark.unit
def test_corpus_key_follows_the_pdf_bytes(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"one")
    first = TutorialCorpus([pdf], tmp_path).key
    pdf.write_bytes(b"two")
    assert TutorialCorpus([pdf], tmp_path).key != first


@pytest.mark.unit
def test_index_pdfs_uses_source_paths_or_the_corpus_folder(tmp_path: Path) -> None:
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    info = DocumentInfo(id="x", title="X", sha256="0", pages=1, chunks=1, source_path=str(tmp_path / "x.pdf"))
    assert index_pdfs([info]) == [tmp_path / "x.pdf"]
    moved = info.model_copy(update={"source_path": "/nowhere/x.pdf"})
    with pytest.raises(BaselineError, match="not found"):
        index_pdfs([moved])
    assert index_pdfs([moved], corpus_dir=tmp_path) == [tmp_path / "x.pdf"]
    with pytest.raises(BaselineError, match="no source_path"):
        index_pdfs([info.model_copy(update={"source_path": ""})])


@pytest.mark.integration
@pytest.mark.slow
def test_naive_baseline_builds_caches_and_returns_one_based_pages(shared_corpus: Path, tmp_path: Path) -> None:
    from ingest.settings import default_model_path

    pdf = shared_corpus / f"{CAT}.pdf"
    corpus = TutorialCorpus([pdf], tmp_path / "cache")
    first = NaiveRagBaseline(corpus, default_model_path())
    try:
        first.prepare()
        assert not first.cached
        assert first.build_seconds is not None
        hits = first.search("torture victim redress fair and adequate compensation rehabilitation", k=3)
        assert hits[0].doc == CAT
        assert hits[0].pages == [5]  # Article 14 is on PDF page 5 (PyPDFLoader counts from 0)
    finally:
        first.close()
    again = NaiveRagBaseline(TutorialCorpus([pdf], tmp_path / "cache"), default_model_path())
    try:
        again.prepare()
        assert again.cached
        assert again.build_seconds == first.build_seconds
        assert [h.pages for h in again.search("fair and adequate compensation", k=1)] == [[5]]
    finally:
        again.close()
