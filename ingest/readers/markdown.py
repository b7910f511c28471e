"""Markdown: headings (ATX `#` and setext), paragraphs, numbered and bulleted items, tables; inline markup dropped.

Parsed with markdown-it-py (CommonMark, with GitHub's tables).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.readers.base import DocumentText, Progress, check_file
from ingest.readers.flow import BULLET, Paragraphs, decode_utf8
from ingest.readers.limits import ReaderLimits, check_file_size
from ingest.records import DocumentFormat

# YAML front matter (`---` ... `---` at the very top) is metadata, not text.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
_TEXT_LINE = re.compile(r"^[ \t]*\S", re.MULTILINE)


@dataclass(frozen=True)
class MarkdownReader:
    """Each heading, paragraph, list item, table row and code block is a location.

    A list item starts with its marker as the reader sees it rendered: "3." for the third item of
    a numbered list (the number it is shown with, whatever the source typed), "•" for a bullet.
    """

    format: DocumentFormat = "md"
    suffixes: tuple[str, ...] = (".md", ".markdown")
    limits: ReaderLimits = field(default_factory=ReaderLimits)

    def read(self, path: Path, progress: Progress | None = None) -> DocumentText:
        path = Path(path)
        deadline = self.limits.deadline(path)
        check_file(path)
        check_file_size(path, self.limits)
        source = _FRONT_MATTER.sub("", decode_utf8(path, path.read_bytes()), count=1)
        # markdown-it holds about 0.5 KB per token and makes up to five of a line: lines are counted first.
        if _over(source, self.limits.max_elements):
            raise self.limits.error(path, f"more than {self.limits.max_elements:,} lines of text", "max_elements")
        from markdown_it import MarkdownIt

        tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(source)
        deadline.check()
        paragraphs = Paragraphs(path, self.limits, deadline)
        _Builder(paragraphs).run(tokens)
        return paragraphs.document(path, "md", "no text")


def _over(source: str, most: int) -> bool:
    """Whether the text has more than `most` lines that are not blank (counting stops there)."""
    if source.count("\n") < most:
        return False
    return any(count > most for count, _ in enumerate(_TEXT_LINE.finditer(source), start=1))


class _Builder:
    def __init__(self, out: Paragraphs) -> None:
        self.out = out
        self.lists: list[list[Any]] = []  # per open list: [ordered, next number, delimiter]
        self.heading = 0
        self.cells: list[str] | None = None

    def run(self, tokens: list[Any]) -> None:
        for token in tokens:  # each paragraph added checks the deadline
            kind = token.type
            if kind == "heading_open":
                self.heading = int(token.tag[1])
            elif kind == "heading_close":
                self.heading = 0
            elif kind in ("ordered_list_open", "bullet_list_open"):
                self.lists.append([kind == "ordered_list_open", int(token.attrs.get("start", 1)), token.markup])
            elif kind in ("ordered_list_close", "bullet_list_close"):
                self.lists.pop()
            elif kind == "list_item_open" and self.lists:
                ordered, number, delimiter = self.lists[-1]
                self.out.marker = f"{number}{delimiter}" if ordered else BULLET
                self.lists[-1][1] = number + 1
            elif kind == "list_item_close":
                self.out.marker = ""
            elif kind == "tr_open":
                self.cells = []
            elif kind == "tr_close":
                self.emit(" | ".join(cell for cell in self.cells or [] if cell))
                self.cells = None
            elif kind == "inline":
                text = _plain(token.children or [])
                if self.cells is not None:
                    self.cells.append(text.strip())
                else:
                    self.emit(text, self.heading)
            elif kind in ("fence", "code_block"):
                self.emit(token.content)
            elif kind == "html_block":
                self.emit(html.unescape(_HTML_TAG.sub(" ", _HTML_COMMENT.sub("", token.content))))

    def emit(self, text: str, heading_level: int = 0) -> None:
        self.out.add(text, heading_level)


def _plain(children: list[Any]) -> str:
    """Inline tokens as the text a reader sees: markup, link targets, images and inline HTML dropped."""
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)
