"""How a cited location is named (re-exported by assistant/answer/render.py, which documents the forms).

    PDF            "Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20"   (pp. 20–21 over a page break)
    flow document  "Knife Policy, 3. Knife control, 3.2, ¶ 14"               (¶¶ 14–16 over several paragraphs)

Apart from render.py so that the answer's records (assistant/answer/records.py) can name their locations
without importing the renderer, which reads them.
"""

from __future__ import annotations

from collections.abc import Sequence


def pages_label(pages: Sequence[int]) -> str:
    """`p. 20`, `pp. 20–21`, or "" without pages."""
    return _range_label(pages, "p.", "pp.")


def paragraphs_label(paragraphs: Sequence[int]) -> str:
    """`¶ 14`, `¶¶ 14–16`, or "" without paragraphs."""
    return _range_label(paragraphs, "\u00b6", "\u00b6\u00b6")


def location_label(numbers: Sequence[int], paged: bool = True) -> str:
    """The pages of a PDF or the paragraphs of a flow document."""
    return pages_label(numbers) if paged else paragraphs_label(numbers)


def citation_label(title: str, ref: str, numbers: Sequence[int], *, paged: bool = True, section: str = "") -> str:
    """`title, ref, p. N` for a PDF; `title, section, ref, ¶ N` for a flow document; empty parts left out.

    A PDF's label stays as printed documents are cited (its pages find the text); a flow document's
    names its section heading, unless the heading only repeats the title or the ref.
    """
    parts = [title]
    if not paged and section.strip().casefold() not in {"", title.strip().casefold(), ref.strip().casefold()}:
        parts.append(section.strip())
    parts += [ref, location_label(numbers, paged)]
    return ", ".join(part for part in parts if part)


def _range_label(numbers: Sequence[int], one: str, many: str) -> str:
    if not numbers:
        return ""
    first, last = min(numbers), max(numbers)
    return f"{one} {first}" if first == last else f"{many} {first}\u2013{last}"
