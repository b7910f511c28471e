"""The feedback store: WAL mode, concurrent writers, CSV export, and `handbook feedback export`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.app.feedback import CSV_COLUMNS, FeedbackError, FeedbackRecord, FeedbackStore

CITATION = {
    "n": 1,
    "doc": "un-nelson-mandela-rules",
    "title": "Nelson Mandela Rules",
    "ref": "Rule 58",
    "pages": [20],
    "quote": "Prisoners shall be allowed, under necessary supervision, to communicate with their family",
}


def _record(i: int = 0, rating: str = "up", comment: str = "") -> FeedbackRecord:
    return FeedbackRecord(
        question=f"question {i}: can he phone his family?",
        answer=f"answer {i}",
        rating=rating,  # type: ignore[arg-type]
        citations=[CITATION],
        comment=comment,
        standalone_question=f"standalone {i}",
        session="s1",
    )


@pytest.mark.unit
def test_store_is_in_wal_mode_and_round_trips_a_record(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    assert store.journal_mode() == "wal"
    row_id = store.add(_record(1, "down", comment="  quote is from the wrong rule  "))
    [row] = store.rows()
    assert row["id"] == row_id
    assert (row["rating"], row["comment"], row["question"]) == (
        "down",
        "quote is from the wrong rule",
        "question 1: can he phone his family?",
    )
    assert row["standalone_question"] == "standalone 1"
    assert json.loads(row["citations"]) == [CITATION]
    assert row["created"].endswith("+00:00")
    # Another process sees WAL mode too: it is stored in the database file.
    with sqlite3.connect(tmp_path / "fb.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.unit
def test_concurrent_writers_from_threads_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    FeedbackStore(path)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(worker: int) -> None:
        store = FeedbackStore(path)  # each user's request may build its own store, as well as share one
        try:
            start.wait()
            for i in range(25):
                store.add(_record(worker * 100 + i, "up" if i % 2 else "down"))
        except BaseException as exc:  # collected: an exception in a thread would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = FeedbackStore(path)
    assert store.count() == 200
    questions = {r["question"] for r in store.rows()}
    assert len(questions) == 200


@pytest.mark.unit
def test_export_csv_has_header_and_rows_with_citations_json(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(_record(1, "up", comment='contains, a comma and "quotes"\nand a newline'))
    store.add(_record(2, "down"))
    out = io.StringIO()
    assert store.export_csv(out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[0]["comment"] == 'contains, a comma and "quotes"\nand a newline'
    assert json.loads(rows[1]["citations"])[0]["ref"] == "Rule 58"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("record", "field"),
    [
        (FeedbackRecord(question="q", answer="a", rating="meh"), "rating"),  # type: ignore[arg-type]
        (FeedbackRecord(question="  ", answer="a", rating="up"), "question"),
        (FeedbackRecord(question="q", answer="a", rating="up", comment="x" * 2001), "comment"),
    ],
)
def test_bad_feedback_is_refused_naming_the_field(tmp_path: Path, record: FeedbackRecord, field: str) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    with pytest.raises(FeedbackError, match=f"^{field}:"):
        store.add(record)
    assert store.count() == 0


@pytest.mark.unit
def test_cli_feedback_export_to_file_and_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    db = tmp_path / "fb.sqlite3"
    monkeypatch.setenv("HANDBOOK_FEEDBACK_DB", str(db))
    runner = CliRunner()

    # No database yet: a header only, and none is created.
    result = runner.invoke(app, ["feedback", "export"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ",".join(CSV_COLUMNS)
    assert not db.exists()

    FeedbackStore(db).add(_record(7, "down", comment="wrong page"))
    target = tmp_path / "out" / "feedback.csv"
    target.parent.mkdir()
    result = runner.invoke(app, ["feedback", "export", "--csv", str(target)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [(r["rating"], r["comment"]) for r in rows] == [("down", "wrong page")]

    result = runner.invoke(app, ["feedback", "export"])
    assert "wrong page" in result.stdout


@pytest.mark.unit
def test_cli_export_neutralises_formula_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    db = tmp_path / "fb.sqlite3"
    monkeypatch.setenv("HANDBOOK_FEEDBACK_DB", str(db))
    formulas = ['=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"]
    store = FeedbackStore(db)
    for i, text in enumerate(formulas):
        store.add(FeedbackRecord(question=f"q{i}", answer="\tTAB", rating="down", comment=text))
    store.add(FeedbackRecord(question="\r=1+2", answer="plain answer", rating="up", comment="fine"))
    target = tmp_path / "feedback.csv"
    result = CliRunner().invoke(app, ["feedback", "export", "--csv", str(target)])
    assert result.exit_code == 0, result.output
    with target.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["comment"] for r in rows[:-1]] == ["'" + text for text in formulas]
    assert rows[0]["answer"] == "'\tTAB"
    assert rows[-1]["question"] == "'\n=1+2" and rows[-1]["answer"] == "plain answer" and rows[-1]["comment"] == "fine"
    for row in rows:
        assert not any(str(cell).startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
