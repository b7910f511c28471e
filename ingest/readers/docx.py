"""DOCX (Word): headings by style, Word's own list numbering, tables row by row.

Read from the package's XML (through python-docx), in body order: paragraphs, tables and
content controls. Page headers and footers, footnotes, comments, text boxes and deleted
(tracked) text are not part of the body and are left out.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.readers.base import DocumentText, Progress, ReaderError, check_file
from ingest.readers.flow import BULLET, Paragraphs, format_number
from ingest.readers.limits import Deadline, ReaderLimits
from ingest.records import DocumentFormat
from ingest.textnorm import one_line

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 files and password-protected DOCX
_HEADING_NAME = re.compile(r"^heading\s+([1-9])$", re.IGNORECASE)
# Subtrees whose text is not body text where it sits: a text box's own paragraphs, the fallback copy of
# a drawing, deleted or moved-away text.
_SKIPPED = {f"{{{_W}}}txbxContent", f"{{{_MC}}}Fallback", f"{{{_W}}}del", f"{{{_W}}}moveFrom"}
MAX_LEVELS = 9
_READ_STEP = 1 << 20  # bytes of a part expanded, counted and dropped at a time


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


def _xstr(element: Any, path: str) -> str:
    """The string value of an XPath with the `w:` prefix, on python-docx's and on plain lxml elements."""
    return str(_xpath(path)(element))


@lru_cache(maxsize=64)
def _xpath(path: str) -> Any:
    from lxml import etree

    return etree.XPath(f"string({path})", namespaces={"w": _W})


@dataclass(frozen=True)
class DocxReader:
    """Each body paragraph and each table row is a location.

    Headings come from the paragraph style (Title, Heading 1-9, or a style with an outline level);
    Word's automatic numbering is not part of a paragraph's text, so it is rebuilt from the list
    definitions ("3.2", "(b)"; bullets become "•") and put in front of the text, as printed.
    """

    format: DocumentFormat = "docx"
    suffixes: tuple[str, ...] = (".docx",)
    limits: ReaderLimits = field(default_factory=ReaderLimits)

    def read(self, path: Path, progress: Progress | None = None) -> DocumentText:
        path = Path(path)
        deadline = self.limits.deadline(path)
        check_file(path)
        _check_package(path, self.limits, deadline)
        import docx

        try:
            document = docx.Document(str(path))
        except Exception as exc:  # python-docx fails in many ways on damaged packages
            raise ReaderError(f"{path}: corrupt DOCX ({one_line(exc)})") from exc
        styles = _Styles(document.styles.element)
        numbering = _Numbering(_numbering_element(document))
        paragraphs = Paragraphs(path, self.limits, deadline)
        for element in _blocks(document.element.body):
            deadline.check()
            if element.tag == _w("tbl"):
                for row in element.iter(_w("tr")):
                    cells = [_text_of_cell(cell) for cell in row.iterchildren(_w("tc"))]
                    paragraphs.add(" | ".join(cell for cell in cells if cell))
                continue
            style = styles.style_of(element)
            if style.toc:
                continue  # a table of contents repeats the headings with page numbers
            text = _paragraph_text(element)
            if not text.strip():
                continue
            label = numbering.label(*_num_pr(element, style))
            paragraphs.add(f"{label} {text}" if label else text, style.heading_level)
        return paragraphs.document(path, "docx", "no text in the document body")


def _check_package(path: Path, limits: ReaderLimits, deadline: Deadline) -> None:
    """Refuses what is not a whole DOCX package, and a package over the limits before python-docx
    loads it: python-docx holds every part expanded in memory and parses the XML parts whole.
    """
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == _OLE_MAGIC:
        raise ReaderError(
            f"{path}: not a DOCX package but an OLE file (a Word 97-2003 .doc or a password-protected document); "
            "save it as .docx without a password"
        )
    if not zipfile.is_zipfile(path):
        raise ReaderError(f"{path}: corrupt DOCX (not a ZIP package: truncated, or another format renamed)")
    try:
        with zipfile.ZipFile(path) as package:
            _check_sizes(path, package, limits, deadline)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ReaderError(f"{path}: corrupt DOCX (broken ZIP: {one_line(exc)})") from exc


def _check_sizes(path: Path, package: zipfile.ZipFile, limits: ReaderLimits, deadline: Deadline) -> None:
    """Every part expanded (CRC checked) step by step and counted, never held: a zip bomb is refused
    by its declared size, or while it expands when the declared size lies; XML elements are counted too."""
    most = limits.max_decompressed_bytes
    infos = package.infolist()
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Word writes only these; zipfile expands bzip2 and LZMA without a bound on one read.
            raise ReaderError(
                f"{path}: corrupt DOCX ({info.filename} is compressed with method {info.compress_type}, "
                "not Deflate as Word writes)"
            )
        if info.file_size > most:
            raise limits.error(path, f"{info.filename} expands to {info.file_size:,} bytes", "max_decompressed_bytes")
    if sum(info.file_size for info in infos) > most:
        raise limits.error(path, f"the package expands past {most:,} bytes", "max_decompressed_bytes")
    total = elements = 0
    for info in infos:
        xml: bool | None = None  # by content, not name: a package may name its parts as it likes
        size = 0
        with package.open(info) as part:
            while step := part.read(_READ_STEP):
                deadline.check()
                if xml is None:  # UTF-8 or UTF-16, after a byte-order mark
                    xml = step[:256].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").startswith(b"<")
                size += len(step)
                total += len(step)
                if size > most or total > most:
                    what = f"{info.filename} expands" if size > most else "the package expands"
                    raise limits.error(path, f"{what} past {most:,} bytes", "max_decompressed_bytes")
                if xml:  # start tags; "<?", "<!" and a "</" split between two steps are few
                    elements += step.count(b"<") - step.count(b"</")
                    if elements > limits.max_elements:
                        raise limits.error(path, f"more than {limits.max_elements:,} XML elements", "max_elements")


def _numbering_element(document: Any) -> Any:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    part = document.part
    if not any(rel.reltype == RT.NUMBERING for rel in part.rels.values()):
        return None
    return part.numbering_part.element


def _blocks(parent: Any) -> Iterator[Any]:
    """Paragraphs and tables of the body in reading order, also inside content controls."""
    for child in parent.iterchildren():
        if child.tag in (_w("p"), _w("tbl")):
            yield child
        elif child.tag in (_w("sdt"), _w("customXml")):
            content = child.find(_w("sdtContent")) if child.tag == _w("sdt") else child
            if content is not None:
                yield from _blocks(content)


def _paragraph_text(p: Any) -> str:
    parts: list[str] = []

    def walk(element: Any) -> None:
        for child in element.iterchildren():
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIPPED:
                continue
            if tag == _w("t"):
                parts.append(child.text or "")
            elif tag in (_w("tab"), _w("br"), _w("cr")):
                parts.append(" ")
            elif tag == _w("noBreakHyphen"):
                parts.append("-")
            elif tag != _w("pPr"):
                walk(child)

    walk(p)
    return "".join(parts)


def _text_of_cell(cell: Any) -> str:
    return " ".join(text for p in cell.iter(_w("p")) if (text := _paragraph_text(p).strip()))


@dataclass(frozen=True)
class _Style:
    heading_level: int = 0  # 1 Title, 2 Heading 1, 3 Heading 2...; 0 body text
    num_id: str | None = None
    ilvl: int = 0
    toc: bool = False


class _Styles:
    """Paragraph styles by id, with what they inherit (`basedOn`) resolved."""

    def __init__(self, styles: Any) -> None:
        self._raw: dict[str, Any] = {}
        self._default: str | None = None
        for style in styles.iterchildren(_w("style")):
            if style.get(_w("type")) != "paragraph":
                continue
            style_id = style.get(_w("styleId"))
            self._raw[style_id] = style
            if style.get(_w("default")) in ("1", "true", "on"):
                self._default = style_id
        self._resolved: dict[str | None, _Style] = {}

    def style_of(self, p: Any) -> _Style:
        style_id = _xstr(p, "w:pPr/w:pStyle/@w:val") or self._default
        if style_id not in self._resolved:
            self._resolved[style_id] = self._resolve(style_id, depth=0)
        return self._resolved[style_id]

    def _resolve(self, style_id: str | None, depth: int) -> _Style:
        style = self._raw.get(style_id or "")
        if style is None or depth > 20:  # basedOn chains are short; a cycle is a damaged file
            return _Style()
        base_id = _xstr(style, "w:basedOn/@w:val")
        base = self._resolve(base_id, depth + 1) if base_id else _Style()
        name = _xstr(style, "w:name/@w:val").strip()
        level = base.heading_level
        outline = _xstr(style, "w:pPr/w:outlineLvl/@w:val")
        heading = _HEADING_NAME.match(name)
        if heading:
            level = int(heading.group(1)) + 1
        elif name.lower() == "title":
            level = 1
        elif outline.isdigit():
            level = int(outline) + 2 if int(outline) < MAX_LEVELS else 0  # outline level 9 is body text
        num_id = _xstr(style, "w:pPr/w:numPr/w:numId/@w:val") or base.num_id
        ilvl = _xstr(style, "w:pPr/w:numPr/w:ilvl/@w:val")
        return _Style(
            heading_level=level,
            num_id=num_id,
            ilvl=int(ilvl) if ilvl.isdigit() else base.ilvl,
            toc=name.lower().startswith("toc") or base.toc,
        )


def _num_pr(p: Any, style: _Style) -> tuple[str | None, int]:
    """The list and level a paragraph is numbered in: its own numPr, else its style's."""
    num_id = _xstr(p, "w:pPr/w:numPr/w:numId/@w:val")
    ilvl = _xstr(p, "w:pPr/w:numPr/w:ilvl/@w:val")
    level = int(ilvl) if ilvl.isdigit() else style.ilvl
    return (num_id or style.num_id), min(level, MAX_LEVELS - 1)


@dataclass(frozen=True)
class _Level:
    fmt: str = "decimal"
    text: str | None = None  # Word's lvlText, e.g. "%1.%2"; None: not defined
    start: int = 1


@dataclass
class _Numbering:
    """Word's list counters, advanced paragraph by paragraph as Word does when it draws the numbers."""

    element: Any
    _levels: dict[str, dict[int, _Level]] = field(default_factory=dict)  # by numId
    _abstract_of: dict[str, str] = field(default_factory=dict)  # numId -> abstractNumId
    _counters: dict[str, list[int | None]] = field(default_factory=dict)  # by abstractNumId
    _started: set[str] = field(default_factory=set)  # numIds seen (a start override restarts the list once)
    _overrides: dict[str, dict[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.element is None:
            return
        abstract: dict[str, dict[int, _Level]] = {}
        for node in self.element.iterchildren(_w("abstractNum")):
            abstract[node.get(_w("abstractNumId"))] = {
                int(lvl.get(_w("ilvl"), "0")): _level(lvl) for lvl in node.iterchildren(_w("lvl"))
            }
        for num in self.element.iterchildren(_w("num")):
            num_id = num.get(_w("numId"))
            abstract_id = _xstr(num, "w:abstractNumId/@w:val")
            levels = dict(abstract.get(abstract_id, {}))
            overrides: dict[int, int] = {}
            for override in num.iterchildren(_w("lvlOverride")):
                ilvl = int(override.get(_w("ilvl"), "0"))
                lvl = override.find(_w("lvl"))
                if lvl is not None:
                    levels[ilvl] = _level(lvl)
                start = _xstr(override, "w:startOverride/@w:val")
                if start.lstrip("-").isdigit():
                    overrides[ilvl] = int(start)
            self._levels[num_id] = levels
            self._abstract_of[num_id] = abstract_id
            self._overrides[num_id] = overrides

    def label(self, num_id: str | None, ilvl: int) -> str:
        """The number or bullet Word draws before the paragraph ("" for none), advancing the counters."""
        if not num_id or num_id == "0":  # numId 0 switches numbering off
            return ""
        levels = self._levels.get(num_id, {})
        level = levels.get(ilvl, _Level())
        if level.fmt == "none":
            return ""
        if level.fmt == "bullet":
            return BULLET
        counters = self._counters.setdefault(self._abstract_of.get(num_id, num_id), [None] * MAX_LEVELS)
        if num_id not in self._started:
            self._started.add(num_id)
            for override, start in self._overrides.get(num_id, {}).items():
                counters[override] = start - 1
        current = counters[ilvl]
        counters[ilvl] = level.start if current is None else current + 1
        for deeper in range(ilvl + 1, MAX_LEVELS):
            counters[deeper] = None  # a new item restarts the lists below it

        def value(k: int) -> str:
            lvl = levels.get(k, _Level())
            count = counters[k]
            return format_number(lvl.start if count is None else count, lvl.fmt)

        if level.text is None:
            return ".".join(value(k) for k in range(ilvl + 1))
        return re.sub(r"%([1-9])", lambda m: value(int(m.group(1)) - 1), level.text).strip()


def _level(lvl: Any) -> _Level:
    fmt = _xstr(lvl, "w:numFmt/@w:val") or "decimal"
    text = lvl.find(_w("lvlText"))
    start = _xstr(lvl, "w:start/@w:val")
    return _Level(
        fmt=fmt,
        text=text.get(_w("val")) if text is not None else None,
        start=int(start) if start.lstrip("-").isdigit() else 1,
    )
