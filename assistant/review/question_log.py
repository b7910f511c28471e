"""The question log: every answered question, redacted, with what the answer rested on; kept in SQLite.

One row per answer: when, where from (`app`, `api`, `cli`), the asker's role, language, state,
confidence, the cited and the top retrieved passages (document, ref, section, location), the
index generation and the settings hash (the audit trail), and the question only after
`Redactor` has replaced names, numbers, phones, dates of birth and e-mails. No user name,
session id, password or answer text is stored. Rows older than `retention_days` are purged
when the log opens and with every new row.

Writing never fails an answer: a log that cannot be written is reported in the operator's log
and the answer goes out as usual. Like the feedback store, each operation opens its own
connection (WAL mode, busy timeout), so the app's threads can write at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.review.redaction import Redactor

if TYPE_CHECKING:
    from assistant.answer.records import Answer
    from assistant.settings import Settings

log = logging.getLogger(__name__)

Source = Literal["app", "api", "cli"]
TOP_PASSAGES = 5  # the retrieved passages kept per question (the gap report leans on them)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    source TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL,
    state TEXT NOT NULL,
    confidence REAL NOT NULL,
    mode TEXT NOT NULL DEFAULT 'extractive',
    question TEXT NOT NULL,
    standalone TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]',
    passages TEXT NOT NULL DEFAULT '[]',
    index_generation TEXT NOT NULL DEFAULT '',
    settings_hash TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS questions_created ON questions (created);
"""
_COLUMNS = (
    "id, created, source, role, lang, state, confidence, mode, question, standalone, citations, passages,"
    " index_generation, settings_hash"
)


@dataclass(frozen=True)
class LoggedQuestion:
    """One row of the log; `citations` and `passages` are lists of {doc, title, ref, section, locations}."""

    id: int
    created: str
    source: str
    role: str
    lang: str
    state: str
    confidence: float
    mode: str
    question: str  # redacted
    standalone: str  # redacted
    citations: list[dict[str, Any]] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)
    index_generation: str = ""
    settings_hash: str = ""

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.created)

    def documents(self) -> list[str]:
        """The documents the answer leaned on: those cited, else those of the top passages."""
        return list(dict.fromkeys(p["doc"] for p in (self.citations or self.passages)))


class QuestionLog:
    """Appends redacted answers to one SQLite file and purges rows past the retention period."""

    def __init__(
        self,
        path: Path,
        retention_days: int = 90,
        redactor: Redactor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        busy_timeout_ms: int = 10_000,
    ) -> None:
        if retention_days < 1:
            raise ValueError(f"HANDBOOK_LOG_DAYS: must be at least 1, got {retention_days}")
        self.path = Path(path)
        self.retention_days = retention_days
        self.redactor = redactor or Redactor()
        self.clock = clock
        self.busy_timeout_ms = busy_timeout_ms
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        self.purge()

    @classmethod
    def from_settings(cls, settings: Settings) -> QuestionLog | None:
        """The log the settings name (HANDBOOK_QUESTION_LOG, HANDBOOK_LOG_DAYS); None when switched off."""
        path = settings.review.question_log_path(settings.app.feedback_db)
        return None if path is None else cls(path, settings.review.log_days)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            with conn:
                yield conn
        finally:
            conn.close()

    def record(self, answer: Answer, source: Source, role: str = "") -> int | None:
        """Stores one answer (redacted); returns the row id, or None when it could not be written."""
        try:
            return self._insert(answer, source, role)
        except (sqlite3.Error, OSError) as exc:  # the answer still goes out; the operator sees why
            log.warning("question log %s: not written (%s)", self.path, exc)
            return None

    def _insert(self, answer: Answer, source: Source, role: str) -> int:
        question = self.redactor(answer.question)
        standalone = self.redactor(answer.standalone_question) if answer.standalone_question != answer.question else ""
        citations = [_place(c.doc, c.title, c.ref, c.section, c.locations) for c in answer.citations]
        passages = [
            {**_place(p.doc, p.title, p.ref, p.section, p.locations), "score": round(p.score, 4)}
            for p in answer.passages[:TOP_PASSAGES]
        ]
        now = self.clock()
        with self._connect() as conn:
            cursor = conn.execute(
                f"INSERT INTO questions ({_COLUMNS.split(', ', 1)[1]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now.isoformat(timespec="seconds"),
                    source,
                    role,
                    answer.lang,
                    answer.state,
                    round(float(answer.confidence), 4),
                    answer.mode,
                    question,
                    standalone,
                    json.dumps(citations, ensure_ascii=False),
                    json.dumps(passages, ensure_ascii=False),
                    answer.index_generation,
                    answer.settings_hash,
                ),
            )
            self._purge(conn, now)
            return int(cursor.lastrowid or 0)

    def purge(self) -> int:
        """Deletes the rows older than the retention period; returns how many."""
        with self._connect() as conn:
            return self._purge(conn, self.clock())

    def _purge(self, conn: sqlite3.Connection, now: datetime) -> int:
        cutoff = (now - timedelta(days=self.retention_days)).isoformat(timespec="seconds")
        removed = conn.execute("DELETE FROM questions WHERE created < ?", (cutoff,)).rowcount
        if removed:
            log.info("question log: %d rows older than %d days purged", removed, self.retention_days)
        return int(removed)

    def rows(
        self, since: datetime | None = None, states: Sequence[str] = (), newest_first: bool = False
    ) -> list[LoggedQuestion]:
        """The logged questions, oldest first (or newest first), optionally from `since` and in `states` only."""
        where, params = [], []
        if since is not None:
            where.append("created >= ?")
            params.append(since.isoformat(timespec="seconds"))
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(states)
        sql = f"SELECT {_COLUMNS} FROM questions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id" + (" DESC" if newest_first else "")
        with self._connect() as conn:
            return [_row(r) for r in conn.execute(sql, params)]

    def get(self, row_id: int) -> LoggedQuestion | None:
        with self._connect() as conn:
            found = conn.execute(f"SELECT {_COLUMNS} FROM questions WHERE id = ?", (row_id,)).fetchone()
        return _row(found) if found else None

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0])


def _place(doc: str, title: str, ref: str, section: str, locations: list[int]) -> dict[str, Any]:
    return {"doc": doc, "title": title, "ref": ref, "section": section, "locations": list(locations)}


def _row(values: Sequence[Any]) -> LoggedQuestion:
    (row_id, created, source, role, lang, state, confidence, mode, question, standalone, citations, passages,
     generation, settings_hash) = values  # fmt: skip
    return LoggedQuestion(
        id=int(row_id),
        created=created,
        source=source,
        role=role,
        lang=lang,
        state=state,
        confidence=float(confidence),
        mode=mode,
        question=question,
        standalone=standalone,
        citations=json.loads(citations),
        passages=json.loads(passages),
        index_generation=generation,
        settings_hash=settings_hash,
    )


def open_log(path: Path, retention_days: int = 90) -> QuestionLog:
    """An existing log file for reading (the report and the queue); one clear error when it is not there."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"question log: {path} does not exist (nothing logged yet, or the log is off)")
    return QuestionLog(path, retention_days)
