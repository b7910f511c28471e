"""How the assistant writes citations and document text: labels, escaping and headings, in one place.

Every answer, export, brief, quiz and the app name a cited location with `citation_label`:

    PDF            "Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20"   (pp. 20–21 over a page break)
    flow document  "Knife Policy, 3. Knife control, 3.2, ¶ 14"               (¶¶ 14–16 over several paragraphs)

A flow document (DOCX, HTML, Markdown) has no pages: its locations are its paragraphs, numbered
from 1 in reading order, and its label names the section heading, which a reader needs to find them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SOURCES = "Sources"  # the heading of an answer's, export's or handout's list of sources
SOURCES_HEADING = f"\n\n{SOURCES}:\n"  # between an answer's text and its numbered sources (plain text)


# --- labels ------------------------------------------------------------------------------------


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


# --- Markdown and .docx text -------------------------------------------------------------------

# Characters Markdown (with gradio's LaTeX and GitHub's strikethrough) would read as markup anywhere in a line.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>#|~$])")
# Line starts that Markdown would turn into a list or a heading underline: "12. " would even be
# renumbered, which must never happen to a rule number. ("#", ">" and "*" are escaped above.)
_MD_LINE_START = re.compile(r"^(\s*)([-+=](?=\s|[-=]*\s*$)|\d+(?=[.)](?:\s|$)))")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def md_escape(text: str) -> str:
    """Document text that Markdown renders exactly as written: no emphasis, links, HTML, LaTeX or lists."""
    lines = [_MD_INLINE.sub(r"\\\1", line) for line in text.split("\n")]
    return "\n".join(_MD_LINE_START.sub(_escape_line_start, line) for line in lines)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        return indent + marker + "\\"  # "12." -> "12\." (the backslash goes before the dot)
    return indent + "\\" + marker


def md_blockquote(text: str) -> str:
    """Verbatim text as a Markdown blockquote that keeps the original line breaks."""
    lines = [line.strip() for line in md_escape(text.strip()).split("\n")]
    # Two trailing spaces are a hard line break: list items printed on their own lines stay so.
    return "\n".join(f"> {line}  " if line else ">" for line in lines).rstrip()


def docx_text(text: str) -> str:
    """Drops characters that cannot appear in a .docx (XML 1.0) document."""
    return _XML_INVALID.sub("", text)
