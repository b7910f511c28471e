"""assistant.answer.render: the one place that writes citation labels, escapes document text and names the sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.records import Citation
from assistant.answer.render import (
    SOURCES,
    SOURCES_HEADING,
    citation_label,
    docx_text,
    location_label,
    md_blockquote,
    md_escape,
    pages_label,
    paragraphs_label,
)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("numbers", "pages", "paragraphs"),
    [
        ([], "", ""),
        ([20], "p. 20", "\u00b6 20"),
        ([20, 20], "p. 20", "\u00b6 20"),
        ([11, 12], "pp. 11\u201312", "\u00b6\u00b6 11\u201312"),
        ([14, 15, 16], "pp. 14\u201316", "\u00b6\u00b6 14\u201316"),
    ],
)
def test_pages_and_paragraphs(numbers: list[int], pages: str, paragraphs: str) -> None:
    assert pages_label(numbers) == location_label(numbers) == location_label(numbers, paged=True) == pages
    assert paragraphs_label(numbers) == location_label(numbers, paged=False) == paragraphs


@pytest.mark.unit
def test_a_pdf_label_is_title_ref_page_and_never_names_the_section() -> None:
    label = citation_label("Nelson Mandela Rules (A/RES/70/175)", "Rule 58", [20], section="Contact with the outside")
    assert label == "Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20"
    assert citation_label("Audit", "", [3, 4]) == "Audit, pp. 3\u20134"  # unnumbered prose: no empty part


@pytest.mark.unit
def test_a_flow_document_label_names_section_ref_and_paragraphs() -> None:
    assert (
        citation_label("Knife Policy", "3.2", [14], paged=False, section="3. Knife control")
        == "Knife Policy, 3. Knife control, 3.2, \u00b6 14"
    )
    assert (
        citation_label("Knife Policy", "3.2", [14, 15, 16], paged=False, section="3. Knife control")
        == "Knife Policy, 3. Knife control, 3.2, \u00b6\u00b6 14\u201316"
    )
    assert citation_label("Orders", "", [2], paged=False, section="Scope") == "Orders, Scope, \u00b6 2"
    # A heading that only repeats the title (a Markdown "# Title") or the ref is not named twice.
    assert citation_label("Knife Policy", "", [3], paged=False, section="Knife Policy") == "Knife Policy, \u00b6 3"
    assert (
        citation_label("Orders", "Section 14", [9], paged=False, section="Section 14") == "Orders, Section 14, \u00b6 9"
    )


@pytest.mark.unit
def test_citation_label_follows_the_document_format() -> None:
    pdf = Citation(n=1, doc="rules", title="Rules", ref="Rule 58", pages=[20], quote="q", section="Contact")
    flow = Citation(
        n=2,
        doc="knives",
        title="Knife Policy",
        ref="3.2",
        quote="q",
        section="3. Knife control",
        paragraphs=[6, 7],
        format="md",
    )
    assert (pdf.label(), pdf.locations, pdf.paged) == ("Rules, Rule 58, p. 20", [20], True)
    assert (flow.label(), flow.locations, flow.paged) == (
        "Knife Policy, 3. Knife control, 3.2, \u00b6\u00b6 6\u20137",
        [6, 7],
        False,
    )
    assert flow.pages == []


@pytest.mark.unit
def test_sources_heading() -> None:
    assert SOURCES_HEADING == f"\n\n{SOURCES}:\n" == "\n\nSources:\n"


@pytest.mark.unit
def test_md_escape_leaves_no_markup_of_the_document_text() -> None:
    # Emphasis, links, HTML, LaTeX, headings, strikethrough and tables are all shown as written.
    assert md_escape("[link](http://x) $x$ #h `c`") == "\\[link\\](http://x) \\$x\\$ \\#h \\`c\\`"
    assert md_escape("<b>x</b> *a* _b_ ~~c~~ a|b") == "\\<b\\>x\\</b\\> \\*a\\* \\_b\\_ \\~\\~c\\~\\~ a\\|b"
    assert md_escape("Rule 58 (a) 1.5 metres - or less") == "Rule 58 (a) 1.5 metres - or less"


@pytest.mark.unit
def test_md_escape_never_starts_a_list_or_heading_underline() -> None:
    text = "12. Visits shall be recorded.\n3) Items\n- not a bullet\n+ nor this\n  -5 degrees\nTitle\n---\n==="
    assert md_escape(text).split("\n") == [
        "12\\. Visits shall be recorded.",
        "3\\) Items",
        "\\- not a bullet",
        "\\+ nor this",
        "  -5 degrees",
        "Title",
        "\\---",
        "\\===",
    ]


@pytest.mark.unit
def test_md_blockquote_keeps_line_breaks() -> None:
    assert md_blockquote("(a) one;\n\n(b) two.") == "> (a) one;  \n>\n> (b) two."


@pytest.mark.unit
def test_docx_text_drops_characters_xml_cannot_hold() -> None:
    assert docx_text("a\x00b\x0bc\ufffe\td\n") == "abc\td\n"


# Issue 26, row 10: a document's terminal escape codes were printed raw by `handbook ask`.
ESCAPES = "\x1b]0;PWNED\x07\x1b[2J"
CONTROL = "\x00\x07\x08\x1b\x7f\x85\x9b\x9d"


def _has_control(text: str) -> bool:
    return any(ch in text for ch in CONTROL) or "PWNED" in text or "[2J" in text


@pytest.mark.unit
def test_terminal_escape_codes_in_a_document_never_reach_the_terminal_app_or_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from assistant import cli
    from assistant.answer.records import Answer, AnswerDelta, Passage
    from assistant.app.export import Exchange, conversation_markdown
    from assistant.app.ui import answer_markdown, answer_sources, source_cards
    from ingest.readers import reader_for

    # At ingest: the text normaliser every reader uses drops them (here the Markdown reader).
    doc = tmp_path / "visits.md"
    doc.write_text(f"# Visits\n\nVisitors are searched{ESCAPES} at the gate.\x08\x7f\n", encoding="utf-8")
    lines = [line.text for page in reader_for(doc).read(doc).locations for line in page]
    assert "Visitors are searched at the gate." in lines and not any(_has_control(line) for line in lines)

    # At output, for an index built before that: the terminal (plain and --json), the page, the export.
    quote = f"Visitors are searched{ESCAPES} at the gate."
    citation = Citation(n=1, doc="visits", title=f"Visits{ESCAPES}", ref="", pages=[1], quote=quote)
    passage = Passage(doc="visits", title="Visits", pages=[1], ref="", score=0.9, text=quote)
    answer = Answer(
        question="search at the gate?",
        standalone_question="search at the gate?",
        answer=f"Visits, p. 1:\n\u201c{quote}\u201d [1]",
        refused=False,
        citations=[citation],
        passages=[passage],
    )

    class Stub:
        def run(self, question: str, **_: object) -> object:
            yield AnswerDelta(text=f"Searched{ESCAPES} [1].")
            yield answer.model_copy(update={"mode": "generated", "generated": f"Searched{ESCAPES} [1]."})

        def ask(self, question: str, **_: object) -> Answer:
            return answer

    monkeypatch.setattr(cli, "_load_assistant", lambda index, llm=None: Stub())
    printed = CliRunner().invoke(cli.app, ["ask", "search at the gate?", "--passages"]).output
    assert "Visitors are searched at the gate." in printed and not _has_control(printed), repr(printed)
    as_json = CliRunner().invoke(cli.app, ["ask", "search at the gate?", "--json"]).output
    assert json.loads(as_json)["citations"][0]["quote"] == "Visitors are searched at the gate."
    assert "\\u001b" not in as_json and not _has_control(as_json)

    shown = [
        answer_markdown(answer),
        source_cards(answer_sources(answer), {}),
        conversation_markdown([Exchange("q", answer)]),
    ]
    assert all("Visitors are searched at the gate." in text and not _has_control(text) for text in shown)
    assert not _has_control(docx_text(quote)) and not _has_control(md_blockquote(quote))
