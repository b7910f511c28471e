"""The located section of a DOCX/HTML/Markdown citation as HTML (where a PDF citation shows its page image)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flow_index import FLOW_DOC, KNIFE_PARAGRAPHS, PDF_DOC, flow_chunks, write_flow_index

from assistant.answer.records import Answer
from assistant.app.export import Exchange
from assistant.app.section_view import SectionView, located_paragraphs, section_html
from ingest.index_store import IndexSnapshot
from ingest.records import Chunk

COUNT_LABEL = "Knife Policy, 3. Knife control, 3.2, \u00b6\u00b6 6\u20137"
COUNT_QUOTE = KNIFE_PARAGRAPHS[5] + "\n" + KNIFE_PARAGRAPHS[6]


def _marked(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


@pytest.mark.unit
def test_control_characters_never_reach_the_section_view() -> None:
    paragraphs = [(2, "Visitors are searched\x1b]0;PWNED\x07\x1b[2J at the gate.")]
    html = section_html("Visits\x1b[2J, \u00b6 2", "Searches\x07", paragraphs, "at the gate.", [2])
    assert "\x1b" not in html and "\x07" not in html and "PWNED" not in html
    assert _marked(html) == ["at the gate."]


@pytest.mark.unit
def test_every_character_is_escaped_and_the_quote_marked() -> None:
    paragraphs = [(3, "Staff <b>must</b> log & sign."), (4, 'Then "the" <script>x()</script> ends.')]
    html = section_html("Orders <1>, Scope & aims, \u00b6 4", "Scope & <aims>", paragraphs, "<script>x()</script>", [4])
    assert "<script>" not in html and "<b>" not in html and "<1>" not in html and "<aims>" not in html
    assert "<h4>Orders &lt;1&gt;, Scope &amp; aims, \u00b6 4</h4>" in html
    assert '<h5 class="hb-section-heading">Scope &amp; &lt;aims&gt;</h5>' in html
    assert "Staff &lt;b&gt;must&lt;/b&gt; log &amp; sign." in html
    assert _marked(html) == ["&lt;script&gt;x()&lt;/script&gt;"]
    assert (
        '<p class="hb-para hb-cited" data-paragraph="4">' in html and '<p class="hb-para" data-paragraph="3">' in html
    )
    assert '<span class="hb-para-n">\u00b6 3</span>' in html


@pytest.mark.unit
def test_a_quote_over_two_paragraphs_is_marked_in_both() -> None:
    paragraphs = [(5, KNIFE_PARAGRAPHS[4]), (6, KNIFE_PARAGRAPHS[5]), (7, KNIFE_PARAGRAPHS[6])]
    html = section_html(COUNT_LABEL, "3. Knife control", paragraphs, COUNT_QUOTE, [6, 7])
    assert _marked(html) == [KNIFE_PARAGRAPHS[5], KNIFE_PARAGRAPHS[6]]
    assert html.count("hb-cited") == 2
    # Compared as the quote verifier compares: white space, case and typographic characters aside.
    loose = "KNIVES are counted at the start and at the end of every shift by the kitchen officer. The count is"
    html = section_html(COUNT_LABEL, "", paragraphs, loose, [6, 7])
    assert _marked(html) == [
        "Knives are counted at the start and at the end of every shift by the kitchen officer.",
        "The count is",
    ]
    curly = section_html("x", "", [(1, 'He said "stop" \u2014 twice.')], "he said \u201cstop\u201d - twice.", [1])
    assert _marked(curly) == ["He said &quot;stop&quot; \u2014 twice."]


@pytest.mark.unit
def test_the_quote_is_marked_in_the_cited_paragraph_first() -> None:
    paragraphs = [(1, "Knives are counted."), (2, "Knives are counted.")]
    html = section_html("x", "", paragraphs, "Knives are counted.", [2])
    assert re.search(r'data-paragraph="2"><span class="hb-para-n">[^<]*</span> <mark>', html)
    assert len(_marked(html)) == 1


@pytest.mark.unit
def test_a_quote_not_found_leaves_the_text_unmarked() -> None:
    html = section_html("x", "", [(1, "Knives are counted.")], "Forks are counted.", [1])
    assert "<mark>" not in html and "Knives are counted." in html
    assert "not in the index" in section_html("x", "", [], "q", [1])


def _chunk(headings: list[str], start: int, end: int) -> Chunk:
    return Chunk(
        id=f"c{start}", doc_id="d", title="t", ref="", headings=headings, page_start=start, page_end=end, text="x"
    )


@pytest.mark.unit
def test_located_paragraphs_are_the_cited_section_or_at_least_the_passage() -> None:
    chunks = [_chunk(["A"], 2, 4), _chunk(["A"], 5, 9), _chunk(["B"], 11, 12), _chunk(["A"], 20, 22)]
    assert located_paragraphs(chunks, "d", "A", [6], [5, 9]) == list(range(2, 10))  # not the later "A" at 20
    assert located_paragraphs(chunks, "d", "B", [11]) == [11, 12]
    assert located_paragraphs(chunks, "d", "Z", [6], [5, 7]) == [5, 6, 7]  # no such section: the passage
    assert located_paragraphs(chunks, "other", "A", [6]) == [6]
    assert located_paragraphs(chunks, "d", "A", []) == []
    # A long section is cut to a window around the cited paragraphs.
    long = [_chunk(["L"], 1, 100)]
    window = located_paragraphs(long, "d", "L", [50, 51], limit=10)
    assert len(window) == 10 and window[0] <= 50 and window[-1] >= 51
    assert located_paragraphs(long, "d", "L", [1], limit=10) == list(range(1, 11))


@pytest.fixture(scope="module")
def flow_snapshot(tmp_path_factory: pytest.TempPathFactory) -> IndexSnapshot:
    return IndexSnapshot.open(write_flow_index(tmp_path_factory.mktemp("section") / "index"))


@pytest.mark.unit
def test_section_view_shows_the_heading_and_the_sections_paragraphs(flow_snapshot: IndexSnapshot) -> None:
    assert [c.headings[-1] for c in flow_chunks()] == ["1. Purpose", "3. Knife control", "4. Missing knives"]
    html = SectionView(flow_snapshot).html(FLOW_DOC, COUNT_LABEL, "3. Knife control", [6, 7], COUNT_QUOTE, [5, 6, 7])
    assert re.findall(r'data-paragraph="(\d+)"', html) == ["5", "6", "7"]
    assert '<h5 class="hb-section-heading">3. Knife control</h5>' in html
    assert _marked(html) == [KNIFE_PARAGRAPHS[5], KNIFE_PARAGRAPHS[6]]
    assert KNIFE_PARAGRAPHS[8] not in html  # the next section


# --- the app: the section where a PDF shows its page --------------------------------------------------------


class _Warm:
    ready, failed = True, False

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def get(self, timeout: float | None = None) -> Any:
        return self.assistant

    def improving(self) -> None:
        return None  # no ingest embedding e5 here


@pytest.fixture()
def flow_app(flow_snapshot: IndexSnapshot, tmp_path: Path) -> Any:
    from fakes import FakeEmbedder

    from assistant.answer.decision import AnswerabilityPolicy
    from assistant.app.feedback import FeedbackStore
    from assistant.app.pdf_pages import PageRenderer, SourceDocuments
    from assistant.chain import Assistant
    from assistant.retrieval import HybridRetriever

    ui = pytest.importorskip("assistant.app.ui")
    retriever = HybridRetriever.build(flow_snapshot, FakeEmbedder())  # type: ignore[arg-type]
    assistant = Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))
    app = ui.HandbookApp(
        _Warm(assistant),  # type: ignore[arg-type]
        assistant.documents(),
        FeedbackStore(tmp_path / "fb.sqlite3"),
        SourceDocuments(flow_snapshot.meta.documents),
        PageRenderer(tmp_path / "pages"),
        tmp_path / "exports",
    )
    app.build()
    return app


def _show(app: Any, choice: str, exchanges: list[Exchange]) -> tuple[Any, str, bool]:
    """The page image, the HTML beside it and whether the image box shows, as `show_page` sets them."""
    shown = app.show_page(choice, exchanges)
    image = shown[app.page.chat.page_image]
    return image["value"], shown[app.page.chat.page_text], image["visible"]


def _ask(app: Any, question: str) -> tuple[Answer, list[Exchange]]:
    answer = app.warm.get().ask(question)
    return answer, [Exchange(question, answer)]


@pytest.mark.unit
def test_a_flow_citation_card_has_its_label_and_no_pdf_link(flow_app: Any) -> None:
    from assistant.app import ui

    answer, _ = _ask(flow_app, "How are kitchen knives counted at the end of a shift?")
    sources = ui.answer_sources(answer)
    count = next(s for s in sources if s.ref == "3.2")
    assert count.label() == f"[{count.key[1:]}] {COUNT_LABEL}" and not count.paged
    assert count.around == [5, 6, 7]  # the passage the quote comes from
    cards = ui.source_cards(sources, flow_app.kinds)
    assert COUNT_LABEL in cards and "pdf/" not in cards and "Open the PDF" not in cards


@pytest.mark.unit
def test_show_page_shows_the_located_section_for_a_flow_citation(flow_app: Any) -> None:
    from assistant.app import ui

    answer, exchanges = _ask(flow_app, "How are kitchen knives counted at the end of a shift?")
    count = next(s for s in ui.answer_sources(answer) if s.ref == "3.2")
    image, html, image_box = _show(flow_app, f"0:{count.key}", exchanges)
    assert image is None and image_box is False  # no empty page box beside the section
    assert f"<h4>[{count.key[1:]}] Knife Policy, 3. Knife control, 3.2, \u00b6\u00b6 6\u20137</h4>" in html
    assert _marked(html) == [KNIFE_PARAGRAPHS[5], KNIFE_PARAGRAPHS[6]]
    assert re.findall(r'data-paragraph="(\d+)"', html) == ["5", "6", "7"]


@pytest.mark.unit
def test_show_page_still_renders_the_page_of_a_pdf_citation(flow_app: Any) -> None:
    from assistant.app import ui

    answer, exchanges = _ask(flow_app, "Can prisoners write letters to their family?")
    rule = next(s for s in ui.answer_sources(answer) if s.doc == PDF_DOC)
    assert rule.paged and "Rules, Rule 58, p. 20" in rule.label()
    image, html, image_box = _show(flow_app, f"0:{rule.key}", exchanges)
    # This index has no PDF file: the page is not shown, its passage and label are (no section view).
    assert image is None and image_box is True and "hb-section" not in html and "The PDF is not available here" in html
