"""The learned answer decision: features per question, classifiers compared out of fold, thresholds, weights.

Every golden question is asked once with the permissive policy (everything quoted); its row keeps
the answerability evidence with the decision features (assistant/answer/decision_features.py),
what the answer quoted, whether all key facts were quoted and the rank of the first relevant
passage. The rows can be kept in a JSON file (`--rows`), so folds and model comparisons never
retrieve again; a row is reused only for the same question, index generation and check code.

Two probabilities decide (assistant/answer/decision_model.py): `answers` (answerable against
unanswerable) with a lower threshold under which the answer is "not covered", and `right` (first
passage relevant against the top five all missing, answerable questions only) with an upper
threshold under which the quotes come under the caution. Candidates are logistic regression and
gradient boosting (scikit-learn), each also as a single classifier of "answerable with a relevant
passage in the top five" serving both thresholds.

Everything is out of fold, with the folds of `evals.calibrate.fold_of` (a Russian or Kazakh
question takes the fold of the English question it translates, found by its key facts and
expected passages): for each fold the classifiers are fitted on the other folds, and the
thresholds are chosen on those folds' own out-of-fold probabilities (an inner cross-validation
over the same folds), then the fold's questions are decided. Per language group ("en";
"cyrillic": Russian and Kazakh):

- the lower threshold: the highest refusal recall whose false-refusal rate on the training
  folds stays within the group's limit (2%);
- the upper threshold: the most caution on questions whose top five miss while the caution on
  questions whose first passage is right stays within 15% on the training folds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import pprint
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from assistant.answer.decision import State
from assistant.answer.decision_features import FEATURE_NAMES
from assistant.answer.decision_model import DecisionModel, Group, group_of
from evals.calibrate import FOLDS, Row, ask_quoting, cross_validate, fold_of, row_of, state_of
from evals.calibrate import MAX_FALSE_REFUSAL as RULES_MAX_FALSE_REFUSAL
from evals.golden import GoldenQuestion
from evals.metrics import RANK_K
from evals.progress import progress_bar

if TYPE_CHECKING:
    from assistant.chain import Assistant

log = logging.getLogger(__name__)

GROUPS: tuple[Group, ...] = ("en", "cyrillic")
# False-refusal limits on the training folds (targets out of fold: en 0.02, cyrillic 0.03). Measured on the
# 851 questions of dev, dev_multilingual and dev_round2*, 2026-12-05, gradient boosting: en 0.015 on the
# training folds gave 0.012 out of fold for a refusal recall of 0.354, 0.02 gave 0.016 / 0.415, 0.025 0.021 / 0.442.
MAX_FALSE_REFUSAL: dict[str, float] = {"en": 0.02, "cyrillic": 0.02}
MAX_CAUTION_RIGHT = 0.15  # caution on first-passage-right answers, training folds (target out of fold: 0.15)
MISS = 5  # a "top-five miss": no relevant passage in the first five
CHECK_CODE = ("decision.py", "decision_features.py", "refusal.py", "names.py")  # rows are stale when these change


class DecisionRow(BaseModel):
    """A calibration row and what keeps it reusable: the question asked and the index it was asked of."""

    row: Row
    question: str
    stamp: str


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


# --- rows -------------------------------------------------------------------------------------


def check_stamp(index_generation: str) -> str:
    """What a stored row depends on besides its question: the index and the checks' code."""
    here = Path(__file__).resolve().parent.parent / "assistant" / "answer"
    digest = hashlib.sha256(index_generation.encode())
    for name in CHECK_CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def collect_decision_rows(
    assistant: Assistant, questions: Sequence[GoldenQuestion], store: Path | None = None, progress: bool = False
) -> list[Row]:
    """Every question's row, asked once with the permissive policy; rows in `store` are reused when still valid."""
    stamp = check_stamp(assistant.snapshot.meta.generation)
    kept: dict[str, DecisionRow] = {}
    if store is not None and store.exists():
        try:
            data = json.loads(store.read_text(encoding="utf-8"))
            kept = {d["row"]["id"]: DecisionRow.model_validate(d) for d in data}
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: not a rows file (%s); asking every question again", store, exc)
    out: list[DecisionRow] = []
    with progress_bar(progress, "decision rows", len(questions)) as advance:
        for q in questions:
            old = kept.get(q.id)
            if old is not None and old.question == q.question and old.stamp == stamp:
                # Labels come from the golden record, which may have changed since.
                row = old.row.model_copy(update={"answerable": q.answerable, "overlap": q.overlap})
                out.append(DecisionRow(row=row, question=q.question, stamp=stamp))
            else:
                answer = ask_quoting(assistant, q.question, RANK_K)
                out.append(DecisionRow(row=row_of(q, answer), question=q.question, stamp=stamp))
            advance()
    if store is not None:
        merged = {**kept, **{d.row.id: d for d in out}}
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps([d.model_dump(mode="json") for d in merged.values()]), encoding="utf-8")
    return [d.row for d in out]


def question_folds(questions: Sequence[GoldenQuestion], folds: int = FOLDS) -> dict[str, int]:
    """An English question's fold by its id; a translation's by the English question with its key facts and passages."""

    def key(q: GoldenQuestion) -> tuple[Any, ...]:
        return (tuple(q.key_facts), tuple((e.doc, tuple(e.pages), e.ref) for e in q.expected))

    english = {key(q): q.id for q in questions if q.lang == "en" and q.key_facts}
    return {
        q.id: fold_of(english.get(key(q), q.id) if q.lang != "en" and q.key_facts else q.id, folds) for q in questions
    }


# --- figures ----------------------------------------------------------------------------------


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


# --- classifiers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A classifier family and whether one probability serves both thresholds."""

    name: str
    kind: str  # "logistic" or "trees"
    two_heads: bool

    def fit(self, x: np.ndarray, y: np.ndarray) -> Any:
        if len(y) == 0 or y.min() == y.max():
            # One label only (a small fold): that label's probability, whatever the features.
            return ("constant", float(y[0]) if len(y) else 0.5, None, None)
        if self.kind == "logistic":
            from sklearn.linear_model import LogisticRegression

            mean, scale = x.mean(axis=0), x.std(axis=0)
            scale[scale == 0] = 1.0
            model = LogisticRegression(C=0.5, max_iter=2000).fit((x - mean) / scale, y)
            return ("logistic", model, mean, scale)
        from sklearn.ensemble import GradientBoostingClassifier

        model = GradientBoostingClassifier(
            n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8, min_samples_leaf=5, random_state=0
        ).fit(x, y)
        return ("trees", model, None, None)

    @staticmethod
    def predict(fitted: Any, x: np.ndarray) -> np.ndarray:
        kind, model, mean, scale = fitted
        if kind == "constant":
            return np.full(len(x), 0.999 if model else 0.001)
        if kind == "logistic":
            return np.asarray(model.predict_proba((x - mean) / scale)[:, 1])
        return np.asarray(model.predict_proba(x)[:, 1])


CANDIDATES = (
    Candidate("logistic", "logistic", True),
    Candidate("trees", "trees", True),
    Candidate("logistic, one probability", "logistic", False),
    Candidate("trees, one probability", "trees", False),
)


def matrix(rows: Sequence[Row]) -> np.ndarray:
    out = []
    for r in rows:
        f = r.evidence.features
        out.append(f.vector(FEATURE_NAMES) if f is not None else np.zeros(len(FEATURE_NAMES)))
    return np.asarray(out, dtype=np.float64)


def _answers_label(rows: Sequence[Row], two_heads: bool) -> np.ndarray:
    if two_heads:
        return np.asarray([r.answerable for r in rows], dtype=int)
    return np.asarray([r.answerable and r.rank is not None and r.rank <= MISS for r in rows], dtype=int)


def _right_rows(rows: Sequence[Row]) -> list[int]:
    """The rows the `right` classifier learns from: first passage relevant (1) or top five all missing (0)."""
    return [i for i, r in enumerate(rows) if right_first(r) or top5_miss(r)]


def fit_heads(candidate: Candidate, rows: Sequence[Row], x: np.ndarray) -> tuple[Any, Any | None]:
    answers = candidate.fit(x, _answers_label(rows, candidate.two_heads))
    if not candidate.two_heads:
        return answers, None
    idx = _right_rows(rows)
    y = np.asarray([right_first(rows[i]) for i in idx], dtype=int)
    return answers, candidate.fit(x[idx], y)


def predict_heads(candidate: Candidate, heads: tuple[Any, Any | None], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = candidate.predict(heads[0], x)
    return p, (candidate.predict(heads[1], x) if heads[1] is not None else p)


def out_of_fold_probabilities(
    candidate: Candidate, rows: Sequence[Row], x: np.ndarray, folds: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's two probabilities from classifiers fitted on the other folds."""
    p, q = np.zeros(len(rows)), np.zeros(len(rows))
    for f in sorted(set(folds)):
        train = [i for i, g in enumerate(folds) if g != f]
        test = [i for i, g in enumerate(folds) if g == f]
        heads = fit_heads(candidate, [rows[i] for i in train], x[train])
        p[test], q[test] = predict_heads(candidate, heads, x[test])
    return p, q


def _cuts(values: Sequence[float]) -> list[float]:
    """Thresholds between consecutive distinct values (and below all of them)."""
    v = sorted(set(float(x) for x in values))
    return [0.0] + [(a + b) / 2 for a, b in itertools.pairwise(v)] + ([v[-1] + 1e-6] if v else [])


def choose_thresholds(
    rows: Sequence[Row], p: np.ndarray, q: np.ndarray, group: str, max_false: float | None = None
) -> tuple[float, float]:
    """(lower, upper) for one group from probabilities the rows were not fitted on."""
    limit = MAX_FALSE_REFUSAL.get(group, 0.02) if max_false is None else max_false
    ans = np.asarray([r.answerable for r in rows])
    low, best = 0.0, (-1.0, 0.0)
    if ans.any() and (~ans).any():
        for t in _cuts(p):
            false = float(np.mean(p[ans] < t))
            if false > limit + 1e-12:
                continue
            recall = float(np.mean(p[~ans] < t))
            if (recall, -false) > best:
                best, low = (recall, -false), t
    # The upper threshold among answers that are not refused.
    kept = p >= low
    right = np.asarray([right_first(r) for r in rows]) & kept
    miss = np.asarray([top5_miss(r) for r in rows]) & kept
    high, best_high = 0.0, -1.0
    if right.any():
        for t in _cuts(q[kept]):
            if float(np.mean(q[right] < t)) > MAX_CAUTION_RIGHT + 1e-12:
                continue
            caught = float(np.mean(q[miss] < t)) if miss.any() else 0.0
            if caught > best_high:
                best_high, high = caught, t
    return round(low, 6), round(high, 6)


def decide(p: float, q: float, thresholds: tuple[float, float], row: Row) -> State:
    if not row.evidence.has_passages or p < thresholds[0]:
        return "not_covered"
    if q < thresholds[1] or not row.quoted:
        return "closest"
    return "answered"


def evaluate_candidate(
    candidate: Candidate, rows: Sequence[Row], x: np.ndarray, folds: Sequence[int]
) -> tuple[CandidateResult, list[State]]:
    """Out-of-fold states: each fold decided by classifiers and thresholds chosen without it."""
    states: list[State] = ["answered"] * len(rows)
    per_fold: list[dict[str, tuple[float, float]]] = []
    for f in sorted(set(folds)):
        train = [i for i, g in enumerate(folds) if g != f]
        test = [i for i, g in enumerate(folds) if g == f]
        train_rows = [rows[i] for i in train]
        # Thresholds from the training folds' own out-of-fold probabilities (inner cross-validation).
        p_in, q_in = out_of_fold_probabilities(candidate, train_rows, x[train], [folds[i] for i in train])
        thresholds = _group_thresholds(train_rows, p_in, q_in)
        per_fold.append(thresholds)
        heads = fit_heads(candidate, train_rows, x[train])
        p, q = predict_heads(candidate, heads, x[test])
        for j, i in enumerate(test):
            states[i] = decide(float(p[j]), float(q[j]), thresholds[group_of(rows[i].evidence.lang)], rows[i])
    return CandidateResult(name=candidate.name, figures=figures_by_group(rows, states), thresholds=per_fold), states


def _group_thresholds(rows: Sequence[Row], p: np.ndarray, q: np.ndarray) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for g in GROUPS:
        idx = [i for i, r in enumerate(rows) if group_of(r.evidence.lang) == g]
        if idx:
            out[g] = choose_thresholds([rows[i] for i in idx], p[idx], q[idx], g)
    return out


def _meets(result: CandidateResult) -> tuple[float, ...]:
    """Ranking of candidates: within the false-refusal targets first, then recall and a caution that separates."""
    en, cy = result.figures.get("en", GroupFigures()), result.figures.get("cyrillic", GroupFigures())
    within = (en.false_refusal_rate or 0.0) <= 0.02 and (cy.false_refusal_rate or 0.0) <= 0.03
    separation = (en.caution_top5_miss or 0.0) - (en.caution_right_first or 0.0)
    return (float(within), (en.refusal_recall or 0.0) + 0.5 * (cy.refusal_recall or 0.0) + 0.5 * separation)


def train_decision(
    rows: Sequence[Row],
    folds: dict[str, int],
    candidates: Sequence[Candidate] = CANDIDATES,
    rules_max_false_refusal: float = RULES_MAX_FALSE_REFUSAL,
    sources: dict[str, str] | None = None,
) -> tuple[DecisionReport, dict[str, Any]]:
    """Compares the candidates out of fold; fits the best on all rows. Returns the report and the weights.

    `sources` (question id -> golden file) adds each file's figures to the report.
    """
    x = matrix(rows)
    fold_list = [folds[r.id] for r in rows]
    n_folds = max(fold_list) + 1 if fold_list else FOLDS
    evaluated = [evaluate_candidate(c, rows, x, fold_list) for c in candidates]
    results = [result for result, _ in evaluated]
    best = max(range(len(candidates)), key=lambda i: _meets(results[i]))
    chosen = candidates[best]
    p, q = out_of_fold_probabilities(chosen, rows, x, fold_list)
    thresholds = _group_thresholds(rows, p, q)
    heads = fit_heads(chosen, rows, x)
    weights = {
        "answers": export(heads[0]),
        "right": export(heads[1]) if heads[1] is not None else None,
        "thresholds": {g: list(t) for g, t in thresholds.items()},
    }
    before = rules_states(rows, n_folds, rules_max_false_refusal, sources)
    by_source: dict[str, dict[str, dict[str, GroupFigures]]] = {}
    for source in dict.fromkeys((sources or {}).values()):
        idx = [i for i, r in enumerate(rows) if (sources or {}).get(r.id) == source]
        part = [rows[i] for i in idx]
        by_source[source] = {
            "rules": figures_by_group(part, [before[i] for i in idx]),
            "chosen": figures_by_group(part, [evaluated[best][1][i] for i in idx]),
        }
    report = DecisionReport(
        folds=n_folds,
        n=len(rows),
        rules=figures_by_group(rows, before),
        candidates=results,
        chosen=chosen.name,
        thresholds=thresholds,
        by_source=by_source,
    )
    _check_export(weights, heads, chosen, x)
    return report, weights


def export(fitted: Any) -> dict[str, Any]:
    """A fitted classifier as the plain data `assistant.answer.decision_model.Classifier.from_dict` reads."""
    kind, model, mean, scale = fitted
    if kind == "constant":
        n = len(FEATURE_NAMES)
        bias = float(np.log(0.999 / 0.001)) * (1 if model else -1)
        return {"kind": "logistic", "features": list(FEATURE_NAMES), "bias": bias, "mean": [0.0] * n,
                "scale": [1.0] * n, "weights": [0.0] * n}
    if kind == "logistic":
        return {
            "kind": "logistic",
            "features": list(FEATURE_NAMES),
            "bias": round(float(model.intercept_[0]), 6),
            "mean": [round(float(v), 6) for v in mean],
            "scale": [round(float(v), 6) for v in scale],
            "weights": [round(float(v), 6) for v in model.coef_[0]],
        }
    zero = np.zeros((1, len(FEATURE_NAMES)))
    trees = [est[0].tree_ for est in model.estimators_]
    # The initial log-odds: the decision function less the trees' sum at any point.
    init = float(model.decision_function(zero)[0]) - model.learning_rate * sum(
        float(t.predict(zero.astype(np.float32))[0, 0]) for t in trees
    )
    return {
        "kind": "trees",
        "features": list(FEATURE_NAMES),
        "bias": init,
        "learning_rate": model.learning_rate,
        "trees": [
            {
                "left": t.children_left.tolist(),
                "right": t.children_right.tolist(),
                "feature": t.feature.tolist(),
                "threshold": [float(v) for v in t.threshold],
                "value": [float(v) for v in t.value[:, 0, 0]],
            }
            for t in trees
        ],
    }


def _check_export(weights: dict[str, Any], heads: tuple[Any, Any | None], candidate: Candidate, x: np.ndarray) -> None:
    """The numpy model must give scikit-learn's probabilities: the run-time decision is the one measured."""
    from assistant.answer.decision_features import DecisionFeatures

    model = DecisionModel.from_dict(weights)
    p, q = predict_heads(candidate, heads, x[:50])
    for i in range(min(50, len(x))):
        features = DecisionFeatures.model_validate(dict(zip(FEATURE_NAMES, x[i].tolist(), strict=True)))
        mine = model.probabilities(features)
        if abs(mine[0] - p[i]) > 1e-4 or abs(mine[1] - q[i]) > 1e-4:
            raise RuntimeError(f"exported model disagrees with scikit-learn: {mine} vs {(p[i], q[i])}")


def write_weights(weights: dict[str, Any], report: DecisionReport, target: Path, golden: Sequence[str]) -> None:
    chosen = next(c for c in report.candidates if c.name == report.chosen)

    def line(g: str) -> str:
        f = chosen.figures.get(g)
        if f is None:
            return f"{g}: -"
        return (
            f"{g}: false refusals {f.false_refusal_rate}, refusal recall {f.refusal_recall}, "
            f"caution right-first {f.caution_right_first} / top-5 miss {f.caution_top5_miss}"
        )

    about = textwrap.fill(
        f"Classifier `{report.chosen}`, fitted on {report.n} questions ({', '.join(golden)}). "
        f"Out of fold: {line('en')}; {line('cyrillic')}.",
        width=110,
    )
    text = (
        '"""The learned answer decision\'s parameters (assistant/answer/decision_model.py), written by\n'
        "`handbook eval calibrate --write`.\n\n"
        f"{about}\n"
        '"""\n\nfrom __future__ import annotations\n\n'
        f"DECISION_MODEL: dict[str, object] = {pprint.pformat(weights, width=120, compact=True)}\n"
    )
    target.write_text(text, encoding="utf-8")


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

