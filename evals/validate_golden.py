"""Check a golden set against the corpus: every expected location exists and holds its key facts.

    python -m evals.validate_golden evals/golden/dev.jsonl [--corpus DIR]    # the corpus PDFs
    python -m evals.validate_golden evals/golden/dev.jsonl --index DIR       # an index, any format

A location is a page of a PDF or, for a Word, HTML or Markdown document, a paragraph numbered
from 1 in reading order: the `pages` of a golden entry hold those numbers, as the index's page
fields do. A corpus folder is read for PDFs only; an index holds the stored text of every
location of every format, so `--index` also checks golden entries that cite such documents.
Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from evals.golden import GoldenFormatError, GoldenQuestion, load_golden
from ingest.pdf_text import PdfError, read_pdf_pages
from ingest.textnorm import normalize_for_match

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FLOW_SUFFIXES = (".docx", ".html", ".htm", ".md")  # documents without pages: located by paragraph


class LocationSource(Protocol):
    """The text of each location of a document, in order (location n is item n - 1)."""

    def texts(self, doc: str) -> list[str] | None:
        """None when the document cannot be read; `error(doc)` then says why."""

    def error(self, doc: str) -> str: ...

    def unit(self, doc: str) -> str:
        """What a location of this document is: "page" or "paragraph"."""


class CorpusFolder:
    """Raw page text of `<folder>/<doc>.pdf`, extracted once per document."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)
        self._pages: dict[str, list[str] | None] = {}
        self._errors: dict[str, str] = {}

    def texts(self, doc: str) -> list[str] | None:
        if doc not in self._pages:
            self._pages[doc] = self._read(doc)
        return self._pages[doc]

    def _read(self, doc: str) -> list[str] | None:
        path = self.corpus_dir / f"{doc}.pdf"
        if path.is_file():
            try:
                return read_pdf_pages(path).pages
            except PdfError as exc:
                self._errors[doc] = str(exc)
                return None
        flow = [p.name for p in (self.corpus_dir / f"{doc}{s}" for s in FLOW_SUFFIXES) if p.is_file()]
        if flow:
            self._errors[doc] = f"{flow[0]} is not a PDF: check it against an index (--index DIR)"
        else:
            self._errors[doc] = f"no {path}"
        return None

    def error(self, doc: str) -> str:
        return self._errors.get(doc, "")

    def unit(self, doc: str) -> str:
        return "page"


class IndexLocations:
    """The stored text of each location in an index: pages of PDFs, paragraphs of flow documents."""

    def __init__(self, index_dir: Path) -> None:
        from ingest.index_store import IndexSnapshot

        self.index_dir = Path(index_dir)
        self.snapshot = IndexSnapshot.open(self.index_dir)

    def texts(self, doc: str) -> list[str] | None:
        info = self.snapshot.meta.documents.get(doc)
        if info is None:
            return None
        return [self.snapshot.page_text(doc, n) or "" for n in range(1, info.pages + 1)]

    def error(self, doc: str) -> str:
        return f"not in the index {self.index_dir}"

    def unit(self, doc: str) -> str:
        info = self.snapshot.meta.documents.get(doc)
        return "page" if getattr(info, "format", "pdf") == "pdf" else "paragraph"


def validate_golden(questions: Sequence[GoldenQuestion], corpus: Path | LocationSource) -> list[str]:
    """Return one line per problem; an empty list means the set is consistent with the corpus.

    `corpus` is a folder of PDFs (`CorpusFolder`) or any `LocationSource`, e.g. `IndexLocations`.
    """
    source: LocationSource = CorpusFolder(corpus) if isinstance(corpus, Path) else corpus
    problems: list[str] = []
    for q in questions:
        where = f"{q.id}:"
        problems += [f"{where} {p}" for p in _structure(q)]
        wanted: dict[str, set[int]] = {}  # doc -> its valid expected locations
        doc_texts: dict[str, list[str]] = {}
        for exp in q.expected:
            texts = source.texts(exp.doc)
            if texts is None:
                problems.append(f"{where} doc {exp.doc!r}: {source.error(exp.doc)}")
                continue
            unit = source.unit(exp.doc)
            bad = [p for p in exp.pages if not 1 <= p <= len(texts)]
            if bad:
                problems.append(f"{where} doc {exp.doc!r}: {unit}(s) {bad} out of range 1..{len(texts)}")
            good = [p for p in exp.pages if 1 <= p <= len(texts)]
            if good:
                doc_texts[exp.doc] = texts
                wanted.setdefault(exp.doc, set()).update(good)
        joined = [
            normalize_for_match("\n".join(doc_texts[doc][p - 1] for p in sorted(nums))) for doc, nums in wanted.items()
        ]
        if not joined:
            continue
        for fact in q.key_facts:
            needle = normalize_for_match(fact)
            if not needle:
                problems.append(f"{where} empty key fact")
            elif not any(needle in text for text in joined):
                problems.append(f"{where} key fact {fact!r} not found on the expected pages or paragraphs")
    return problems


def _structure(q: GoldenQuestion) -> list[str]:
    """What the question's own fields contradict, without reading the corpus."""
    problems = []
    if q.answerable and not q.expected:
        problems.append("answerable but has no expected passages")
    if q.answerable and not q.key_facts:
        problems.append("answerable but has no key_facts")
    if not q.answerable and q.expected:
        problems.append("unanswerable but lists expected passages")
    if not q.answerable and q.kind != "unanswerable":
        problems.append(f"unanswerable but kind is {q.kind!r}")
    if q.answerable and q.kind == "unanswerable":
        problems.append("kind 'unanswerable' but answerable is true")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a golden-set JSONL file against the corpus PDFs or an index.")
    parser.add_argument("golden", type=Path, help="golden JSONL file, e.g. evals/golden/dev.jsonl")
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help=f"folder of PDFs (default {DEFAULT_CORPUS})"
    )
    parser.add_argument(
        "--index", type=Path, help="check against this index instead (every format: PDF pages, paragraphs of the rest)"
    )
    args = parser.parse_args(argv)
    try:
        questions = load_golden(args.golden)
    except GoldenFormatError as exc:
        sys.stdout.write(f"{exc}\n")
        return 1
    source: Path | LocationSource
    if args.index is not None:
        from ingest.index_store import IndexMissingError

        try:
            source = IndexLocations(args.index)
        except (IndexMissingError, OSError) as exc:
            sys.stdout.write(f"{exc}\n")
            return 1
    elif not args.corpus.is_dir():
        sys.stdout.write(f"corpus folder not found: {args.corpus}\n")
        return 1
    else:
        source = args.corpus
    problems = validate_golden(questions, source)
    for line in problems:
        sys.stdout.write(f"{line}\n")
    sys.stdout.write(f"{len(questions)} questions, {len(problems)} problem(s)\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
