"""Shared by the readers of flow formats (DOCX, HTML, Markdown): paragraphs as locations, decoding."""

from __future__ import annotations

import codecs
from pathlib import Path

from ingest.readers.base import DocumentText, ReaderError
from ingest.readers.limits import Deadline, ReaderLimits, no_deadline
from ingest.records import DocumentFormat, Line
from ingest.textnorm import clean_chars, squash_space

BULLET = "\u2022"

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class Paragraphs:
    """Collects a flow document's paragraphs in reading order; each becomes one location.

    Text is normalised as PDF text is (typographic characters unified, white space squashed),
    so that quotes compare the same way; empty paragraphs are not counted. Each paragraph
    added checks the reader's deadline, and the headings are counted against the limit.
    """

    def __init__(
        self, path: Path | None = None, limits: ReaderLimits | None = None, deadline: Deadline | None = None
    ) -> None:
        self._lines: list[Line] = []
        self.marker = ""  # a list item's marker ("3.", "•"), put before the item's first paragraph
        self._path = path or Path("document")
        self._limits = limits or ReaderLimits()
        self._deadline = deadline or no_deadline()
        self._headings = 0

    def add(self, text: str, heading_level: int = 0) -> None:
        self._deadline.check()
        if not text.strip():
            return
        if self.marker and not heading_level:
            text, self.marker = f"{self.marker} {text.strip()}", ""
        text = squash_space(clean_chars(text))
        if text and text != BULLET:
            if heading_level:
                self._headings += 1
                if self._headings > self._limits.max_headings:
                    most = self._limits.max_headings
                    raise self._limits.error(self._path, f"more than {most:,} headings", "max_headings")
            self._lines.append(Line(text=text, page=len(self._lines) + 1, heading_level=heading_level))

    def __len__(self) -> int:
        return len(self._lines)

    def document(self, path: Path, format: DocumentFormat, empty: str) -> DocumentText:
        """The collected text; `empty` says why a document without any paragraph has none."""
        if not self._lines:
            raise ReaderError(f"{path}: {empty}")
        return DocumentText(path=path, format=format, locations=[[line] for line in self._lines])


def decode_utf8(path: Path, data: bytes) -> str:
    """Text as UTF-8, strictly (a byte-order mark is honoured and dropped).

    No guessing: a wrongly guessed encoding would store and cite wrong characters without a word.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return decode_as(path, data[len(bom) :], encoding)
    return decode_as(path, data, "utf-8")


def decode_as(path: Path, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        if codecs.lookup(encoding).name == "utf-8":
            raise ReaderError(
                f"{path}: not UTF-8 (byte 0x{byte:02x} at offset {exc.start}); save it as UTF-8"
            ) from None
        raise ReaderError(
            f"{path}: not valid {encoding} as it declares (byte 0x{byte:02x} at offset {exc.start}); save it as UTF-8"
        ) from None


def format_number(value: int, style: str) -> str:
    """A list counter as printed: decimal 3, lowerLetter c, upperRoman III (Word's numFmt names)."""
    if style in ("lowerLetter", "upperLetter"):
        letters = ""
        n = value
        while n > 0:
            n, rest = divmod(n - 1, 26)
            letters = chr(ord("a") + rest) + letters
        letters = letters or str(value)
        return letters.upper() if style == "upperLetter" else letters
    if style in ("lowerRoman", "upperRoman"):
        roman = _roman(value) if value > 0 else str(value)
        return roman.upper() if style == "upperRoman" else roman
    if style == "decimalZero":
        return f"{value:02d}"
    return str(value)


def _roman(value: int) -> str:
    numerals = (
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
        (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
    )  # fmt: skip
    out = ""
    for amount, numeral in numerals:
        while value >= amount:
            out += numeral
            value -= amount
    return out
