"""Comparing two evaluation reports: metric deltas with their direction, and per-question flips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.compare import ReportError, compare_reports, load_report, metric_deltas, render_text
from evals.golden import ExpectedPassage
from evals.metrics import compute_metrics, metrics_per_kind
from evals.records import Latency, Metrics, QuestionRecord, RetrievedPassage
from evals.runner import EvalReport, QuestionResult, failures_of

MR = "un-nelson-mandela-rules-A-RES-70-175-2015"


def _q(
    qid: str,
    hit: bool = True,
    refused: bool = False,
    facts: bool = True,
    answerable: bool = True,
    latency: float = 100.0,
) -> QuestionRecord:
    return QuestionRecord(
        id=qid,
        question=f"question {qid}?",
        kind="fact" if answerable else "unanswerable",
        answerable=answerable,
        expected=[ExpectedPassage(doc=MR, pages=[17], ref="Rule 44")] if answerable else [],
        key_facts=["15 consecutive days"] if answerable else [],
        retrieved=[RetrievedPassage(doc=MR, pages=[17] if hit else [3])],
        answer="more than 15 consecutive days" if facts else "something else",
        refused=refused,
        latency_ms=latency,
    )


def _report(records: list[QuestionRecord]) -> EvalReport:
    results = [QuestionResult.score(r) for r in records]
    return EvalReport(
        metrics=compute_metrics(results),
        per_kind=metrics_per_kind(results),
        failures=failures_of(results),
        questions=results,
    )


@pytest.mark.unit
def test_flips_between_two_runs() -> None:
    a = _report(
        [_q("q1"), _q("q2", hit=False), _q("q3"), _q("q4", facts=False), _q("u1", answerable=False, refused=True)]
    )
    b = _report(
        [
            _q("q1", hit=False),  # hit -> miss
            _q("q2"),  # miss -> hit
            _q("q3", refused=True, facts=False),  # newly refused (a false refusal), key facts lost
            _q("q4"),  # key facts gained
            _q("u1", answerable=False, refused=False),  # unanswerable, no longer refused
            _q("q9"),
        ]
    )
    c = compare_reports(a, b, "a.json", "b.json")
    assert [f.id for f in c.hit_to_miss] == ["q1"]
    assert c.hit_to_miss[0].detail == "rank 1 -> -"
    assert [f.id for f in c.miss_to_hit] == ["q2"]
    assert [f.id for f in c.newly_refused] == ["q3"]
    assert "wrong refusal" in c.newly_refused[0].detail
    assert [f.id for f in c.no_longer_refused] == ["u1"]
    assert [f.id for f in c.key_facts_lost] == ["q3"]
    assert [f.id for f in c.key_facts_gained] == ["q4"]
    assert c.only_in_b == ["q9"]
    assert c.only_in_a == []


@pytest.mark.unit
def test_metric_deltas_know_which_direction_is_better() -> None:
    a = Metrics.model_validate({"hit@5": 0.8, "false_refusal_rate": 0.1, "latency_ms": Latency(p50=100.0, p95=200.0)})
    b = Metrics.model_validate({"hit@5": 0.7, "false_refusal_rate": 0.05, "latency_ms": Latency(p50=100.0, p95=150.0)})
    rows = {r.metric: r for r in metric_deltas(a, b)}
    assert rows["hit@5"].delta == pytest.approx(-0.1)
    assert rows["hit@5"].change == "regressed"
    assert rows["false_refusal_rate"].change == "improved"  # fewer false refusals is better
    assert rows["latency_ms.p95"].change == "improved"
    assert rows["latency_ms.p50"].change == "same"
    assert rows["hit@1"].change == "n/a"  # not measured on either side


@pytest.mark.unit
def test_render_text_marks_regressions_and_lists_flips() -> None:
    a = _report([_q("q1"), _q("q2")])
    b = _report([_q("q1", hit=False), _q("q2")])
    text = render_text(compare_reports(a, b, "old.json", "new.json"))
    assert "REGRESSED" in text
    assert "hit -> miss" in text
    assert "q1 (fact) [rank 1 -> -]: question q1?" in text


@pytest.mark.unit
def test_report_json_round_trip_through_load_report(tmp_path: Path) -> None:
    report = _report([_q("q1"), _q("q2", hit=False, refused=True), _q("u1", answerable=False)])
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report.to_json_dict()))
    loaded = load_report(path)
    assert loaded.metrics == report.metrics
    assert [q.hit_rank for q in loaded.questions] == [1, None, None]
    assert [f.id for f in loaded.failures] == ["q2", "u1"]
    same = compare_reports(report, loaded)
    assert all(row.change in ("same", "n/a") for row in same.metrics)
    assert not (same.hit_to_miss or same.miss_to_hit or same.newly_refused or same.key_facts_lost)


@pytest.mark.unit
def test_load_report_rejects_other_files_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ReportError, match=r"bad\.json: not JSON"):
        load_report(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"question": "x"}))
    with pytest.raises(ReportError, match="not an evaluation report"):
        load_report(other)
    with pytest.raises(ReportError, match="cannot read"):
        load_report(tmp_path / "missing.json")
