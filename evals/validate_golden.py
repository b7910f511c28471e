"""Check a golden set against the corpus PDFs.

    python -m evals.validate_golden evals/golden/dev.jsonl [--corpus DIR]

Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from evals.golden import GoldenFormatError, GoldenQuestion, load_golden
from ingest.pdf_text import PdfError, read_pdf_pages
from ingest.textnorm import normalize_for_match

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


class _PageCache:
    """Raw page text per document id, extracted once per document."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        self._pages: dict[str, list[str] | None] = {}
        self.errors: dict[str, str] = {}

    def pages(self, doc: str) -> list[str] | None:
        if doc not in self._pages:
            path = self.corpus_dir / f"{doc}.pdf"
            if not path.is_file():
                self._pages[doc] = None
                self.errors[doc] = f"no {path}"
            else:
                try:
                    self._pages[doc] = read_pdf_pages(path).pages
                except PdfError as exc:
                    self._pages[doc] = None
                    self.errors[doc] = str(exc)
        return self._pages[doc]


def validate_golden(questions: Sequence[GoldenQuestion], corpus_dir: Path) -> list[str]:
    """Return one line per problem; an empty list means the set is consistent with the corpus."""
    cache = _PageCache(Path(corpus_dir))
    problems: list[str] = []
    for q in questions:
        where = f"{q.id}:"
        if q.answerable and not q.expected:
            problems.append(f"{where} answerable but has no expected passages")
        if q.answerable and not q.key_facts:
            problems.append(f"{where} answerable but has no key_facts")
        if not q.answerable and q.expected:
            problems.append(f"{where} unanswerable but lists expected passages")
        if not q.answerable and q.kind != "unanswerable":
            problems.append(f"{where} unanswerable but kind is {q.kind!r}")
        if q.answerable and q.kind == "unanswerable":
            problems.append(f"{where} kind 'unanswerable' but answerable is true")
        wanted: dict[str, set[int]] = {}  # doc -> its valid expected pages
        doc_pages: dict[str, list[str]] = {}
        for exp in q.expected:
            pages = cache.pages(exp.doc)
            if pages is None:
                problems.append(f"{where} doc {exp.doc!r}: {cache.errors[exp.doc]}")
                continue
            bad = [p for p in exp.pages if not 1 <= p <= len(pages)]
            if bad:
                problems.append(f"{where} doc {exp.doc!r}: page(s) {bad} out of range 1..{len(pages)}")
            good = [p for p in exp.pages if 1 <= p <= len(pages)]
            if good:
                doc_pages[exp.doc] = pages
                wanted.setdefault(exp.doc, set()).update(good)
        texts = [
            normalize_for_match("\n".join(doc_pages[doc][p - 1] for p in sorted(nums))) for doc, nums in wanted.items()
        ]
        if not texts:
            continue
        for fact in q.key_facts:
            needle = normalize_for_match(fact)
            if not needle:
                problems.append(f"{where} empty key fact")
            elif not any(needle in text for text in texts):
                problems.append(f"{where} key fact {fact!r} not found on the expected pages")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a golden-set JSONL file against the corpus PDFs.")
    parser.add_argument("golden", type=Path, help="golden JSONL file, e.g. evals/golden/dev.jsonl")
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help=f"folder of PDFs (default {DEFAULT_CORPUS})"
    )
    args = parser.parse_args(argv)
    try:
        questions = load_golden(args.golden)
    except GoldenFormatError as exc:
        sys.stdout.write(f"{exc}\n")
        return 1
    if not args.corpus.is_dir():
        sys.stdout.write(f"corpus folder not found: {args.corpus}\n")
        return 1
    problems = validate_golden(questions, args.corpus)
    for line in problems:
        sys.stdout.write(f"{line}\n")
    sys.stdout.write(f"{len(questions)} questions, {len(problems)} problem(s)\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
