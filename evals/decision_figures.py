"""Out-of-fold figures of answer decisions per language group, the report of `handbook eval calibrate`.

The hand rules' figures (`rules_states`, cross-validated with evals/calibrate.py) and the learned
candidates' (evals/decision_training.py) are computed and rendered here alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from assistant.answer.decision import State
from assistant.answer.decision_model import Group, group_of
from evals.calibrate import FOLDS, Row, cross_validate, fold_of, state_of
from evals.calibrate import MAX_FALSE_REFUSAL as RULES_MAX_FALSE_REFUSAL

GROUPS: tuple[Group, ...] = ("en", "cyrillic")
MISS = 5  # a "top-five miss": no relevant passage in the first five


class GroupFigures(BaseModel):
    """Out-of-fold figures of one decision for one language group."""

    n: int = 0
    n_answerable: int = 0
    n_unanswerable: int = 0
    false_refusal_rate: float | None = None
    refusal_recall: float | None = None
    key_fact_coverage: float | None = None
    caution_right_first: float | None = None  # closest among answerable questions whose first passage is relevant
    caution_top5_miss: float | None = None  # closest among answerable questions with no relevant passage in the top 5
    n_right_first: int = 0
    n_top5_miss: int = 0
    answered_share: float | None = None
    closest_share: float | None = None
    not_covered_share: float | None = None


class CandidateResult(BaseModel):
    name: str
    figures: dict[str, GroupFigures]
    thresholds: list[dict[str, tuple[float, float]]]  # per fold, per group


class DecisionReport(BaseModel):
    """The rules' and each candidate's out-of-fold figures; the chosen candidate."""

    folds: int
    n: int
    rules: dict[str, GroupFigures]  # the hand rules, their settings chosen per fold (evals/calibrate.py)
    candidates: list[CandidateResult]
    chosen: str
    thresholds: dict[str, tuple[float, float]] = Field(default_factory=dict)  # chosen on all questions' OOF
    # Per golden file: {"rules": ..., "chosen": ...} figures of that file's questions (the same out-of-fold states).
    by_source: dict[str, dict[str, dict[str, GroupFigures]]] = Field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump()


def right_first(row: Row) -> bool:
    return row.answerable and row.rank == 1


def top5_miss(row: Row) -> bool:
    return row.answerable and (row.rank is None or row.rank > MISS)


def group_figures(rows: Sequence[Row], states: Sequence[State]) -> GroupFigures:
    def mean(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    pairs = list(zip(rows, states, strict=True))
    answerable = [(r, s) for r, s in pairs if r.answerable]
    right = [s for r, s in pairs if right_first(r)]
    miss = [s for r, s in pairs if top5_miss(r)]
    return GroupFigures(
        n=len(pairs),
        n_answerable=len(answerable),
        n_unanswerable=len(pairs) - len(answerable),
        false_refusal_rate=mean([s == "not_covered" for _, s in answerable]),
        refusal_recall=mean([s == "not_covered" for r, s in pairs if not r.answerable]),
        key_fact_coverage=mean(
            [bool(r.facts_found) and s != "not_covered" for r, s in answerable if r.facts_found is not None]
        ),
        caution_right_first=mean([s == "closest" for s in right]),
        caution_top5_miss=mean([s == "closest" for s in miss]),
        n_right_first=len(right),
        n_top5_miss=len(miss),
        answered_share=mean([s == "answered" for _, s in pairs]),
        closest_share=mean([s == "closest" for _, s in pairs]),
        not_covered_share=mean([s == "not_covered" for _, s in pairs]),
    )


def figures_by_group(rows: Sequence[Row], states: Sequence[State]) -> dict[str, GroupFigures]:
    out: dict[str, GroupFigures] = {}
    for g in GROUPS:
        chosen = [(r, s) for r, s in zip(rows, states, strict=True) if group_of(r.evidence.lang) == g]
        if chosen:
            out[g] = group_figures([r for r, _ in chosen], [s for _, s in chosen])
    return out


def rules_states(
    rows: Sequence[Row],
    n_folds: int = FOLDS,
    max_false_refusal: float = RULES_MAX_FALSE_REFUSAL,
    sources: dict[str, str] | None = None,
) -> list[State]:
    """The hand rules' out-of-fold states, cross-validated per golden file (else per language group), as
    `handbook eval` does per golden set."""
    states: dict[str, State] = {}
    keys = {r.id: (sources or {}).get(r.id) or group_of(r.evidence.lang) for r in rows}
    for key in dict.fromkeys(keys.values()):
        part = [r for r in rows if keys[r.id] == key]
        if not part or all(r.answerable for r in part) or not any(r.answerable for r in part):
            continue
        cv = cross_validate(part, n_folds, max_false_refusal)
        for r in part:
            states[r.id] = state_of(r, cv.fold_settings[fold_of(r.id, n_folds)], cv.lexical_weight)
    return [states.get(r.id, "answered") for r in rows]


def render_text(report: DecisionReport) -> str:
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    def row(name: str, f: GroupFigures) -> str:
        return (
            f"  {name:28s} {f.n:4d}  FR {num(f.false_refusal_rate)}  recall {num(f.refusal_recall)}  "
            f"key facts {num(f.key_fact_coverage)}  caution right-first {num(f.caution_right_first)} "
            f"(n {f.n_right_first})  top-5 miss {num(f.caution_top5_miss)} (n {f.n_top5_miss})  "
            f"answered/closest/not covered {num(f.answered_share)}/{num(f.closest_share)}/{num(f.not_covered_share)}"
        )

    lines = [f"{report.n} questions, {report.folds}-fold cross-validation; all figures out of fold"]
    for g in GROUPS:
        lines.append(f"{g}:")
        if g in report.rules:
            lines.append(row("hand rules (before)", report.rules[g]))
        for c in report.candidates:
            if g in c.figures:
                lines.append(row(c.name + (" *" if c.name == report.chosen else ""), c.figures[g]))
    for source, figs in report.by_source.items():
        lines.append(f"{source} (the same out-of-fold decisions):")
        for g in GROUPS:
            if g in figs["rules"]:
                lines.append(row(f"{g}: hand rules (before)", figs["rules"][g]))
                lines.append(row(f"{g}: {report.chosen}", figs["chosen"][g]))
    lines.append(f"chosen: {report.chosen}; thresholds on all questions (not covered below, caution below):")
    for name, (lo, hi) in report.thresholds.items():
        lines.append(f"  {name}: {lo:.4f} / {hi:.4f}")
    return "\n".join(lines)
