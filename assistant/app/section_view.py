"""The located section of a flow document (DOCX, HTML, Markdown) as HTML, where a PDF shows its page image.

A flow document has no printed page to show. The reader instead sees the section the citation
points into: its heading, then its paragraphs from the index's stored text (each numbered "¶ N",
as citations count them), every character escaped, with the quoted words in <mark>, also where
a quote runs over two paragraphs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from assistant.answer.render import paragraphs_label, plain_text
from ingest.index_store import IndexSnapshot
from ingest.records import Chunk
from ingest.textnorm import normalize_for_match

_WORD = re.compile(r"\S+")


class SectionView:
    """Builds the HTML of a cited location of a flow document from one index snapshot."""

    def __init__(self, snapshot: IndexSnapshot, max_paragraphs: int = 30) -> None:
        self.snapshot = snapshot
        self.max_paragraphs = max_paragraphs  # a longer section is shown around the cited paragraphs

    def html(
        self, doc: str, label: str, section: str, cited: Sequence[int], quote: str, around: Sequence[int] = ()
    ) -> str:
        """`cited`: the paragraphs of the quote; `around`: those of the passage it comes from (shown at least)."""
        numbers = located_paragraphs(self.snapshot.chunks, doc, section, cited, around, self.max_paragraphs)
        texts = [(n, text) for n in numbers if (text := self.snapshot.page_text(doc, n)) is not None]
        if section:  # the heading is a paragraph of its own: shown once, as the heading
            texts = [(n, t) for n, t in texts if normalize_for_match(t) != normalize_for_match(section)]
        return section_html(label, section, texts, quote, cited)


def located_paragraphs(
    chunks: Sequence[Chunk],
    doc: str,
    section: str,
    cited: Sequence[int],
    around: Sequence[int] = (),
    limit: int = 30,
) -> list[int]:
    """The paragraph numbers to show: the cited section's, or at least the passage's, at most `limit`.

    The section is the run of the document's chunks under the same innermost heading that holds
    the cited paragraphs (chunks store paragraph numbers where a PDF's chunks store pages).
    """
    wanted = sorted({*cited, *around})
    if not wanted:
        return []
    first, last = wanted[0], wanted[-1]
    ranges = sorted(
        (c.page_start, c.page_end)
        for c in chunks
        if c.doc_id == doc and section and c.headings and c.headings[-1] == section
    )
    runs: list[list[int]] = []
    for start, end in ranges:
        if runs and start <= runs[-1][1] + 2:  # next to the previous chunk (a skipped empty paragraph allowed)
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    for start, end in runs:
        if start <= first and last <= end:
            first, last = start, end
            break
    if last - first + 1 > limit:
        # Centre the window on the cited paragraphs, within the section.
        focus = sorted(cited) or wanted
        half = max(0, (limit - (focus[-1] - focus[0] + 1)) // 2)
        lo = max(first, focus[0] - half)
        first, last = lo, min(last, max(lo + limit - 1, focus[-1]))
    return list(range(first, last + 1))


def section_html(
    label: str, section: str, paragraphs: Sequence[tuple[int, str]], quote: str, cited: Sequence[int] = ()
) -> str:
    """The citation label, the section heading, and the numbered paragraphs with the quote marked."""
    marks = _quote_marks(
        [text for _, text in paragraphs], quote, [i for i, (n, _) in enumerate(paragraphs) if n in cited]
    )
    cited_set = set(cited)
    parts = [f'<div class="hb-section"><h4>{_escaped(label)}</h4>']
    if section:
        parts.append(f'<h5 class="hb-section-heading">{_escaped(section)}</h5>')
    for (n, text), spans in zip(paragraphs, marks, strict=True):
        css = "hb-para hb-cited" if n in cited_set else "hb-para"
        parts.append(
            f'<p class="{css}" data-paragraph="{int(n)}"><span class="hb-para-n">{html.escape(paragraphs_label([n]))}'
            f"</span> {_marked(text, spans)}</p>"
        )
    if not paragraphs:
        parts.append('<p class="hb-note">The text of this location is not in the index.</p>')
    parts.append("</div>")
    return "".join(parts)


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in spans:
        out += [_escaped(text[at:start]), "<mark>", _escaped(text[start:end]), "</mark>"]
        at = end
    out.append(_escaped(text[at:]))
    return "".join(out)


def _escaped(text: str) -> str:
    # Control characters go per piece, after the quote's spans were found on the stored text.
    return html.escape(plain_text(text))


def _quote_marks(texts: list[str], quote: str, prefer: list[int]) -> list[list[tuple[int, int]]]:
    """Per paragraph, the character spans of the quote (empty where it is not found).

    Words are compared as the quote verifier compares text (case, typographic quotes and dashes,
    white space), so a verified quote is found although a paragraph break lies inside it. The
    search starts at the first cited paragraph (`prefer`), where the quote is.
    """
    marks: list[list[tuple[int, int]]] = [[] for _ in texts]
    needle = [normalize_for_match(w) for w in quote.split()]
    needle = [w for w in needle if w]
    if not needle:
        return marks
    words = [
        (i, m.start(), m.end(), normalize_for_match(m.group())) for i, t in enumerate(texts) for m in _WORD.finditer(t)
    ]
    starts = [k for k, w in enumerate(words) if w[0] in prefer[:1]] + list(range(len(words)))
    found = _find_run(len(words), starts, len(needle), lambda k, j: words[k][3] == needle[j])
    if found is None:
        return marks
    for i, start, end, _ in words[found : found + len(needle)]:
        if marks[i] and marks[i][-1][1] <= start:
            marks[i][-1] = (marks[i][-1][0], end)  # one mark per paragraph, spaces inside it included
        else:
            marks[i].append((start, end))
    return marks


def _find_run(total: int, starts: list[int], length: int, same: Callable[[int, int], bool]) -> int | None:
    for k in starts:
        if k + length <= total and all(same(k + j, j) for j in range(length)):
            return k
    return None
