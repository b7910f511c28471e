"""The outputs of `handbook scale`: the Markdown table, the plot and the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.scale.records import SizeResult
from evals.scale.report import markdown_table, write_outputs


@pytest.mark.unit
def test_report_table_and_plot(tmp_path: Path) -> None:
    def result(chunks: int, p50: float) -> SizeResult:
        app = {
            "latency_ms": {"p50": p50, "p95": p50 * 2},
            "rss_mb": 600.0,
            "peak_rss_mb": 650.0,
            "needles_cited": 6,
            "needles_total": 6,
        }
        pair = [{"needles_cited": 6, "needles_total": 6, "latency_ms": {"p50": p50 * 1.5}}] * 2
        return SizeResult(chunks, 5, 200, chunks, 1.0, 2.0, chunks, "model", 0, chunks, app, pair, 150.0, True, True)

    results = [result(1000, 40.0), result(10000, 60.0)]
    table = markdown_table(results)
    assert table.count("\n") == 4 and "| 6/6, 6/6; same as one process; p50 60/60 ms |" in table
    paths = write_outputs(results, tmp_path, {"sizes": [1000, 10000]})
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert json.loads(paths[0].read_text())["results"][1]["chunks"] == 10000
