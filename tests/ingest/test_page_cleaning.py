"""Running headers, footers and page counters are removed; body text is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from pdf_factory import DEFAULT_HEADER, DEFAULT_TITLE, make_pdf, make_repeated_line_pdf, sample_rules_pages

from ingest.page_cleaning import PageCleaner
from ingest.pdf_text import read_pdf_pages

pytestmark = pytest.mark.unit

TITLE = "Treatment of Prisoners (the Test Rules)"


def _texts(cleaned: list) -> list[list[str]]:  # type: ignore[type-arg]
    return [[line.text for line in page] for page in cleaned]


def _raw_pages(bodies: list[list[str]], header: str | None = "A/RES/99/1", title: str | None = TITLE) -> list[str]:
    """Page texts as pdfium returns them: header lines, body, then the "n/N" counter."""
    total = len(bodies)
    pages = []
    for number, body in enumerate(bodies, start=1):
        lines = [line for line in (header, title) if line] + body + [f"{number}/{total}"]
        pages.append("\r\n".join(lines))
    return pages


BODIES = [
    ["Rule 1", "All prisoners shall be treated with respect.", "Their dignity shall be protected."],
    ["Rule 2", "There shall be no discrimination of any kind.", "Religious beliefs shall be respected."],
    ["Rule 3", "A file shall be kept for every prisoner.", "It shall be confidential."],
    ["Rule 4", "Prisoners may write to their family.", "Visits shall be allowed at regular intervals."],
    ["Rule 5", "Solitary confinement shall be limited.", "Instruments of restraint are not a sanction."],
]


def test_running_header_and_counter_removed_from_every_page() -> None:
    cleaned = _texts(PageCleaner().run(_raw_pages(BODIES)))
    assert len(cleaned) == len(BODIES)
    for number, (page, body) in enumerate(zip(cleaned, BODIES, strict=True), start=1):
        assert "A/RES/99/1" not in page
        assert TITLE not in page
        assert f"{number}/{len(BODIES)}" not in page
        assert page == body


def test_lines_keep_their_page_numbers() -> None:
    cleaned = PageCleaner().run(_raw_pages(BODIES))
    for number, page in enumerate(cleaned, start=1):
        assert {line.page for line in page} == {number}


def test_running_title_with_changing_page_number_removed() -> None:
    bodies = [[f"Body sentence number {word} of this report." for word in ("one", "two")] for _ in range(4)]
    bodies = [[f"{line} Page marker {chr(65 + i)}." for line in body] for i, body in enumerate(bodies)]
    pages = [
        f"{i} ANNUAL REPORT ON PRISONS {i + 1}\n" + "\n".join(body) + f"\nPage {i} of 4"
        for i, body in enumerate(bodies, 1)
    ]
    cleaned = _texts(PageCleaner().run(pages))
    for page, body in zip(cleaned, bodies, strict=True):
        assert page == body


def test_a_line_that_appears_once_is_kept() -> None:
    bodies = [list(body) for body in BODIES]
    bodies[2] = ["Special notice for the third page", *bodies[2]]
    cleaned = _texts(PageCleaner().run(_raw_pages(bodies)))
    assert cleaned[2][0] == "Special notice for the third page"
    assert sum(page.count("Special notice for the third page") for page in cleaned) == 1


def test_rule_lines_at_page_tops_are_not_headers() -> None:
    # Every page opens with "Rule N": masked digits make them look alike, but they are units.
    cleaned = _texts(PageCleaner().run(_raw_pages(BODIES, header=None, title=None)))
    for number, page in enumerate(cleaned, start=1):
        assert page[0] == f"Rule {number}"


def test_article_lines_at_page_tops_are_kept() -> None:
    bodies = [[f"Article {n}", f"Each State Party shall act under clause {chr(64 + n)}."] for n in range(1, 7)]
    cleaned = _texts(PageCleaner().run(_raw_pages(bodies)))
    assert [page[0] for page in cleaned] == [f"Article {n}" for n in range(1, 7)]


def test_short_documents_keep_repeated_lines() -> None:
    # Two pages are too few to tell a running header from a repeated line.
    pages = ["Staff handbook\nFirst page text.", "Staff handbook\nSecond page text."]
    cleaned = _texts(PageCleaner().run(pages))
    assert cleaned == [["Staff handbook", "First page text."], ["Staff handbook", "Second page text."]]


def test_generated_pdf_header_and_counter_removed(tmp_path: Path) -> None:
    pages = sample_rules_pages()
    pdf = make_pdf(tmp_path / "rules.pdf", pages)
    raw = read_pdf_pages(pdf).pages
    assert len(raw) == len(pages)
    assert all(DEFAULT_HEADER in text and DEFAULT_TITLE in text for text in raw)
    cleaned = _texts(PageCleaner().run(raw))
    for number, page in enumerate(cleaned, start=1):
        assert page, f"page {number} lost all its lines"
        assert DEFAULT_HEADER not in page
        assert DEFAULT_TITLE not in page
        assert f"{number}/{len(pages)}" not in page
        assert page[0] == pages[number - 1][0]  # "Rule N" opens each page
    assert "Rule 5" in cleaned[2]


REPEATED = "All wings are checked by the duty officer at noon."


def test_a_repeated_line_that_is_a_pages_only_text_is_kept() -> None:
    # Pages 1-4 have a body of their own; pages 5-12 carry the repeated line and nothing else.
    body = "Body text of page {} about the wing, the yard and the visits room."
    pages = [f"{REPEATED}\n{body.format(word)}" for word in ("one", "two", "three", "four")]
    pages += [f"{REPEATED}\n{n}" for n in range(5, 13)]
    result = PageCleaner().clean(pages)
    cleaned = _texts(result.lines)
    for number in range(5, 13):
        assert cleaned[number - 1] == [REPEATED], number  # the counter goes, the body line stays
    assert result.emptied == []
    for number in range(1, 5):  # beside a body of its own it is a running line there
        assert REPEATED not in cleaned[number - 1]


def test_pages_emptied_by_cleaning_are_counted() -> None:
    # Three short running lines and nothing else: each is a third of the page, so all go.
    lines = ["Annex of the test rules", "Forms of the test rules", "Notes of the test rules"]
    pages = ["Rule 1\nThe only body text of the whole document is on this first page."]
    pages += ["\n".join(lines) for _ in range(5)]
    result = PageCleaner().clean(pages)
    assert result.emptied == [2, 3, 4, 5, 6]
    assert result.lost_share > 0.5
    assert _texts(result.lines)[0][0] == "Rule 1"


def test_generated_pdf_of_one_repeated_line_keeps_every_page(tmp_path: Path) -> None:
    pdf = make_repeated_line_pdf(tmp_path / "register.pdf", pages=60, distinct=20, line=REPEATED)
    result = PageCleaner().clean(read_pdf_pages(pdf).pages)
    assert all(page for page in result.lines)
    assert all(_texts(result.lines)[n] == [REPEATED] for n in range(20, 60))


REGISTER_HEADER = "HMP Test Property Register"


def _word(number: int) -> str:
    """1 -> "b", 26 -> "ba": a word of its own for every number."""
    word = ""
    while True:
        number, rest = divmod(number, 26)
        word = chr(97 + rest) + word
        if not number:
            return word


def _register_entries(pages: int) -> list[list[str]]:
    """Entries that differ only in digits, one to three a page, numbered on from page to page."""
    entries, number = [], 0
    for page in range(1, pages + 1):
        lines = []
        for _ in range(1 + page % 3):
            number += 1
            day, month, cell = 1 + number % 28, 1 + number % 12, 1 + (number * 7) % 40
            lines.append(f"Entry {number:04d} received {day:02d}/{month:02d}/2019 cell {cell}")
        entries.append(lines)
    return entries


def _make_register_pdf(path: Path, entries: list[list[str]]) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_font("Helvetica", size=10)
    for number, lines in enumerate(entries, start=1):
        pdf.add_page()
        pdf.set_xy(15, 12)
        pdf.cell(0, 5, REGISTER_HEADER)
        for row, line in enumerate(lines):
            pdf.set_xy(15, 24 + 6 * row)
            pdf.cell(0, 5, line)
        pdf.set_xy(15, 282)
        pdf.cell(0, 5, f"Page {number} of {len(entries)}")
    pdf.output(str(path))
    return path


def test_register_entries_differing_in_digits_kept(tmp_path: Path) -> None:
    # Issue 26, row 4: the digits were masked, so the entries looked like one running line and
    # most of a 3,000-page register was dropped; its header and page counter are still running lines.
    entries = _register_entries(200)
    pdf = _make_register_pdf(tmp_path / "register.pdf", entries)
    result = PageCleaner().clean(read_pdf_pages(pdf).pages)
    assert _texts(result.lines) == entries
    assert result.emptied == []


def test_register_entries_numbered_as_the_pages_kept() -> None:
    # One entry a page, numbered as the page is: the entry number is inside the line, so it is text.
    pages = [
        [f"Entry {n:04d} cell {n % 9}", f"Property listed: bag {_word(n)}, shoes, one watch."] for n in range(1, 41)
    ]
    result = PageCleaner().clean([f"Register\n{a}\n{b}\n{n}" for n, (a, b) in enumerate(pages, 1)])
    assert _texts(result.lines) == pages


def test_lines_differing_in_edge_numbers_several_a_page_kept() -> None:
    # "0001 Property bag" ... three a page: a page number stands once on a page, so these are entries.
    pages = [[f"{3 * p + k:04d} Property bag" for k in range(3)] + [f"Body text {chr(97 + p)}."] for p in range(26)]
    cleaned = _texts(PageCleaner().run(["\n".join(page) for page in pages]))
    assert cleaned == pages


def test_counter_inside_a_running_line_removed() -> None:
    # "Policy on searching | Page 5 of 29": the counter goes up with the page, the rest stays the same.
    bodies = [[f"Body sentence {chr(97 + n)} of the searching policy."] for n in range(10)]
    pages = [f"Policy on searching | Page {n} of 10\n" + "\n".join(body) for n, body in enumerate(bodies, 1)]
    assert _texts(PageCleaner().run(pages)) == bodies


def test_numbered_lines_that_do_not_follow_the_pages_kept() -> None:
    # "Item 3 of 40" on every page, but the numbers jump: not a page counter.
    items = [
        [f"Item {n * n % 37 + 1} of 40 searched", f"Body text {_word(n)} of the searching policy."] for n in range(12)
    ]
    assert _texts(PageCleaner().run(["\n".join(page) for page in items])) == items
