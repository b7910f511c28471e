"""The learned answer decision at run time: numpy only, from the weights in decision_weights.py.

`handbook eval calibrate --write` (evals/decision_training.py) fits the classifiers with
scikit-learn and writes their parameters; here they are evaluated with numpy, so the assistant
never imports scikit-learn. Two probabilities, each from its own classifier:

- `answers`: that the documents answer the question (answerable against unanswerable);
  below the lower threshold the answer is "not covered";
- `right`: that the first passages are the right ones (the first passage a relevant one,
  against the top five all missing); below the upper threshold the quotes come under the
  caution. Where no `right` classifier was written the one probability serves both.

Thresholds are per language group ("en"; "cyrillic": Russian and Kazakh), chosen out of fold.
A focus name the documents never mention (`VETO_FEATURES`) sets P(answers) to 0, as the hand rules
refused it; the `learned_focus_caution` guard of the policy (assistant/answer/decision.py) adds the
caution to an answer none of whose focus terms the passages have.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assistant.answer.decision_features import DecisionFeatures

Group = Literal["en", "cyrillic"]

# Findings under which the documents cannot answer, whatever the scores: P(answers) is 0. A focus name
# the documents never mention ("Texas", "COVID") marks 8 of the 851 dev questions, all unanswerable;
# the boosted trees gave so rare a feature too little weight, and answered 4 of them out of fold.
VETO_FEATURES: tuple[str, ...] = ("unknown_name",)


def vetoed(features: DecisionFeatures) -> bool:
    return any(getattr(features, name) for name in VETO_FEATURES)


def group_of(lang: str) -> Group:
    return "en" if lang == "en" else "cyrillic"


@dataclass(frozen=True)
class Tree:
    """One regression tree of a gradient-boosted classifier, as scikit-learn stores it (leaves: feature -2)."""

    left: tuple[int, ...]
    right: tuple[int, ...]
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    value: tuple[float, ...]

    def predict(self, x: np.ndarray) -> float:
        node = 0
        while self.left[node] != -1:
            # scikit-learn sends x <= threshold left.
            node = self.left[node] if x[self.feature[node]] <= self.threshold[node] else self.right[node]
        return self.value[node]


@dataclass(frozen=True)
class Classifier:
    """A logistic regression on standardised features, or a sum of boosted trees; either gives a log-odds."""

    kind: Literal["logistic", "trees"]
    features: tuple[str, ...]
    bias: float  # the intercept, or the trees' initial log-odds
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    learning_rate: float = 1.0
    trees: tuple[Tree, ...] = ()

    def log_odds(self, x: np.ndarray) -> float:
        if self.kind == "logistic":
            z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
            return float(self.bias + z @ np.asarray(self.weights))
        return self.bias + self.learning_rate * sum(t.predict(x) for t in self.trees)

    def probability(self, features: DecisionFeatures, override: Mapping[str, float] | None = None) -> float:
        x = features.vector(self.features)
        for name, value in (override or {}).items():
            if name in self.features:
                x[self.features.index(name)] = value
        return _sigmoid(self.log_odds(x))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classifier:
        trees = tuple(
            Tree(
                tuple(t["left"]), tuple(t["right"]), tuple(t["feature"]), tuple(t["threshold"]), tuple(t["value"])
            )
            for t in data.get("trees", ())
        )
        return cls(
            kind=data["kind"],
            features=tuple(data["features"]),
            bias=float(data["bias"]),
            mean=tuple(data.get("mean", ())),
            scale=tuple(data.get("scale", ())),
            weights=tuple(data.get("weights", ())),
            learning_rate=float(data.get("learning_rate", 1.0)),
            trees=trees,
        )


@dataclass(frozen=True)
class DecisionModel:
    """The two classifiers and the thresholds per language group: (not covered below, caution below)."""

    answers: Classifier
    right: Classifier | None
    thresholds: Mapping[str, tuple[float, float]]

    def probabilities(self, features: DecisionFeatures) -> tuple[float, float]:
        """(P(the documents answer), P(the first passages are right))."""
        p = self.answers.probability(features)
        right = self.right.probability(features) if self.right is not None else p
        return (0.0 if vetoed(features) else p), right

    def thresholds_for(self, lang: str) -> tuple[float, float]:
        return self.thresholds.get(group_of(lang), self.thresholds.get("en", (0.0, 0.0)))

    def weighing(self, features: DecisionFeatures, names: Sequence[str]) -> list[tuple[str, float]]:
        """How much each named feature lowers P(answers): the rise when it is set to its harmless value.

        A check's finding (a missing figure, an absent name) is harmless at 0; "a figure of the asked
        kind in the top passages" at 1. Largest first; only those that lower it. A veto's finding
        (`VETO_FEATURES`) lowers it to 0: it comes first.
        """
        p = self.answers.probability(features)
        out = []
        for name in names:
            if name in VETO_FEATURES and getattr(features, name):
                out.append((name, 1.0))
                continue
            harmless = 1.0 if name == "figure_in_top" else 0.0
            if getattr(features, name) in (None, harmless) or (name == "figure_in_top" and not features.asks_figure):
                continue
            rise = self.answers.probability(features, {name: harmless}) - p
            if rise > 0:
                out.append((name, rise))
        return sorted(out, key=lambda item: -item[1])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionModel:
        right = data.get("right")
        return cls(
            answers=Classifier.from_dict(data["answers"]),
            right=Classifier.from_dict(right) if right else None,
            thresholds={g: (float(lo), float(hi)) for g, (lo, hi) in data["thresholds"].items()},
        )


def load_decision_model() -> DecisionModel | None:
    """The model `handbook eval calibrate --write` last wrote; None when none has been written."""
    from assistant.answer.decision_weights import DECISION_MODEL

    return DecisionModel.from_dict(DECISION_MODEL) if DECISION_MODEL else None


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
