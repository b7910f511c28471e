"""Two evaluation reports side by side: metric deltas and the questions that flipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from evals.jsonfile import read_json_file
from evals.metrics import K_VALUES, MISS_K, all_key_facts, hit_rank
from evals.records import Metrics
from evals.runner import EvalReport, QuestionResult

Direction = Literal["higher", "lower"]

# (report key, which way is better); latency and false refusals are better when lower.
COMPARED: tuple[tuple[str, Direction], ...] = (
    *((f"hit@{k}", "higher") for k in K_VALUES),
    ("mrr@10", "higher"),
    ("ndcg@10", "higher"),
    ("ref_accuracy", "higher"),
    ("key_fact_coverage", "higher"),
    ("key_fact_share", "higher"),
    ("lead_key_fact_share", "higher"),
    ("words_before_key_fact", "lower"),
    ("words_before_passages", "lower"),
    ("citation_validity", "higher"),
    ("refusal_recall", "higher"),
    ("false_refusal_rate", "lower"),
    ("latency_ms.p50", "lower"),
    ("latency_ms.p95", "lower"),
)


class ReportError(ValueError):
    """A report file that cannot be read; one line naming the file."""


class MetricDelta(BaseModel):
    metric: str
    a: float | None
    b: float | None
    delta: float | None  # b - a
    change: Literal["improved", "regressed", "same", "n/a"]


class Flip(BaseModel):
    id: str
    kind: str
    question: str
    detail: str = ""


class Comparison(BaseModel):
    a: str
    b: str
    n_a: int
    n_b: int
    metrics: list[MetricDelta]
    hit_to_miss: list[Flip] = Field(default_factory=list)  # relevant passage in the top 5 in A, not in B
    miss_to_hit: list[Flip] = Field(default_factory=list)
    newly_refused: list[Flip] = Field(default_factory=list)
    no_longer_refused: list[Flip] = Field(default_factory=list)
    key_facts_lost: list[Flip] = Field(default_factory=list)  # all key facts in A's answer, not in B's
    key_facts_gained: list[Flip] = Field(default_factory=list)
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump()


def load_report(path: Path | str) -> EvalReport:
    path = Path(path)
    data = read_json_file(path, ReportError, "not JSON")
    if not isinstance(data, dict) or "n" not in data:
        raise ReportError(f"{path}: not an evaluation report (no key 'n'; write one with `handbook eval --json`)")
    try:
        return EvalReport.from_json_dict(data)
    except ValueError as exc:
        raise ReportError(f"{path}: not a readable evaluation report ({str(exc).splitlines()[0]})") from exc


def metric_deltas(a: Metrics, b: Metrics) -> list[MetricDelta]:
    rows = []
    for key, better in COMPARED:
        va, vb = a.value(key), b.value(key)
        if va is None or vb is None:
            rows.append(MetricDelta(metric=key, a=va, b=vb, delta=None, change="n/a"))
            continue
        delta = round(vb - va, 4)
        if delta == 0:
            change: Literal["improved", "regressed", "same", "n/a"] = "same"
        else:
            change = "improved" if (delta > 0) == (better == "higher") else "regressed"
        rows.append(MetricDelta(metric=key, a=va, b=vb, delta=delta, change=change))
    return rows


def _hit(q: QuestionResult) -> bool:
    rank = hit_rank(q)
    return rank is not None and rank <= MISS_K


def _flip(q: QuestionResult, detail: str = "") -> Flip:
    return Flip(id=q.id, kind=q.kind, question=q.question, detail=detail)


def compare_reports(a: EvalReport, b: EvalReport, a_name: str = "A", b_name: str = "B") -> Comparison:
    """B relative to A: deltas are B - A; flips are what changed from A to B, question by question."""
    qa = {q.id: q for q in a.questions}
    qb = {q.id: q for q in b.questions}
    result = Comparison(
        a=a_name,
        b=b_name,
        n_a=a.metrics.n,
        n_b=b.metrics.n,
        metrics=metric_deltas(a.metrics, b.metrics),
        only_in_a=sorted(set(qa) - set(qb)),
        only_in_b=sorted(set(qb) - set(qa)),
    )
    for qid in sorted(set(qa) & set(qb)):
        x, y = qa[qid], qb[qid]
        if x.answerable:
            rank_x, rank_y = hit_rank(x), hit_rank(y)
            detail = f"rank {rank_x or '-'} -> {rank_y or '-'}"
            if _hit(x) and not _hit(y):
                result.hit_to_miss.append(_flip(y, detail))
            elif _hit(y) and not _hit(x):
                result.miss_to_hit.append(_flip(y, detail))
            facts_x, facts_y = all_key_facts(x), all_key_facts(y)
            if facts_x and facts_y is False:
                result.key_facts_lost.append(_flip(y))
            elif facts_y and facts_x is False:
                result.key_facts_gained.append(_flip(y))
        what = "answerable" if x.answerable else "unanswerable"
        if y.refused and not x.refused:
            result.newly_refused.append(_flip(y, f"{what}: {'wrong' if x.answerable else 'right'} refusal"))
        elif x.refused and not y.refused:
            result.no_longer_refused.append(_flip(y, f"{what}: {'fixed' if x.answerable else 'now answered'}"))
    return result


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4f}"


def render_text(c: Comparison) -> str:
    """A plain-text report of a comparison (what `handbook eval compare` prints)."""
    marks = {"improved": "+ improved", "regressed": "- REGRESSED", "same": "  same", "n/a": ""}
    lines = [f"A = {c.a} ({c.n_a} questions)", f"B = {c.b} ({c.n_b} questions)", ""]
    lines.append(f"{'metric':<20}{'A':>10}{'B':>10}{'B - A':>10}  change")
    for row in c.metrics:
        delta = "-" if row.delta is None else f"{row.delta:+.4f}" if abs(row.delta) < 10 else f"{row.delta:+.1f}"
        lines.append(f"{row.metric:<20}{_fmt(row.a):>10}{_fmt(row.b):>10}{delta:>10}  {marks[row.change]}")
    sections = (
        (f"hit -> miss (relevant passage in the top {MISS_K} in A, not in B)", c.hit_to_miss),
        ("miss -> hit", c.miss_to_hit),
        ("newly refused", c.newly_refused),
        ("no longer refused", c.no_longer_refused),
        ("key facts lost (all in A's answer, not in B's)", c.key_facts_lost),
        ("key facts gained", c.key_facts_gained),
    )
    for title, flips in sections:
        lines.append("")
        lines.append(f"{title}: {len(flips)}")
        for f in flips:
            detail = f" [{f.detail}]" if f.detail else ""
            lines.append(f"  {f.id} ({f.kind}){detail}: {f.question}")
    if c.only_in_a or c.only_in_b:
        lines.append("")
        lines.append(f"only in A: {', '.join(c.only_in_a) or '-'}; only in B: {', '.join(c.only_in_b) or '-'}")
    return "\n".join(lines)
