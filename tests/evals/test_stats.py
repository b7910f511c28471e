"""evals/stats.py: the one percentile definition (linear interpolation between closest ranks)."""

from __future__ import annotations

import pytest

from evals.stats import percentile

pytestmark = pytest.mark.unit


def test_known_values() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 25) == 20.0
    assert percentile(values, 95) == pytest.approx(48.0)  # position 3.8: 40 + 0.8 * 10
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0  # between the two middle values
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)


def test_order_of_the_input_does_not_matter() -> None:
    assert percentile([50, 10, 40, 20, 30], 95) == pytest.approx(48.0)
    assert percentile(iter([3.0, 1.0, 2.0]), 50) == 2.0  # any iterable, read once


def test_agrees_with_numpys_default_method() -> None:
    np = pytest.importorskip("numpy")
    values = [12.0, 3.5, 7.0, 100.0, 41.0, 8.25, 9.0]
    for q in (0, 5, 25, 50, 90, 95, 99.5, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_not_nearest_rank() -> None:
    """Twenty samples 1..20: nearest rank gives p95 = 19, interpolation 19.05."""
    assert percentile(range(1, 21), 95) == pytest.approx(19.05)


def test_q_zero_and_hundred_are_the_minimum_and_maximum() -> None:
    values = [7.0, -2.0, 3.0]
    assert percentile(values, 0) == -2.0
    assert percentile(values, 100) == 7.0


def test_single_value_is_every_percentile() -> None:
    for q in (0, 50, 95, 100):
        assert percentile([4.0], q) == 4.0


def test_no_values_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


@pytest.mark.parametrize("q", [-1, 100.5, 101])
def test_q_outside_the_range_is_an_error(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0, 2.0], q)
