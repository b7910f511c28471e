"""A synthetic prison-handbook corpus for scale tests: deterministic PDFs, a manifest and planted needles.

`generate_corpus(out_dir, target_chunks)` writes

    out_dir/pdf/<id>.pdf     handbooks and policy frameworks (50-200 pages each in large corpora)
    out_dir/manifest.toml    the corpus manifest `handbook ingest` reads (sha256 of each written file)
    out_dir/corpus.json      the plan: documents, needles and their questions, generic questions

Everything is drawn from `random.Random` seeded per document, so the same target and seed
give the same documents byte for byte. Each page is laid out once, as positioned text lines;
the PDF renders those lines, and `BuiltDocument.page_texts()` returns exactly the text pdfium
extracts from them (lines joined by CR LF; a test checks it), so the chunk texts can be produced
without writing or reading a PDF at all (`corpus_chunks`): what `python -m evals.scale embed` uses.
`python -m evals.synthetic_corpus --chunks N --out DIR` writes a corpus from the shell.

Layouts imitate real handbooks: a title page, a contents page with leader dots, a running
header (the short title, an establishment line or a document symbol such as `PSI/2021/07`),
a footer page counter (`Page 5 of 120`, `5/120`, `- 5 -` or `5`), sometimes a classification
marking and an "uncontrolled copy" footer, which our page cleaner removes; chapter headings,
then either named rules (`Rule 12`, with numbered sub-paragraphs `1.` and lists `(a)`) or
numbered sections and dotted paragraphs (`4.`, `4.2`, `4.2.1`), as ingest/structure.py reads them.

Needles are rules with unique wording ("... may keep one canary in their cell ...") planted at
known places, so that a benchmark can check that answers cite them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.synthetic_vocabulary import (
    BOARDS,
    CONSIDERATIONS,
    EXCEPTIONS,
    FREQUENCIES,
    LIST_ITEMS,
    LIST_LEADS,
    MONTHS,
    NEEDS,
    PARTICIPLE_OPENERS,
    PLACE_SUFFIXES,
    PLACES,
    PRISONER_CONDITIONS,
    PROHIBITED,
    RECORDS,
    ROLES,
    TEMPLATES,
    TIMES,
    TOPICS,
    Topic,
)

if TYPE_CHECKING:
    from ingest.chunking import Chunker
    from ingest.records import Chunk

GENERATOR_VERSION = 4
DEFAULT_SEED = 7

# --- needles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedleTemplate:
    key: str
    sentence: str  # the planted rule, quoted by a correct answer
    details: str  # two more sentences on the same subject: a needle rule is about one thing, as real rules are
    question: str
    phrase: str  # distinctive words of `sentence` that a correct answer quotes

    @property
    def text(self) -> str:
        return f"{self.sentence} {self.details}"


NEEDLES: tuple[NeedleTemplate, ...] = (
    NeedleTemplate(
        "canary",
        "Prisoners on the enhanced level may keep one canary in their cell, in a cage of approved design, provided "
        "the bird is registered with the wing aviary officer and the cage is cleaned every day.",
        "The aviary officer inspects every cage once a week and may remove a canary that is neglected. A canary "
        "may not be moved to another cell without the written approval of the aviary officer.",
        "Can a prisoner keep a canary in their cell?",
        "keep one canary",
    ),
    NeedleTemplate(
        "tai-chi",
        "Tai chi sessions on the exercise yard are held at dawn on the first Sunday of each month, and prisoners "
        "join by signing the tai chi ledger kept by the gymnasium orderly.",
        "A tai chi session is cancelled when it rains or when fewer than four prisoners have signed the ledger. "
        "Prisoners who attend tai chi wear their own trainers and gym kit.",
        "When are the tai chi sessions held?",
        "tai chi sessions",
    ),
    NeedleTemplate(
        "pumpkin",
        "Pumpkin carving at the harvest festival is permitted with plastic scoops only, because metal knives are "
        "never issued for it and every scoop is counted back to the chaplaincy afterwards.",
        "The carved pumpkins are displayed in the chapel for one week and then composted by the gardens party. "
        "Prisoners may carve a pumpkin only at the harvest festival, not in their cells.",
        "Are knives allowed for pumpkin carving at the harvest festival?",
        "pumpkin carving",
    ),
    NeedleTemplate(
        "sourdough",
        "The winner of the annual sourdough baking contest receives a place on the kitchen bakery course and a "
        "certificate signed by the catering manager.",
        "Entries to the sourdough baking contest are judged by the catering manager and a visiting baker. Every "
        "loaf entered is shared out at the next family day.",
        "What does the winner of the sourdough baking contest get?",
        "sourdough baking contest",
    ),
    NeedleTemplate(
        "telescope",
        "Members of the astronomy club may use the club telescope on the roof terrace between nine and eleven in "
        "the evening when the sky is clear, supervised by two officers.",
        "The telescope is kept locked in the education department and is signed out by the astronomy club tutor. "
        "Prisoners may not take photographs through the telescope.",
        "When can prisoners use the telescope on the roof terrace?",
        "club telescope",
    ),
    NeedleTemplate(
        "chess",
        "Correspondence chess with players outside the prison is forwarded through the education department, "
        "which checks every postcard for hidden messages before it is posted.",
        "Each prisoner may play up to three games of correspondence chess at a time. Moves are written on the "
        "chess postcards sold in the canteen.",
        "Can prisoners play correspondence chess with players outside the prison?",
        "correspondence chess",
    ),
)

# --- documents --------------------------------------------------------------------------------


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


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part)


def plan_corpus(target_chunks: int, seed: int = DEFAULT_SEED) -> list[DocSpec]:
    """Documents whose chunk budgets add up to `target_chunks`, with the needles spread across them."""
    if target_chunks < 50:
        raise ValueError(f"target_chunks: {target_chunks} is too small (at least 50)")
    rng = random.Random(f"plan:{seed}:{target_chunks}")
    # Large corpora: 50-200 page documents (~210-840 chunks, ~4.2 a page); small ones still get several documents.
    high = max(60, min(840, target_chunks // 4))
    low = max(30, high // 4)
    budgets: list[int] = []
    while sum(budgets) < target_chunks:
        budgets.append(rng.randint(low, high))
    overshoot = sum(budgets) - target_chunks
    budgets[-1] -= overshoot
    if budgets[-1] < low // 2 and len(budgets) > 1:
        budgets[-2] += budgets.pop()
    specs: list[DocSpec] = []
    used_ids: set[str] = set()
    for i, budget in enumerate(budgets):
        place = rng.choice(PLACES) + rng.choice(PLACE_SUFFIXES)
        style = rng.choice(("rules", "rules", "framework"))
        year = rng.randint(2008, 2024)
        if style == "rules":
            name, kind = rng.choice(
                (
                    ("Prisoner Information Handbook", "guidance"),
                    ("Standing Orders", "policy"),
                    ("Residential Rules Handbook", "guidance"),
                    ("Local Rules for the Treatment of Prisoners", "policy"),
                )
            )
        else:
            name, kind = rng.choice(
                (
                    ("Policy Framework", "policy"),
                    ("Local Operating Procedures", "policy"),
                    ("Operational Guidance", "guidance"),
                    ("Safety and Regime Framework", "policy"),
                )
            )
        title = f"HMP {place} {name}"
        short = f"HMP {place} {name.split(' for ')[0]} ({year})"
        doc_id = f"syn-{i:04d}-{_slug(place)}-{_slug(name)}-{year}"
        while doc_id in used_ids:
            doc_id += "-b"
        used_ids.add(doc_id)
        specs.append(
            DocSpec(
                index=i,
                id=doc_id,
                title=title,
                short_title=short,
                kind=kind,
                style=style,
                publisher=f"HMP {place} (synthetic)",
                year=year,
                seed=rng.randrange(2**32),
                budget=budget,
            )
        )
    # Needles at spread positions: first document, last document and evenly between.
    for n, needle in enumerate(NEEDLES):
        position = round(n * (len(specs) - 1) / max(1, len(NEEDLES) - 1))
        specs[position].needles.append(needle.key)
    return specs


class _Prose:
    """Sentences from the templates with the slots filled from one topic and the shared lists."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _fill(self, template: str, topic: Topic) -> str:
        rng = self.rng
        verb = rng.choice(topic.verbs)
        roles = topic.roles + ROLES
        role, role2 = rng.sample(roles, 2)
        values = {
            "role": role,
            "role2": role2,
            "noun": rng.choice(topic.nouns),
            "verb": verb[0],
            "pp": verb[1],
            "ing": verb[2],
            "time": rng.choice(TIMES),
            "freq": rng.choice(FREQUENCIES),
            "exception": rng.choice(EXCEPTIONS),
            "need": rng.choice(NEEDS),
            "board": rng.choice(BOARDS),
            "record": rng.choice(RECORDS),
            "consideration": rng.choice(CONSIDERATIONS),
            "prohibited": rng.choice(PROHIBITED),
            "pcond": rng.choice(PRISONER_CONDITIONS),
            "opener": rng.choice(PARTICIPLE_OPENERS),
        }
        capitalised = {key.capitalize(): _cap(value) for key, value in values.items()}
        return template.format(**values, **capitalised)

    def sentence(self, topic: Topic) -> str:
        if self.rng.random() < 0.12:
            return self.rng.choice(topic.facts)
        return self._fill(self.rng.choice(TEMPLATES), topic)

    def sentences(self, topic: Topic, words: int) -> list[str]:
        out: list[str] = []
        count = 0
        while count < words:
            sentence = self.sentence(topic)
            if out and sentence == out[-1]:
                continue
            out.append(sentence)
            count += len(sentence.split())
        return out

    def list_block(self, topic: Topic) -> tuple[str, list[str]]:
        lead = self._fill(self.rng.choice(LIST_LEADS), topic)
        items = [self._fill(t, topic) for t in self.rng.sample(LIST_ITEMS, self.rng.randint(2, 4))]
        letters = "abcdefgh"
        out = []
        for i, item in enumerate(items):
            end = "." if i == len(items) - 1 else (";" if i < len(items) - 2 else "; and")
            out.append(f"({letters[i]}) {item}{end}")
        return lead, out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


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
    prose = _Prose(rng)
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
    layout: _Layout, prose: _Prose, rng: random.Random, topic: Topic, words: int, needle: NeedleTemplate | None
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
    prose: _Prose,
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


# --- output ----------------------------------------------------------------------------------


def render_pdf(doc: BuiltDocument, path: Path) -> None:
    """Writes the laid-out pages with fpdf2 (fixed dates: the same document gives the same bytes)."""
    import datetime as dt

    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_compression(True)
    pdf.set_creation_date(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    pdf.set_title(doc.spec.title)
    pdf.set_author(doc.spec.publisher)
    current: tuple[str, float] | None = None
    pdf.set_draw_color(150, 150, 150)
    for page in doc.pages:
        pdf.add_page()
        for line in page:
            if current != (line.font, line.size):
                pdf.set_font(doc.family, line.font, line.size)
                current = (line.font, line.size)
            pdf.text(line.x, line.y, line.text)
        if page and page[0].y < 20:  # a body page: a rule under the running header
            pdf.line(20, 21, 190, 21)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pdf.output(str(tmp))
    tmp.replace(path)


@dataclass
class CorpusInfo:
    """What `generate_corpus` wrote; also saved as corpus.json."""

    target_chunks: int
    seed: int
    generator_version: int
    pdf_dir: str
    manifest: str
    documents: list[dict[str, Any]]
    needles: list[PlantedNeedle]
    questions: list[str]  # generic questions (no planted answer)
    pages: int
    estimated_chunks: float
    seconds: float

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CorpusInfo:
        data = dict(data)
        data["needles"] = [PlantedNeedle(**n) for n in data["needles"]]
        return cls(**data)


def generic_questions() -> list[str]:
    return [q for topic in TOPICS for q in topic.questions]


def _write_one(args: tuple[DocSpec, str]) -> tuple[dict[str, Any], list[PlantedNeedle], float]:
    spec, pdf_dir = args
    doc = build_document(spec)
    path = Path(pdf_dir) / f"{spec.id}.pdf"
    render_pdf(doc, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = {**asdict(spec), "sha256": sha, "pages": len(doc.pages), "units": doc.units}
    return entry, doc.needles, doc.estimated_chunks


def generate_corpus(
    out_dir: Path,
    target_chunks: int,
    seed: int = DEFAULT_SEED,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> CorpusInfo:
    """Writes the PDFs, manifest.toml and corpus.json; reuses a complete earlier run of the same plan."""
    out_dir = Path(out_dir)
    info_path = out_dir / "corpus.json"
    pdf_dir = out_dir / "pdf"
    if info_path.exists():
        with open(info_path) as fh:
            old = CorpusInfo.from_json(json.load(fh))
        if (old.target_chunks, old.seed, old.generator_version) == (target_chunks, seed, GENERATOR_VERSION) and all(
            (pdf_dir / f"{d['id']}.pdf").exists() for d in old.documents
        ):
            return old
    started = time.perf_counter()
    specs = plan_corpus(target_chunks, seed)
    pdf_dir.mkdir(parents=True, exist_ok=True)
    for stale in pdf_dir.glob("*.pdf"):
        stale.unlink()
    jobs = [(spec, str(pdf_dir)) for spec in specs]
    results: list[tuple[dict[str, Any], list[PlantedNeedle], float]] = []
    if workers > 1 and len(jobs) > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for result in pool.imap(_write_one, jobs):
                results.append(result)
                if progress:
                    progress(len(results), len(jobs))
    else:
        for job in jobs:
            results.append(_write_one(job))
            if progress:
                progress(len(results), len(jobs))
    documents = [entry for entry, _, _ in results]
    needles = [n for _, planted, _ in results for n in planted]
    manifest = out_dir / "manifest.toml"
    write_manifest(manifest, documents)
    info = CorpusInfo(
        target_chunks=target_chunks,
        seed=seed,
        generator_version=GENERATOR_VERSION,
        pdf_dir=str(pdf_dir),
        manifest=str(manifest),
        documents=documents,
        needles=needles,
        questions=generic_questions(),
        pages=sum(d["pages"] for d in documents),
        estimated_chunks=round(sum(e for _, _, e in results), 1),
        seconds=round(time.perf_counter() - started, 2),
    )
    tmp = info_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info.to_json(), indent=1))
    tmp.replace(info_path)
    return info


def write_manifest(path: Path, documents: Sequence[dict[str, Any]]) -> None:
    """corpus/manifest.toml format (ingest/corpus_manifest.py); strings are JSON-escaped ASCII, valid TOML."""
    out = ["# Synthetic corpus for scale tests (evals/synthetic_corpus.py); not real policy documents.", ""]
    for d in documents:
        fields = {
            "id": d["id"],
            "title": d["title"],
            "short_title": d["short_title"],
            "publisher": d["publisher"],
            "year": d["year"],
            "kind": d["kind"],
            "jurisdiction": "Synthetic (scale test)",
            "source_url": f"https://example.org/synthetic/{d['id']}.pdf",
            "sha256": d["sha256"],
            "pages": d["pages"],
            "reuse": "generated; no restrictions",
            "local": True,
        }
        out.append("[[document]]")
        for key, value in fields.items():
            text = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
            out.append(f"{key} = {text}")
        out.append("")
    path.write_text("\n".join(out))


# --- chunks without PDFs ----------------------------------------------------------------------


def document_chunks(doc: BuiltDocument, chunker: Chunker | None = None) -> list[Chunk]:
    """The chunks `handbook ingest` makes of this document's PDF, from the laid-out text (no PDF)."""
    from ingest.chunking import Chunker
    from ingest.page_cleaning import PageCleaner
    from ingest.structure import StructureParser

    lines = PageCleaner().run(doc.page_texts())
    blocks = StructureParser().run(lines)
    return (chunker or Chunker()).run(doc.spec.id, doc.spec.short_title or doc.spec.title, blocks)


def corpus_chunks(target_chunks: int, seed: int = DEFAULT_SEED, chunker: Chunker | None = None) -> Iterator[Chunk]:
    """Every chunk of the corpus `generate_corpus(target_chunks, seed)` writes, document by document."""
    for spec in plan_corpus(target_chunks, seed):
        yield from document_chunks(build_document(spec), chunker)


def pdf_page_texts(path: Path) -> list[str]:
    """Page texts as ingest/pdf_text.py extracts them (pdfium), without its pypdf encryption check."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        out = []
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            out.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic handbook corpus (PDFs + manifest).")
    parser.add_argument("--chunks", type=int, required=True, help="target number of chunks")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--count", action="store_true", help="also chunk the corpus in memory and count the chunks")
    args = parser.parse_args(argv)
    info = generate_corpus(args.out, args.chunks, args.seed, args.workers)
    print(
        f"{len(info.documents)} documents, {info.pages} pages, ~{info.estimated_chunks:.0f} chunks estimated, "
        f"{info.seconds:.1f} s -> {args.out}"
    )
    if args.count:
        started = time.perf_counter()
        n = sum(1 for _ in corpus_chunks(args.chunks, args.seed))
        print(f"{n} chunks (in-memory chunking {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
