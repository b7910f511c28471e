"""Resource limits of the readers: what a hostile or broken file may cost before it is refused.

Every limit is an `IngestSettings` field (environment `HANDBOOK_<NAME>`); a document over one
fails with one line naming the limit and its setting, and the other documents are read as usual.
A reader runs in the ingest process, so the wall-time limit is a deadline its loops check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.readers.base import ReaderError

if TYPE_CHECKING:
    from ingest.settings import IngestSettings


class LimitError(ReaderError):
    """A document over one of the reader limits; the message names the limit and its setting."""


@dataclass(frozen=True)
class ReaderLimits:
    """The limits every reader is built with (`ingest.readers.reader_for`).

    The defaults (the same as `IngestSettings`) pass the corpus with a wide margin (its largest
    PDF stream expands to 0.7 MB, its longest PDF has 232 pages) and keep a reader under 1 GB of
    memory: python-docx's tree takes about 160 bytes an XML element, BeautifulSoup about 1 KB a
    tag, markdown-it about 0.5 KB a token (up to five a line).
    """

    # Bytes one PDF stream or one DOCX part may expand to (a DOCX's parts together too), and the
    # size of an HTML or Markdown file, which is read whole.
    max_decompressed_bytes: int = 200_000_000
    max_pages: int = 10_000  # pages of a PDF
    # Elements of a document, counted before it is parsed: XML elements of a DOCX's parts,
    # tags of an HTML page, lines of text of a Markdown file.
    max_elements: int = 300_000
    max_headings: int = 10_000  # headings of a DOCX, HTML or Markdown document
    max_seconds_per_file: float = 300.0

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> ReaderLimits:
        return cls(
            max_decompressed_bytes=settings.max_decompressed_bytes,
            max_pages=settings.max_pages,
            max_elements=settings.max_elements,
            max_headings=settings.max_headings,
            max_seconds_per_file=settings.max_seconds_per_file,
        )

    def message(self, path: Path | str, what: str, field: str) -> str:
        """ "x.pdf: 12,000 pages (limit HANDBOOK_MAX_PAGES=10000)": one line naming the limit and its setting."""
        value = getattr(self, field)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{path}: {what} (limit HANDBOOK_{field.upper()}={shown})"

    def error(self, path: Path | str, what: str, field: str) -> LimitError:
        return LimitError(self.message(path, what, field))

    def deadline(self, path: Path | str, error: type[Exception] = LimitError) -> Deadline:
        """The wall-time limit of reading `path`, starting now; `error` is what `check` raises."""
        seconds = self.max_seconds_per_file
        return Deadline(self.message(path, f"not read within {seconds:g} s", "max_seconds_per_file"), seconds, error)


class Deadline:
    """Checked inside a reader's loops: past the time, `check` raises one line naming the limit."""

    def __init__(self, message: str, seconds: float, error: type[Exception] = LimitError) -> None:
        self.message = message
        self.error = error
        self._end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() >= self._end:
            raise self.error(self.message)


def no_deadline() -> Deadline:
    """A deadline that never passes: for callers of the page extraction without limits."""
    return Deadline("", float("inf"))


def check_file_size(path: Path, limits: ReaderLimits) -> None:
    """A text format (HTML, Markdown) is read whole: its size counts as what it expands to."""
    size = path.stat().st_size
    if size > limits.max_decompressed_bytes:
        raise limits.error(path, f"a file of {size:,} bytes", "max_decompressed_bytes")
