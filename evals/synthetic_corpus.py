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

The modules: this one plans the documents (`plan_corpus`), writes them (`generate_corpus`,
`render_pdf`) and chunks them without PDFs; evals/synthetic_document.py lays out one document
(title page, contents, running headers and footers, chapters, rules or dotted sections);
evals/synthetic_vocabulary.py gives types to the words of synthetic_vocabulary.toml.

Needles are rules with unique wording ("... may keep one canary in their cell ...") planted at
known places (`NEEDLES`, from the vocabulary file), so that a benchmark can check that answers cite them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.synthetic_document import BuiltDocument, DocSpec, PlantedNeedle, build_document
from evals.synthetic_vocabulary import NEEDLES, PLACE_SUFFIXES, PLACES, TOPICS

if TYPE_CHECKING:
    from ingest.chunking import Chunker
    from ingest.records import Chunk

GENERATOR_VERSION = 4
DEFAULT_SEED = 7


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
