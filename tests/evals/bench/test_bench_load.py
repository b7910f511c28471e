"""The load benchmark (evals/bench/load.py): its summary (the one percentile, empty series), and two sessions
against a small live app. The benchmark itself, 20 or 50 sessions, is `handbook bench --load N`."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from evals.bench.load import LoadReport


@pytest.mark.unit
def test_summary_uses_the_interpolated_percentile() -> None:
    report = LoadReport(sessions=20, latencies_s=[float(i) for i in range(1, 21)], wall_s=10.0)
    report.first_answer_s = [1.0, 2.0]
    report.connect_s = [0.5]
    text = report.summary()  # p95 of 1..20 interpolated: 19.05 (nearest rank: 19; the former code: 20)
    assert "answer latency  p50 10.50 s  p95 19.05 s  max 20.00 s  mean 10.50 s" in text
    assert "first answer per session (connect + question)  p50 1.50 s  p95 1.95 s" in text
    assert "connect (Client)  p50 0.50 s  p95 0.50 s" in text
    assert "throughput 2.00 answers/s" in text


@pytest.mark.unit
def test_summary_of_a_run_without_answers_says_nan() -> None:
    report = LoadReport(sessions=2, errors=["session 0: ConnectionError: refused"])
    assert "p50 nan s  p95 nan s" in report.summary()
    assert "error: session 0: ConnectionError: refused" in report.summary()


@pytest.mark.integration
def test_the_sessions_run_against_a_live_app(tmp_path: Path) -> None:
    """The load tool itself, cheaply: two sessions against an app on a small index with the fake embedder.

    The 20- and 50-session figures are `handbook bench --load N`'s, not the test suite's.
    """
    from fakes import FakeEmbedder
    from pdf_factory import make_pdf, sample_rules_pages

    from assistant.answer.decision import AnswerabilityPolicy
    from assistant.app.server import launch
    from assistant.chain import Assistant
    from assistant.retrieval import HybridRetriever
    from assistant.settings import AppSettings, Settings
    from evals.bench.load import run_load
    from ingest.index_store import IndexSnapshot
    from ingest.pipeline import Ingestor
    from ingest.settings import IngestSettings

    index = tmp_path / "index"
    make_pdf(tmp_path / "pdf" / "rules.pdf", sample_rules_pages())
    Ingestor(index, FakeEmbedder(), progress=False).run([tmp_path / "pdf"])  # type: ignore[arg-type]

    def load() -> Assistant:
        retriever = HybridRetriever.build(IndexSnapshot.open(index), FakeEmbedder())  # type: ignore[arg-type]
        return Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))

    settings = Settings(
        ingest=IngestSettings(index_dir=index, corpus_dir=tmp_path / "pdf"),
        app=AppSettings(feedback_db=tmp_path / "fb.sqlite3", auth="", auth_file=None),
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    running = launch(settings, "127.0.0.1", port, load=load, warm=False, work_dir=tmp_path / "work")
    try:
        report = run_load(running.url, sessions=2)
    finally:
        running.close()
    assert report.errors == []
    assert len(report.latencies_s) == 4 and len(report.first_answer_s) == 2  # a question and a follow-up each
