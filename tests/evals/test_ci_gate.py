"""The CI gate: the dev set through the real assistant must stay above evals/floors.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.gate import DEFAULT_FLOORS, Floors, FloorsError, check_floors, load_floors

REPO = Path(__file__).resolve().parents[2]
DEV_SET = REPO / "evals" / "golden" / "dev.jsonl"


@pytest.mark.unit
def test_check_floors_reports_one_line_per_failing_metric() -> None:
    floors = Floors(floors={"hit@5": 0.8, "mrr@10": 0.5, "refusal_recall": 0.5}, ceilings={"false_refusal_rate": 0.1})
    metrics = {"hit@5": 0.79, "mrr@10": 0.5, "refusal_recall": None, "false_refusal_rate": 0.2}
    assert check_floors(metrics, floors) == [
        "hit@5: 0.7900 is below its floor 0.80",
        "refusal_recall: not measured (floor 0.50)",
        "false_refusal_rate: 0.2000 is above its ceiling 0.10",
    ]
    assert check_floors({"hit@5": 0.9, "mrr@10": 0.6, "refusal_recall": 1, "false_refusal_rate": 0.0}, floors) == []


@pytest.mark.unit
def test_check_floors_reaches_nested_metrics() -> None:
    floors = Floors(ceilings={"latency_ms.p95": 500.0})
    assert check_floors({"latency_ms": {"p95": 600.0}}, floors) == [
        "latency_ms.p95: 600.0000 is above its ceiling 500.00"
    ]


@pytest.mark.unit
def test_load_floors_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "floors.json"
    bad.write_text(json.dumps({"floors": {"hit@5": "high"}}))
    with pytest.raises(FloorsError, match=r"floors\.json: field 'floors\.hit@5'"):
        load_floors(bad)


@pytest.mark.unit
def test_repository_floors_cover_the_gated_metrics() -> None:
    floors = load_floors(DEFAULT_FLOORS)
    assert set(floors.floors) >= {"hit@5", "mrr@10", "refusal_recall", "citation_validity"}
    assert set(floors.ceilings) == {"false_refusal_rate"}


@pytest.mark.integration
@pytest.mark.heavy(70)  # 334 questions
def test_dev_set_meets_the_floors(corpus_settings: Any) -> None:
    from assistant.chain import Assistant
    from evals.golden import load_golden
    from evals.runner import EvalRunner

    report = EvalRunner(Assistant.from_settings(corpus_settings), load_golden(DEV_SET)).run()
    problems = check_floors(report.to_json_dict(), load_floors(DEFAULT_FLOORS))
    assert not problems, "\n".join(problems)
