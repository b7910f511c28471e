"""The records of `handbook bench`: latency summaries, ratios, throughput and the JSON keys."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from evals.bench.records import REQUIRED_KEYS, BenchReport, IngestRun, Latency, ratio


@pytest.mark.unit
def test_latency_summary_rounds_and_is_empty_without_values() -> None:
    assert Latency.of([10.0, 20.0, 30.0, 40.0]) == Latency(n=4, p50=25.0, p95=38.5, mean=25.0)
    assert Latency.of([]) == Latency(n=0, p50=None, p95=None, mean=None)


@pytest.mark.unit
def test_ratio_is_ours_over_reference_and_none_when_undefined() -> None:
    assert ratio(50.0, 200.0) == 0.25
    assert ratio(1.0, 3.0) == 0.333
    assert ratio(None, 2.0) is None
    assert ratio(2.0, None) is None
    assert ratio(2.0, 0.0) is None


@pytest.mark.unit
def test_ingest_throughput() -> None:
    run = IngestRun(seconds=50.0, pages=400, chunks=1000, embedded=1000, peak_rss_mb=500.0)
    assert run.pages_per_s == 8.0
    assert run.chunks_per_s == 20.0
    assert IngestRun(seconds=0.0, pages=1, chunks=1, embedded=None, peak_rss_mb=None).pages_per_s is None


@pytest.mark.unit
def test_json_has_the_required_keys_and_ratios_to_the_tutorial(make_report: Callable[..., BenchReport]) -> None:
    data = make_report(load=True).to_json_dict()
    for key in REQUIRED_KEYS:
        assert key in data
    assert data["ingest_s"] == 100.0
    assert data["reingest_s"] == 5.0
    assert data["answer_ms"]["p50"] == 30.0
    assert data["answer_ms"]["p95"] == 60.0
    assert data["cold_start_s"] == 12.0
    assert data["peak_rss_mb"] == 600.0  # the largest phase; phases without a figure are ignored
    assert data["ingest"]["pages_per_s"] == 4.0
    assert data["ingest"]["cpu_s"] == 150.0
    assert data["cold_start_cpu_s"] == 9.5
    assert data["tutorial"]["ingest_s"] == 200.0
    assert data["ratios"]["ingest_s"] == 0.5
    assert data["ratios"]["answer_ms"] == {"p50": 1.5, "p95": 1.5}
    assert data["ratios"]["cold_start_s"] == 0.5
    assert data["ratios"]["peak_rss_mb"] == 0.75
    assert data["ratios"]["pages_per_s"] == 2.0
    assert data["load"]["sessions"] == 50
    assert data["load"]["answers_per_s"] == 2.0
    assert data["machine"]["logical_cores"] == 2
    assert "Test CPU 3000" in data["machine"]["description"]
    assert data["run"]["documents"] == 8
    json.dumps(data, allow_nan=False)  # plain JSON: no NaN anywhere


@pytest.mark.unit
def test_json_without_the_tutorial_has_no_ratios(make_report: Callable[..., BenchReport]) -> None:
    data = make_report(tutorial=False).to_json_dict()
    assert data["tutorial"] is None
    assert data["ratios"] == {}
    assert data["load"] is None
    for key in REQUIRED_KEYS:
        assert data[key] is not None
