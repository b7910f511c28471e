"""`handbook eval ...` through typer's CliRunner on the real `handbook` app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from evals.golden import ExpectedPassage
from evals.metrics import compute_metrics, metrics_per_kind
from evals.records import QuestionRecord, RetrievedPassage
from evals.runner import EvalReport, QuestionResult, failures_of

REPO = Path(__file__).resolve().parents[2]
DEV_SET = REPO / "evals" / "golden" / "dev.jsonl"
MR = "un-nelson-mandela-rules-A-RES-70-175-2015"

REPORT_KEYS = {
    "n",
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr@10",
    "ndcg@10",
    "ref_accuracy",
    "key_fact_coverage",
    "citation_validity",
    "refusal_recall",
    "false_refusal_rate",
    "latency_ms",
    "per_kind",
    "failures",
    "baselines",
}


def _small_golden(tmp_path: Path) -> Path:
    """Four answerable questions and one unanswerable one from the dev set."""
    lines = [line for line in DEV_SET.read_text().splitlines() if line.strip()]
    answerable = [line for line in lines if '"answerable": true' in line][:4]
    unanswerable = [line for line in lines if '"answerable": false' in line][:1]
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(answerable + unanswerable) + "\n")
    return path


def _synthetic_report(hit: bool) -> dict[str, object]:
    record = QuestionRecord(
        id="q1",
        question="how long in the seg?",
        kind="fact",
        answerable=True,
        expected=[ExpectedPassage(doc=MR, pages=[17])],
        retrieved=[RetrievedPassage(doc=MR, pages=[17 if hit else 3])],
        latency_ms=100.0,
    )
    results = [QuestionResult.score(record)]
    report = EvalReport(
        metrics=compute_metrics(results),
        per_kind=metrics_per_kind(results),
        failures=failures_of(results),
        questions=results,
    )
    return report.to_json_dict()


@pytest.mark.integration
def test_eval_json_and_report_folder(tmp_path: Path, built_index: Path) -> None:
    index_dir = built_index
    golden = _small_golden(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["eval", "--golden", str(golden), "--index", str(index_dir), "--json", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= REPORT_KEYS
    assert set(data["latency_ms"]) >= {"p50", "p95"}
    assert data["n"] == 5
    assert len(data["questions"]) == 5
    assert data["refusal_recall"] is not None
    for name in ("report.json", "report.md", "hit_at_k.png", "per_kind.png"):
        assert (out / name).is_file(), name
    assert (out / "report.md").read_text().startswith("# Evaluation report")
    assert json.loads((out / "report.json").read_text())["n"] == 5


@pytest.mark.integration
def test_eval_run_subcommand_with_limit(tmp_path: Path, built_index: Path) -> None:
    index_dir = built_index
    result = CliRunner().invoke(
        app, ["eval", "run", "--golden", str(_small_golden(tmp_path)), "--index", str(index_dir), "--limit", "2", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "2 questions" in result.stdout


@pytest.mark.unit
def test_eval_without_golden_prints_help() -> None:
    result = CliRunner().invoke(app, ["eval"])
    assert result.exit_code == 0
    assert "calibrate" in result.stdout
    assert "--golden" in result.stdout


@pytest.mark.unit
def test_eval_bad_golden_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = CliRunner().invoke(app, ["eval", "--golden", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}:1: bad JSON (Expecting property name enclosed in double quotes at column 2)"
    ]


@pytest.mark.unit
def test_eval_compare_json(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_synthetic_report(hit=True)))
    b.write_text(json.dumps(_synthetic_report(hit=False)))
    result = CliRunner().invoke(app, ["eval", "compare", str(a), str(b), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["id"] for f in data["hit_to_miss"]] == ["q1"]
    rows = {row["metric"]: row for row in data["metrics"]}
    assert rows["hit@1"]["change"] == "regressed"
    text = CliRunner().invoke(app, ["eval", "compare", str(a), str(b)])
    assert "REGRESSED" in text.stdout


@pytest.mark.unit
def test_eval_check_on_a_report_file(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(_synthetic_report(hit=False)))
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"floors": {"hit@5": 0.5}, "ceilings": {"latency_ms.p95": 1000}}))
    result = CliRunner().invoke(app, ["eval", "check", "--report", str(report), "--floors", str(floors)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["FAIL hit@5: 0.0000 is below its floor 0.50"]
    report.write_text(json.dumps(_synthetic_report(hit=True)))
    result = CliRunner().invoke(app, ["eval", "check", "--report", str(report), "--floors", str(floors)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 2 metrics")
