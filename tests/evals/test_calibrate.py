"""Refusal calibration on handcrafted evidence: threshold choice under the false-refusal limit."""

from __future__ import annotations

import pytest

from evals.calibrate import Evidence, best_threshold, calibrate, rates, render_text, threshold_table


def _e(qid: str, answerable: bool, dense: float, coverage: float = 0.0, composer_refused: bool = False) -> Evidence:
    return Evidence(id=qid, answerable=answerable, dense=dense, coverage=coverage, composer_refused=composer_refused)


# 20 answerable questions with confidences 0.50, 0.52, ..., 0.88; 4 unanswerable ones.
ANSWERABLE = [_e(f"a{i}", True, 0.50 + 0.02 * i, coverage=0.5) for i in range(20)]
UNANSWERABLE = [_e("u1", False, 0.30), _e("u2", False, 0.40), _e("u3", False, 0.505), _e("u4", False, 0.70)]


@pytest.mark.unit
def test_rates_counts_composer_refusals_whatever_the_threshold() -> None:
    evidence = [_e("a", True, 0.9, composer_refused=True), _e("b", True, 0.9), _e("u", False, 0.2)]
    row = rates(evidence, 0.0, threshold=0.0)
    assert row.false_refusal_rate == 0.5
    assert row.refusal_recall == 0.0
    assert rates(evidence, 0.0, threshold=0.3).refusal_recall == 1.0


@pytest.mark.unit
def test_best_threshold_maximises_recall_within_the_false_refusal_limit() -> None:
    evidence = ANSWERABLE + UNANSWERABLE
    best = best_threshold(evidence, 0.0, max_false_refusal=0.05)
    assert best is not None
    # Refusing u3 (0.505) costs the answerable 0.50 (1 of 20 = 5%, allowed); u4 (0.70) would cost 10.
    assert best.refusal_recall == 0.75
    assert best.false_refusal_rate == 0.05
    assert 0.505 < best.threshold <= 0.52
    strict = best_threshold(evidence, 0.0, max_false_refusal=0.0)
    assert strict is not None
    assert strict.refusal_recall == 0.5
    assert strict.false_refusal_rate == 0.0
    assert 0.40 < strict.threshold <= 0.50


@pytest.mark.unit
def test_lexical_weight_shifts_confidences() -> None:
    evidence = ANSWERABLE + UNANSWERABLE  # unanswerable have coverage 0, answerable 0.5
    best = best_threshold(evidence, 0.5, max_false_refusal=0.0)
    assert best is not None
    assert best.refusal_recall == 1.0  # with weight 0.5 every answerable question is lifted above u4
    assert best.false_refusal_rate == 0.0


@pytest.mark.unit
def test_calibrate_recommends_the_best_weight_and_reports_the_current_setting() -> None:
    evidence = ANSWERABLE + UNANSWERABLE
    result = calibrate(evidence, (0.0, 0.5), 0.05, current_threshold=0.45, current_weight=0.0)
    assert [w.lexical_weight for w in result.weights] == [0.0, 0.5]
    assert result.recommended is not None
    assert result.recommended.lexical_weight == 0.5
    assert result.current.best is not None
    assert result.current.best.refusal_recall == 0.5  # u1, u2 below 0.45
    text = render_text(result)
    assert "DEFAULT_LEXICAL_WEIGHT = 0.5" in text
    assert "lexical_weight 0.0: best threshold" in text


@pytest.mark.unit
def test_threshold_table_spans_the_unanswerable_confidences() -> None:
    table = threshold_table(ANSWERABLE + UNANSWERABLE, 0.0, step=0.05)
    thresholds = [row.threshold for row in table]
    assert thresholds[0] <= 0.30
    assert thresholds[-1] >= 0.70
    recalls = [row.refusal_recall for row in table]
    assert recalls == sorted(recalls)  # a higher threshold never refuses less
