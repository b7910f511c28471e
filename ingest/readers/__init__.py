"""Document readers: one per format, chosen by file extension, all yielding `DocumentText`.

reader_for(Path("orders.docx")).read(path) -> DocumentText(format="docx", locations=[...])
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.readers.base import DocumentReader, DocumentText, Progress, ReaderError
from ingest.readers.docx import DocxReader
from ingest.readers.html import HtmlReader
from ingest.readers.limits import LimitError, ReaderLimits
from ingest.readers.markdown import MarkdownReader
from ingest.readers.pdf import PdfReader
from ingest.records import DocumentFormat

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DocumentReader",
    "DocumentText",
    "LimitError",
    "Progress",
    "ReaderError",
    "ReaderLimits",
    "UnsupportedFormatError",
    "format_of",
    "reader_for",
    "unsupported_document",
]

READERS: tuple[DocumentReader, ...] = (PdfReader(), DocxReader(), HtmlReader(), MarkdownReader())
# Each format's reader built with given limits.
_BUILD: dict[DocumentFormat, Callable[[ReaderLimits], DocumentReader]] = {
    "pdf": lambda limits: PdfReader(limits=limits),
    "docx": lambda limits: DocxReader(limits=limits),
    "html": lambda limits: HtmlReader(limits=limits),
    "md": lambda limits: MarkdownReader(limits=limits),
}
_BY_SUFFIX: dict[str, DocumentReader] = {suffix: reader for reader in READERS for suffix in reader.suffixes}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_BY_SUFFIX)
# How a message lists the formats: one extension each.
SUPPORTED_LABEL = ", ".join(reader.suffixes[0] for reader in READERS)
# Files that are documents, but of a format no reader reads: named when found in a folder, not skipped silently.
UNSUPPORTED_DOCUMENT_SUFFIXES = frozenset(
    {
        ".doc",
        ".dot",
        ".dotx",
        ".docm",
        ".odt",
        ".ott",
        ".rtf",
        ".txt",
        ".xlsx",
        ".xls",
        ".xlsm",
        ".ods",
    }
    | {".pptx", ".ppt", ".odp", ".epub", ".pages", ".xps", ".djvu", ".mht", ".mhtml"}
)


class UnsupportedFormatError(ReaderError):
    """A file whose extension no reader handles."""


def format_of(name: str | Path) -> DocumentFormat | None:
    """The format a file name's extension stands for (None: none that is read)."""
    reader = _BY_SUFFIX.get(Path(name).suffix.lower())
    return reader.format if reader is not None else None


def suffix_of(format: DocumentFormat) -> str:
    """The file extension a format is saved under: "pdf" -> ".pdf", "md" -> ".md"."""
    return next(reader.suffixes[0] for reader in READERS if reader.format == format)


def unsupported_document(path: Path) -> bool:
    return path.suffix.lower() in UNSUPPORTED_DOCUMENT_SUFFIXES


def reader_for(path: Path, limits: ReaderLimits | None = None) -> DocumentReader:
    """The reader for a file, by its extension, with `limits` (None: the defaults);
    UnsupportedFormatError (one line) for any other extension."""
    reader = _BY_SUFFIX.get(path.suffix.lower())
    if reader is None:
        suffix = path.suffix.lower() or "(no extension)"
        raise UnsupportedFormatError(f"{path}: unsupported format {suffix} (supported: {SUPPORTED_LABEL})")
    return reader if limits is None else _BUILD[reader.format](limits)
