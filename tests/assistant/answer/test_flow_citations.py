"""Citations of a document without pages (DOCX, HTML, Markdown) beside a PDF's: label, JSON, CLI, export, brief, quiz.

The index is written directly (tests/flow_index.py): a Markdown handbook whose locations are
numbered paragraphs, and a PDF page, as the readers store them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flow_index import FLOW_DOC, FLOW_TITLE, KNIFE_PARAGRAPHS, PDF_DOC, write_flow_index
from typer.testing import CliRunner

from assistant import cli
from assistant.answer.decision import AnswerabilityPolicy
from assistant.answer.records import Answer
from assistant.answer.verify import QuoteVerifier
from assistant.chain import Assistant
from assistant.retrieval import HybridRetriever
from ingest.index_store import IndexSnapshot
from ingest.textnorm import normalize_for_match

KNIVES = "How are kitchen knives counted at the end of a shift?"
LETTERS = "Can prisoners write letters to their family?"
COUNT_LABEL = "Knife Policy, 3. Knife control, 3.2, \u00b6\u00b6 6\u20137"


@pytest.fixture(scope="module")
def flow_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_flow_index(tmp_path_factory.mktemp("flow") / "index")


@pytest.fixture()
def assistant_(flow_index: Path) -> Assistant:
    from fakes import FakeEmbedder

    retriever = HybridRetriever.build(IndexSnapshot.open(flow_index), FakeEmbedder())  # type: ignore[arg-type]
    return Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))


def _flow_citation(answer: Answer, ref: str):  # type: ignore[no-untyped-def]
    return next(c for c in answer.citations if c.doc == FLOW_DOC and c.ref == ref)


@pytest.mark.unit
def test_a_flow_citation_names_section_ref_and_paragraphs(assistant_: Assistant) -> None:
    answer = assistant_.ask(KNIVES)
    assert answer.state == "answered"
    count = _flow_citation(answer, "3.2")
    assert (count.format, count.section, count.pages, count.paragraphs) == ("md", "3. Knife control", [], [6, 7])
    assert count.label() == COUNT_LABEL
    assert count.quote.startswith("3.2 Knives are counted") and count.quote.endswith("two members of staff.")
    tether = _flow_citation(answer, "3.1")
    assert tether.label() == "Knife Policy, 3. Knife control, 3.1, \u00b6 5"
    # The extractive answer heads each quote with its label and lists them under "Sources:".
    assert f"{COUNT_LABEL}:\n\u201c3.2 Knives are counted" in answer.answer
    assert f"[{count.n}] {COUNT_LABEL}" in answer.answer.split("\n\nSources:\n", 1)[1]
    passage = next(p for p in answer.passages if p.doc == FLOW_DOC and p.ref == "3.1")
    assert (passage.pages, passage.paragraphs, passage.section) == ([], [5, 6, 7], "3. Knife control")


@pytest.mark.unit
def test_every_flow_quote_is_verified_against_its_stored_paragraphs(assistant_: Assistant, flow_index: Path) -> None:
    answer = assistant_.ask(KNIVES)
    snapshot = IndexSnapshot.open(flow_index)
    for c in answer.citations:
        stored = " ".join(normalize_for_match(snapshot.page_text(c.doc, n) or "") for n in c.locations)
        assert normalize_for_match(c.quote) in stored
    # The quote over two paragraphs is found in the pair, in neither alone.
    verifier = QuoteVerifier(snapshot)
    count = _flow_citation(answer, "3.2")
    assert verifier.verify(FLOW_DOC, [6, 7], count.quote)
    assert not verifier.verify(FLOW_DOC, [6], count.quote) and not verifier.verify(FLOW_DOC, [7], count.quote)
    assert (verifier.document_format(FLOW_DOC), verifier.document_format(PDF_DOC)) == ("md", "pdf")


@pytest.mark.unit
def test_a_pdf_citation_is_unchanged_but_names_its_section(assistant_: Assistant) -> None:
    answer = assistant_.ask(LETTERS)
    rule = next(c for c in answer.citations if c.doc == PDF_DOC)
    assert rule.label() == "Rules, Rule 58, p. 20"
    assert (rule.format, rule.pages, rule.paragraphs, rule.section) == (
        "pdf",
        [20],
        [],
        "Contact with the outside world",
    )


@pytest.mark.unit
def test_json_fields_for_pdf_and_flow_citations(assistant_: Assistant) -> None:
    data = json.loads(json.dumps(assistant_.ask(KNIVES).to_json_dict()))
    count = next(c for c in data["citations"] if c["ref"] == "3.2")
    assert {k: count[k] for k in ("doc", "title", "ref", "section", "pages", "paragraphs", "format")} == {
        "doc": FLOW_DOC,
        "title": FLOW_TITLE,
        "ref": "3.2",
        "section": "3. Knife control",
        "pages": [],
        "paragraphs": [6, 7],
        "format": "md",
    }
    flow_passage = next(p for p in data["passages"] if p["doc"] == FLOW_DOC)
    assert flow_passage["pages"] == [] and flow_passage["paragraphs"] and flow_passage["format"] == "md"
    rule = json.loads(json.dumps(assistant_.ask(LETTERS).to_json_dict()))
    pdf = next(c for c in rule["citations"] if c["doc"] == PDF_DOC)
    assert (pdf["pages"], pdf["paragraphs"], pdf["format"]) == ([20], [], "pdf")


def _cli(monkeypatch: pytest.MonkeyPatch, assistant_: Assistant, *args: str) -> str:
    monkeypatch.setattr(cli, "_load_assistant", lambda index, llm=None: assistant_)
    result = CliRunner().invoke(cli.app, ["ask", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.unit
def test_cli_prints_paragraph_labels_for_flow_documents(monkeypatch: pytest.MonkeyPatch, assistant_: Assistant) -> None:
    out = _cli(monkeypatch, assistant_, KNIVES, "--passages")
    assert f"{COUNT_LABEL}:" in out
    assert "3.2 Knives are counted at the start and at the end of every shift by the kitchen officer." in out
    assert "Knife Policy, 3. Knife control, 3.1, \u00b6\u00b6 5\u20137" in out.split("Passages retrieved:", 1)[1]
    assert "p. " not in out.split("Passages retrieved:", 1)[0].replace("Rules, Rule 58, p. 20", "")
    data = json.loads(_cli(monkeypatch, assistant_, KNIVES, "--json"))
    assert any(c["paragraphs"] == [6, 7] and c["section"] == "3. Knife control" for c in data["citations"])


@pytest.mark.unit
def test_cli_prints_the_pdf_label(monkeypatch: pytest.MonkeyPatch, assistant_: Assistant) -> None:
    out = _cli(monkeypatch, assistant_, LETTERS)
    assert "Rules, Rule 58, p. 20:" in out and "[1] Rules, Rule 58, p. 20" in out


@pytest.mark.unit
def test_export_cites_paragraphs_and_pages(assistant_: Assistant) -> None:
    from assistant.app.export import Exchange, conversation_markdown

    md = conversation_markdown([Exchange(KNIVES, assistant_.ask(KNIVES)), Exchange(LETTERS, assistant_.ask(LETTERS))])
    sources = md.split("**Sources**")
    assert f"Knife Policy, 3. Knife control, 3.2, \u00b6\u00b6 6\u20137 (document `{FLOW_DOC}`)" in sources[1]
    assert f"Rules, Rule 58, p. 20 (document `{PDF_DOC}`)" in sources[2]


@pytest.mark.unit
def test_brief_and_quiz_cite_paragraphs(assistant_: Assistant) -> None:
    from assistant.trainers.brief import BriefBuilder
    from assistant.trainers.quiz import QuizBuilder

    brief = BriefBuilder(assistant_, min_relative_score=0.0).build("kitchen knives")
    flow = [p for p in brief.passages() if p.doc == FLOW_DOC]
    assert flow and all(not p.paged and p.section for p in flow)
    md = brief.to_markdown()
    assert "**Knife Policy, 3. Knife control, 3.1, \u00b6\u00b6 5\u20137**" in md
    assert "Cited: " in md and "3. Knife control, 3.1, \u00b6\u00b6 5\u20137" in md.split("## Sources", 1)[1]
    count = next(p for p in flow if p.ref == "3.1")
    start = count.text.index("3.2 Knives")
    assert count.citation_at(start, len(count.text)) == COUNT_LABEL  # one sentence: its own unit and paragraphs
    quiz = QuizBuilder(n_questions=6, seed=0).build(brief, kind="cloze")
    flow_questions = [q for q in quiz.questions if q.citation.startswith(FLOW_TITLE)]
    assert flow_questions
    for q in flow_questions:
        assert "\u00b6 " in q.citation and "p. " not in q.citation, q.citation


@pytest.mark.unit
def test_index_stats_counts_paragraphs_of_flow_documents(flow_index: Path) -> None:
    result = CliRunner().invoke(cli.app, ["index", "stats", "--index", str(flow_index)])
    assert result.exit_code == 0, result.output
    assert f"{FLOW_DOC}: {len(KNIFE_PARAGRAPHS)} md paragraphs, 3 chunks" in result.output
    assert f"{PDF_DOC}: 30 pages, 1 chunks" in result.output
