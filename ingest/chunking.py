"""Structure-aware chunking: one unit per chunk, tiny neighbours merged, long units split at sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import Block, Chunk, Line, PageSpan, PageText, RefSpan, chunk_id
from ingest.sentences import sentence_spans

# Bump whenever a change to the readers, structure recovery or chunking alters the chunks or stored
# location texts of a document: an index built with another version is re-chunked on the next ingest.
CHUNKER_VERSION = 4  # 4: an en or em dash ending a line no longer joins the words around it

_LIST_START = re.compile(r"^(?:\(?[a-z0-9]{1,3}[.)]\s|\u2022)", re.IGNORECASE)
_HYPHENATED = re.compile(r"[a-z]-$")


def join_lines(lines: list[str]) -> str:
    """Re-flow PDF lines into the passage as printed: wrapped lines joined, list items on new lines."""
    out = ""
    for line in lines:
        if not out:
            out = line
        elif _HYPHENATED.search(out) and line[:1].islower():
            out = out[:-1] + line  # "punish-" + "ment"
        elif _LIST_START.match(line):
            out += "\n" + line
        else:
            out += " " + line
    return out


@dataclass
class _Piece:
    """Text under construction with the offsets where pages and refs change."""

    text: str
    pages: list[PageSpan]
    refs: list[RefSpan]
    headings: list[str]

    @property
    def words(self) -> int:
        return len(self.text.split())


def _piece_from_block(block: Block, paged: bool = True) -> _Piece:
    text = ""
    pages: list[PageSpan] = []
    by_page: list[tuple[int, list[str]]] = []
    for line in block.lines:
        if by_page and by_page[-1][0] == line.page:
            by_page[-1][1].append(line.text)
        else:
            by_page.append((line.page, [line.text]))
    for page, lines in by_page:
        part = join_lines(lines)
        if text:
            # A PDF's text runs on across a page break; a flow document's paragraphs stay apart.
            text = join_lines([text, part]) if paged and not _LIST_START.match(part) else text + "\n" + part
            offset = len(text) - len(part)
        else:
            text, offset = part, 0
        pages.append(PageSpan(offset=max(offset, 0), page=page))
    refs = [RefSpan(offset=0, ref=block.ref)] if block.ref else []
    return _Piece(text=text, pages=pages, refs=refs, headings=block.headings)


def _concat(a: _Piece, b: _Piece) -> _Piece:
    sep = "\n"
    base = len(a.text) + len(sep)
    pages = a.pages + [
        PageSpan(offset=p.offset + base, page=p.page) for p in b.pages if p.page != a.pages[-1].page or p.offset > 0
    ]
    refs = a.refs + [RefSpan(offset=r.offset + base, ref=r.ref) for r in b.refs]
    return _Piece(text=a.text + sep + b.text, pages=pages, refs=refs, headings=a.headings)


def _slice(piece: _Piece, start: int, end: int) -> _Piece:
    def shift_pages() -> list[PageSpan]:
        first = [p for p in piece.pages if p.offset <= start][-1:]
        inner = [p for p in piece.pages if start < p.offset < end]
        return [PageSpan(offset=0, page=p.page) for p in first] + [
            PageSpan(offset=p.offset - start, page=p.page) for p in inner
        ]

    first_ref = [r for r in piece.refs if r.offset <= start][-1:]
    inner_refs = [r for r in piece.refs if start < r.offset < end]
    refs = [RefSpan(offset=0, ref=r.ref) for r in first_ref] + [
        RefSpan(offset=r.offset - start, ref=r.ref) for r in inner_refs
    ]
    return _Piece(text=piece.text[start:end], pages=shift_pages(), refs=refs, headings=piece.headings)


@dataclass(frozen=True)
class Chunker:
    """Sizes chunks for a 256-token embedding window.

    `max_words` ~170 leaves room for the contextual header within 256 word-pieces;
    no overlap, because the units are whole rules and paragraphs already.
    """

    max_words: int = 170
    min_words: int = 45

    def run(self, doc_id: str, title: str, blocks: list[Block], paged: bool = True) -> list[Chunk]:
        """The chunks of one document; `paged` False for a flow document, whose locations are paragraphs."""
        pieces = [_piece_from_block(b, paged) for b in blocks if b.lines]
        merged = self._merge_small(pieces)
        sized: list[_Piece] = []
        for piece in merged:
            sized.extend(self._split_long(piece))
        chunks = [self._to_chunk(doc_id, title, p) for p in sized if p.text.strip()]
        # The same passage printed twice (e.g. a repeated table row) is stored once.
        seen: set[str] = set()
        unique = []
        for chunk in chunks:
            if chunk.id not in seen:
                seen.add(chunk.id)
                unique.append(chunk)
        return unique

    def _merge_small(self, pieces: list[_Piece]) -> list[_Piece]:
        out: list[_Piece] = []
        for piece in pieces:
            if (
                out
                and out[-1].headings == piece.headings
                and (out[-1].words < self.min_words or (piece.words < self.min_words and not piece.refs))
                and out[-1].words + piece.words <= self.max_words
            ):
                out[-1] = _concat(out[-1], piece)
            else:
                out.append(piece)
        return out

    def _split_long(self, piece: _Piece) -> list[_Piece]:
        if piece.words <= self.max_words:
            return [piece]
        spans = _bounded_spans(piece.text, self.max_words)
        bounds: list[tuple[int, int]] = []  # (start, end) offsets of each part in piece.text
        start = spans[0][0]
        count = 0
        last_end = start
        for a, b in spans:
            n = len(piece.text[a:b].split())
            if count and count + n > self.max_words:
                bounds.append((start, last_end))
                start, count = a, 0
            count += n
            last_end = b
        bounds.append((start, last_end))
        parts = [_slice(piece, a, b) for a, b in bounds]
        # A short tail reads better joined to its predecessor when it fits a little over the target.
        # Offsets, not text search: the tail's text may also occur earlier in the unit.
        if (
            len(parts) > 1
            and parts[-1].words < self.min_words // 2
            and parts[-2].words + parts[-1].words <= self.max_words * 1.15
        ):
            parts[-2:] = [_slice(piece, bounds[-2][0], bounds[-1][1])]
        return parts

    @staticmethod
    def _to_chunk(doc_id: str, title: str, piece: _Piece) -> Chunk:
        refs = _dedupe_refs(piece.refs)
        ref = _range_label([r.ref for r in refs])
        pages = piece.pages or [PageSpan(offset=0, page=1)]
        return Chunk(
            id=chunk_id(doc_id, title, ref, piece.headings, piece.text),
            doc_id=doc_id,
            title=title,
            ref=ref,
            headings=piece.headings,
            page_start=min(p.page for p in pages),
            page_end=max(p.page for p in pages),
            text=piece.text,
            refs=refs,
            pages=pages,
        )


def _bounded_spans(text: str, max_words: int) -> list[tuple[int, int]]:
    """Sentence spans, with any sentence longer than the budget cut at word boundaries."""
    out: list[tuple[int, int]] = []
    for a, b in sentence_spans(text):
        words = list(re.finditer(r"\S+", text[a:b]))
        if len(words) <= max_words:
            out.append((a, b))
            continue
        for i in range(0, len(words), max_words):
            group = words[i : i + max_words]
            out.append((a + group[0].start(), a + group[-1].end()))
    return out


def _dedupe_refs(refs: list[RefSpan]) -> list[RefSpan]:
    out: list[RefSpan] = []
    for r in refs:
        if r.ref and (not out or out[-1].ref != r.ref):
            out.append(r)
    return out


def _range_label(refs: list[str]) -> str:
    """ "Rule 59" + "Rule 60" -> "Rules 59-60"; "4.1" + "4.3" -> "4.1-4.3"."""
    if not refs:
        return ""
    if len(refs) == 1:
        return refs[0]
    first, last = refs[0], refs[-1]
    word_first, _, num_first = first.rpartition(" ")
    word_last, _, num_last = last.rpartition(" ")
    if word_first and word_first == word_last:
        return f"{word_first}s {num_first}\u2013{num_last}"
    return f"{first}\u2013{last}"


def page_texts(doc_id: str, pages: list[list[Line]]) -> list[PageText]:
    """The cleaned text of each location (page or paragraph), joined exactly as chunks are, for quote verification."""
    return [
        PageText(doc_id=doc_id, page=number, text=join_lines([line.text for line in lines]))
        for number, lines in enumerate(pages, start=1)
    ]
