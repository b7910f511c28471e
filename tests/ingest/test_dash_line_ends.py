"""A dash ending a PDF line stands between two words: extraction must not join them ("Affairscreated").

The US State Department guide prints "... and Consular Affairs—" at the end of a line of page 2
and "created this handbook ..." on the next; the chunker used to read the straightened dash as a
word-breaking hyphen and store "Consular Affairscreated", a quote no page shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.chunking import CHUNKER_VERSION, join_lines, page_texts
from ingest.page_cleaning import PageCleaner
from ingest.pdf_text import read_pdf_pages
from ingest.textnorm import normalize_for_match

LINES = [
    "Three State Department Bureaus - International Narcotics and Law Enforcement",
    "Affairs, Democracy, Human Rights and Labor, and Consular Affairs\u2014",
    "created this handbook to provide embassies with a basic understanding.",
    "A word broken by a hyphen at the end of a line is still one word: punish-",
    "ment follows the rule.",
    "An en dash before a figure keeps its figure: pages 12\u2013",
    "15 are cited.",
]


def _pdf(path: Path, lines: list[str]) -> Path:
    """One page, one `cell` per line, in a core font written as Windows-1252 (which has both dashes)."""
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for i, line in enumerate(lines):
        pdf.set_xy(15, 20 + 6 * i)
        pdf.cell(0, 5, line)
    pdf.output(str(path))
    return path


def _stored_text(pdf: Path) -> str:
    """The page's text as the index stores it (the text quotes are checked against)."""
    cleaned = PageCleaner().run(read_pdf_pages(pdf).pages)
    return page_texts("doc", cleaned)[0].text


@pytest.mark.unit
def test_a_dash_ending_a_line_keeps_the_words_apart(tmp_path: Path) -> None:
    text = _stored_text(_pdf(tmp_path / "dash.pdf", LINES))
    assert "Consular Affairs\u2014 created this handbook" in text
    assert "Affairscreated" not in text and "Affairs-created" not in text
    assert "punishment follows the rule." in text  # a real hyphen still joins its word
    assert "pages 12\u2013 15 are cited." in text


@pytest.mark.unit
def test_match_normalisation_keeps_the_words_apart() -> None:
    raw = "and Consular Affairs\u2014 \r\ncreated this handbook; a punish-\r\nment"
    normal = normalize_for_match(raw)
    assert "consular affairs- created this handbook" in normal
    assert "affairscreated" not in normal
    assert "punishment" in normal
    # The stored text and the raw page normalise alike, so the quote verifier and the evals agree.
    assert normalize_for_match("Consular Affairs\u2014 created") in normal


@pytest.mark.unit
def test_final_dash() -> None:
    from ingest.textnorm import final_dash

    assert final_dash("Consular Affairs\u2014 ") == "\u2014"
    assert final_dash("pages 12\u2013") == "\u2013"
    assert final_dash("punish-") == ""
    assert final_dash("no dash") == ""


@pytest.mark.unit
def test_the_chunker_version_makes_old_indexes_re_parse() -> None:
    # Stored texts changed: an index built before is re-chunked (its unchanged chunks keep their vectors).
    assert CHUNKER_VERSION >= 4


@pytest.mark.unit
def test_join_lines_reads_a_kept_dash_as_a_word_boundary() -> None:
    assert join_lines(["Consular Affairs\u2014", "created this"]) == "Consular Affairs\u2014 created this"
    assert join_lines(["punish-", "ment"]) == "punishment"


@pytest.mark.integration
def test_the_us_state_department_guide_page_2(shared_corpus: Path) -> None:
    pdf = shared_corpus / "us-state-dept-practical-guide-understanding-evaluating-prison-systems-2012.pdf"
    if not pdf.is_file():
        pytest.skip(f"{pdf.name} not in the shared corpus")
    pages = PageCleaner().run(read_pdf_pages(pdf).pages)
    page_2 = join_lines([line.text for line in pages[1]])
    assert "Consular Affairs\u2014 created this handbook" in page_2
    assert "Affairscreated" not in page_2
    # A verbatim quote across the dash is found on the page as pypdf and pdfium print it.
    raw = read_pdf_pages(pdf).pages[1]
    assert normalize_for_match("Labor, and Consular Affairs\u2014 created this handbook") in normalize_for_match(raw)
