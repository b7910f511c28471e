"""Fixtures of the bench tests: a hand-made report (every figure chosen so that the ratios are round)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from evals.bench.machine import Machine
from evals.bench.records import BenchReport, IngestRun, Latency, LoadFigures, SystemFigures

MACHINE = Machine(
    cpu="Test CPU 3000",
    logical_cores=2,
    usable_cores=2,
    ram_gib=7.8,
    os="Linux-test",
    python="3.11.7",
    torch="2.13.0+cpu",
    backend="torch on cpu",
    load_average=(0.1, 0.2, 0.3),
)


def _system(name: str, ingest_s: float, p50: float, p95: float, cold: float, rss: float) -> SystemFigures:
    ingest = IngestRun(seconds=ingest_s, pages=400, chunks=800, embedded=800, peak_rss_mb=rss, cpu_s=1.5 * ingest_s)
    reingest = IngestRun(seconds=ingest_s / 20, pages=400, chunks=800, embedded=0, peak_rss_mb=rss / 4)
    return SystemFigures(
        name=name,
        description=f"{name} pipeline",
        ingest=ingest,
        reingest=reingest,
        answer_ms=Latency(n=10, p50=p50, p95=p95, mean=p50),
        cold_start_s=cold,
        peak_rss_by_phase={"ingest": rss, "answers": rss / 2, "not measured": None},
        cold_start_cpu_s=cold - 2.5,
    )


def _report(tutorial: bool = True, load: bool = False) -> BenchReport:
    return BenchReport(
        ours=_system("Handbook Assistant", 100.0, 30.0, 60.0, 12.0, 600.0),
        tutorial=_system("LangChain tutorial", 200.0, 20.0, 40.0, 24.0, 800.0) if tutorial else None,
        machine=MACHINE,
        corpus="/corpus",
        documents=8,
        questions=10,
        started="2026-01-01 10:00",
        seconds=321.0,
        load=LoadFigures(
            sessions=50,
            requests=100,
            errors=0,
            latency_s=Latency(100, 1.5, 4.0, 2.0),
            first_answer_s=Latency(50, 2.0, 5.0, 2.5),
            wall_s=50.0,
        )
        if load
        else None,
    )


@pytest.fixture
def make_report() -> Callable[..., BenchReport]:
    """`make_report(tutorial=True, load=False)`: the report of a run (test modules never import conftest)."""
    return _report
