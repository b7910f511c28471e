"""The learned answer decision as plain data, and the file `handbook eval calibrate --write` writes.

`assistant/answer/decision_model.py` reads the data with numpy only; evals/decision_training.py checks
that it gives scikit-learn's probabilities before anything is written.
"""

from __future__ import annotations

import pprint
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.decision_features import FEATURE_NAMES
from evals.decision_figures import DecisionReport


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


# What decides at run time besides the classifiers (the out-of-fold figures count the veto, not the guard).
RUN_TIME = textwrap.fill(
    "At run time a focus name the documents never mention sets P(answers) to 0 (`VETO_FEATURES`, "
    "assistant/answer/decision_model.py), and the policy's `learned_focus_caution` guard "
    "(assistant/answer/decision.py) gives the caution to an answer none of whose focus terms the top "
    "passages have; the out-of-fold figures above count the veto, not the guard.",
    width=110,
)


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
        f"{about}\n\n{RUN_TIME}\n"
        '"""\n\nfrom __future__ import annotations\n\n'
        f"DECISION_MODEL: dict[str, object] = {pprint.pformat(weights, width=120, compact=True)}\n"
    )
    target.write_text(text, encoding="utf-8")
