"""The lead's sentence scorers and their out-of-fold comparison (used by evals/lead_training.py).

Pure numpy over the labelled candidate sentences (`QuestionSentences`): `fit_logistic` (L2, Newton's
method, standardised features), the two-stage `Pipeline` the assistant runs (a first stage without
e5 keeps `SHORTLIST` sentences, e5 embeds them, the second stage chooses), `simulate` (the lead
`LeadSelector` would choose, scored as key facts found), `compare` (each scorer's out-of-fold
share) and `fold_models` (what each fold ships, and what all questions ship).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from assistant.answer.lead import E5_FEATURES, FEATURES, LeadCandidate, LeadModel, LeadSelector, relative
from evals.calibrate import FOLDS
from evals.golden import GoldenQuestion
from ingest.textnorm import normalize_for_match

# The hand-weighted sum the learned scorers are measured against (the weights shipped before learning).
HAND_MODEL: dict[str, Any] = {
    "weights": {
        **{"minilm": 1.0, "e5": 1.0, "overlap": 1.0, "figure": 0.5, "who": 0.3, "must": 0.3, "rank": 0.3},
        **{"fused": 0.3, "first": 0.1, "short": -1.0},
    },
    "bias": 0.0,
    "threshold": 1.2,
    "logistic": False,
}
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.01)  # 1.01: the lead is one sentence
HAND_THRESHOLDS = (0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 99.0)
L2 = 1.0  # the logistic regression's penalty on standardised weights
GROUPS = {"en": "en", "ru": "cyrillic", "kk": "cyrillic"}


@dataclass
class QuestionSentences:
    """One question's candidate sentences, their features and labels."""

    question: GoldenQuestion
    fold: int
    candidates: list[LeadCandidate]
    labels: np.ndarray  # bool per candidate: holds a key fact

    @property
    def group(self) -> str:
        return GROUPS.get(self.question.lang, "en")

    def matrix(self) -> np.ndarray:
        return np.asarray([c.features for c in self.candidates], dtype=np.float64).reshape(-1, len(FEATURES))


def facts_in(text: str, facts: Sequence[str]) -> list[bool]:
    normal = normalize_for_match(text)
    return [bool(normalize_for_match(f)) and normalize_for_match(f) in normal for f in facts]


# --- models ---------------------------------------------------------------------------------

RELATIVE = ("minilm_gap", "e5_gap", "overlap_gap", "e5_passage_best")
CHEAP_DROP = tuple(sorted(E5_FEATURES | set(RELATIVE)))  # the first stage sees no e5 and no comparison
# Sentences e5 embeds per question (English; Russian and Kazakh), about 12 ms each on one core. Out of fold
# (2026-12-05) English keeps 0.340 of the key facts at 4, 0.348 at 5, 0.351 at 6, 0.345 at 8; Russian and
# Kazakh, whose words MiniLM cannot read, 0.305 at 8 and 0.331 at 12. With the second round of dev questions
# (663 answerable), key facts in the first 60 words of the rendered answer, out of fold, English: 0.231 at 4,
# 0.251 at 6, 0.251 at 8; trained on the first round alone, the second round's got 0.118 at 4, 0.141 at 6.
# Russian and Kazakh at 20 (2026-12-06): out of fold on both rounds, through the real pipeline, 0.255 -> 0.308
# (ru) and 0.348 -> 0.391 (kk); on the first round alone 0.362 -> 0.312 and 0.474 -> 0.421. Noise: kept at 12.
SHORTLIST = {"en": 6, "cyrillic": 12}


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, drop: Sequence[str] = ()) -> LeadModel:
    """Logistic regression by Newton's method on standardised features (the `drop`ped ones weigh 0)."""
    keep = [i for i, name in enumerate(FEATURES) if name not in drop]
    mean = x.mean(axis=0) if len(x) else np.zeros(len(FEATURES))
    scale = x.std(axis=0) if len(x) else np.ones(len(FEATURES))
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), ((x - mean) / scale)[:, keep]])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0  # the bias is not penalised
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = {FEATURES[i]: round(float(w[k + 1]), 6) for k, i in enumerate(keep)}
    return LeadModel(
        weights=weights,
        bias=round(float(w[0]), 6),
        logistic=True,
        mean={name: round(float(mean[i]), 6) for i, name in enumerate(FEATURES) if name in weights},
        scale={name: round(float(scale[i]), 6) for i, name in enumerate(FEATURES) if name in weights},
    )


Scorer = Callable[[np.ndarray], np.ndarray]  # feature rows -> the values the threshold applies to


def linear_scorer(model: LeadModel) -> Scorer:
    def score(x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), model.bias)
        for i, name in enumerate(FEATURES):
            weight = model.weights.get(name, 0.0)
            if weight:
                out += weight * (x[:, i] - model.mean.get(name, 0.0)) / (model.scale.get(name, 1.0) or 1.0)
        return 1.0 / (1.0 + np.exp(-np.clip(out, -60, 60))) if model.logistic else out

    return score


def _matrix(found: Sequence[LeadCandidate]) -> np.ndarray:
    return np.asarray([c.features for c in found], dtype=np.float64).reshape(-1, len(FEATURES))


@dataclass
class Pipeline:
    """How one scorer chooses: an optional first stage keeping `n` sentences, then `score` and `threshold`."""

    score: Scorer
    threshold: float
    first: LeadModel | None = None
    n: int = 0
    second: LeadModel | None = None  # `score` as a linear model, where it is one (what ships)

    def shortlisted(self, row: QuestionSentences) -> tuple[list[LeadCandidate], np.ndarray]:
        """The candidates that compete (with their relative features) and their labels."""
        order = list(range(len(row.candidates)))
        if self.first is not None:
            first = linear_scorer(self.first)(_matrix(row.candidates)) if row.candidates else np.zeros(0)
            order = sorted(order, key=lambda i: (-first[i], row.candidates[i].hit, row.candidates[i].start))[: self.n]
        return relative([row.candidates[i] for i in order]), row.labels[order]


def simulate(row: QuestionSentences, pipeline: Pipeline, max_words: int = 60) -> tuple[int, int]:
    """(key facts in the lead chosen as LeadSelector chooses it, key facts of the question)."""
    return _lead_facts(row, *_scored(row, pipeline), pipeline.threshold, max_words)


def _scored(row: QuestionSentences, pipeline: Pipeline) -> tuple[list[LeadCandidate], np.ndarray]:
    """The competing candidates and their scores: what a threshold is applied to."""
    found, _ = pipeline.shortlisted(row)
    return found, pipeline.score(_matrix(found)) if found else np.zeros(0)


def _lead_facts(
    row: QuestionSentences, found: list[LeadCandidate], values: np.ndarray, threshold: float, max_words: int = 60
) -> tuple[int, int]:
    if not found:
        return 0, len(row.question.key_facts)
    order = sorted(range(len(values)), key=lambda i: (-values[i], found[i].hit, found[i].start))
    chosen: list[str] = []
    words = 0
    for i in order:
        if len(chosen) >= 3:
            break
        if chosen and values[i] < threshold:
            break
        if found[i].words > max_words - words or found[i].text in chosen:
            continue
        chosen.append(found[i].text)
        words += found[i].words
    return sum(facts_in(" ".join(chosen), row.question.key_facts)), len(row.question.key_facts)


def choose_threshold(rows: Sequence[QuestionSentences], pipeline: Pipeline, grid: Sequence[float]) -> float:
    """The threshold with the most key facts in the lead on `rows`; among equal ones the highest (fewer words).

    The candidates are scored once, not once per threshold: boosted trees score a row in about 1 ms.
    """
    scored = [(row, *_scored(row, pipeline)) for row in rows]

    def share_at(threshold: float) -> float:
        counts = [_lead_facts(row, found, values, threshold) for row, found, values in scored]
        total = sum(n for _, n in counts)
        return sum(f for f, _ in counts) / total if total else 0.0

    return max(grid, key=lambda t: (round(share_at(t), 6), t))


Trainer = Callable[[Sequence[QuestionSentences], str], "Pipeline | None"]


def _stack(rows: Sequence[QuestionSentences], pipeline: Pipeline | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The feature rows and labels of every competing candidate (the shortlist's, under `pipeline`)."""
    parts = [pipeline.shortlisted(r) if pipeline is not None else (relative(r.candidates), r.labels) for r in rows]
    parts = [(found, labels) for found, labels in parts if found]
    if not parts:
        return np.zeros((0, len(FEATURES))), np.zeros(0)
    return np.vstack([_matrix(f) for f, _ in parts]), np.concatenate([y for _, y in parts]).astype(np.float64)


def trainers() -> dict[str, Trainer]:
    def hand(rows: Sequence[QuestionSentences], group: str) -> Pipeline:
        model = LeadModel.from_dict(HAND_MODEL)
        pipeline = Pipeline(linear_scorer(model), 0.0, second=model)
        return replace(pipeline, threshold=choose_threshold(rows, pipeline, HAND_THRESHOLDS))

    def one_stage(drop: Sequence[str] = ()) -> Trainer:
        def train(rows: Sequence[QuestionSentences], group: str) -> Pipeline:
            model = fit_logistic(*_stack(rows), drop=drop)
            pipeline = Pipeline(linear_scorer(model), 0.0, second=model)
            return replace(pipeline, threshold=choose_threshold(rows, pipeline, THRESHOLDS))

        return train

    def two_stage(second: str = "logistic") -> Trainer:
        def train(rows: Sequence[QuestionSentences], group: str) -> Pipeline | None:
            first = fit_logistic(*_stack(rows), drop=CHEAP_DROP)
            staged = Pipeline(linear_scorer(first), 0.0, first=first, n=SHORTLIST[group])
            if second == "trees":
                scorer = trees_scorer(*_stack(rows, staged))
                if scorer is None:
                    return None
                pipeline = replace(staged, score=scorer)
            else:
                model = fit_logistic(*_stack(rows, staged))
                pipeline = replace(staged, score=linear_scorer(model), second=model)
            return replace(pipeline, threshold=choose_threshold(rows, pipeline, THRESHOLDS))

        return train

    return {
        "hand": hand,
        "logistic": two_stage(),
        "logistic-e5-on-all": one_stage(),
        "logistic-no-e5": one_stage(tuple(sorted(E5_FEATURES))),
        "trees": two_stage("trees"),
    }


def trees_scorer(x: np.ndarray, y: np.ndarray) -> Scorer | None:
    """Gradient-boosted trees (scikit-learn), or None where it is not installed."""
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:
        return None
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0)
    model.fit(x, y)
    return lambda rows: model.predict_proba(rows)[:, 1] if len(rows) else np.zeros(0)


@dataclass
class Comparison:
    """Out-of-fold key-fact share of the simulated lead, per scorer and question language group."""

    shares: dict[str, dict[str, float]]  # scorer -> group ("en", "cyrillic", "all") -> share
    thresholds: dict[str, list[float]]  # scorer -> each fold's threshold (English group)


def compare(rows: Sequence[QuestionSentences], folds: int = FOLDS) -> Comparison:
    shares: dict[str, dict[str, float]] = {}
    thresholds: dict[str, list[float]] = {}
    for name, train in trainers().items():
        found: dict[str, list[int]] = {"en": [0, 0], "cyrillic": [0, 0]}
        chosen: list[float] = []
        skipped = False
        for f in range(folds):
            for group in ("en", "cyrillic"):
                training = [r for r in rows if r.fold != f and r.group == group]
                test = [r for r in rows if r.fold == f and r.group == group]
                pipeline = train(training, group) if training else None
                if pipeline is None:
                    skipped = True
                    break
                if group == "en":
                    chosen.append(pipeline.threshold)
                for r in test:
                    a, b = simulate(r, pipeline)
                    found[group][0] += a
                    found[group][1] += b
            if skipped:
                break
        if skipped:
            continue
        per = {g: round(v[0] / v[1], 4) if v[1] else 0.0 for g, v in found.items()}
        total = sum(v[1] for v in found.values())
        per["all"] = round(sum(v[0] for v in found.values()) / total, 4) if total else 0.0
        shares[name] = per
        thresholds[name] = chosen
    return Comparison(shares, thresholds)


@dataclass
class Models:
    """What ships for one scorer: per question language, the first stage, its shortlist and the lead model."""

    models: dict[str, LeadModel]
    shortlists: dict[str, LeadModel]
    shortlist: dict[str, int]

    def selector(self, passages: int) -> LeadSelector:
        return LeadSelector(self.models, passages=passages, shortlists=self.shortlists, shortlist=self.shortlist)


def fold_models(rows: Sequence[QuestionSentences], name: str, folds: int = FOLDS) -> tuple[list[Models], Models]:
    """Each fold's models (trained without it) and the models trained on every question."""
    train = trainers()[name]

    def models(training: Sequence[QuestionSentences]) -> Models:
        out = Models({}, {}, {})
        for group, langs in (("en", ("en",)), ("cyrillic", ("ru", "kk"))):
            pipeline = train([r for r in training if r.group == group], group)
            assert pipeline is not None and pipeline.second is not None, f"{name}: not a linear scorer"
            model = replace(pipeline.second, threshold=pipeline.threshold)
            for lang in langs:
                out.models[lang] = model
                if pipeline.first is not None:
                    out.shortlists[lang] = pipeline.first
                    out.shortlist[lang] = pipeline.n
        return out

    return [models([r for r in rows if r.fold != f]) for f in range(folds)], models(rows)
