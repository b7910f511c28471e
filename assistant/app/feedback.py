"""Staff feedback on answers (thumbs up/down, optional comment), kept in SQLite.

Several users give feedback at once: every operation opens its own connection (sqlite3
connections must not be shared between threads), the database runs in WAL mode so
readers never block the writer, and `busy_timeout` makes a writer wait for another
writer's lock instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

log = logging.getLogger(__name__)

Rating = Literal["up", "down", "none"]
RATINGS: tuple[str, ...] = ("up", "down", "none")
MAX_COMMENT_CHARS = 2000
CSV_COLUMNS = (
    "id",
    "created",
    "rating",
    "comment",
    "question",
    "standalone_question",
    "answer",
    "citations",
    "session",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down', 'none')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    session TEXT NOT NULL DEFAULT ''
)
"""


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` (OWASP CSV injection).

    Staff type comments and questions freely; opened in Excel or LibreOffice, `=HYPERLINK(...)` or
    `=cmd|' /C calc'!A0` would otherwise run as a formula. Carriage returns become line ends.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    # A bare CR is not quoted by the csv module (line ends are "\n") and would split the row.
    return value.replace("\r\n", "\n").replace("\r", "\n")


class FeedbackError(ValueError):
    """Feedback that cannot be stored; the message names the field."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One piece of feedback on one answer."""

    question: str
    answer: str
    rating: Rating
    citations: Sequence[dict[str, Any]] = ()  # Citation.model_dump() of each citation shown
    comment: str = ""
    standalone_question: str = ""
    session: str = ""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def checked(self) -> FeedbackRecord:
        if self.rating not in RATINGS:
            raise FeedbackError(f"rating: expected one of {', '.join(RATINGS)}, got {self.rating!r}")
        if not self.question.strip():
            raise FeedbackError("question: empty; feedback must refer to a question")
        if len(self.comment) > MAX_COMMENT_CHARS:
            raise FeedbackError(f"comment: too long ({len(self.comment)} characters; the limit is {MAX_COMMENT_CHARS})")
        return self


class FeedbackStore:
    """Appends feedback records to one SQLite file and exports them as CSV."""

    def __init__(self, path: Path, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
            conn.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            with conn:  # commits, or rolls back on an exception
                yield conn
        finally:
            conn.close()

    def journal_mode(self) -> str:
        with self._connect() as conn:
            return str(conn.execute("PRAGMA journal_mode").fetchone()[0])

    def add(self, record: FeedbackRecord) -> int:
        record = record.checked()
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created, rating, comment, question, standalone_question, answer, citations,"
                " session) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.created,
                    record.rating,
                    record.comment.strip(),
                    record.question,
                    record.standalone_question,
                    record.answer,
                    json.dumps(list(record.citations), ensure_ascii=False),
                    record.session,
                ),
            )
            row_id = int(cursor.lastrowid or 0)
        log.info("feedback %d stored: %s", row_id, record.rating)
        return row_id

    def rows(self) -> list[dict[str, Any]]:
        """All records, oldest first; `citations` stays a JSON string, as in the CSV."""
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(f"SELECT {', '.join(CSV_COLUMNS)} FROM feedback ORDER BY id")]

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export_csv(self, out: TextIO) -> int:
        """Writes a header and one row per record; returns the number of records."""
        rows = self.rows()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: csv_safe(value) for key, value in row.items()} for row in rows)
        return len(rows)
