"""The HTML reader: the page's own text by heading, paragraph, item and row; what surrounds it dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_factory import (
    KNIFE_ISSUE,
    KNIFE_LOSS,
    KNIFE_STORAGE,
    RETURN_CHECK,
    SEARCH_ROUTINE,
    make_html,
    make_textless_html,
    paragraph_texts,
)

from ingest.pipeline import chunk_document
from ingest.readers import DocumentText, ReaderError, reader_for
from ingest.readers.html import HtmlReader

pytestmark = pytest.mark.unit


@pytest.fixture
def text(tmp_path: Path) -> DocumentText:
    return HtmlReader().read(make_html(tmp_path / "knives.html"))


def _read(tmp_path: Path, body: str | bytes, name: str = "page.html") -> list[str]:
    path = tmp_path / name
    path.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return paragraph_texts(HtmlReader().read(path))


def test_page_text_in_reading_order_one_location_each(text: DocumentText) -> None:
    assert text.format == "html" and not text.paged
    assert [loc[0].page for loc in text.locations] == list(range(1, 19))
    assert paragraph_texts(text) == [
        "Kitchen Knife Control",
        "3. Knife control",
        f"3.1 {KNIFE_STORAGE}",
        f"3.2 {KNIFE_ISSUE}",  # inline markup (<em>) is text
        f"3.3 {KNIFE_LOSS}",
        "Steps when a knife is missing",
        "1. Close the kitchen.",
        "2. Call the orderly officer.",
        "\u2022 Report every loss to security.",
        "4. Searches",
        f"4.1 {SEARCH_ROUTINE}",
        f"4.2 {RETURN_CHECK}",
        "Role | Extension",
        "Orderly officer | 2210",
        "Count the knives, then count them again.",
        "Shadow board",
        "A board painted with the outline of every tool.",
        "Form KC1 knife register",
    ]


def test_navigation_banners_footers_scripts_and_forms_are_dropped(text: DocumentText) -> None:
    joined = " ".join(paragraph_texts(text))
    for dropped in ("Staff intranet home", "Search the intranet", "Policies A-Z", "Related pages", "SCRIPT TEXT",
                    "Crown copyright", "Enable JavaScript", "font-family", "Staff intranet"):  # fmt: skip
        assert dropped not in joined


def test_headings_h1_to_h6_by_level(tmp_path: Path) -> None:
    body = "".join(f"<h{n}>Level {n}</h{n}><p>Text {n}.</p>" for n in range(1, 7))
    path = tmp_path / "levels.html"
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    lines = [line for loc in HtmlReader().read(path).locations for line in loc]
    assert [(line.text, line.heading_level) for line in lines if line.heading_level] == [
        (f"Level {n}", n) for n in range(1, 7)
    ]


def test_ordered_lists_follow_start_value_type_and_nesting(tmp_path: Path) -> None:
    body = (
        '<ol start="3"><li>Three<ol type="a"><li>Sub a</li><li>Sub b</li></ol></li>'
        '<li>Four</li><li value="9">Nine</li></ol><ul><li><p>Bullet in a paragraph</p></li></ul>'
    )
    assert _read(tmp_path, f"<html><body>{body}</body></html>") == [
        "3. Three", "a. Sub a", "b. Sub b", "4. Four", "9. Nine", "\u2022 Bullet in a paragraph",
    ]  # fmt: skip


def test_article_header_kept_page_banner_dropped_and_main_preferred(tmp_path: Path) -> None:
    body = (
        "<header><p>Site banner</p></header><div class='sidebar'><p>Sidebar outside main</p></div>"
        "<main><article><header><h1>Article title</h1></header><p>Body text.</p></article></main>"
    )
    assert _read(tmp_path, f"<html><body>{body}</body></html>") == ["Article title", "Body text."]


def test_a_form_around_the_whole_page_is_the_page(tmp_path: Path) -> None:
    # ASP.NET and SharePoint pages wrap everything in one form; a search form on its own goes.
    body = "<form id='aspnetForm'><h1>Visits</h1><p>Visits are booked a day ahead.</p></form><form><input></form>"
    assert _read(tmp_path, f"<html><body>{body}</body></html>") == ["Visits", "Visits are booked a day ahead."]


def test_chunks_take_the_pages_headings(text: DocumentText) -> None:
    chunks = chunk_document(text, "knives", "Knife control")
    storage = next(c for c in chunks if KNIFE_STORAGE in c.text)
    assert storage.headings == ["Kitchen Knife Control", "3. Knife control"]
    assert storage.ref_at(storage.text.index(KNIFE_STORAGE)) == "3.1"
    steps = next(c for c in chunks if "1. Close the kitchen." in c.text)
    assert steps.headings == ["3. Knife control", "Steps when a knife is missing"]
    assert (steps.page_start, steps.page_end) == (7, 9)


def test_declared_charset_is_honoured(tmp_path: Path) -> None:
    path = make_html(
        tmp_path / "legacy.html", extra=" It costs \u00a35 \u2013 the \u201cknife fee\u201d.", encoding="cp1252"
    )
    assert any('It costs \u00a35 - the "knife fee".' in t for t in paragraph_texts(HtmlReader().read(path)))
    # iso-8859-1 means windows-1252 to a browser: 0x93/0x94 are curly quotes, not control characters.
    page = b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"></head>'
    assert _read(tmp_path, page + b"<body><p>\x93Quoted\x94</p></body></html>") == ['"Quoted"']


def test_undeclared_non_utf8_fails_naming_byte_and_offset(tmp_path: Path) -> None:
    path = make_html(tmp_path / "legacy.html", extra=" It costs \u00a35.", encoding="cp1252", declare=False)
    offset = path.read_bytes().index(b"\xa3")
    with pytest.raises(ReaderError) as caught:
        HtmlReader().read(path)
    assert str(caught.value) == f"{path}: not UTF-8 (byte 0xa3 at offset {offset}); save it as UTF-8"


def test_byte_order_mark_and_unknown_charset(tmp_path: Path) -> None:
    assert _read(tmp_path, b"\xef\xbb\xbf<p>Caf\xc3\xa9</p>") == ["Caf\u00e9"]
    with pytest.raises(ReaderError, match=r"unknown charset 'x-klingon' declared in the page; save it as UTF-8"):
        _read(tmp_path, b'<meta charset="x-klingon"><p>Text</p>')


def test_a_page_of_navigation_and_scripts_only_has_no_text(tmp_path: Path) -> None:
    path = make_textless_html(tmp_path / "menu.html")
    with pytest.raises(ReaderError) as caught:
        HtmlReader().read(path)
    assert str(caught.value) == f"{path}: no text after dropping navigation, headers, footers, scripts and styles"


def test_chosen_by_extension(tmp_path: Path) -> None:
    assert isinstance(reader_for(tmp_path / "page.htm"), HtmlReader)
    assert isinstance(reader_for(tmp_path / "page.HTML"), HtmlReader)
