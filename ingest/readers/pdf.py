"""PDF: per-page text (pdfium), running headers, footers and page counters removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.page_cleaning import PageCleaner
from ingest.pdf_text import PdfError, PdfLimitError, PdfPages, page_ranges, read_pdf_pages
from ingest.readers.base import DocumentText, Progress, ReaderError
from ingest.readers.limits import LimitError, ReaderLimits
from ingest.records import DocumentFormat

LOST_TEXT_SHARE = 0.5  # a document that loses more than this share of its text or pages gets a note
MAX_RANGES = 10  # page ranges a note names; more are counted


@dataclass(frozen=True)
class PdfReader:
    """Each page is a location; the lines of a page are cleaned of what repeats on most pages."""

    cleaner: PageCleaner = field(default_factory=PageCleaner)
    format: DocumentFormat = "pdf"
    suffixes: tuple[str, ...] = (".pdf",)
    limits: ReaderLimits = field(default_factory=ReaderLimits)

    def read(self, path: Path, progress: Progress | None = None) -> DocumentText:
        deadline = self.limits.deadline(path, PdfLimitError)
        try:
            raw = read_pdf_pages(path, on_page=progress, limits=self.limits, deadline=deadline)
        except PdfLimitError as exc:
            raise LimitError(str(exc)) from exc
        except PdfError as exc:
            raise ReaderError(str(exc)) from exc
        cleaned = self.cleaner.clean(raw.pages)
        notes = _text_losses(raw, cleaned.emptied, cleaned.lost_share)
        return DocumentText(path=Path(path), format="pdf", locations=cleaned.lines, notes=notes)


def _text_losses(raw: PdfPages, emptied: list[int], lost_share: float) -> list[str]:
    """What a document lost in extraction or cleaning, one short clause each (empty: nothing worth a note)."""
    losses: list[str] = []
    if emptied:
        losses.append(f"{_pages(emptied)}: no text after cleaning")
    elif lost_share > LOST_TEXT_SHARE:
        losses.append(f"{lost_share:.0%} of the text removed as running headers or footers")
    if len(raw.textless) > LOST_TEXT_SHARE * len(raw.pages):  # a few blank or cover pages are normal
        images, blank = raw.textless_pages("image"), raw.textless_pages("blank")
        if images:
            losses.append(f"{_pages(images)}: images without text (need OCR)")
        if blank:
            losses.append(f"{_pages(blank)}: blank")
    return losses


def _pages(pages: list[int]) -> str:
    ranges = page_ranges(pages).split(", ")
    if len(ranges) > MAX_RANGES:  # a note stays one readable line
        return f"{len(pages):,} pages ({', '.join(ranges[:MAX_RANGES])}, …)"
    return ("page " if len(pages) == 1 else "pages ") + ", ".join(ranges)
