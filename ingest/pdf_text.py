"""Per-page text extraction from PDF files, with clear errors for bad input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class PdfError(Exception):
    """A PDF that cannot be turned into text; the message is one line for the user."""


@dataclass(frozen=True)
class PdfPages:
    path: Path
    pages: list[str]  # raw text, index 0 = PDF page 1


def read_pdf_pages(path: Path | str, on_page: Callable[[int, int], None] | None = None) -> PdfPages:
    """Extract the raw text of every page.

    pdfium extracts about 30x faster than pypdf on this corpus (1.5 s against 51 s
    for the 8 shared PDFs) with the same reading order, so it does the text; pypdf
    is used only to recognise encryption, which pdfium reports less clearly.
    """
    import pypdfium2 as pdfium

    path = Path(path)
    if not path.exists():
        raise PdfError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise PdfError(f"{path}: empty file (0 bytes)")
    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise PdfError(f"{path}: not a PDF (no %PDF header)")
    _check_not_encrypted(path)
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise PdfError(f"{path}: corrupt or truncated PDF ({exc})") from exc
    try:
        pages: list[str] = []
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
            if on_page is not None and (index % 20 == 19 or index == len(doc) - 1):
                on_page(index + 1, len(doc))
    except pdfium.PdfiumError as exc:
        raise PdfError(f"{path}: corrupt or truncated PDF ({exc})") from exc
    finally:
        doc.close()
    if not any(p.strip() for p in pages):
        raise PdfError(f"{path}: no extractable text ({len(pages)} pages); the PDF is scanned images and needs OCR")
    return PdfPages(path=path, pages=pages)


def _check_not_encrypted(path: Path) -> None:
    import pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        encrypted = reader.is_encrypted
    except (PdfReadError, ValueError, OSError) as exc:
        raise PdfError(f"{path}: corrupt or truncated PDF ({exc})") from exc
    if encrypted:
        raise PdfError(f"{path}: encrypted PDF; remove the password protection and ingest it again")
