"""What every document reader yields, and how it fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ingest.records import DocumentFormat, Line

# Reading progress: (locations done, locations in all); only the PDF reader is slow enough to report it.
Progress = Callable[[int, int], None]


class ReaderError(Exception):
    """A document that cannot be turned into text; the message is one line naming the file and the reason."""


@dataclass(frozen=True)
class DocumentText:
    """A document's text as lines with their locations, ready for structure recovery.

    `locations[n - 1]` holds the lines of location n: PDF page n, whose running headers and footers
    are already removed, or paragraph n of a flow document (one line each, headings marked
    with `Line.heading_level`).
    """

    path: Path
    format: DocumentFormat
    locations: list[list[Line]]
    notes: list[str] = field(default_factory=list)  # text lost on the way, one short clause each

    @property
    def paged(self) -> bool:
        return self.format == "pdf"

    @property
    def unit(self) -> str:
        """What a location is called in a message: "page" or "paragraph"."""
        return "page" if self.paged else "paragraph"


class DocumentReader(Protocol):
    """Reads one format. Readers are chosen by file extension (`ingest.readers.reader_for`)."""

    @property
    def format(self) -> DocumentFormat: ...

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The file extensions it reads, lower case with the dot: (".html", ".htm")."""
        ...

    def read(self, path: Path, progress: Progress | None = None) -> DocumentText:
        """The document's text; raises ReaderError (one line) for a file it cannot read."""
        ...


def check_file(path: Path) -> None:
    """The checks every reader starts with: the file is there and not empty."""
    if not path.exists():
        raise ReaderError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ReaderError(f"{path}: empty file (0 bytes)")
