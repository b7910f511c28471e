"""Turn raw page text into clean lines: running headers, footers and page counters removed."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from ingest.records import Line
from ingest.textnorm import clean_chars, final_dash, strip_controls

# Page counters and document symbols that stand alone on a line.
_PAGE_COUNTER = re.compile(
    r"^(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$|^-\s*\d{1,4}\s*-$|^[ivxlc]{1,6}$", re.IGNORECASE
)
_DOC_SYMBOL = re.compile(r"^[A-Z]{1,6}(?:/[A-Z0-9.]+){2,}$")  # A/RES/70/175, CAT/C/54/2
# Page numbers at either end of a running line ("6 TITLE 7", "TITLE 4").
_EDGE_NUMBERS = re.compile(r"^(?:\d+\s*)+|(?:\s*\d+)+$")
# A page counter inside one: "Page 5", "5 of 29", "5/29" (not part of a date or symbol: 14/03/2005, A/RES/70/175).
_INNER_COUNTER = re.compile(
    r"\bpage\s+(\d{1,4})(?:\s*(?:/|of)\s*\d{1,4})?\b|(?<![\d/])(\d{1,4})\s*(?:/|of)\s*\d{1,4}(?![\d/])"
)
_UNIT_LINE = re.compile(r"^(?:rule|article|principle|section|chapter|part|annex)\s+[\divxlc]", re.IGNORECASE)
# Bullets come out of PDFs as private-use glyphs or control characters.
_BULLET_GLYPHS = re.compile(r"^[\uf000-\uf8ff\u2022\u25aa\u25cf\u2023\u2043\u00b7\x02\x07\u25e6\u2219\uf0b7-]\s*")
_SPACE = re.compile(r"[ \t\f\v\r]+")

EDGE_LINES = 4  # headers and footers live in the first and last few lines of a page


@dataclass(frozen=True)
class CleanedPages:
    """The kept lines of every page, and how much text the running-line removal took."""

    lines: list[list[Line]]
    text_chars: int  # characters of every line but page counters and document symbols
    removed_chars: int  # characters of the running lines removed
    emptied: list[int]  # 1-based pages that had text and have none left after cleaning

    @property
    def lost_share(self) -> float:
        return self.removed_chars / self.text_chars if self.text_chars else 0.0


@dataclass(frozen=True)
class PageCleaner:
    """Finds lines repeated on most pages near the top or bottom and drops them.

    `min_share` is the share of pages a line must recur on to count as running text.
    Lines count as the same when they differ only in page numbers: numbers at either end
    ("6 TITLE 7", "TITLE 4"), or a counter ("Page 5 of 29") whose number goes up with the page.
    Any other digit must be the same: lines that differ in digits or names are text (the entries
    of a register, dated rows), never running lines, and so are lines of which a page has several.
    A running line is kept on a page where it makes up more than `max_line_share` (half) of the
    page's text: there it is the body (a page whose only text is that line), not a header.
    In the corpus a real header is at most a third of a near-empty cover page's text.
    """

    min_share: float = 0.3
    min_pages: int = 3
    max_line_share: float = 0.5

    def run(self, pages: list[str]) -> list[list[Line]]:
        return self.clean(pages).lines

    def clean(self, pages: list[str]) -> CleanedPages:
        split = [self._lines(text) for text in pages]
        running = self._running_lines(split)
        cleaned: list[list[Line]] = []
        text_chars = removed_chars = 0
        emptied: list[int] = []
        for page_no, lines in enumerate(split, start=1):
            keep: list[Line] = []
            edge = [pos < EDGE_LINES or pos >= len(lines) - EDGE_LINES for pos in range(len(lines))]
            counter = [at and _is_counter(line) for at, line in zip(edge, lines, strict=True)]
            # Counters are not text: a page with nothing but "17" is a blank page, not an emptied one.
            page_chars = sum(len(line) for line, skip in zip(lines, counter, strict=True) if not skip)
            removed_here = 0
            for pos, line in enumerate(lines):
                if counter[pos]:
                    continue
                if edge[pos] and _key(line)[0] in running and len(line) <= self.max_line_share * page_chars:
                    removed_here += len(line)
                    continue
                keep.append(Line(text=line, page=page_no))
            text_chars += page_chars
            removed_chars += removed_here
            if removed_here and not keep:
                emptied.append(page_no)
            cleaned.append(keep)
        return CleanedPages(cleaned, text_chars, removed_chars, emptied)

    @staticmethod
    def _lines(text: str) -> list[str]:
        out = []
        for raw in strip_controls(text).splitlines():
            line = _SPACE.sub(" ", clean_chars(raw)).strip()
            dash = final_dash(raw)
            if dash and line.endswith("-"):
                # An en or em dash, kept as printed: the chunker joins a line ending in "-" to a next line
                # starting in lower case as one hyphenated word ("Affairs-" + "created" -> "Affairscreated").
                line = line[:-1] + dash
            line = _BULLET_GLYPHS.sub("\u2022 ", line) if _BULLET_GLYPHS.match(line) else line
            if line and line != "\u2022":
                out.append(line)
        return out

    def _running_lines(self, split: list[list[str]]) -> set[str]:
        pages: defaultdict[str, set[int]] = defaultdict(set)
        crowded: Counter[str] = Counter()  # pages where a key stands for several different lines
        offsets: defaultdict[str, Counter[int]] = defaultdict(Counter)  # counter value minus page number
        for page_no, lines in enumerate(split, start=1):
            edge = set(lines[:EDGE_LINES] + lines[-EDGE_LINES:])
            keys: Counter[str] = Counter()
            for line in edge:
                if _UNIT_LINE.match(line):
                    continue
                key, counter = _key(line)
                keys[key] += 1
                pages[key].add(page_no)
                if counter is not None:
                    offsets[key][counter - page_no] += 1
            crowded.update(key for key, n in keys.items() if n > 1)
        threshold = max(self.min_pages, int(self.min_share * len(split) + 0.999))
        running = set()
        for key, on in pages.items():
            # Keys shorter than a word are bare numbers; _PAGE_COUNTER handles those.
            if len(on) < threshold or len(key) < 3 or crowded[key] * 10 > len(on):
                continue
            # A counter goes up with the page: most of its values lie at one distance from the page number.
            if offsets[key] and offsets[key].most_common(1)[0][1] < 0.8 * sum(offsets[key].values()):
                continue
            running.add(key)
        return running


def _is_counter(line: str) -> bool:
    return bool(_PAGE_COUNTER.match(line) or _DOC_SYMBOL.match(line))


def _key(line: str) -> tuple[str, int | None]:
    """What a running line keeps from page to page, and the value of its page counter (if any).

    Page numbers at either end are dropped and a page counter inside is masked; every other digit stays.
    """
    counter: list[int] = []

    def mask(match: re.Match[str]) -> str:
        counter.append(int(match.group(1) or match.group(2)))
        return "#"

    text = _INNER_COUNTER.sub(mask, _EDGE_NUMBERS.sub("", line.lower()), count=1).strip()
    return text, (counter[0] if counter else None)
