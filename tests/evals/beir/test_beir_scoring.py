"""BEIR's metric arithmetic, worked out by hand."""

from __future__ import annotations

import math

import pytest

from evals.beir.scoring import mrr_at_k, ndcg_at_k, recall_at_k


@pytest.mark.unit
def test_ndcg_graded_by_hand() -> None:
    judged = {"a": 2, "b": 1, "c": 1, "z": 0}
    # relevant at ranks 2 (grade 2) and 4 (grade 1); the ideal order is a, b, c
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(["x", "a", "z", "b"], judged, 10) == pytest.approx(dcg / idcg)
    assert dcg / idcg == pytest.approx(0.540586, abs=1e-6)
    assert ndcg_at_k(["a", "b", "c"], judged, 10) == pytest.approx(1.0)
    # the cut-off: "b" at rank 4 no longer counts at k=3, and the ideal is cut at 3 too
    assert ndcg_at_k(["x", "a", "z", "b"], judged, 3) == pytest.approx((2 / math.log2(3)) / idcg)
    assert ndcg_at_k(["x", "y"], judged, 10) == 0.0
    assert ndcg_at_k(["z"], {"z": 0}, 10) == 0.0  # nothing relevant: 0, not a division by zero


@pytest.mark.unit
def test_mrr_and_recall_by_hand() -> None:
    judged = {"a": 1, "b": 1, "c": 1, "z": 0}
    assert mrr_at_k(["z", "x", "b", "a"], judged, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "a"], judged, 2) == 0.0
    assert recall_at_k(["z", "x", "b", "a"], judged, 100) == pytest.approx(2 / 3)
    assert recall_at_k(["z", "x", "b", "a"], judged, 3) == pytest.approx(1 / 3)
