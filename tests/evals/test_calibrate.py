"""Answerability calibration on handcrafted rows: fold assignment, no leakage, threshold choice, out-of-fold figures."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.answer.decision import AnswerabilityPolicy, Evidence
from evals.calibrate import (
    RefusalTable,
    Row,
    Setting,
    choose,
    choose_answer_threshold,
    choose_not_covered,
    cross_validate,
    figures,
    fold_of,
    render_text,
    state_of,
)

pytestmark = pytest.mark.unit


def _row(qid: str, answerable: bool, dense: float = 0.7, **evidence: object) -> Row:
    if "quantity_missing" in evidence:  # missing near one focus term: missing near two as well
        evidence["quantity_missing_strict"] = evidence["quantity_missing"]
    return Row(
        id=qid,
        answerable=answerable,
        evidence=Evidence(dense=dense, coverage=0.0).model_copy(update=evidence),
        facts_found=True if answerable else None,
        relevant_top3=answerable and dense >= 0.5,
    )


# 40 answerable questions (confidences 0.40 ... 0.79; one asks a figure the passages lack: a false refusal
# of the quantity check), 10 unanswerable ones, 6 of them caught by the quantity check.
ANSWERABLE = [_row(f"a{i:02d}", True, 0.40 + 0.01 * i) for i in range(39)] + [
    _row("a39", True, 0.8, quantity_missing="count")
]
UNANSWERABLE = [_row(f"u{i}", False, 0.6, quantity_missing="count") for i in range(6)] + [
    _row(f"u{i}", False, 0.6) for i in range(6, 10)
]
ROWS = ANSWERABLE + UNANSWERABLE


def test_fold_assignment_is_deterministic_and_depends_only_on_the_id() -> None:
    folds = [fold_of(r.id) for r in ROWS]
    assert folds == [fold_of(r.id) for r in ROWS]
    assert set(folds) == set(range(5))  # 50 ids spread over all five folds
    assert fold_of("q001", 3) == fold_of("q001", 3) and 0 <= fold_of("q001", 3) < 3
    # Adding questions never moves the others.
    assert [fold_of(r.id) for r in ROWS] == [fold_of(r.id) for r in [*ROWS, _row("new", True)]][: len(ROWS)]


def test_each_folds_thresholds_are_chosen_without_its_questions() -> None:
    seen: list[set[str]] = []

    def spy(rows: Sequence[Row], weight: float, limit: float) -> Setting:
        seen.append({r.id for r in rows})
        return choose(rows, weight, limit)

    cv = cross_validate(ROWS, folds=5, chooser=spy)
    assert len(cv.fold_settings) == 5
    for f, train in enumerate(seen[:5]):
        held_out = {r.id for r in ROWS if fold_of(r.id) == f}
        assert held_out and not (train & held_out)  # no leakage
        assert train | held_out == {r.id for r in ROWS}
    assert seen[5] == {r.id for r in ROWS}  # the recommendation alone sees every question


def test_decisions_kept_across_folds_change_no_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = cross_validate(ROWS, folds=5, chooser=lambda rows, weight, limit: choose(rows, weight, limit))
    calls: list[str] = []
    decide = AnswerabilityPolicy.decide

    def counted(self: AnswerabilityPolicy, evidence: Evidence) -> object:
        calls.append("")
        return decide(self, evidence)

    monkeypatch.setattr(AnswerabilityPolicy, "decide", counted)
    kept = cross_validate(ROWS, folds=5)
    assert kept == fresh
    # Each row is decided once per distinct setting, not once per fold: at most the grid's settings x rows.
    table = RefusalTable(0.0)
    before = len(calls)
    first = table.refused(ROWS, Setting(answer_threshold=0.5, missing_focus=0.6, quantity_check=True))
    again = table.refused(ROWS[:20], Setting(answer_threshold=0.7, missing_focus=0.6, quantity_check=True))
    assert len(calls) - before == len(ROWS)  # the threshold cannot refuse here: the same decisions
    assert again == first[:20]
    table.refused(ROWS, Setting(answer_threshold=0.7, missing_focus=0.6, quantity_check=True, counted_check="weak"))
    assert len(calls) - before == 2 * len(ROWS)  # in "weak" mode it can: decided again


def test_not_covered_checks_are_chosen_within_the_false_refusal_limit() -> None:
    # 1 of 40 = 2.5%: allowed; the rare-term check costs nothing here and catches nothing: kept on.
    chosen = choose_not_covered(ROWS, 0.0, max_false_refusal=0.03)
    assert (chosen.missing_focus, chosen.quantity_check, chosen.rare_term_check) == (1.01, True, True)
    strict = choose_not_covered(ROWS, 0.0, max_false_refusal=0.0)
    assert (strict.quantity_check, strict.rare_term_check) == (False, True)  # the quantity check costs one: off


def test_counted_check_is_chosen_weak_when_on_costs_a_false_refusal() -> None:
    # The counted check catches three unanswerable questions; it also fires on one confident
    # answerable question, which only the "weak" mode (under the answer threshold) leaves answered.
    rows = [_row(f"a{i:02d}", True, 0.55 + 0.01 * i) for i in range(30)] + [
        _row("a30", True, 0.9, counted_missing="beds"),
        *[_row(f"u{i}", False, 0.3, counted_missing="books") for i in range(3)],
        _row("u3", False, 0.3),
    ]
    strict = choose_not_covered(rows, 0.0, max_false_refusal=0.0, answer_threshold=0.55)
    assert strict.counted_check == "weak"
    loose = choose_not_covered(rows, 0.0, max_false_refusal=0.05, answer_threshold=0.55)
    assert loose.counted_check == "weak"  # the same recall: the more conservative mode
    # Under a threshold below every confidence "weak" refuses nothing: not one question is refused.
    low = choose_not_covered(rows, 0.0, max_false_refusal=0.0, answer_threshold=0.2)
    assert all(state_of(r, low, 0.0) != "not_covered" for r in rows)


def test_time_count_near_is_chosen_strict_when_it_catches_more_at_no_cost() -> None:
    # Two unanswerable "how many days" questions have a figure near one focus term, not near two.
    rows = [_row(f"a{i:02d}", True, 0.7) for i in range(20)] + [
        _row(f"u{i}", False, 0.7, quantity_missing_strict="duration", time_count=True) for i in range(2)
    ]
    chosen = choose_not_covered(rows, 0.0, max_false_refusal=0.0)
    assert (chosen.quantity_near_terms, chosen.time_count_near_terms) == (1, 2)
    costly = [*rows, _row("a20", True, 0.7, quantity_missing_strict="duration", time_count=True)]
    assert choose_not_covered(costly, 0.0, max_false_refusal=0.0).time_count_near_terms == 1


def test_the_cli_default_limit_is_the_calibration_default() -> None:
    import inspect

    from evals.calibrate import MAX_FALSE_REFUSAL
    from evals.cli import eval_calibrate

    assert inspect.signature(eval_calibrate).parameters["max_false_refusal"].default == MAX_FALSE_REFUSAL


def test_answer_threshold_separates_supported_answers_from_the_rest() -> None:
    rows = [_row(f"a{i}", True, 0.3 + 0.1 * i) for i in range(6)]  # 0.3 ... 0.8; relevant from 0.5
    threshold = choose_answer_threshold(rows, 0.0)
    assert 0.4 < threshold <= 0.5


def test_out_of_fold_figures_count_closest_as_answered_and_key_facts_on_closest() -> None:
    rows = [_row("a", True, 0.2), _row("b", True, 0.9), _row("u", False, 0.9, unknown_names=["Narnia"])]
    result = figures(rows, ["closest", "answered", "not_covered"])
    assert result.false_refusal_rate == 0.0  # a closest answer is not a refusal
    assert result.refusal_recall == 1.0
    assert result.key_fact_coverage == 1.0  # the closest answer's quotes count
    assert (result.answered_share, result.closest_share, result.not_covered_share) == (0.3333, 0.3333, 0.3333)
    refused = figures(rows, ["not_covered", "answered", "answered"])
    assert refused.false_refusal_rate == 0.5 and refused.key_fact_coverage == 0.5  # a refusal shows no facts


def test_cross_validation_reports_out_of_fold_figures_and_renders_them() -> None:
    cv = cross_validate(ROWS, folds=5)
    oof = cv.out_of_fold
    assert oof.n == 50 and oof.n_unanswerable == 10
    assert oof.refusal_recall is not None and oof.false_refusal_rate is not None
    assert cv.recommended is not None and cv.recommended.quantity_check
    text = render_text(cv)
    assert "Out-of-fold" in text and "fold 4:" in text and "DEFAULT_ANSWER_THRESHOLD" in text
    assert set(cv.per_band) == {"unknown", "unanswerable"}


def test_the_rendered_advice_names_the_policy_defaults_of_every_setting_field() -> None:
    from assistant.answer import decision as answerability
    from assistant.answer.decision import AnswerabilityPolicy

    policy = AnswerabilityPolicy()
    text = render_text(cross_validate(ROWS, folds=5), current=policy)
    advice = next(line for line in text.splitlines() if line.startswith("Chosen on all questions:"))
    now = next(line.strip() for line in text.splitlines() if line.strip().startswith("(now:"))
    for name in Setting.model_fields:
        # Each printed constant is one a developer can find and edit in assistant/answer/decision.py.
        assert f"DEFAULT_{name.upper()} = " in advice
        assert hasattr(answerability, f"DEFAULT_{name.upper()}")
        assert hasattr(policy, name)
    assert now.startswith(f"(now: {policy.answer_threshold!r}, ") and f"{policy.counted_check!r};" in now
