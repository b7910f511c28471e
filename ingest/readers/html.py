"""HTML: the page's own text, without navigation, banners, footers, scripts and forms.

Parsed with BeautifulSoup over lxml (lenient with the broken markup intranet pages are full of).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.readers.base import DocumentText, Progress, ReaderError, check_file
from ingest.readers.flow import BULLET, Paragraphs, decode_as, decode_utf8, format_number
from ingest.readers.limits import ReaderLimits, check_file_size
from ingest.records import DocumentFormat

# What a page wraps around its content: never part of a handbook's text.
_DROPPED = ["nav", "aside", "footer", "script", "style", "noscript", "template", "iframe", "svg", "canvas",
            "button", "select", "textarea", "object", "embed", "head"]  # fmt: skip
_DROPPED_ROLES = ["navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "toolbar"]
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# Elements that start a paragraph of their own; everything else is inline text of the paragraph around it.
_BLOCKS = {
    "address", "article", "blockquote", "body", "center", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "form", "header", "hgroup", "hr", "legend", "li", "main", "menu",
    "ol", "p", "pre", "section", "summary", "table", "ul", *_HEADINGS,
}  # fmt: skip
_CONTENT = ["p", "li", "table", "article", "main", *_HEADINGS]
# `<meta charset=...>`, `<meta http-equiv content="text/html; charset=...">` or an XML declaration.
_DECLARED = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)"""
    rb"""|<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
# Browsers read these labels as windows-1252 (WHATWG Encoding), and so do the pages written for them.
_AS_WINDOWS_1252 = {"iso8859-1", "latin-1", "ascii", "iso-8859-1", "us-ascii", "latin1"}
_OL_TYPES = {"1": "decimal", "a": "lowerLetter", "A": "upperLetter", "i": "lowerRoman", "I": "upperRoman"}


@dataclass(frozen=True)
class HtmlReader:
    """Each heading (h1-h6), paragraph, list item, table row, pre, blockquote paragraph and dt/dd is a location.

    Navigation, banners, footers, side bars, scripts, styles and forms are dropped first (also when
    marked by ARIA role); a page with a `<main>` element is read from it alone. A `<header>` inside
    an `<article>` or `<main>` is the article's own title and is kept.
    """

    format: DocumentFormat = "html"
    suffixes: tuple[str, ...] = (".html", ".htm", ".xhtml")
    limits: ReaderLimits = field(default_factory=ReaderLimits)

    def read(self, path: Path, progress: Progress | None = None) -> DocumentText:
        path = Path(path)
        deadline = self.limits.deadline(path)
        check_file(path)
        check_file_size(path, self.limits)
        data = path.read_bytes()
        # BeautifulSoup holds about 1 KB per tag: they are counted before it builds its tree.
        if data.count(b"<") > self.limits.max_elements:
            raise self.limits.error(path, f"more than {self.limits.max_elements:,} tags", "max_elements")
        text = decode_html(path, data)
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(text, "lxml")
        deadline.check()
        root = _content_root(soup)
        paragraphs = Paragraphs(path, self.limits, deadline)
        _Walker(paragraphs).block(root)
        return paragraphs.document(
            path, "html", "no text after dropping navigation, headers, footers, scripts and styles"
        )


def decode_html(path: Path, data: bytes) -> str:
    """The page's text: a byte-order mark decides, else a declared charset, else strict UTF-8."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_utf8(path, data)
    declared = _DECLARED.search(data[:4096])
    if declared is None:
        return decode_utf8(path, data)
    label = (declared.group(1) or declared.group(2)).decode("ascii").lower()
    try:
        encoding = codecs.lookup(label).name
    except LookupError:
        raise ReaderError(f"{path}: unknown charset {label!r} declared in the page; save it as UTF-8") from None
    if label in _AS_WINDOWS_1252 or encoding in _AS_WINDOWS_1252:
        encoding = "cp1252"
    return decode_as(path, data, encoding)


def _content_root(soup: Any) -> Any:
    for tag in soup.find_all(_DROPPED):
        if not tag.decomposed:
            tag.decompose()
    for tag in soup.find_all(attrs={"role": _DROPPED_ROLES}):
        if not tag.decomposed:
            tag.decompose()
    for tag in soup.find_all(lambda t: t.has_attr("hidden") or t.get("aria-hidden") == "true"):
        if not tag.decomposed:
            tag.decompose()
    for tag in soup.find_all("header"):
        # A page banner goes; an article's own header holds its title.
        if not tag.decomposed and tag.find_parent(["article", "main"]) is None:
            tag.decompose()
    for tag in soup.find_all("form"):
        # A search or login form goes; a form wrapping the whole page (ASP.NET, SharePoint) is the page.
        if not tag.decomposed and tag.find(_CONTENT) is None:
            tag.decompose()
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    if main is not None and main.get_text(strip=True):
        return main
    return soup.body or soup


class _Walker:
    """Turns the element tree into paragraphs in reading order."""

    def __init__(self, out: Paragraphs) -> None:
        self.out = out
        self.buffer: list[str] = []

    def block(self, element: Any) -> None:
        for child in element.children:
            self.visit(child)

    def visit(self, node: Any) -> None:
        from bs4.element import CData, NavigableString

        if isinstance(node, NavigableString):
            if type(node) in (NavigableString, CData):  # not comments, doctypes, declarations
                self.buffer.append(str(node))
            return
        name = node.name
        if name in _HEADINGS:
            self.flush()
            self.emit(_flat_text(node), _HEADINGS[name])
        elif name in ("br", "wbr"):
            self.buffer.append(" ")
        elif name == "table":
            self.flush()
            self.table(node)
        elif name in ("ul", "ol", "menu"):
            self.flush()
            self.items(node)
        elif name in _BLOCKS or node.find(list(_BLOCKS)) is not None:
            # An inline element around blocks (a link around a card) is read as a block.
            self.flush()
            self.block(node)
            self.flush()
        else:
            self.buffer.append(_flat_text(node))

    def flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer = []
        if text.strip():
            self.emit(text)

    def emit(self, text: str, heading_level: int = 0) -> None:
        self.out.add(text, heading_level)

    def items(self, lst: Any) -> None:
        ordered = lst.name == "ol"
        number = _int(lst.get("start"), 1)
        style = _OL_TYPES.get(str(lst.get("type") or "1"), "decimal")
        for child in lst.children:
            if getattr(child, "name", None) != "li":
                self.visit(child)
                self.flush()
                continue
            number = _int(child.get("value"), number)
            self.out.marker = f"{format_number(number, style)}." if ordered else BULLET
            self.block(child)
            self.flush()
            self.out.marker = ""
            number += 1

    def table(self, table: Any) -> None:
        caption = table.find("caption")
        if caption is not None and caption.find_parent("table") is table:
            self.emit(_flat_text(caption))
        for row in table.find_all("tr"):
            if row.find_parent("table") is not table:
                continue  # a nested table's rows are text of the cell that holds it
            cells = [_flat_text(cell).strip() for cell in row.find_all(["td", "th"], recursive=False)]
            self.emit(" | ".join(cell for cell in cells if cell))


def _flat_text(element: Any) -> str:
    """An element's text, with a space wherever a block or line break separates words."""
    from bs4.element import CData, NavigableString

    parts: list[str] = []
    for node in element.descendants:
        if isinstance(node, NavigableString):
            if type(node) in (NavigableString, CData):
                parts.append(str(node))
        elif node.name in _BLOCKS or node.name in ("br", "wbr", "td", "th", "tr"):
            parts.append(" ")
    return "".join(parts)


def _int(value: object, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
