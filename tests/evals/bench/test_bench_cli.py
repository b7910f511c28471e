"""`handbook bench` from the command line: bad input, and (slow) one whole run on a tiny generated corpus."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from evals.bench.process import handbook_command


@pytest.mark.unit
def test_bench_command_rejects_a_folder_without_pdfs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    result = CliRunner().invoke(app, ["bench", "--corpus", str(tmp_path), "--skip-baseline"])
    assert result.exit_code == 2
    assert "no PDF files" in result.output


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.heavy(18)
def test_bench_runs_on_a_tiny_corpus(tmp_path: Path) -> None:
    """Ingest, re-ingest, warm answers and the served cold start, on two generated PDFs."""
    pytest.importorskip("fpdf")
    try:
        from ingest.settings import default_model_path

        default_model_path()
    except Exception as exc:  # the packaged embedding model is missing from this environment
        pytest.skip(f"packaged embedding model unavailable: {exc}")
    from pdf_factory import make_pdf, sample_rules_pages

    corpus = tmp_path / "corpus"
    make_pdf(corpus / "rules-a.pdf", sample_rules_pages())
    make_pdf(corpus / "rules-b.pdf", sample_rules_pages(" Variant."), header="A/RES/99/2")
    out = tmp_path / "out"
    docs = tmp_path / "docs" / "benchmarks.md"
    cmd = [*handbook_command(), "bench", "--corpus", str(corpus), "--skip-baseline", "--questions", "3"]
    cmd += ["--json", "--quiet", "--out", str(out), "--docs-md", str(docs)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data == json.loads((out / "bench.json").read_text())
    for key in ("ingest_s", "reingest_s", "cold_start_s", "peak_rss_mb"):
        assert data[key] > 0, key
    assert data["answer_ms"]["n"] == 3
    assert data["answer_ms"]["p50"] > 0
    assert data["answer_ms"]["p95"] >= data["answer_ms"]["p50"]
    assert data["ingest"]["pages"] == 6
    assert data["ingest"]["chunks"] > 0
    assert data["ingest"]["embedded"] == data["ingest"]["chunks"]
    assert data["reingest"]["embedded"] == 0  # nothing changed: nothing embedded
    assert data["tutorial"] is None
    assert data["ratios"] == {}
    assert data["run"]["documents"] == 2
    assert "| cold start to first answer (s) |" in (out / "bench.md").read_text()
    assert "language model" not in (out / "bench.md").read_text()  # none configured: extractive answers
    assert docs.read_text().startswith("# Benchmarks")
