"""The Markdown reader: headings, paragraphs, numbered and bulleted items, tables; inline markup dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_factory import (
    KNIFE_ISSUE,
    KNIFE_LOSS,
    KNIFE_STORAGE,
    make_cp1252_markdown,
    make_markdown,
    paragraph_texts,
)

from ingest.pipeline import chunk_document
from ingest.readers import DocumentText, ReaderError, reader_for
from ingest.readers.markdown import MarkdownReader

pytestmark = pytest.mark.unit


@pytest.fixture
def text(tmp_path: Path) -> DocumentText:
    return MarkdownReader().read(make_markdown(tmp_path / "knives.md"))


def _read(tmp_path: Path, source: str) -> list[tuple[str, int]]:
    path = tmp_path / "doc.md"
    path.write_text(source, encoding="utf-8")
    return [(line.text, line.heading_level) for loc in MarkdownReader().read(path).locations for line in loc]


def test_paragraphs_items_and_rows_are_locations(text: DocumentText) -> None:
    assert text.format == "md" and not text.paged
    assert [loc[0].page for loc in text.locations] == list(range(1, 15))
    texts = paragraph_texts(text)
    assert texts[:4] == ["Kitchen Knife Control", "3. Knife control", f"3.1 {KNIFE_STORAGE}", f"3.2 {KNIFE_ISSUE}"]
    assert texts[4] == f"3.3 {KNIFE_LOSS}"  # the link's text stays, its target goes
    assert texts[6:9] == [
        "4. Close the kitchen.",
        "5. Call the orderly officer.",
        "\u2022 Report every loss to security.",
    ]
    assert texts[12:] == ["Role | Extension", "Orderly officer | 2210"]
    assert not any("title:" in t or "owner:" in t for t in texts)  # front matter is not text


def test_atx_and_setext_headings_by_level(text: DocumentText) -> None:
    headings = [(line.text, line.heading_level) for loc in text.locations for line in loc if line.heading_level]
    assert headings == [
        ("Kitchen Knife Control", 1),
        ("3. Knife control", 2),
        ("Steps when a knife is missing", 3),
        ("4. Searches", 2),
    ]


def test_list_numbers_as_rendered_and_nested_items(tmp_path: Path) -> None:
    source = "1. One\n1. Two\n   - Nested *bullet*\n1. Three\n\n7) Seven\n8) Eight\n"
    assert _read(tmp_path, source) == [
        ("1. One", 0), ("2. Two", 0), ("\u2022 Nested bullet", 0), ("3. Three", 0), ("7) Seven", 0), ("8) Eight", 0)
    ]  # fmt: skip


def test_code_quotes_and_html_blocks_are_text(tmp_path: Path) -> None:
    source = (
        "> Quoted *advice*.\n\n```\nform KC1\n```\n\n<div>Raw <b>HTML</b> &amp; text</div>\n\n---\n\nAfter a rule.\n"
    )
    assert _read(tmp_path, source) == [
        ("Quoted advice.", 0), ("form KC1", 0), ("Raw HTML & text", 0), ("After a rule.", 0)
    ]  # fmt: skip


def test_chunks_take_the_files_headings(text: DocumentText) -> None:
    chunks = chunk_document(text, "knives", "Knife control")
    loss = next(c for c in chunks if KNIFE_LOSS in c.text)
    assert loss.headings == ["Kitchen Knife Control", "3. Knife control"] and loss.ref == "3.3"
    assert (loss.page_start, loss.page_end) == (5, 5)


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    text = MarkdownReader().read(make_markdown(tmp_path / "bom.md", bom=True))
    assert paragraph_texts(text)[0] == "Kitchen Knife Control"


def test_not_utf8_fails_naming_byte_and_offset(tmp_path: Path) -> None:
    path = make_cp1252_markdown(tmp_path / "prices.md")
    offset = path.read_bytes().index(b"\xa3")
    with pytest.raises(ReaderError) as caught:
        MarkdownReader().read(path)
    assert str(caught.value) == f"{path}: not UTF-8 (byte 0xa3 at offset {offset}); save it as UTF-8"


def test_empty_and_markup_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    with pytest.raises(ReaderError, match=r"empty file \(0 bytes\)"):
        MarkdownReader().read(empty)
    with pytest.raises(ReaderError, match="no text"):
        _read(tmp_path, "---\ntitle: x\n---\n\n<!-- nothing -->\n\n***\n")


def test_chosen_by_extension(tmp_path: Path) -> None:
    assert isinstance(reader_for(tmp_path / "a.md"), MarkdownReader)
    assert isinstance(reader_for(tmp_path / "a.markdown"), MarkdownReader)
