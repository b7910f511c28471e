"""The PDF reader behind the reader interface, and how a reader is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
from pdf_factory import make_pdf, make_truncated_pdf, sample_rules_pages

from ingest.page_cleaning import PageCleaner
from ingest.pdf_text import read_pdf_pages
from ingest.readers import SUPPORTED_SUFFIXES, ReaderError, UnsupportedFormatError, format_of, reader_for
from ingest.readers.pdf import PdfReader

pytestmark = pytest.mark.unit


def test_pdf_reader_yields_the_cleaned_pages(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "rules.pdf", sample_rules_pages())
    text = reader_for(pdf).read(pdf)
    assert isinstance(reader_for(pdf), PdfReader)
    assert text.format == "pdf" and text.paged and text.unit == "page"
    assert text.locations == PageCleaner().clean(read_pdf_pages(pdf).pages).lines
    assert all(line.heading_level == 0 for page in text.locations for line in page)  # PDFs mark no headings


def test_pdf_errors_are_reader_errors(tmp_path: Path) -> None:
    bad = make_truncated_pdf(tmp_path / "bad.pdf")
    with pytest.raises(ReaderError, match="corrupt or truncated"):
        PdfReader().read(bad)


def test_progress_is_reported_per_page(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "rules.pdf", sample_rules_pages())
    seen: list[tuple[int, int]] = []
    PdfReader().read(pdf, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] == len(sample_rules_pages())


@pytest.mark.parametrize("name", ["standing-orders.odt", "rota.xlsx", "notes", "old.doc"])
def test_unsupported_formats_are_named_in_one_line(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        reader_for(tmp_path / name)
    suffix = Path(name).suffix or "(no extension)"
    assert str(caught.value) == f"{tmp_path / name}: unsupported format {suffix} (supported: .pdf, .docx, .html, .md)"


def test_formats_by_file_name() -> None:
    assert [format_of(f"x{s}") for s in SUPPORTED_SUFFIXES] == ["pdf", "docx", "html", "html", "html", "md", "md"]
    assert format_of("x.odt") is None
