"""One synthetic handbook laid out from its spec: A4 pages of positioned text lines (evals/synthetic_corpus.py
plans the documents and writes the PDFs).

Everything is drawn from `random.Random(spec.seed)`, so a spec gives the same pages every time.
Layouts imitate real handbooks: a title page, a contents page with leader dots, a running
header (the short title, an establishment line or a document symbol such as `PSI/2021/07`),
a footer page counter (`Page 5 of 120`, `5/120`, `- 5 -` or `5`), sometimes a classification
marking and an "uncontrolled copy" footer, which our page cleaner removes; chapter headings,
then either named rules (`Rule 12`, with numbered sub-paragraphs `1.` and lists `(a)`) or
numbered sections and dotted paragraphs (`4.`, `4.2`, `4.2.1`), as ingest/structure.py reads them.
`BuiltDocument.page_texts()` is exactly the text pdfium extracts from the rendered page.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from evals.synthetic_vocabulary import MONTHS, NEEDLES, TOPICS, NeedleTemplate, Prose, Topic


@dataclass
class DocSpec:
    """One planned document: everything needed to build it again, byte for byte."""

    index: int
    id: str
    title: str
    short_title: str
    kind: str
    style: str  # "rules" (Rule N) or "framework" (4. / 4.2 / 4.2.1)
    publisher: str
    year: int
    seed: int
    budget: int  # chunks to aim for
    needles: list[str] = field(default_factory=list)  # NeedleTemplate keys planted in this document


@dataclass
class PlantedNeedle:
    key: str
    doc_id: str
    ref: str
    page: int
    question: str
    phrase: str
    text: str


@dataclass
class TextLine:
    text: str
    x: float
    y: float  # baseline, mm from the top
    font: str  # "" regular, "B" bold
    size: float


@dataclass
class BuiltDocument:
    spec: DocSpec
    family: str  # "helvetica" or "times"
    pages: list[list[TextLine]]
    needles: list[PlantedNeedle]
    units: int
    estimated_chunks: float

    def page_texts(self) -> list[str]:
        """The text of each page as pdfium extracts it from the rendered PDF."""
        return ["\r\n".join(line.text for line in page) for page in self.pages]


# A paragraph to lay out: its lines are wrapped at layout time.
@dataclass
class _Para:
    text: str
    kind: str  # "body", "heading", "subheading", "unit", "list"
    indent: float = 0.0


class _Layout:
    """Places paragraphs on A4 pages: header, body lines, footer."""

    TOP = 32.0
    BOTTOM = 268.0
    LEFT = 20.0

    def __init__(self, spec: DocSpec, rng: random.Random) -> None:
        self.spec = spec
        self.family = rng.choice(("helvetica", "times"))
        self.size = rng.choice((10.0, 10.5, 11.0))
        self.leading = self.size * 0.48
        self.header_kind = rng.choice(("short", "establishment", "symbol"))
        self.counter = rng.choice(("Page {n} of {total}", "{n}/{total}", "- {n} -", "{n}"))
        self.marking = rng.random() < 0.5
        self.uncontrolled = rng.random() < 0.4
        self.symbol = f"PSI/{spec.year}/{rng.randint(1, 60):02d}"
        self.issue = f"Issue {rng.randint(1, 9)}, {rng.choice(MONTHS)} {spec.year}"
        self.body: list[list[TextLine]] = []
        self.y = self.TOP

    def chars_per_line(self, size: float, indent: float) -> int:
        # Average glyph width ~0.47 em (Helvetica) or ~0.43 em (Times), 1 pt = 0.3528 mm.
        em = 0.47 if self.family == "helvetica" else 0.43
        return max(20, int((170.0 - indent) / (em * size * 0.3528)))

    def _new_page(self) -> None:
        self.body.append([])
        self.y = self.TOP

    def add(self, para: _Para, keep_with_next: int = 0) -> None:
        size = self.size
        font = ""
        space_before = self.leading * 0.5
        if para.kind == "heading":
            size, font, space_before = self.size + 3, "B", self.leading * 1.8
        elif para.kind == "subheading":
            size, font, space_before = self.size + 1, "B", self.leading * 1.2
        elif para.kind == "unit":
            font, space_before = "B", self.leading
        elif para.kind == "list":
            space_before = self.leading * 0.2
        lines = _wrap(para.text, self.chars_per_line(size, para.indent + 8.0))
        height = size * 0.48
        if not self.body:
            self._new_page()
        needed = height * (min(len(lines), 2) + keep_with_next)
        if self.y + space_before + needed > self.BOTTOM and self.body[-1]:
            self._new_page()
        elif self.body[-1]:
            self.y += space_before
        for i, text in enumerate(lines):
            if self.y + height > self.BOTTOM:
                self._new_page()
            self.y += height
            x = self.LEFT + para.indent + (8.0 if i and para.kind == "list" else 0.0)
            self.body[-1].append(TextLine(text, x, round(self.y, 2), font, size))

    def header_text(self) -> str:
        if self.header_kind == "symbol":
            return self.symbol
        if self.header_kind == "establishment":
            return f"HM Prison and Probation Service | {self.spec.short_title}"
        return self.spec.short_title

    def finish(self, front: list[list[TextLine]]) -> list[list[TextLine]]:
        """Front matter pages as given; header and footer added to the body pages."""
        pages = [*front]
        total = len(front) + len(self.body)
        for number, body in enumerate(self.body, start=len(front) + 1):
            page: list[TextLine] = []
            if self.marking:
                page.append(TextLine("OFFICIAL", 95.0, 12.0, "B", 8.0))
            page.append(TextLine(self.header_text(), self.LEFT, 18.0, "", 8.5))
            page.extend(body)
            if self.uncontrolled:
                page.append(TextLine(f"{self.issue}. Printed copies are uncontrolled.", self.LEFT, 280.0, "", 7.5))
            page.append(TextLine(self.counter.format(n=number, total=total), 100.0, 287.0, "", 8.5))
            pages.append(page)
        return pages


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def _unit_words(rng: random.Random) -> int:
    draw = rng.random()
    if draw < 0.1:
        return rng.randint(25, 44)
    if draw < 0.75:
        return rng.randint(50, 160)
    return rng.randint(180, 330)


def _estimate(words: int) -> float:
    if words < 45:
        return 0.5
    return float(max(1, math.ceil(words / 155)))


def build_document(spec: DocSpec) -> BuiltDocument:
    """Lay out one document from its spec (deterministic)."""
    rng = random.Random(spec.seed)
    prose = Prose(rng)
    layout = _Layout(spec, rng)
    topics = list(TOPICS)
    rng.shuffle(topics)
    needles = [n for n in NEEDLES if n.key in spec.needles]
    planted: list[PlantedNeedle] = []
    estimated = 0.0
    units = 0

    # Foreword: unnumbered prose before the first chapter.
    layout.add(_Para("Foreword", "heading"), keep_with_next=2)
    foreword_topic = rng.choice(topics)
    for _ in range(rng.randint(1, 2)):
        layout.add(_Para(" ".join(prose.sentences(foreword_topic, rng.randint(60, 120))), "body"))
        estimated += 1

    chapters: list[tuple[str, int]] = []  # (contents line, page)
    rule_no = 0
    chapter_no = 0
    # Needle positions: spread through the document's chunk budget.
    needle_at = {round((i + 1) * spec.budget / (len(needles) + 1)): needle for i, needle in enumerate(needles)}
    pending = sorted(needle_at)
    while estimated < spec.budget or pending:
        chapter_no += 1
        if spec.style == "framework" and chapter_no > 99:
            break
        topic = topics[(chapter_no - 1) % len(topics)]
        title = rng.choice(topic.chapters)
        if spec.style == "rules":
            heading = f"Chapter {chapter_no} {title}"
            contents = heading
        else:
            heading = f"{chapter_no}. {title}"
            contents = heading
        layout.add(_Para(heading, "heading"), keep_with_next=2)
        chapters.append((contents, len(layout.body)))
        paragraph_no = 0
        subheadings = list(topic.subheadings)
        rng.shuffle(subheadings)
        units_in_chapter = rng.randint(4, max(8, min(45, spec.budget // 12)))
        previous_words = 0
        for u in range(units_in_chapter):
            if u and rng.random() < 0.25 and subheadings:
                layout.add(_Para(subheadings.pop(), "subheading"), keep_with_next=2)
                previous_words = 0
            needle = None
            if pending and estimated >= pending[0] and previous_words >= 60:
                needle = needle_at[pending.pop(0)]
            units += 1
            words = len(needle.text.split()) if needle else _unit_words(rng)
            if needle is None and pending and estimated + 1 >= pending[0]:
                words = max(words, rng.randint(70, 140))  # the unit before a needle is never merged into it
            if spec.style == "rules":
                rule_no += 1
                ref = f"Rule {rule_no}"
                layout.add(_Para(ref, "unit"), keep_with_next=1)
                _add_rule_body(layout, prose, rng, topic, words, needle)
            else:
                paragraph_no += 1
                ref = f"{chapter_no}.{paragraph_no}"
                _add_dotted(layout, prose, rng, topic, words, ref, needle)
            if needle is not None:
                planted.append(PlantedNeedle(needle.key, spec.id, ref, 0, needle.question, needle.phrase, needle.text))
            estimated += _estimate(words)
            previous_words = words
            if estimated >= spec.budget and not pending:
                break
    contents_pages = max(1, math.ceil(len(chapters) / CONTENTS_LINES))
    front = [_title_page(spec, layout)]
    for start in range(0, len(chapters), CONTENTS_LINES):
        front.append(_contents_page(layout, chapters[start : start + CONTENTS_LINES], contents_pages, start == 0))
    pages = layout.finish(front)
    for placed in planted:  # the page its first line landed on
        opening = " ".join(placed.text.split()[:6])
        placed.page = next(n for n, page in enumerate(pages, 1) if any(opening in line.text for line in page))
    return BuiltDocument(spec, layout.family, pages, planted, units, estimated + 2)


def _add_rule_body(
    layout: _Layout, prose: Prose, rng: random.Random, topic: Topic, words: int, needle: NeedleTemplate | None
) -> None:
    if needle is not None:
        layout.add(_Para(needle.text, "body"))
        return
    shape = rng.random()
    if shape < 0.5 or words < 60:
        layout.add(_Para(" ".join(prose.sentences(topic, words)), "body"))
    elif shape < 0.85:
        parts = rng.randint(2, 4)
        for i in range(parts):
            layout.add(_Para(f"{i + 1}. " + " ".join(prose.sentences(topic, words // parts)), "body"))
    else:
        layout.add(_Para(" ".join(prose.sentences(topic, max(20, words - 40))), "body"))
        lead, items = prose.list_block(topic)
        layout.add(_Para(lead, "body"))
        for item in items:
            layout.add(_Para(item, "list", indent=6.0))


def _add_dotted(
    layout: _Layout,
    prose: Prose,
    rng: random.Random,
    topic: Topic,
    words: int,
    ref: str,
    needle: NeedleTemplate | None,
) -> None:
    if needle is not None:
        layout.add(_Para(f"{ref} {needle.text}", "body"))
        return
    if rng.random() < 0.2 and words >= 90:
        layout.add(_Para(f"{ref} " + " ".join(prose.sentences(topic, words // 3)), "body"))
        for sub in range(1, 3):
            layout.add(_Para(f"{ref}.{sub} " + " ".join(prose.sentences(topic, words // 3)), "body", indent=6.0))
        return
    layout.add(_Para(f"{ref} " + " ".join(prose.sentences(topic, words)), "body"))


def _title_page(spec: DocSpec, layout: _Layout) -> list[TextLine]:
    lines = [TextLine("OFFICIAL", 95.0, 20.0, "B", 9.0)] if layout.marking else []
    lines.append(TextLine(spec.publisher.replace(" (synthetic)", ""), 20.0, 60.0, "B", 14.0))
    y = 90.0
    for part in _wrap(spec.title, 38):
        lines.append(TextLine(part, 20.0, y, "B", 22.0))
        y += 11.0
    lines.append(TextLine(layout.issue, 20.0, y + 10.0, "", 12.0))
    if layout.header_kind == "symbol":
        lines.append(TextLine(f"Reference {layout.symbol}", 20.0, y + 18.0, "", 12.0))
    lines.append(TextLine("A synthetic document generated for scale testing; not a real policy.", 20.0, 250.0, "", 9.0))
    return lines


CONTENTS_LINES = 40


def _contents_page(
    layout: _Layout, chapters: list[tuple[str, int]], contents_pages: int, first: bool
) -> list[TextLine]:
    lines = [TextLine("Contents" if first else "Contents (continued)", 20.0, 30.0, "B", 14.0)]
    y = 42.0
    width = layout.chars_per_line(layout.size, 10.0)
    for text, page in chapters:
        number = str(page + 1 + contents_pages)
        dots = "." * max(4, width - len(text) - len(number) - 2)
        lines.append(TextLine(f"{text} {dots} {number}", 20.0, y, "", layout.size))
        y += layout.leading
    return lines
