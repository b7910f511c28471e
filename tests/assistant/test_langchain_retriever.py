"""HandbookRetriever: LangChain's standard retriever tests over a real small index, and our own checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEmbedder
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests
from pdf_factory import make_pdf, sample_rules_pages

from assistant.langchain_retriever import HandbookRetriever
from assistant.retrieval import HybridRetriever
from ingest.corpus_manifest import CorpusDocument, Manifest
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor

KINDS = {"rules": "binding-standard", "articles": "guidance", "policy": "policy"}
METADATA_KEYS = {
    "doc",
    "title",
    "ref",
    "page_start",
    "page_end",
    "pages",
    "paragraphs",
    "format",
    "section",
    "score",
    "chunk_id",
    "heading",
}


def _article_pages() -> list[list[str]]:
    """Six articles over three pages, each long enough to be a chunk of its own."""
    topics = [
        "shall ensure that education regarding the prohibition against torture is fully included",
        "shall keep under systematic review interrogation rules, instructions, methods and practices",
        "shall ensure that its competent authorities proceed to a prompt and impartial investigation",
        "shall ensure that any individual who alleges torture has the right to complain",
        "shall ensure that the victim of an act of torture obtains redress and fair compensation",
        "shall ensure that any statement made as a result of torture is not invoked as evidence",
    ]
    subjects = ["training", "interrogation rules", "investigations", "complaints", "redress", "evidence"]
    filler = "Each State Party shall keep the committee informed of the steps it has taken under this article"
    pages: list[list[str]] = []
    for page in range(3):
        lines: list[str] = []
        for n in (page * 2 + 1, page * 2 + 2):
            lines += [
                f"Article {n}",
                f"1. Each State Party {topics[n - 1]}. {filler}.",
                # Worded differently in every article, in letters and not only digits: a line repeated
                # at the foot of each page is dropped as a running footer.
                f"2. The report on {subjects[n - 1]} shall be sent to the committee. {filler}.",
            ]
        pages.append(lines)
    return pages


def _policy_pages() -> list[list[str]]:
    """A policy framework numbered in dotted paragraphs under section titles."""
    # Long enough (over the chunker's 45-word minimum) for every paragraph to be a chunk of its own.
    filler = (
        "Staff must record the decision in the wing observation book and tell the duty manager at once. "
        "The record must give the reasons, the names of the staff involved and the time of the decision"
    )
    return [
        [
            "1. Social visits",
            f"1.1 Prisoners are entitled to at least two social visits in every four weeks. {filler}.",
            f"1.2 Visitors must be searched before entering the visits hall, with dignity and respect. {filler}.",
            f"1.3 Closed visits may only be imposed where there is evidence of smuggling. {filler}.",
        ],
        [
            "2. Use of force",
            f"2.1 Force may only be used as a last resort and must be reasonable and proportionate. {filler}.",
            f"2.2 Handcuffs must be removed as soon as the prisoner is under control. {filler}.",
            f"2.3 Every use of force must be reported in writing before the end of the shift. {filler}.",
        ],
    ]


def _manifest() -> Manifest:
    return Manifest(
        [
            CorpusDocument(
                id=doc_id,
                title=f"Test {doc_id} document",
                short_title=f"Test {doc_id.capitalize()}",
                publisher="Test publisher",
                year=2024,
                kind=kind,  # type: ignore[arg-type]
                jurisdiction="international",
                source_url=f"https://example.org/{doc_id}.pdf",
                reuse="test fixture",
                local=True,
            )
            for doc_id, kind in KINDS.items()
        ]
    )


def _build_index(folder: Path, embedder: Any) -> Path:
    pdfs = folder / "pdf"
    make_pdf(pdfs / "rules.pdf", sample_rules_pages())
    make_pdf(pdfs / "articles.pdf", _article_pages(), header="CAT/C/99/1", title="Convention against Test Torture")
    make_pdf(pdfs / "policy.pdf", _policy_pages(), header="PSI 99/2024", title="Test Visits and Force Policy")
    index = folder / "index"
    report = Ingestor(index, embedder, manifest=_manifest(), progress=False).run([pdfs])
    assert not report.failed, [f.message for f in report.failed]
    return index


@pytest.fixture(scope="session")
def real_small_index(real_embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> HybridRetriever:
    """Three generated PDFs ingested with the packaged embedding model."""
    index = _build_index(tmp_path_factory.mktemp("langchain-real"), real_embedder)
    return HybridRetriever.build(IndexSnapshot.open(index), real_embedder)


@pytest.fixture(scope="module")
def fake_small_index(tmp_path_factory: pytest.TempPathFactory) -> HybridRetriever:
    """The same three PDFs with the hashing fake embedder: no model to load."""
    embedder = FakeEmbedder()
    index = _build_index(tmp_path_factory.mktemp("langchain-fake"), embedder)
    return HybridRetriever.build(IndexSnapshot.open(index), embedder)  # type: ignore[arg-type]


# The anyio mark runs the standard async test (test_ainvoke_returns_documents); sync tests ignore it.
@pytest.mark.integration
@pytest.mark.anyio
class TestHandbookRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _bind_index(self, real_small_index: HybridRetriever) -> None:
        # The standard tests build the retriever from these properties, which cannot take fixtures.
        self.hybrid = real_small_index

    @property
    def retriever_constructor(self) -> type[HandbookRetriever]:
        return HandbookRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"hybrid": self.hybrid}

    @property
    def retriever_query_example(self) -> str:
        return "How often may prisoners receive visits from their family?"


@pytest.mark.integration
def test_real_model_finds_the_visits_rules(real_small_index: HybridRetriever) -> None:
    docs = HandbookRetriever(hybrid=real_small_index, k=3).invoke("How often can a prisoner see family and friends?")
    assert {(d.metadata["doc"], d.metadata["ref"]) for d in docs} & {("rules", "Rule 4"), ("policy", "1.1")}


@pytest.mark.unit
def test_k_kwarg_overrides_the_field(fake_small_index: HybridRetriever) -> None:
    retriever = HandbookRetriever(hybrid=fake_small_index, k=2)
    assert len(retriever.invoke("prisoners visits family")) == 2
    assert len(retriever.invoke("prisoners visits family", k=4)) == 4
    assert len(retriever.invoke("prisoners visits family", k=1)) == 1
    assert retriever.k == 2  # a per-call k does not stick


@pytest.mark.unit
@pytest.mark.anyio
async def test_ainvoke_passes_the_k_kwarg(fake_small_index: HybridRetriever) -> None:
    # The base class's async path would drop extra keyword arguments.
    retriever = HandbookRetriever(hybrid=fake_small_index, k=5)
    assert len(await retriever.ainvoke("prisoners visits family", k=2)) == 2


@pytest.mark.unit
def test_metadata_cites_the_passage(fake_small_index: HybridRetriever) -> None:
    [doc] = HandbookRetriever(hybrid=fake_small_index, k=1).invoke("standardized file management system")
    assert isinstance(doc, Document)
    assert set(doc.metadata) == METADATA_KEYS
    meta = doc.metadata
    chunk = next(c for c in fake_small_index.snapshot.chunks if c.id == meta["chunk_id"])
    assert (meta["doc"], meta["ref"], meta["title"]) == ("rules", "Rule 3", "Test Rules")
    assert (meta["page_start"], meta["page_end"], meta["pages"], meta["paragraphs"]) == (2, 2, [2], [])
    assert meta["format"] == "pdf"
    assert doc.page_content == chunk.text
    assert "standardized file management system" in doc.page_content
    assert doc.id == chunk.id
    assert meta["score"] > 0


@pytest.mark.unit
def test_heading_comes_from_the_section_title(fake_small_index: HybridRetriever) -> None:
    retriever = HandbookRetriever(hybrid=fake_small_index, k=1, doc_ids=["policy"])
    [doc] = retriever.invoke("handcuffs removed under control")
    chunk = next(c for c in fake_small_index.snapshot.chunks if c.id == doc.metadata["chunk_id"])
    assert doc.metadata["ref"] == "2.2"
    assert doc.metadata["heading"] == chunk.heading_path
    assert "Use of force" in doc.metadata["heading"]


@pytest.mark.unit
def test_doc_ids_field_and_kwarg_restrict_the_search(fake_small_index: HybridRetriever) -> None:
    query = "torture prisoners visits force record"
    retriever = HandbookRetriever(hybrid=fake_small_index, k=10, doc_ids=["articles"])
    assert {d.metadata["doc"] for d in retriever.invoke(query)} == {"articles"}
    per_call = retriever.invoke(query, doc_ids=["rules", "policy"])
    assert {d.metadata["doc"] for d in per_call} == {"rules", "policy"}


@pytest.mark.unit
def test_kinds_restrict_the_search(fake_small_index: HybridRetriever) -> None:
    query = "torture prisoners visits force record"
    retriever = HandbookRetriever(hybrid=fake_small_index, k=10, kinds=["policy"])
    assert {d.metadata["doc"] for d in retriever.invoke(query)} == {"policy"}
    both = retriever.invoke(query, kinds=["binding-standard", "guidance"])
    assert {d.metadata["doc"] for d in both} == {"rules", "articles"}


@pytest.mark.unit
def test_bad_options_fail_with_one_clear_line(fake_small_index: HybridRetriever) -> None:
    with pytest.raises(ValueError, match="doc_ids: 'rulez' not in the index"):
        HandbookRetriever(hybrid=fake_small_index, doc_ids=["rulez"])
    retriever = HandbookRetriever(hybrid=fake_small_index)
    with pytest.raises(ValueError, match="kinds: 'law' unknown"):
        retriever.invoke("visits", kinds=["law"])
    with pytest.raises(ValueError, match="k: expected a whole number"):
        retriever.invoke("visits", k=0)
    with pytest.raises(ValueError, match="doc_ids: expected a list of strings"):
        retriever.invoke("visits", doc_ids="rules")
    with pytest.raises(TypeError, match="unknown option"):
        retriever.invoke("visits", top_k=3)
    with pytest.raises(ValueError, match="question: empty"):
        retriever.invoke("   ")
    with pytest.raises(ValueError):
        HandbookRetriever(hybrid=fake_small_index, k=0)


@pytest.mark.integration
def test_from_settings_uses_the_built_index(tmp_path: Path, real_small_index: HybridRetriever) -> None:
    from assistant.settings import AnswerSettings, Settings
    from ingest.settings import IngestSettings

    settings = Settings(
        ingest=IngestSettings(index_dir=real_small_index.snapshot.root, glossary_path=tmp_path / "none.toml"),
        answer=AnswerSettings(top_k=2),
    )
    retriever = HandbookRetriever.from_settings(settings, embedder=real_small_index.embedder, kinds=["policy"])
    assert retriever.k == 2
    docs = retriever.invoke("When must handcuffs be removed?")
    assert len(docs) == 2
    assert {d.metadata["doc"] for d in docs} == {"policy"}
