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
  folds stays within the group's limit (`MAX_FALSE_REFUSAL`: en 2%, cyrillic 3%);
- the upper threshold: the most caution on questions whose top five miss while the caution on
  questions whose first passage is right stays within the group's limit on the training folds
  (`MAX_CAUTION_RIGHT`: en 18%, cyrillic 15%; out of fold it runs lower).

A focus name the documents never mention sets P(answers) to 0 (`VETO_FEATURES` of
assistant/answer/decision_model.py), in training as at run time.

The rows: evals/decision_rows.py; the figures and the report: evals/decision_figures.py; the weights
written: evals/decision_export.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.answer.decision import State
from assistant.answer.decision_features import FEATURE_NAMES
from assistant.answer.decision_model import VETO_FEATURES, DecisionModel, group_of
from evals.calibrate import FOLDS, Row
from evals.calibrate import MAX_FALSE_REFUSAL as RULES_MAX_FALSE_REFUSAL
from evals.decision_export import export
from evals.decision_figures import (
    GROUPS,
    MISS,
    CandidateResult,
    DecisionReport,
    GroupFigures,
    figures_by_group,
    right_first,
    rules_states,
    top5_miss,
)

# False-refusal limits on the training folds (targets out of fold: en 0.02, cyrillic 0.03). Measured on the
# 851 questions of dev, dev_multilingual and dev_round2*, 2026-12-05, gradient boosting: en 0.015 on the
# training folds gave 0.012 out of fold for a refusal recall of 0.354, 0.02 gave 0.016 / 0.415, 0.025 0.021 / 0.442.
# Cyrillic: 0.02 on the training folds (one false refusal among their ~76 answerable questions) gave 0 of 95
# false refusals and 2 of 41 refusals out of fold, 0.03 gave 1 of 95 and 5 of 41 (2026-12-05, the same rows);
# after the `applies_in` places (corpus/aliases.toml) 0.03 gave 3 of 95, above the target, and 0.02 1 of 95
# and 4 of 41: 0.02 keeps a margin, as the English limit does.
MAX_FALSE_REFUSAL: dict[str, float] = {"en": 0.02, "cyrillic": 0.02}
# Caution on first-passage-right answers, training folds (target out of fold: 0.15). The out-of-fold rate runs
# below the training folds': English at 0.15 gave 0.123 out of fold for 0.517 of the top-five misses, 0.17
# 0.123 / 0.575, 0.18 0.139 / 0.601, 0.20 0.150 / 0.614 (the same rows; a limit chosen on these figures).
MAX_CAUTION_RIGHT: dict[str, float] = {"en": 0.18, "cyrillic": 0.15}


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
            scale[scale < 1e-9] = 1.0  # a constant column: its floating-point std (~1e-17) would export as 0
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
    """Both probabilities; P(answers) is 0 under a veto (`VETO_FEATURES`), as at run time."""
    p = candidate.predict(heads[0], x)
    q = candidate.predict(heads[1], x) if heads[1] is not None else p
    veto = np.zeros(len(x), dtype=bool)
    for name in VETO_FEATURES:
        veto |= x[:, FEATURE_NAMES.index(name)] != 0
    return np.where(veto, 0.0, p), q


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
            if float(np.mean(q[right] < t)) > MAX_CAUTION_RIGHT.get(group, 0.15) + 1e-12:
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
