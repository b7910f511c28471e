"""The review queue: thumbs-down answers and low-confidence ones, newest first, each turned into a test question.

Items come from the feedback store (rating "down") and from the question log (answers in the
"closest" or "not_covered" state). A question asked several times is one item. For each, a
reviewer (evaluator or admin; trainer on the command line) decides:

- `passages`: these passages answer it -> an answerable golden record with them as `expected`
  (and the key facts the reviewer copied from them, if any);
- `not_covered`: the documents do not cover it -> an unanswerable golden record;
- `glossary`: a staff term -> document term pair, appended to the suggestions file that the
  maintainer merges into corpus/glossary.toml by hand;
- `dismiss`: nothing to learn from it.

Every decision may carry a glossary pair as well. Records go to the review file
(`golden_record.ReviewFile`), which `handbook eval --golden` reads; nothing changes
retrieval by itself. Which items were decided is kept in a small SQLite ledger beside the
review file (`review.sqlite3`), so two reviewers never decide the same item twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError, model_validator

from assistant.language import detect_language
from assistant.review.golden_record import ExpectedPlace, Kind, ReviewerRole, ReviewFile, ReviewRecord
from assistant.review.question_log import QuestionLog
from assistant.review.redaction import Redactor
from ingest.textnorm import normalize_for_match

log = logging.getLogger(__name__)

QueueKind = Literal["thumbs-down", "low-confidence"]
Action = Literal["passages", "not_covered", "glossary", "dismiss"]
ACTIONS: tuple[str, ...] = ("passages", "not_covered", "glossary", "dismiss")
LOW_CONFIDENCE_STATES = ("closest", "not_covered")
REVIEWER_ROLES: tuple[str, ...] = ("trainer", "evaluator", "admin")
PERSONAS = {"staff": "staff", "trainer": "trainer", "evaluator": "evaluator"}


class ReviewError(ValueError):
    """A decision that cannot be stored; the message names the field or the item."""


class FeedbackSource(Protocol):
    """What the queue reads of the feedback store (assistant.app.feedback.FeedbackStore)."""

    def rows(self) -> list[dict[str, Any]]: ...


PageText = Callable[[str, int], "str | None"]  # (doc, page or paragraph) -> stored text; None: no such place


@dataclass(frozen=True)
class QueueItem:
    """One answer waiting for review; text already redacted."""

    key: str  # "fb-<feedback id>" or "log-<question log id>"
    kind: QueueKind
    created: str
    question: str
    answer: str
    state: str
    confidence: float | None
    lang: str
    comment: str = ""
    persona: str = "staff"
    passages: list[dict[str, Any]] = field(default_factory=list)  # doc, title, ref, section, locations, quote?
    asked: int = 1  # how many pending answers had this question

    def passage_labels(self) -> list[str]:
        return [_label(p) for p in self.passages]


class ReviewDecision(BaseModel):
    """What the reviewer decided for one item."""

    action: Action
    expected: list[ExpectedPlace] = Field(default_factory=list)
    key_facts: list[str] = Field(default_factory=list)
    kind: Kind = "fact"
    staff_term: str = ""
    document_term: str = ""

    @model_validator(mode="after")
    def _complete(self) -> ReviewDecision:
        if self.action == "passages" and not self.expected:
            raise ValueError("expected: mark at least one passage that answers the question")
        if self.action != "passages" and (self.expected or self.key_facts):
            raise ValueError(f"expected: passages go with the 'passages' decision, not {self.action!r}")
        if self.action == "passages" and self.kind == "unanswerable":
            raise ValueError("kind: 'unanswerable' goes with the 'not_covered' decision")
        if bool(self.staff_term.strip()) != bool(self.document_term.strip()):
            raise ValueError("glossary: give both the staff term and the document term")
        if self.action == "glossary" and not self.staff_term.strip():
            raise ValueError("glossary: give the staff term and the document term")
        return self

    @property
    def glossary_pair(self) -> tuple[str, str] | None:
        staff, document = " ".join(self.staff_term.split()), " ".join(self.document_term.split())
        return (staff, document) if staff and document else None


@dataclass(frozen=True)
class ReviewOutcome:
    key: str
    action: str
    record: ReviewRecord | None
    glossary: tuple[str, str] | None

    def message(self) -> str:
        parts = [f"{self.key}: {self.action.replace('_', ' ')}"]
        if self.record is not None:
            parts.append(f"golden record {self.record.id} written")
        if self.glossary is not None:
            parts.append(f"glossary suggestion {self.glossary[0]!r} -> {self.glossary[1]!r} written")
        return "; ".join(parts)


class ReviewQueue:
    """The pending items and the reviewer's decisions on them."""

    def __init__(
        self,
        review_file: Path,
        glossary_file: Path,
        feedback: FeedbackSource | None = None,
        question_log: QuestionLog | None = None,
        page_text: PageText | None = None,
        redactor: Redactor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.review_file = ReviewFile(review_file)
        self.glossary_file = Path(glossary_file)
        self.ledger_path = Path(review_file).with_suffix(".sqlite3")
        self.feedback = feedback
        self.question_log = question_log
        self.page_text = page_text
        self.redactor = redactor or Redactor()
        self.clock = clock
        self._glossary_lock = threading.Lock()
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        with self._ledger() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS reviewed (item TEXT PRIMARY KEY, action TEXT NOT NULL,"
                " role TEXT NOT NULL, created TEXT NOT NULL, record TEXT NOT NULL DEFAULT '')"
            )

    @contextlib.contextmanager
    def _ledger(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.ledger_path, timeout=10)
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            with conn:
                yield conn
        finally:
            conn.close()

    # ---- the queue ---------------------------------------------------------------------------

    def items(self, limit: int | None = None) -> list[QueueItem]:
        """Pending items, newest first; one per question (the thumbs-down one where both exist)."""
        candidates = self._pending()
        candidates.sort(key=lambda i: (i.kind != "thumbs-down", -_timestamp(i.created)))
        by_question: dict[str, QueueItem] = {}
        counts: dict[str, int] = {}
        for item in candidates:
            same = normalize_for_match(item.question)
            counts[same] = counts.get(same, 0) + 1
            by_question.setdefault(same, item)
        merged = [_with_count(item, counts[q]) for q, item in by_question.items()]
        merged.sort(key=lambda i: -_timestamp(i.created))
        return merged[:limit] if limit else merged

    def item(self, key: str) -> QueueItem | None:
        """A pending item by key, also when a newer one with the same question stands for it in `items()`."""
        return next((i for i in self._pending() if i.key == key), None)

    def _pending(self) -> list[QueueItem]:
        with self._ledger() as conn:
            done = {row[0] for row in conn.execute("SELECT item FROM reviewed")}
        return [i for i in [*self._thumbs_down(), *self._low_confidence()] if i.key not in done]

    def _thumbs_down(self) -> list[QueueItem]:
        if self.feedback is None:
            return []
        items = []
        for row in self.feedback.rows():
            if row.get("rating") != "down":
                continue
            question = self.redactor(str(row.get("question", "")))
            try:
                citations = json.loads(row.get("citations") or "[]")
            except json.JSONDecodeError:
                citations = []
            passages = [
                {
                    "doc": c.get("doc", ""),
                    "title": c.get("title", ""),
                    "ref": c.get("ref", ""),
                    "section": c.get("section", ""),
                    "locations": list(c.get("pages") or c.get("paragraphs") or []),
                    "quote": c.get("quote", ""),
                }
                for c in citations
                if isinstance(c, dict)
            ]
            items.append(
                QueueItem(
                    key=f"fb-{row['id']}",
                    kind="thumbs-down",
                    created=str(row.get("created", "")),
                    question=question,
                    answer=str(row.get("answer", "")),
                    state="answered" if passages else "closest",
                    confidence=None,
                    lang=detect_language(question),
                    comment=self.redactor(str(row.get("comment", ""))),
                    passages=passages,
                )
            )
        return items

    def _low_confidence(self) -> list[QueueItem]:
        if self.question_log is None:
            return []
        items = []
        for row in self.question_log.rows(states=LOW_CONFIDENCE_STATES, newest_first=True):
            heading = "Not covered by the documents." if row.state == "not_covered" else "Closest passages only."
            labels = [_label(p) for p in row.passages[:3]]
            items.append(
                QueueItem(
                    key=f"log-{row.id}",
                    kind="low-confidence",
                    created=row.created,
                    question=row.question,
                    answer="\n".join([heading, *(f"- {label}" for label in labels)]),
                    state=row.state,
                    confidence=row.confidence,
                    lang=row.lang,
                    persona=PERSONAS.get(row.role, "staff"),
                    passages=row.passages,
                )
            )
        return items

    # ---- decisions ---------------------------------------------------------------------------

    def review(self, key: str, decision: ReviewDecision, role: str) -> ReviewOutcome:
        """Stores the decision on one pending item: a golden record and/or a glossary suggestion."""
        if role not in REVIEWER_ROLES:
            raise ReviewError(f"role: {role!r} cannot review (use {', '.join(REVIEWER_ROLES)})")
        pending = self._pending()
        item = next((i for i in pending if i.key == key), None)
        if item is None:
            raise ReviewError(f"item {key!r}: not in the queue (already reviewed, or no such item)")
        # The same question asked again is decided with it (the queue shows them as one item).
        same = normalize_for_match(item.question)
        siblings = [i.key for i in pending if i.key != key and normalize_for_match(i.question) == same]
        self._check_places(decision)
        record = self._record(item, decision, role) if decision.action in ("passages", "not_covered") else None
        now = self.clock().isoformat(timespec="seconds")
        try:
            with self._ledger() as conn:
                conn.executemany(
                    "INSERT INTO reviewed (item, action, role, created, record) VALUES (?, ?, ?, ?, ?)",
                    [(k, decision.action, role, now, record.id if record else "") for k in [key, *siblings]],
                )
                # Written inside the ledger's transaction: a failed write leaves the item in the queue.
                if record is not None:
                    self.review_file.append(record)
                pair = decision.glossary_pair
                if pair is not None:
                    self._suggest(pair, item, role, now)
        except sqlite3.IntegrityError:
            raise ReviewError(f"item {key!r}: already reviewed") from None
        log.info("review %s: %s by %s", key, decision.action, role)
        return ReviewOutcome(key, decision.action, record, decision.glossary_pair)

    def _record(self, item: QueueItem, decision: ReviewDecision, role: str) -> ReviewRecord:
        answerable = decision.action == "passages"
        try:
            return ReviewRecord(
                id=f"review-{item.key}",
                question=item.question,
                answerable=answerable,
                expected=decision.expected if answerable else [],
                key_facts=[" ".join(f.split()) for f in decision.key_facts if f.strip()] if answerable else [],
                kind=decision.kind if answerable else "unanswerable",
                persona=item.persona if item.persona in PERSONAS else "staff",  # type: ignore[arg-type]
                lang=item.lang if item.lang in ("en", "ru", "kk") else "en",  # type: ignore[arg-type]
                role=_reviewer(role),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise ReviewError(f"{where}: {first['msg']}") from None

    def _check_places(self, decision: ReviewDecision) -> None:
        """Each marked place exists in the index, and each key fact is in the text of the marked places."""
        if self.page_text is None or decision.action != "passages":
            return
        texts = []
        for place in decision.expected:
            for page in place.pages:
                text = self.page_text(place.doc, page)
                if text is None:
                    raise ReviewError(f"expected: {place.doc} has no page or paragraph {page} in the index")
                texts.append(text)
        joined = normalize_for_match(" ".join(texts))
        for fact in decision.key_facts:
            if fact.strip() and normalize_for_match(fact) not in joined:
                raise ReviewError(f"key_facts: {fact!r} is not in the marked passages (copy it verbatim)")

    def _suggest(self, pair: tuple[str, str], item: QueueItem, role: str, when: str) -> None:
        staff, document = pair
        question = " ".join(item.question.split())[:200]
        block = (
            f"\n# suggested {when} by a reviewer ({role}) from review item {item.key}: {question}\n"
            f"[[term]]\nphrases = [{_toml_string(staff)}]\nmeans = [{_toml_string(document)}]\n"
        )
        self.glossary_file.parent.mkdir(parents=True, exist_ok=True)
        with self._glossary_lock, self.glossary_file.open("a", encoding="utf-8") as fh:
            fh.write(block)

    def decided(self) -> list[dict[str, str]]:
        """The ledger: every decided item with its action, reviewer role, time and record id."""
        with self._ledger() as conn:
            rows = conn.execute("SELECT item, action, role, created, record FROM reviewed ORDER BY created")
            return [dict(zip(("item", "action", "role", "created", "record"), r, strict=True)) for r in rows]


def parse_place(text: str) -> ExpectedPlace:
    """`DOC:PAGES[:REF]` as the command line takes it: `rules:20:Rule 58`, `knife-policy:5-7`, `rules:3,4`."""
    doc, _, rest = text.partition(":")
    pages_text, _, ref = rest.partition(":")
    pages: list[int] = []
    try:
        for part in pages_text.split(","):
            first, _, last = part.strip().partition("-")
            pages.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ReviewError(f"--passage {text!r}: expected DOC:PAGES[:REF], e.g. rules:20:Rule 58") from None
    try:
        return ExpectedPlace(doc=doc.strip(), pages=pages, ref=ref.strip())
    except ValidationError as exc:
        raise ReviewError(f"--passage {text!r}: {exc.errors()[0]['msg']}") from None


def place_of(hit: Any) -> ExpectedPlace:
    """The expected place of a search hit (`assistant.retrieval` Hit): document, locations, ref."""
    chunk = hit.chunk
    return ExpectedPlace(doc=chunk.doc_id, pages=list(range(chunk.page_start, chunk.page_end + 1)), ref=chunk.ref)


def _label(p: dict[str, Any]) -> str:
    where = ", ".join(str(n) for n in p.get("locations") or [])
    parts = [p.get("title") or p.get("doc", ""), p.get("ref", ""), p.get("section", "")]
    head = ", ".join(x for x in parts if x)
    return f"{head} ({p.get('doc', '')} @ {where})" if where else head


def _reviewer(role: str) -> ReviewerRole:
    return "admin" if role == "admin" else "trainer" if role == "trainer" else "evaluator"


def _with_count(item: QueueItem, asked: int) -> QueueItem:
    from dataclasses import replace

    return replace(item, asked=asked)


def _timestamp(created: str) -> float:
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (the same escapes, \uXXXX included).
    return json.dumps(" ".join(text.split()), ensure_ascii=False)

