"""The load benchmark's summary (evals/bench/load.py): the one percentile, and empty series."""

from __future__ import annotations

import pytest

from evals.bench.load import LoadReport


@pytest.mark.unit
def test_summary_uses_the_interpolated_percentile() -> None:
    report = LoadReport(sessions=20, latencies_s=[float(i) for i in range(1, 21)], wall_s=10.0)
    report.first_answer_s = [1.0, 2.0]
    report.connect_s = [0.5]
    text = report.summary()  # p95 of 1..20 interpolated: 19.05 (nearest rank: 19; the former code: 20)
    assert "answer latency  p50 10.50 s  p95 19.05 s  max 20.00 s  mean 10.50 s" in text
    assert "first answer per session (connect + question)  p50 1.50 s  p95 1.95 s" in text
    assert "connect (Client)  p50 0.50 s  p95 0.50 s" in text
    assert "throughput 2.00 answers/s" in text


@pytest.mark.unit
def test_summary_of_a_run_without_answers_says_nan() -> None:
    report = LoadReport(sessions=2, errors=["session 0: ConnectionError: refused"])
    assert "p50 nan s  p95 nan s" in report.summary()
    assert "error: session 0: ConnectionError: refused" in report.summary()
