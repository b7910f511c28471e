"""The Markdown of `handbook bench`: the results section and the docs/benchmarks.md page."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from evals.bench.records import BenchReport
from evals.bench.report import render_docs_page, render_markdown


@pytest.mark.unit
def test_markdown_lists_every_figure_with_its_ratio(make_report: Callable[..., BenchReport]) -> None:
    text = render_markdown(make_report(load=True))
    assert "| figure | Handbook Assistant | LangChain tutorial | ratio |" in text
    assert "| ingest, cold (s) | 100.0 | 200.0 | 0.50× |" in text
    assert "| ingest throughput (pages/s) | 4.00 | 2.00 | 2.00× |" in text
    assert "| re-ingest, nothing changed (s) | 5.0 | 10.0 | 0.50× |" in text
    assert "| answer latency p95, warm (ms) | 60.0 | 40.0 | 1.50× |" in text
    assert "| cold start to first answer (s) | 12.0 | 24.0 | 0.50× |" in text
    assert "| peak memory, RSS (MB) | 600 | 800 | 0.75× |" in text
    assert "Test CPU 3000, 2 logical cores (2 usable), 7.8 GiB RAM" in text
    assert "### Load: 50 concurrent sessions" in text
    assert "| Handbook Assistant: not measured | – |" in text
    assert "Handbook Assistant: ingest 150.0 s, cold start 9.5 s; LangChain tutorial: ingest 300.0 s" in text


@pytest.mark.unit
def test_markdown_without_the_tutorial_says_so(make_report: Callable[..., BenchReport]) -> None:
    text = render_markdown(make_report(tutorial=False))
    assert "| figure | Handbook Assistant |" in text
    assert "no ratios" in text
    assert "LangChain tutorial |" not in text


@pytest.mark.unit
def test_docs_page_explains_the_figures_and_how_to_reproduce(make_report: Callable[..., BenchReport]) -> None:
    page = render_docs_page(make_report())
    assert page.startswith("# Benchmarks")
    assert "## What is measured" in page
    assert "## Results (2026-01-01 10:00, 8 documents, 400 pages)" in page
    assert "## Reproduce" in page
    assert "handbook bench" in page
