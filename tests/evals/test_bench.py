"""`handbook bench`: latency summaries, ratios, the JSON and Markdown renderings, the machine, child processes;
and (slow) one whole run on a tiny generated corpus."""

from __future__ import annotations

import json
import py_compile
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from evals.bench import (
    REQUIRED_KEYS,
    BenchReport,
    Child,
    IngestRun,
    Latency,
    LoadFigures,
    Machine,
    SystemFigures,
    bytecode_state,
    describe_machine,
    handbook_command,
    parse_sse,
    ratio,
    render_docs_page,
    render_markdown,
)

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
def test_json_has_the_required_keys_and_ratios_to_the_tutorial() -> None:
    data = _report(load=True).to_json_dict()
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
def test_json_without_the_tutorial_has_no_ratios() -> None:
    data = _report(tutorial=False).to_json_dict()
    assert data["tutorial"] is None
    assert data["ratios"] == {}
    assert data["load"] is None
    for key in REQUIRED_KEYS:
        assert data[key] is not None


@pytest.mark.unit
def test_markdown_lists_every_figure_with_its_ratio() -> None:
    text = render_markdown(_report(load=True))
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
def test_markdown_without_the_tutorial_says_so() -> None:
    text = render_markdown(_report(tutorial=False))
    assert "| figure | Handbook Assistant |" in text
    assert "no ratios" in text
    assert "LangChain tutorial |" not in text


@pytest.mark.unit
def test_docs_page_explains_the_figures_and_how_to_reproduce() -> None:
    page = render_docs_page(_report())
    assert page.startswith("# Benchmarks")
    assert "## What is measured" in page
    assert "## Results (2026-01-01 10:00, 8 documents, 400 pages)" in page
    assert "## Reproduce" in page
    assert "handbook bench" in page


@pytest.mark.unit
def test_server_sent_events_are_parsed() -> None:
    body = 'event: heartbeat\ndata: null\n\nevent: complete\ndata: [{"answer": "yes"}]\n\n'
    assert parse_sse(body) == [("heartbeat", "null"), ("complete", '[{"answer": "yes"}]')]
    assert parse_sse('event: error\ndata: "boom"') == [("error", '"boom"')]


@pytest.mark.unit
def test_machine_description() -> None:
    machine = describe_machine("onnx", "cpu")
    assert machine.logical_cores >= 1
    assert 1 <= machine.usable_cores <= machine.logical_cores
    assert machine.python.count(".") == 2
    assert machine.backend == "onnx on cpu"
    text = machine.describe()
    assert f"Python {machine.python}" in text
    assert "embedding backend onnx on cpu" in text
    assert f"library bytecode {machine.bytecode}" in text


@pytest.mark.unit
def test_bytecode_state_tells_precompiled_from_compiled_at_every_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "bench_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "flags", SimpleNamespace(dont_write_bytecode=True, optimize=0))
    assert bytecode_state("bench_probe_pkg").startswith("not compiled, compiled again at every start")
    monkeypatch.setattr(sys, "flags", SimpleNamespace(dont_write_bytecode=False, optimize=0))
    assert bytecode_state("bench_probe_pkg") == "not compiled yet (the first start writes it)"
    py_compile.compile(str(package / "__init__.py"), doraise=True)
    assert bytecode_state("bench_probe_pkg") == "precompiled"
    monkeypatch.undo()
    assert bytecode_state("no_such_package_for_the_bench") == "unknown"


@pytest.mark.unit
def test_child_reports_exit_code_time_and_its_own_peak_rss(tmp_path: Path) -> None:
    grow = "x = bytearray(80 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"
    child = Child([sys.executable, "-c", grow], {}, tmp_path / "grow.log")
    result = child.wait(60)
    assert result.returncode == 0
    assert result.seconds > 0
    assert result.peak_rss_mb is not None and result.peak_rss_mb >= 80
    assert result.cpu_s is not None and result.cpu_s >= 0
    assert child.poll() is result  # reaped once; later calls give the same result

    failing = Child([sys.executable, "-c", "import sys; sys.exit(3)"], {}, tmp_path / "fail.log")
    assert failing.wait(60).returncode == 3


@pytest.mark.unit
def test_child_stop_terminates_a_running_process(tmp_path: Path) -> None:
    child = Child([sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path / "sleep.log")
    assert child.poll() is None
    assert child.peak_rss_now_mb() is not None
    cpu = child.cpu_seconds_now()
    assert cpu is not None and cpu >= 0
    result = child.stop(timeout=10)
    assert result.returncode != 0
    assert result.seconds < 30


@pytest.mark.unit
def test_bench_command_rejects_a_folder_without_pdfs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    result = CliRunner().invoke(app, ["bench", "--corpus", str(tmp_path), "--skip-baseline"])
    assert result.exit_code == 2
    assert "no PDF files" in result.output


@pytest.mark.slow
@pytest.mark.integration
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
    assert docs.read_text().startswith("# Benchmarks")
