"""Refusal calibration: which threshold (and lexical weight) refuses most unanswerable questions
while refusing at most 5% of the answerable ones.

The refusal confidence is `RefusalPolicy.confidence` = best dense cosine + lexical_weight x
term coverage, so it is linear in the weight: one pass over the golden set records both parts
per question and every weight of the grid is scored from them. A question is refused at a
threshold t when its confidence is below t, or when the composer finds nothing to quote
(the assistant refuses then whatever the threshold). Nothing is written: the result says
what to set in assistant/refusal.py (or HANDBOOK_REFUSAL_THRESHOLD).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from assistant.refusal import RefusalPolicy
from evals.golden import GoldenQuestion
from evals.runner import progress_bar

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.retrieval import SearchResult

WEIGHTS = (0.0, 0.1, 0.25, 0.5)
MAX_FALSE_REFUSAL = 0.05
TABLE_STEP = 0.025


class Evidence(BaseModel):
    """One question's refusal evidence."""

    id: str
    answerable: bool
    dense: float  # best dense cosine over the candidates
    coverage: float  # IDF-weighted term coverage of the top passages
    composer_refused: bool  # refused even with no threshold (nothing verifiable to quote)
    unknown_names: bool = False  # refused whatever the threshold: names absent from the documents

    def confidence(self, lexical_weight: float) -> float:
        return self.dense + lexical_weight * self.coverage


class ThresholdRow(BaseModel):
    threshold: float
    refusal_recall: float
    false_refusal_rate: float


class WeightCalibration(BaseModel):
    lexical_weight: float
    best: ThresholdRow | None  # None: no threshold keeps false refusals within the limit
    table: list[ThresholdRow]


class Calibration(BaseModel):
    n: int
    n_answerable: int
    n_unanswerable: int
    max_false_refusal: float
    current: WeightCalibration  # the assistant's own threshold and weight, for reference
    weights: list[WeightCalibration]
    recommended: WeightCalibration | None

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump()


@dataclass(frozen=True)
class _RecordingPolicy(RefusalPolicy):
    """Records both parts of the confidence and never refuses, so the composer always runs."""

    seen: list[tuple[float, float]] = field(default_factory=list)
    unknown: list[bool] = field(default_factory=list)  # whether the question named unknown things

    def confidence(self, result: SearchResult, idf: dict[str, float]) -> float:
        dense = RefusalPolicy(lexical_weight=0.0, passages=self.passages).confidence(result, idf)
        full = RefusalPolicy(lexical_weight=1.0, passages=self.passages).confidence(result, idf)
        self.seen.append((dense, full - dense))
        return dense + self.lexical_weight * (full - dense)

    def refuse(self, confidence: float, unknown: list[str] | None = None) -> bool:
        self.unknown.append(bool(unknown))
        return False


def collect_evidence(
    assistant: Assistant, questions: Sequence[GoldenQuestion], progress: bool = False
) -> list[Evidence]:
    """Asks every question once with a recording, never-refusing policy (restored afterwards)."""
    original = assistant.refusal
    recorder = _RecordingPolicy(lexical_weight=original.lexical_weight, passages=original.passages)
    assistant.refusal = recorder
    evidence: list[Evidence] = []
    try:
        with progress_bar(progress, "calibrating", len(questions)) as advance:
            for q in questions:
                recorder.seen.clear()
                recorder.unknown.clear()
                answer = assistant.ask(q.question)
                dense, coverage = recorder.seen[-1] if recorder.seen else (0.0, 0.0)
                evidence.append(
                    Evidence(
                        id=q.id,
                        answerable=q.answerable,
                        dense=dense,
                        coverage=coverage,
                        composer_refused=answer.refused,
                        unknown_names=bool(recorder.unknown and recorder.unknown[-1]),
                    )
                )
                advance()
    finally:
        assistant.refusal = original
    return evidence


def rates(evidence: Sequence[Evidence], lexical_weight: float, threshold: float) -> ThresholdRow:
    unanswerable = [e for e in evidence if not e.answerable]
    answerable = [e for e in evidence if e.answerable]

    def refused(e: Evidence) -> bool:
        return e.composer_refused or e.unknown_names or e.confidence(lexical_weight) < threshold

    recall = sum(refused(e) for e in unanswerable) / len(unanswerable) if unanswerable else 0.0
    false = sum(refused(e) for e in answerable) / len(answerable) if answerable else 0.0
    return ThresholdRow(
        threshold=round(threshold, 4), refusal_recall=round(recall, 4), false_refusal_rate=round(false, 4)
    )


def best_threshold(
    evidence: Sequence[Evidence], lexical_weight: float, max_false_refusal: float
) -> ThresholdRow | None:
    """The threshold with the highest refusal recall whose false-refusal rate is within the limit.

    Candidates lie halfway between consecutive confidences; among equally good ones (same
    recall and false refusals) the middle of their range is taken, the widest margin on
    both sides.
    """
    values = sorted({round(e.confidence(lexical_weight), 6) for e in evidence})
    if not values:
        return None
    candidates = [values[0] - 0.01] + [(a + b) / 2 for a, b in itertools.pairwise(values)] + [values[-1] + 0.01]
    rows = [rates(evidence, lexical_weight, t) for t in candidates]
    allowed = [r for r in rows if r.false_refusal_rate <= max_false_refusal + 1e-12]
    if not allowed:
        return None
    best = max(allowed, key=lambda r: (r.refusal_recall, -r.false_refusal_rate))
    tied = [
        r.threshold
        for r in allowed
        if (r.refusal_recall, r.false_refusal_rate) == (best.refusal_recall, best.false_refusal_rate)
    ]
    middle = round((min(tied) + max(tied)) / 2, 3)
    return rates(evidence, lexical_weight, middle)


def threshold_table(
    evidence: Sequence[Evidence], lexical_weight: float, step: float = TABLE_STEP
) -> list[ThresholdRow]:
    """Recall and false refusals on a grid spanning the unanswerable questions' confidences."""
    pool = [e for e in evidence if not e.answerable] or list(evidence)
    if not pool:
        return []
    confidences = [e.confidence(lexical_weight) for e in pool]
    low = math.floor(min(confidences) / step) * step - step
    high = math.ceil(max(confidences) / step) * step + step
    count = round((high - low) / step)
    return [rates(evidence, lexical_weight, round(low + i * step, 4)) for i in range(count + 1)]


def calibrate(
    evidence: Sequence[Evidence],
    weights: Sequence[float] = WEIGHTS,
    max_false_refusal: float = MAX_FALSE_REFUSAL,
    current_threshold: float | None = None,
    current_weight: float | None = None,
) -> Calibration:
    current_threshold = RefusalPolicy().threshold if current_threshold is None else current_threshold
    current_weight = RefusalPolicy().lexical_weight if current_weight is None else current_weight
    results = [
        WeightCalibration(
            lexical_weight=w, best=best_threshold(evidence, w, max_false_refusal), table=threshold_table(evidence, w)
        )
        for w in weights
    ]
    scored = [r for r in results if r.best is not None]
    recommended = None
    if scored:
        # Best recall, then fewest false refusals; on a tie keep the current weight, then the smaller weight.
        recommended = max(
            scored,
            key=lambda r: (
                r.best.refusal_recall if r.best else 0.0,
                -(r.best.false_refusal_rate if r.best else 1.0),
                r.lexical_weight == current_weight,
                -r.lexical_weight,
            ),
        )
    current_row = rates(evidence, current_weight, current_threshold)
    return Calibration(
        n=len(evidence),
        n_answerable=sum(e.answerable for e in evidence),
        n_unanswerable=sum(not e.answerable for e in evidence),
        max_false_refusal=max_false_refusal,
        current=WeightCalibration(lexical_weight=current_weight, best=current_row, table=[]),
        weights=results,
        recommended=recommended,
    )


def render_text(c: Calibration) -> str:
    lines = [
        f"{c.n} questions ({c.n_answerable} answerable, {c.n_unanswerable} unanswerable); "
        f"limit: false-refusal rate <= {c.max_false_refusal:.0%}",
        "",
    ]
    cur = c.current.best
    if cur is not None:
        lines.append(
            f"current: threshold {cur.threshold}, lexical weight {c.current.lexical_weight}: "
            f"refusal recall {cur.refusal_recall:.3f}, false-refusal rate {cur.false_refusal_rate:.3f}"
        )
        lines.append("")
    for w in c.weights:
        best = w.best
        head = f"lexical_weight {w.lexical_weight}: "
        if best is None:
            head += "no threshold keeps false refusals within the limit"
        else:
            head += (
                f"best threshold {best.threshold} -> refusal recall {best.refusal_recall:.3f}, "
                f"false-refusal rate {best.false_refusal_rate:.3f}"
            )
        lines += [head, f"  {'threshold':>9}  {'recall':>6}  {'false refusal':>13}"]
        for row in w.table:
            mark = "  <- within limit" if row.false_refusal_rate <= c.max_false_refusal else ""
            lines.append(f"  {row.threshold:>9.3f}  {row.refusal_recall:>6.3f}  {row.false_refusal_rate:>13.3f}{mark}")
        lines.append("")
    rec = c.recommended
    if rec is None or rec.best is None:
        lines.append("No setting meets the limit; keep the current values.")
    else:
        lines.append(
            f"Recommended: DEFAULT_THRESHOLD = {rec.best.threshold}, DEFAULT_LEXICAL_WEIGHT = {rec.lexical_weight} "
            "in assistant/refusal.py"
        )
        if rec.lexical_weight == c.current.lexical_weight:
            lines.append(f"  (same weight as now: HANDBOOK_REFUSAL_THRESHOLD={rec.best.threshold} is enough)")
    return "\n".join(lines)
