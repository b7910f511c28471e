"""The report folder: JSON, Markdown with baseline deltas and failures, and the two plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.golden import ExpectedPassage
from evals.metrics import compute_metrics, metrics_per_kind
from evals.records import QuestionRecord, RetrievedPassage
from evals.report import render_markdown, write_report
from evals.runner import BaselineReport, EvalReport, QuestionResult, failures_of

MR = "un-nelson-mandela-rules-A-RES-70-175-2015"


def _record(qid: str, page: int, answerable: bool = True, refused: bool = False) -> QuestionRecord:
    return QuestionRecord(
        id=qid,
        question=f"question {qid}?",
        kind="fact" if answerable else "unanswerable",
        answerable=answerable,
        expected=[ExpectedPassage(doc=MR, pages=[17], ref="Rule 44")] if answerable else [],
        key_facts=["15 consecutive days"] if answerable else [],
        retrieved=[RetrievedPassage(doc=MR, pages=[page], ref="Rule 44", score=0.05)],
        answer="15 consecutive days",
        refused=refused,
        latency_ms=120.0,
    )


def _report() -> EvalReport:
    results = [QuestionResult.score(r) for r in (_record("q1", 17), _record("q2", 3), _record("u1", 5, False))]
    baseline_records = [_record("q1", 3), _record("q2", 3)]
    return EvalReport(
        metrics=compute_metrics(results),
        per_kind=metrics_per_kind(results),
        failures=failures_of(results),
        questions=results,
        baselines={
            "bm25": BaselineReport(
                name="bm25",
                description="plain BM25",
                build_seconds=1.5,
                cached=False,
                metrics=compute_metrics(baseline_records, answers=False),
            )
        },
    )


@pytest.mark.unit
def test_markdown_has_headline_baseline_deltas_per_kind_and_failures() -> None:
    text = render_markdown(_report())
    assert "## Headline metrics" in text
    assert "| hit@1 | 0.500 | 0.000 |" in text  # ours, bm25
    assert "| hit@1 | 0.500 | 0.000 | +0.500 |" in text  # ours, bm25, difference
    assert "## Per kind" in text
    assert "| fact | 2 |" in text
    # q2 missed retrieval; u1 was answered although unanswerable
    assert "### q2 (fact): retrieval miss" in text
    assert "### u1 (unanswerable): not refused" in text
    assert f"1. {MR}, Rule 44, p. 3 (0.0500)" in text


@pytest.mark.unit
def test_write_report_writes_json_markdown_and_plots(tmp_path: Path) -> None:
    paths = write_report(_report(), tmp_path / "out")
    assert sorted(p.name for p in paths) == ["hit_at_k.png", "per_kind.png", "report.json", "report.md"]
    for path in paths[2:]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["hit@1"] == 0.5
    assert data["baselines"]["bm25"]["hit@1"] == 0.0
    assert data["baselines"]["bm25"]["build_seconds"] == 1.5


@pytest.mark.unit
def test_markdown_and_json_have_overlap_bands_and_languages(tmp_path: Path) -> None:
    from evals.metrics import metrics_per_lang, metrics_per_overlap

    records = [_record("q1", 17), _record("q2", 3), _record("u1", 5, False)]
    records[0] = records[0].model_copy(update={"overlap": 0.2})
    records[1] = records[1].model_copy(update={"overlap": 0.7, "lang": "ru"})
    results = [QuestionResult.score(r) for r in records]
    report = _report().model_copy(
        update={
            "questions": results,
            "per_overlap": metrics_per_overlap(results),
            "per_lang": metrics_per_lang(results),
            "baselines": {},
        }
    )
    text = render_markdown(report)
    assert "## Per overlap band" in text
    assert "| ≤0.30 | 1 | 1.000 |" in text  # hit@1 of q1
    assert "| >0.30 | 1 | 0.000 |" in text  # q2 missed
    assert "## Per language" in text
    assert "| en | 2 |" in text and "| ru | 1 |" in text
    write_report(report, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["per_overlap"]["≤0.30"]["hit@1"] == 1.0
    assert data["per_lang"]["ru"]["n_answerable"] == 1
    assert data["questions"][0]["overlap"] == 0.2
    again = EvalReport.from_json_dict(data)
    assert list(again.per_overlap) == ["≤0.30", ">0.30"]
    assert again.per_lang["en"].n == 2


@pytest.mark.unit
def test_markdown_without_overlaps_has_no_band_table() -> None:
    assert "## Per overlap band" not in render_markdown(_report())


@pytest.mark.unit
def test_markdown_and_json_carry_the_out_of_fold_answerability_figures() -> None:
    from evals.calibrate import CrossValidation, Figures, Setting

    setting = Setting(answer_threshold=0.5, missing_focus=1.01, quantity_check=True)
    figures = Figures(n=3, n_answerable=2, n_unanswerable=1, false_refusal_rate=0.0, refusal_recall=1.0)
    cv = CrossValidation(
        folds=5,
        max_false_refusal=0.03,
        lexical_weight=0.25,
        out_of_fold=figures,
        per_band={"unanswerable": figures},
        fold_settings=[setting] * 5,
        recommended=setting,
    )
    report = _report().model_copy(update={"out_of_fold": cv})
    md = render_markdown(report, plots=False)
    assert "## Answerability of the hand rules, out-of-fold (5-fold cross-validation)" in md
    assert "| all | 3 | 0.000 | 1.000 |" in md
    data = json.loads(json.dumps(report.to_json_dict()))
    assert data["out_of_fold"]["out_of_fold"]["refusal_recall"] == 1.0
    assert EvalReport.from_json_dict(data).out_of_fold == cv
    assert "Answerability of the hand rules" not in render_markdown(_report(), plots=False)  # none measured
