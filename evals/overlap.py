"""Word overlap between a golden question and the pages that answer it.

    python -m evals.overlap evals/golden/dev.jsonl [--corpus DIR] [--write]

Overlap is the share of the question's distinct content words (`ingest.lexical.lexical_tokens`:
lower-cased, stop words removed, stemmed) that also occur among the content words of its
expected pages. A question in staff wording ("lad kicked off on the wing, how long down the
block?") shares few words with the rule that answers it; one that copies the document's
wording shares most. The dev set calls overlap <= 0.30 "staff wording" (evals/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from evals.golden import STAFF_WORDING_MAX, GoldenFormatError, GoldenQuestion, load_golden
from evals.validate_golden import DEFAULT_CORPUS
from ingest.lexical import lexical_tokens
from ingest.pdf_text import PdfError, read_pdf_pages


def question_overlap(question: str, expected_pages_texts: Iterable[str]) -> float:
    """Share (0..1) of the question's distinct content words found in the given page texts.

    A question without content words has nothing in common with any page: 0.0.
    """
    wanted = set(lexical_tokens(question))
    if not wanted:
        return 0.0
    present: set[str] = set()
    for text in expected_pages_texts:
        present.update(lexical_tokens(text))
    return len(wanted & present) / len(wanted)


class PageTexts:
    """Raw page text of the corpus PDFs, each document extracted once per run."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        self._pages: dict[str, list[str]] = {}

    def pages(self, doc: str) -> list[str]:
        if doc not in self._pages:
            self._pages[doc] = read_pdf_pages(self.corpus_dir / f"{doc}.pdf").pages
        return self._pages[doc]

    def expected_texts(self, question: GoldenQuestion) -> list[str]:
        """The text of every expected page of the question (1-based PDF pages)."""
        texts: list[str] = []
        for exp in question.expected:
            pages = self.pages(exp.doc)
            for number in exp.pages:
                if not 1 <= number <= len(pages):
                    raise ValueError(f"{question.id}: doc {exp.doc!r} has no page {number} (1..{len(pages)})")
                texts.append(pages[number - 1])
        return texts


def compute_overlaps(questions: Sequence[GoldenQuestion], corpus_dir: Path) -> dict[str, float | None]:
    """Overlap per question id; None for unanswerable questions (they have no expected pages)."""
    texts = PageTexts(corpus_dir)
    return {
        q.id: question_overlap(q.question, texts.expected_texts(q)) if q.answerable and q.expected else None
        for q in questions
    }


def write_overlaps(path: Path, overlaps: dict[str, float | None]) -> int:
    """Set `overlap` (rounded to 3 decimals) on every record of the file; other fields are kept as written."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    changed = 0
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        record = json.loads(line)
        value = overlaps.get(record["id"])
        new = None if value is None else round(value, 3)
        if record.get("overlap", "missing") != new:
            changed += 1
        record["overlap"] = new
        out.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Word overlap of golden questions with their expected pages.")
    parser.add_argument("golden", type=Path, help="golden JSONL file, e.g. evals/golden/dev.jsonl")
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help=f"folder of PDFs (default {DEFAULT_CORPUS})"
    )
    parser.add_argument("--write", action="store_true", help="store the overlap of every question in the file")
    args = parser.parse_args(argv)
    try:
        questions = load_golden(args.golden)
        overlaps = compute_overlaps(questions, args.corpus)
    except (GoldenFormatError, PdfError, ValueError) as exc:
        sys.stdout.write(f"{exc}\n")
        return 1
    for q in questions:
        value = overlaps[q.id]
        sys.stdout.write(f"{q.id}\t{'-' if value is None else f'{value:.3f}'}\t{q.persona}\t{q.question}\n")
    measured = [v for v in overlaps.values() if v is not None]
    low = sum(v <= STAFF_WORDING_MAX for v in measured)
    share = f"{low / len(measured):.1%}" if measured else "-"
    sys.stdout.write(
        f"{len(questions)} questions, {len(measured)} answerable; overlap <= {STAFF_WORDING_MAX:.2f}: {low} ({share})\n"
    )
    if args.write:
        changed = write_overlaps(args.golden, overlaps)
        sys.stdout.write(f"wrote {args.golden} ({changed} record(s) changed)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
