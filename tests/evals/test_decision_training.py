"""The learned decision's training on synthetic rows: folds, thresholds chosen out of fold, exported weights."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer.decision import AnswerabilityPolicy, Evidence
from assistant.answer.decision_features import FEATURE_NAMES, DecisionFeatures
from assistant.answer.decision_model import DecisionModel
from evals.calibrate import Row, fold_of
from evals.decision_export import export, write_weights
from evals.decision_figures import group_figures
from evals.decision_rows import question_folds
from evals.decision_training import (
    CANDIDATES,
    MAX_CAUTION_RIGHT,
    choose_thresholds,
    evaluate_candidate,
    fit_heads,
    matrix,
    predict_heads,
    train_decision,
)
from evals.golden import GoldenQuestion

pytestmark = pytest.mark.unit


def _row(qid: str, answerable: bool, rank: int | None, rng: np.random.Generator, lang: str = "en") -> Row:
    english = lang == "en"
    missing = float(not answerable and rng.random() < 0.8) if english else None
    margin = (0.3 if rank == 1 else 0.05) + 0.05 * rng.random()
    values: dict[str, float | None] = {name: 0.5 for name in FEATURE_NAMES}
    values.update(
        english=float(english),
        fused_margin=margin,
        quantity_missing=missing,
        coverage=0.5 if english else None,
        unknown_name=0.0,  # a finding (1) vetoes the answer: see test_a_name_the_documents_never_mention_vetoes_...
        e5_top=(0.9 if answerable else 0.8) + 0.05 * rng.random(),
    )
    if not english:
        for name in (
            "focus_missing",
            "unknown_name",
            "absent_name",
            "rare_term",
            "quantity_asked",
            "quantity_missing_strict",
            "time_count",
            "counted_missing",
        ):
            values[name] = None
    features = DecisionFeatures.model_validate(values)
    evidence = Evidence(lang=lang, lexical_checks=english, features=features)
    return Row(id=qid, answerable=answerable, evidence=evidence, facts_found=answerable or None, rank=rank)


def _rows(n: int = 200, seed: int = 0) -> list[Row]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        answerable = i % 4 != 0
        rank = (1 if i % 3 else None) if answerable else None
        rows.append(_row(f"q{i:03d}", answerable, rank, rng, "en" if i % 5 else "ru"))
    return rows


def test_a_translation_takes_the_fold_of_the_english_question_it_translates() -> None:
    def q(qid: str, lang: str, facts: list[str], answerable: bool = True) -> GoldenQuestion:
        expected = [{"doc": "rules", "pages": [3], "ref": "Rule 4"}] if answerable else []
        return GoldenQuestion.model_validate(
            {
                "id": qid,
                "question": "x?",
                "answerable": answerable,
                "expected": expected,
                "key_facts": facts,
                "kind": "fact" if answerable else "unanswerable",
                "lang": lang,
                "persona": "staff",
            }
        )

    questions = [
        q("q001", "en", ["two hours"]),
        q("ru001", "ru", ["two hours"]),
        q("ru040", "ru", [], False),
        q("q050", "en", [], False),
    ]
    folds = question_folds(questions)
    assert folds["ru001"] == fold_of("q001") == folds["q001"]
    # Unanswerable translations have no key facts to match by: their own id decides, never a shared key.
    assert folds["ru040"] == fold_of("ru040") and folds["q050"] == fold_of("q050")


def test_each_folds_classifier_and_thresholds_are_chosen_without_its_questions() -> None:
    rows = _rows()
    folds = [fold_of(r.id) for r in rows]
    result, states = evaluate_candidate(CANDIDATES[0], rows, matrix(rows), folds)
    assert len(result.thresholds) == 5 and len(states) == len(rows)
    # Changing one test question's label must not move its fold's thresholds.
    flipped = [r.model_copy(update={"answerable": not r.answerable}) if r.id == "q004" else r for r in rows]
    again, _ = evaluate_candidate(CANDIDATES[0], flipped, matrix(flipped), folds)
    assert again.thresholds[fold_of("q004")] == result.thresholds[fold_of("q004")]
    assert again.thresholds != result.thresholds  # ... while the other folds learn from it


def test_thresholds_keep_false_refusals_within_the_limit_and_the_caution_on_right_answers_low() -> None:
    rows = _rows()
    p = np.asarray([0.9 if r.answerable else 0.2 for r in rows])
    p[1] = 0.1  # one answerable question looks unanswerable
    q = np.asarray([0.9 if r.rank == 1 else 0.3 for r in rows])
    low, high = choose_thresholds(rows, p, q, "en", max_false=0.0)
    assert 0.1 < low <= 0.2 or low < 0.1  # never refuses the answerable one at 0.1 ...
    assert all(pi >= low for pi, r in zip(p, rows, strict=True) if r.answerable)
    low, high = choose_thresholds(rows, p, q, "en", max_false=0.01)
    assert 0.2 < low < 0.9  # ... unless one false refusal in 150 is allowed: then all 50 unanswerable are refused
    assert 0.3 < high < 0.9  # every top-five miss cautioned, no right-first answer


def test_a_name_the_documents_never_mention_vetoes_the_answer_in_training_as_at_run_time() -> None:
    rows = _rows()
    rows[4] = rows[4].model_copy(
        update={"evidence": rows[4].evidence.model_copy(update={"features": _with(rows[4], unknown_name=1.0)})}
    )
    x = matrix(rows)
    for candidate in CANDIDATES[:2]:
        heads = fit_heads(candidate, rows, x)
        p, q = predict_heads(candidate, heads, x)
        assert p[4] == 0.0 and 0.0 < q[4] < 1.0  # only P(answers) is vetoed
        assert (p[[i for i in range(len(rows)) if i != 4]] > 0.0).all()


def _with(row: Row, **values: float) -> DecisionFeatures:
    assert row.evidence.features is not None
    return row.evidence.features.model_copy(update=values)


def test_the_caution_limit_on_right_first_answers_is_the_groups() -> None:
    rows = _rows()
    p = np.full(len(rows), 0.9)
    # Right-first answers and top-five misses both spread evenly over P(right): more caution catches more misses.
    right = [i for i, r in enumerate(rows) if r.rank == 1]
    misses = [i for i, r in enumerate(rows) if r.answerable and r.rank is None]
    q = np.full(len(rows), 0.5)
    q[right] = np.linspace(0.0, 0.99, len(right))
    q[misses] = np.linspace(0.005, 0.995, len(misses))
    for group, limit in MAX_CAUTION_RIGHT.items():
        _, high = choose_thresholds(rows, p, q, group)
        cautioned = float(np.mean(q[right] < high))
        assert limit - 0.02 <= cautioned <= limit


def test_figures_count_the_caution_on_right_first_and_top_five_misses() -> None:
    rows = _rows(20)
    states = ["closest" if r.rank is None else "answered" for r in rows]
    f = group_figures(rows, states)  # type: ignore[arg-type]
    assert f.caution_right_first == 0.0 and f.caution_top5_miss == 1.0
    assert f.refusal_recall == 0.0 and f.false_refusal_rate == 0.0


@pytest.mark.parametrize("candidate", CANDIDATES, ids=lambda c: c.name)
def test_the_exported_weights_give_scikit_learns_probabilities(candidate: object) -> None:
    rows = _rows()
    x = matrix(rows)
    heads = fit_heads(candidate, rows, x)  # type: ignore[arg-type]
    p, q = predict_heads(candidate, heads, x)  # type: ignore[arg-type]
    model = DecisionModel.from_dict(
        {"answers": export(heads[0]), "right": export(heads[1]) if heads[1] else None, "thresholds": {"en": [0, 0]}}
    )
    for i in range(0, len(rows), 17):
        features = rows[i].evidence.features
        assert features is not None
        assert model.probabilities(features) == pytest.approx((p[i], q[i]), abs=1e-4)  # weights kept to 6 places


def test_training_writes_weights_the_assistant_decides_with(tmp_path: pytest.TempPathFactory) -> None:
    rows = _rows()
    report, weights = train_decision(rows, {r.id: fold_of(r.id) for r in rows}, CANDIDATES[::2])  # the logistic ones
    assert report.chosen in {c.name for c in CANDIDATES[::2]} and set(report.rules) == {"en", "cyrillic"}
    target = tmp_path / "decision_weights.py"  # type: ignore[operator]
    write_weights(weights, report, target, ["dev.jsonl"])
    namespace: dict[str, object] = {}
    exec(target.read_text(encoding="utf-8"), namespace)
    model = DecisionModel.from_dict(namespace["DECISION_MODEL"])  # type: ignore[arg-type]
    policy = AnswerabilityPolicy(model=model)
    states = [policy.decide(r.evidence).state for r in rows]
    assert {"answered", "not_covered"} <= set(states)


def test_a_constant_feature_exports_a_logistic_model_that_stays_finite() -> None:
    """0.85 summed and divided again is not exactly 0.85: its std is ~1e-16, not 0, and its scale, rounded to six
    places for the weights file, would be 0 and the run-time probability NaN."""
    rows = []
    for r in _rows():
        assert r.evidence.features is not None
        constant = r.evidence.features.model_copy(update={"e5_top": 0.85})
        rows.append(r.model_copy(update={"evidence": r.evidence.model_copy(update={"features": constant})}))
    x = matrix(rows)
    assert 0 < x[:, FEATURE_NAMES.index("e5_top")].std() < 1e-9
    logistic = next(c for c in CANDIDATES if c.name == "logistic")
    heads = fit_heads(logistic, rows, x)
    model = DecisionModel.from_dict({"answers": export(heads[0]), "right": None, "thresholds": {"en": [0, 0]}})
    assert all(np.isfinite(model.probabilities(r.evidence.features)[0]) for r in rows[:20])  # type: ignore[arg-type]
