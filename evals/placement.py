"""Where an answer puts the key facts (evals/README.md, "Metrics"): within the first 60 words, and how many
words a reader meets before the first key fact and before the supporting passages.

Pure functions over `QuestionRecord`s, like evals/metrics.py, which adds them to every `Metrics`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from evals.records import QuestionRecord
from evals.stats import percentile
from ingest.textnorm import normalize_for_match


def _answerable(records: Iterable[QuestionRecord]) -> list[QuestionRecord]:
    return [r for r in records if r.answerable]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


LEAD_WORDS = 60  # what a reader takes in first: the lead's budget, and the window of `lead_key_fact_share`
# Where an answer's supporting passages begin: the heading the renderer writes (in any of the
# question languages), or, in an answer without one (before the lead existed), its first quote's
# label line ("Nelson Mandela Rules (A/RES/70/175), Rule 44, p. 17:" followed by the quote).
_QUOTE_LABEL = re.compile(r"^[^\n]+:\n\u201c", re.MULTILINE)


def lead_text(answer: str, words: int = LEAD_WORDS) -> str:
    """The first `words` words of an answer (white-space separated, as a reader counts them)."""
    return " ".join(answer.split()[:words])


def lead_facts_found(record: QuestionRecord, words: int = LEAD_WORDS) -> list[bool]:
    """For each key fact, whether the first `words` words of the answer contain it."""
    lead = normalize_for_match(lead_text(record.answer, words))
    return [bool(normalize_for_match(fact)) and normalize_for_match(fact) in lead for fact in record.key_facts]


def lead_key_fact_share(records: Iterable[QuestionRecord], words: int = LEAD_WORDS) -> float | None:
    """Share of all key facts of answerable questions found within the first `words` words of the answers."""
    found = [f for r in _answerable(records) for f in lead_facts_found(r, words)]
    return _mean([1.0 if f else 0.0 for f in found])


def words_before_key_fact(record: QuestionRecord) -> int | None:
    """Words of the answer before its first key fact; None when the answer has none of them."""
    answer = normalize_for_match(record.answer)
    starts = [answer.find(normalize_for_match(f)) for f in record.key_facts if normalize_for_match(f)]
    found = [s for s in starts if s >= 0]
    return len(answer[: min(found)].split()) if found else None


def passages_start(answer: str, headings: Sequence[str] = ()) -> int | None:
    """Character offset where the answer's supporting passages begin; None when it quotes none.

    `headings` are the renderer's "Supporting passages" headings (each language's); an answer
    without one of them starts its passages at the first quote's label line.
    """
    offsets = [m.start() for h in headings if h for m in [re.search(rf"^{re.escape(h)}", answer, re.MULTILINE)] if m]
    if offsets:
        return min(offsets)
    match = _QUOTE_LABEL.search(answer)
    return match.start() if match else None


def words_before_passages(record: QuestionRecord, headings: Sequence[str] = ()) -> int | None:
    """Words of the answer before its supporting passages; None for an answer without passages."""
    start = passages_start(record.answer, headings)
    return None if start is None else len(record.answer[:start].split())


def _median(values: Sequence[float]) -> float | None:
    return round(percentile(values, 50), 1) if values else None


def passage_headings() -> tuple[str, ...]:
    """The "Supporting passages" heading of every question language, as the answer text writes it."""
    from assistant.language import PROFILES

    return tuple(profile.texts.passages_heading.split("{")[0] for profile in PROFILES.values())


def placement_metrics(records: Sequence[QuestionRecord]) -> dict[str, float | None]:
    """Where the answers put the key facts: in the first LEAD_WORDS words, and how many words come first."""
    answerable = [r for r in _answerable(records) if r.key_facts]
    before_fact = [float(w) for w in (words_before_key_fact(r) for r in answerable) if w is not None]
    headings = passage_headings()
    before = [float(w) for w in (words_before_passages(r, headings) for r in answerable) if w is not None]
    return {
        "lead_key_fact_share": _round(lead_key_fact_share(records)),
        "words_before_key_fact": _median(before_fact),
        "words_before_passages": _median(before),
    }
