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
from evals.calibrate import FOLDS, Figures, Row, cross_validate, figures, fold_of, state_of
from evals.calibrate import MAX_FALSE_REFUSAL as RULES_MAX_FALSE_REFUSAL

GROUPS: tuple[Group, ...] = ("en", "cyrillic")
MISS = 5  # a "top-five miss": no relevant passage in the first five


class GroupFigures(Figures):
    """Out-of-fold figures of one decision for one language group: the calibration's figures and the caution's."""

    caution_right_first: float | None = None  # closest among answerable questions whose first passage is relevant
    caution_top5_miss: float | None = None  # closest among answerable questions with no relevant passage in the top 5
    n_right_first: int = 0
    n_top5_miss: int = 0


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
    pairs = list(zip(rows, states, strict=True))
    right = [s == "closest" for r, s in pairs if right_first(r)]
    miss = [s == "closest" for r, s in pairs if top5_miss(r)]
    return GroupFigures(
        **figures(rows, states).model_dump(),
        caution_right_first=round(sum(right) / len(right), 4) if right else None,
        caution_top5_miss=round(sum(miss) / len(miss), 4) if miss else None,
        n_right_first=len(right),
        n_top5_miss=len(miss),
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
