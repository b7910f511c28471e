"""The question log: redacted rows with the audit trail, retention purge, switched off, never failing an answer."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.answer.records import Answer, Citation, Passage
from assistant.review.question_log import QuestionLog, open_log
from assistant.settings import AppSettings, ReviewSettings, Settings

pytestmark = pytest.mark.unit

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _answer(question: str = "Can Mr Smith (A1234BC) get a visit?", state: str = "answered") -> Answer:
    passage = Passage(doc="rules", title="Rules", pages=[20], ref="Rule 58", score=0.71, text="Prisoners shall...")
    citation = Citation(n=1, doc="rules", title="Rules", ref="Rule 58", pages=[20], quote="Prisoners shall")
    return Answer(
        question=question,
        standalone_question=question,
        answer="[1] Rules, Rule 58 ...",
        refused=state == "not_covered",
        state=state,  # type: ignore[arg-type]
        citations=[citation] if state == "answered" else [],
        passages=[passage],
        confidence=0.8 if state == "answered" else 0.3,
        lang="en",
        index_generation="gen-20250303-090000-abc123",
        settings_hash="0123456789ab",
    )


def test_a_row_holds_the_redacted_question_and_the_audit_trail(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path / "questions.sqlite3", clock=Clock())
    row_id = log.record(_answer(), "app", role="staff")
    row = log.get(row_id or 0)
    assert row is not None
    assert row.question == "Can Mr [NAME] ([PRISONER_NO]) get a visit?"
    assert (row.source, row.role, row.state, row.lang, row.confidence) == ("app", "staff", "answered", "en", 0.8)
    assert (row.index_generation, row.settings_hash) == ("gen-20250303-090000-abc123", "0123456789ab")
    assert row.citations == [
        {"doc": "rules", "title": "Rules", "ref": "Rule 58", "section": "", "locations": [20]}
    ]
    assert row.passages[0]["score"] == 0.71 and row.documents() == ["rules"]
    raw = (tmp_path / "questions.sqlite3").read_bytes()
    assert b"Smith" not in raw and b"A1234BC" not in raw
    with sqlite3.connect(tmp_path / "questions.sqlite3") as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(questions)")}
    assert not columns & {"session", "user", "username", "password", "answer"}


def test_rows_older_than_the_retention_are_purged(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "questions.sqlite3"
    log = QuestionLog(path, retention_days=90, clock=clock)
    log.record(_answer("first question about visits"), "cli")
    clock.now = START + timedelta(days=60)
    log.record(_answer("second question about visits"), "cli")
    assert log.count() == 2
    clock.now = START + timedelta(days=91)  # the first is now 91 days old: purged with the next row
    log.record(_answer("third question about visits"), "cli")
    assert [r.question for r in log.rows()] == ["second question about visits", "third question about visits"]
    # Opening the log purges too, with the retention it is given.
    reopened = QuestionLog(path, retention_days=30, clock=Clock(START + timedelta(days=95)))
    assert [r.question for r in reopened.rows()] == ["third question about visits"]


def test_rows_filter_by_date_and_state(tmp_path: Path) -> None:
    clock = Clock()
    log = QuestionLog(tmp_path / "q.sqlite3", clock=clock)
    log.record(_answer("old gap", "not_covered"), "app")
    clock.now = START + timedelta(days=8)
    log.record(_answer("new gap", "closest"), "app")
    log.record(_answer("answered one"), "app")
    assert [r.question for r in log.rows(since=START + timedelta(days=1))] == ["new gap", "answered one"]
    assert [r.question for r in log.rows(states=("closest", "not_covered"), newest_first=True)] == [
        "new gap",
        "old gap",
    ]


def test_the_log_is_beside_the_feedback_database_unless_set_and_off_switches_it_off(tmp_path: Path) -> None:
    app = AppSettings(feedback_db=tmp_path / "data" / "feedback.sqlite3")
    default = QuestionLog.from_settings(Settings(app=app, review=ReviewSettings(question_log="")))
    assert default is not None and default.path == tmp_path / "data" / "questions.sqlite3"
    own = QuestionLog.from_settings(Settings(app=app, review=ReviewSettings(question_log=str(tmp_path / "mine.db"))))
    assert own is not None and own.path == tmp_path / "mine.db"
    for off in ("off", "OFF", " off "):
        assert QuestionLog.from_settings(Settings(app=app, review=ReviewSettings(question_log=off))) is None


def test_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HANDBOOK_QUESTION_LOG", "off")
    monkeypatch.setenv("HANDBOOK_LOG_DAYS", "30")
    review = ReviewSettings()
    assert review.log_off and review.log_days == 30
    monkeypatch.setenv("HANDBOOK_LOG_DAYS", "0")
    with pytest.raises(ValueError, match="log_days"):
        ReviewSettings()


def test_a_log_that_cannot_be_written_does_not_fail_the_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "gone"
    log = QuestionLog(folder / "questions.sqlite3")
    shutil.rmtree(folder)
    folder.write_text("a file where the folder was")
    assert log.record(_answer(), "app") is None
    assert "not written" in caplog.text


def test_open_log_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_log(tmp_path / "none.sqlite3")
