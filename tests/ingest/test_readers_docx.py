"""The DOCX reader: headings by style, Word's numbering rebuilt, tables by row, paragraphs as locations."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_factory import (
    KNIFE_ISSUE,
    KNIFE_STORAGE,
    RETURN_CHECK,
    make_bad_crc_docx,
    make_docx,
    make_not_a_zip_docx,
    make_ole_docx,
    make_truncated_docx,
    paragraph_texts,
)

from ingest.pipeline import chunk_document
from ingest.readers import DocumentText, ReaderError, reader_for
from ingest.readers.docx import DocxReader

pytestmark = pytest.mark.unit


@pytest.fixture
def text(tmp_path: Path) -> DocumentText:
    return DocxReader().read(make_docx(tmp_path / "knives.docx"))


def test_every_paragraph_is_one_location_numbered_in_reading_order(text: DocumentText) -> None:
    assert text.format == "docx" and not text.paged and text.unit == "paragraph"
    assert [len(location) for location in text.locations] == [1] * 14  # the empty paragraph is not counted
    assert [location[0].page for location in text.locations] == list(range(1, 15))
    assert text.notes == []


def test_headings_come_from_the_paragraph_styles(text: DocumentText) -> None:
    headings = [(line.text, line.heading_level) for loc in text.locations for line in loc if line.heading_level]
    # Title above Heading 1 above Heading 2.
    assert headings == [("Kitchen Knife Control", 1), ("1. Knife control", 2), ("2. Searches", 2), ("Contacts", 3)]


def test_word_numbering_is_rebuilt_as_printed(text: DocumentText) -> None:
    texts = paragraph_texts(text)
    assert texts[2] == f"1.1 {KNIFE_STORAGE}"
    assert texts[3] == f"1.2 {KNIFE_ISSUE}"
    assert texts[4].startswith("1.3 ")
    # A new item of the outer level restarts the inner one.
    assert texts[6].startswith("2.1 ") and texts[7] == f"2.2 {RETURN_CHECK}"
    # The template's own list styles: bullets and a numbered list of its own.
    assert texts[11:14] == [
        "\u2022 Report every loss to security.",
        "1. Close the kitchen.",
        "2. Call the orderly officer.",
    ]


def test_table_rows_are_paragraphs_of_cells(text: DocumentText) -> None:
    assert paragraph_texts(text)[9:11] == ["Role | Extension", "Orderly officer | 2210"]


def test_chunks_carry_the_documents_headings_and_numbered_units(text: DocumentText) -> None:
    chunks = chunk_document(text, "knives", "Knife control")
    storage = next(c for c in chunks if KNIFE_STORAGE in c.text)
    assert storage.headings == ["Kitchen Knife Control", "1. Knife control"]
    assert storage.ref_at(storage.text.index(KNIFE_STORAGE)) == "1.1"
    assert storage.page_at(storage.text.index(KNIFE_ISSUE)) == 4  # paragraph 4
    table = next(c for c in chunks if "Orderly officer | 2210" in c.text)
    assert table.headings[-1] == "Contacts" and table.page_start == 10


def test_numbering_levels_letters_and_restarts(tmp_path: Path) -> None:
    import docx
    from doc_factory import _add_outline_numbering, _number

    document = docx.Document()
    _add_outline_numbering(document)
    for level, words in [(0, "Scope"), (1, "First"), (2, "Sub a"), (2, "Sub b"), (1, "Second"), (2, "Again a")]:
        _number(document.add_paragraph(words), level)
    path = tmp_path / "levels.docx"
    document.save(str(path))
    assert paragraph_texts(DocxReader().read(path)) == [
        "1. Scope",
        "1.1 First",
        "(a) Sub a",
        "(b) Sub b",
        "1.2 Second",
        "(a) Again a",
    ]


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (make_not_a_zip_docx, "corrupt DOCX (not a ZIP package"),
        (make_truncated_docx, "corrupt DOCX (not a ZIP package"),
        (make_bad_crc_docx, "corrupt DOCX (broken ZIP"),
        (make_ole_docx, "save it as .docx without a password"),
    ],
)
def test_damaged_files_fail_in_one_line_naming_the_file(build: object, reason: str, tmp_path: Path) -> None:
    path = build(tmp_path / "bad.docx")  # type: ignore[operator]
    with pytest.raises(ReaderError) as caught:
        DocxReader().read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message


def test_an_empty_document_has_no_text(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "empty.docx"
    document = docx.Document()
    document.add_paragraph("   ")
    document.save(str(path))
    with pytest.raises(ReaderError, match="no text in the document body"):
        DocxReader().read(path)


def test_chosen_by_extension(tmp_path: Path) -> None:
    assert isinstance(reader_for(tmp_path / "Orders.DOCX"), DocxReader)
