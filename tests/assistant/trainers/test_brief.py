"""Tests for the trainers' topic brief: passage selection, citations, markdown and .docx handouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistant.chain import QuestionError
from assistant.retrieval import ScoredChunk, SearchFilter, SearchResult
from assistant.trainers.brief import BriefBuilder, BriefDocument, BriefPassage, TopicBrief, md_blockquote, md_escape
from ingest.records import Chunk, DocumentInfo, PageSpan, RefSpan

MANDELA = "un-nelson-mandela-rules-A-RES-70-175-2015"
MANDELA_TITLE = (
    "United Nations Standard Minimum Rules for the Treatment of Prisoners (the Nelson Mandela Rules), "
    "GA resolution A/RES/70/175"
)
MANDELA_SHORT = "Nelson Mandela Rules (A/RES/70/175)"
HMPPS = "hmpps-visits-2023"
REPORT = "act-audit-2014"

RULE_58 = (
    "1. Prisoners shall be allowed, under necessary supervision, to communicate with their family and friends "
    "at regular intervals:\n(a) By corresponding in writing and using, where available, telecommunication, "
    "electronic, digital and other means; and\n(b) By receiving visits."
)
RULES_44_45 = (
    "For the purpose of these rules, solitary confinement shall refer to the confinement of prisoners for 22 hours "
    "or more a day without meaningful human contact. Prolonged solitary confinement shall refer to solitary "
    "confinement for a time period in excess of 15 consecutive days.\n1. Solitary confinement shall be used only "
    "in exceptional cases as a last resort."
)


# --- hand-built records -------------------------------------------------------------------------


def _brief() -> TopicBrief:
    return TopicBrief(
        topic="visits by children",
        generated_at="2026-03-04T10:11:12+00:00",
        documents=[
            BriefDocument(
                doc=MANDELA,
                title=MANDELA_TITLE,
                kind="binding-standard",
                short_title=MANDELA_SHORT,
                passages=[
                    BriefPassage(doc=MANDELA, title=MANDELA_SHORT, ref="Rule 58", pages=[20], text=RULE_58, score=0.9)
                ],
            ),
            BriefDocument(
                doc=HMPPS,
                title="Management of Security at Visits Policy Framework",
                kind="policy",
                short_title="HMPPS Visits Policy Framework (2023)",
                passages=[
                    BriefPassage(
                        doc=HMPPS,
                        title="HMPPS Visits Policy Framework (2023)",
                        ref="4.2",
                        pages=[11, 12],
                        text="Children visiting must be accompanied by an adult aged 18 years or over.",
                        score=0.5,
                    )
                ],
            ),
        ],
    )


# --- BriefBuilder with a stub retriever (no model) --------------------------------------------


def _chunk(doc: str, ref: str, text: str, page: int = 5) -> Chunk:
    return Chunk(
        id=f"{doc}-{ref}-{abs(hash(text))}",
        doc_id=doc,
        title=doc,
        ref=ref,
        headings=[],
        page_start=page,
        page_end=page,
        text=text,
    )


@dataclass
class _StubRetriever:
    hits: list[ScoredChunk]
    calls: list[tuple[str, int, SearchFilter | None]] = field(default_factory=list)

    def search(self, query: str, k: int = 5, search_filter: SearchFilter | None = None) -> SearchResult:
        self.calls.append((query, k, search_filter))
        return SearchResult(query, query, self.hits[:k])


@dataclass
class _StubAssistant:
    """Just what BriefBuilder reads from an `Assistant`: retriever, snapshot.meta.documents, titles."""

    retriever: _StubRetriever
    snapshot: Any
    titles: dict[str, str]


def _assistant(hits: list[tuple[Chunk, float]]) -> _StubAssistant:
    def info(doc: str, title: str, short: str, kind: str) -> DocumentInfo:
        return DocumentInfo(id=doc, title=title, short_title=short, kind=kind, sha256="0" * 64, pages=30, chunks=9)

    documents = {
        MANDELA: info(MANDELA, MANDELA_TITLE, MANDELA_SHORT, "binding-standard"),
        HMPPS: info(HMPPS, "Management of Security at Visits Policy Framework", "HMPPS Visits (2023)", "policy"),
        REPORT: info(REPORT, "Human Rights Audit of the AMC", "ACT Audit (2014)", "report"),
    }

    @dataclass
    class _Meta:
        documents: dict[str, DocumentInfo]

    @dataclass
    class _Snapshot:
        meta: _Meta

    return _StubAssistant(
        retriever=_StubRetriever([ScoredChunk(chunk, score) for chunk, score in hits]),
        snapshot=_Snapshot(_Meta(documents)),
        titles={d.id: d.short_title for d in documents.values()},
    )


def _build(hits: list[tuple[Chunk, float]], **config: Any) -> tuple[TopicBrief, _StubAssistant]:
    stub = _assistant(hits)
    return BriefBuilder(stub, **config).build("visits by children"), stub  # type: ignore[arg-type]


@pytest.mark.unit
def test_documents_ordered_by_their_best_passage_and_grouped() -> None:
    brief, _ = _build(
        [
            (_chunk(HMPPS, "4.2", "Children must be accompanied."), 0.9),
            (_chunk(MANDELA, "Rule 58", "Prisoners shall be allowed visits."), 0.8),
            (_chunk(HMPPS, "4.3", "Children may use the play area."), 0.7),
            (_chunk(REPORT, "11", "Families reported long waits."), 0.6),
        ]
    )
    assert [d.doc for d in brief.documents] == [HMPPS, MANDELA, REPORT]
    assert [p.ref for p in brief.documents[0].passages] == ["4.2", "4.3"]
    assert brief.documents[1].title == MANDELA_TITLE  # full title for the heading
    assert brief.documents[1].kind == "binding-standard"
    passage = brief.documents[1].passages[0]
    assert (passage.title, passage.ref, passage.pages) == (MANDELA_SHORT, "Rule 58", [5])
    assert passage.citation() == "Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 5"


@pytest.mark.unit
def test_search_gets_the_topic_k40_and_the_filter() -> None:
    stub = _assistant([(_chunk(HMPPS, "4.2", "Children must be accompanied."), 0.9)])
    BriefBuilder(stub).build("  visits by children ", doc_ids=[HMPPS], kinds=("policy",))  # type: ignore[arg-type]
    assert stub.retriever.calls == [("visits by children", 40, SearchFilter((HMPPS,), ("policy",)))]


@pytest.mark.unit
def test_low_scores_dropped_relative_to_the_best() -> None:
    brief, _ = _build(
        [
            (_chunk(MANDELA, "Rule 58", "Visits are allowed."), 1.0),
            (_chunk(HMPPS, "4.2", "Children must be accompanied."), 0.31),
            (_chunk(REPORT, "11", "Unrelated text about food."), 0.29),
        ],
        min_relative_score=0.3,
    )
    assert [p.ref for p in brief.passages()] == ["Rule 58", "4.2"]


@pytest.mark.unit
def test_caps_per_document_and_in_total() -> None:
    hits = [(_chunk(MANDELA, f"Rule {i}", f"Passage number {i}."), 1.0 - i / 100) for i in range(6)]
    hits += [(_chunk(HMPPS, f"4.{i}", f"Policy paragraph {i}."), 0.9 - i / 100) for i in range(6)]
    brief, _ = _build(hits, per_document=2, max_passages=3)
    assert [p.ref for p in brief.passages()] == ["Rule 0", "Rule 1", "4.0"]


@pytest.mark.unit
def test_identical_texts_kept_once() -> None:
    brief, _ = _build(
        [
            (_chunk(MANDELA, "Rule 58", "Prisoners shall be allowed\nvisits."), 1.0),
            (_chunk(MANDELA, "Rule 58", "Prisoners  shall be allowed visits."), 0.9),
            (_chunk(HMPPS, "4.2", "Children must be accompanied."), 0.8),
        ]
    )
    assert [p.ref for p in brief.passages()] == ["Rule 58", "4.2"]


@pytest.mark.unit
def test_bad_topic_rejected_with_the_reason() -> None:
    stub = _assistant([])
    with pytest.raises(QuestionError, match="empty"):
        BriefBuilder(stub).build("   ")  # type: ignore[arg-type]
    assert stub.retriever.calls == []


@pytest.mark.unit
def test_no_hits_gives_an_empty_brief() -> None:
    brief, _ = _build([])
    assert brief.empty and brief.documents == []
    assert "No passages" in brief.to_markdown()


@pytest.mark.unit
def test_passage_keeps_spans_for_sentence_citations() -> None:
    chunk = _chunk(MANDELA, "Rules 44\u201345", RULES_44_45, page=17)
    second = RULES_44_45.index("1. Solitary")
    chunk.refs = [RefSpan(offset=0, ref="Rule 44"), RefSpan(offset=second, ref="Rule 45")]
    chunk.page_end = 18
    chunk.pages = [PageSpan(offset=0, page=17), PageSpan(offset=second, page=18)]
    brief, _ = _build([(chunk, 1.0)])
    passage = next(brief.passages())
    assert passage.citation() == "Nelson Mandela Rules (A/RES/70/175), Rules 44\u201345, pp. 17\u201318"
    assert passage.citation_at(0, 40) == "Nelson Mandela Rules (A/RES/70/175), Rule 44, p. 17"
    assert passage.citation_at(second, len(RULES_44_45)) == "Nelson Mandela Rules (A/RES/70/175), Rule 45, p. 18"


# --- markdown ------------------------------------------------------------------------------------


@pytest.mark.unit
def test_markdown_handout() -> None:
    md = _brief().to_markdown()
    assert md.startswith("# Topic brief: visits by children\n")
    assert "2026-03-04" in md
    assert f"## {MANDELA_TITLE} (binding-standard)" in md
    assert "## Management of Security at Visits Policy Framework (policy)" in md
    # Verbatim text, line by line, as a blockquote; the list item "(b)" keeps its own line.
    assert "> (b) By receiving visits." in md
    assert "> Children visiting must be accompanied by an adult aged 18 years or over." in md
    assert "**Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20**" in md
    assert "**HMPPS Visits Policy Framework (2023), 4.2, pp. 11\u201312**" in md
    sources = md.split("## Sources", 1)[1]
    assert "1. Nelson Mandela Rules (A/RES/70/175):" in sources and "Rule 58, p. 20" in sources
    assert "2. HMPPS Visits Policy Framework (2023):" in sources
    # Quote comes before its citation, and the Mandela document (best passage) first.
    assert md.index("By receiving visits") < md.index("Rule 58, p. 20") < md.index("4.2, pp. 11")


@pytest.mark.unit
def test_markdown_never_renumbers_or_reformats_the_quoted_text() -> None:
    # "12." at a line start would become an ordered list (renumbered from 1 by some renderers).
    quote = md_blockquote("12. Visits shall be recorded.\n# not a heading\n- not a bullet\nsnake_case *not bold*")
    assert quote.splitlines() == [
        "> 12\\. Visits shall be recorded.  ",
        "> \\# not a heading  ",
        "> \\- not a bullet  ",
        "> snake\\_case \\*not bold\\*",
    ]
    assert md_escape("Rule 58 (a)") == "Rule 58 (a)"


# --- docx ----------------------------------------------------------------------------------------


@pytest.mark.unit
def test_docx_handout_has_headings_quotes_and_bold_citations(tmp_path: Path) -> None:
    from docx import Document

    path = _brief().to_docx(tmp_path / "out" / "brief.docx")
    assert path == tmp_path / "out" / "brief.docx" and path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["brief.docx"]  # no temporary file left behind
    assert path.stat().st_mode & 0o044 == 0o044  # readable by others, unlike a bare mkstemp file
    paragraphs = Document(str(path)).paragraphs
    texts = [p.text for p in paragraphs]
    assert texts[0] == "Topic brief: visits by children"
    assert f"{MANDELA_TITLE} (binding-standard)" in texts
    quote = next(p for p in paragraphs if p.text.startswith("1. Prisoners shall be allowed"))
    assert quote.style is not None and quote.style.name == "Quote"
    assert quote.text == RULE_58  # verbatim, line breaks included
    cite = paragraphs[paragraphs.index(quote) + 1]
    assert cite.text == "\u2014 Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20"
    assert all(run.bold for run in cite.runs)
    assert "Sources" in texts
    assert any(t.startswith("HMPPS Visits Policy Framework (2023): ") and "4.2, pp. 11\u201312" in t for t in texts)


@pytest.mark.unit
def test_docx_replaces_an_existing_file_and_drops_invalid_characters(tmp_path: Path) -> None:
    from docx import Document

    target = tmp_path / "brief.docx"
    target.write_text("old content")
    target.chmod(0o640)
    brief = _brief()
    brief.documents[1].passages[0].text = "Form feed\x0c between pages."
    brief.to_docx(target)
    texts = [p.text for p in Document(str(target)).paragraphs]
    assert "Form feed between pages." in texts
    assert target.stat().st_mode & 0o777 == 0o640  # the replaced file's mode is kept


# --- the real index ------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_real_brief_on_visits_by_children(corpus_settings: Any) -> None:
    from assistant.chain import Assistant

    brief = BriefBuilder(Assistant.from_settings(corpus_settings)).build("visits by children")
    assert len(brief.documents) >= 2, [d.doc for d in brief.documents]
    kinds = {d.doc: d.kind for d in brief.documents}
    assert all(kinds.values()), kinds
    for passage in brief.passages():
        assert passage.pages and all(p >= 1 for p in passage.pages)
        assert passage.text.strip() and passage.title
        assert passage.citation().startswith(passage.title) and "p. " in passage.citation()
    texts = " ".join(p.text.lower() for p in brief.passages())
    assert "child" in texts and "visit" in texts
    md = brief.to_markdown()
    assert all(p.citation() in md.replace("\\", "") for p in brief.passages())


@pytest.mark.unit
def test_docx_keeps_formula_and_field_text_as_plain_text(tmp_path: Path) -> None:
    """Word never evaluates a text run: no field code may come out of document text (DDE, =cmd|...)."""
    import zipfile

    from docx import Document

    brief = _brief()
    planted = '=cmd|\' /C calc\'!A0 {DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"} =HYPERLINK("x")'
    brief.documents[1].passages[0].text = planted
    path = brief.to_docx(tmp_path / "brief.docx")
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("word/document.xml").decode()
    assert "instrText" not in xml and "fldSimple" not in xml and "fldChar" not in xml
    assert planted in [p.text for p in Document(str(path)).paragraphs]
