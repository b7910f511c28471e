"""The review queue: thumbs-down and low-confidence answers become golden records that the eval scores."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from review_testing import (
    RIGHT_DOC,
    RIGHT_FACT,
    RIGHT_PAGE,
    RIGHT_QUESTION,
    FakeFeedback,
    build_rules_index,
    minilm_env,
)

from assistant.answer.records import Answer, Passage
from assistant.review.golden_record import ExpectedPlace
from assistant.review.question_log import QuestionLog
from assistant.review.queue import ReviewDecision, ReviewError, ReviewQueue, parse_place

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PAGES = {("rules", 2): "Rule 4 1. Prisoners shall be allowed, under necessary supervision, to communicate with their "
         "family and friends at regular intervals by letter and visit."}  # fmt: skip


def _feedback_row(row_id: int, question: str, rating: str = "down", minutes: int = 0) -> dict[str, Any]:
    citation = {"n": 1, "doc": "rules", "title": "Rules", "ref": "Rule 2", "pages": [1], "quote": "impartially"}
    return {
        "id": row_id,
        "created": (START + timedelta(minutes=minutes)).isoformat(timespec="seconds"),
        "rating": rating,
        "comment": "Wrong rule. Ring me on 07700 900123",
        "question": question,
        "standalone_question": question,
        "answer": "[1] Rules, Rule 2: “impartially”",
        "citations": json.dumps([citation]),
        "session": "abc",
    }


def _logged(log: QuestionLog, question: str, state: str, lang: str = "en") -> None:
    passage = Passage(doc="rules", title="Rules", pages=[3], ref="Rule 5", score=0.2, text="Disciplinary...")
    answer = Answer(
        question=question, standalone_question=question, answer="", refused=state == "not_covered",
        state=state, passages=[passage], confidence=0.2, lang=lang,  # type: ignore[arg-type]
    )  # fmt: skip
    log.record(answer, "app", role="staff")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _queue(tmp_path: Path, rows: list[dict[str, Any]] | None = None, clock: Clock | None = None) -> ReviewQueue:
    clock = clock or Clock()
    log = QuestionLog(tmp_path / "questions.sqlite3", clock=clock)
    clock.now = START + timedelta(minutes=5)
    _logged(log, "Can a prisoner keep a pet budgie?", "not_covered")
    clock.now = START + timedelta(minutes=10)
    _logged(log, "Сколько длится свидание?", "closest", "ru")
    _logged(log, "Answered fine", "answered")
    rows = rows if rows is not None else [
        _feedback_row(1, "Can Mr Smith write to his mum?", minutes=1),
        _feedback_row(2, "Liked answer", rating="up", minutes=2),
        _feedback_row(3, "Can a prisoner keep a pet budgie?", minutes=3),
    ]  # fmt: skip
    return ReviewQueue(
        tmp_path / "review.jsonl",
        tmp_path / "glossary-suggestions.toml",
        feedback=FakeFeedback(rows),
        question_log=log,
        page_text=lambda doc, page: PAGES.get((doc, page)),
        clock=clock,
    )


@pytest.mark.unit
def test_the_queue_holds_thumbs_down_and_low_confidence_answers_newest_first(tmp_path: Path) -> None:
    items = _queue(tmp_path).items()
    assert [i.key for i in items] == ["log-2", "fb-3", "fb-1"]
    by_key = {i.key: i for i in items}
    assert by_key["fb-1"].question == "Can Mr [NAME] write to his mum?"  # redacted, like the log
    assert by_key["fb-1"].comment == "Wrong rule. Ring me on [PHONE]"
    assert by_key["fb-1"].kind == "thumbs-down" and by_key["fb-1"].passages[0]["ref"] == "Rule 2"
    # The budgie question was logged not-covered and got a thumbs-down: one item, the thumbs-down one.
    assert by_key["fb-3"].asked == 2
    assert by_key["log-2"].kind == "low-confidence" and by_key["log-2"].lang == "ru"
    assert "Closest passages only." in by_key["log-2"].answer


@pytest.mark.unit
def test_marked_passages_become_a_golden_record_that_evals_reads(tmp_path: Path) -> None:
    from evals.golden import load_golden

    queue = _queue(tmp_path)
    decision = ReviewDecision(
        action="passages",
        expected=[ExpectedPlace(doc="rules", pages=[2], ref="Rule 4")],
        key_facts=["communicate with their   family"],
        kind="procedure",
    )
    outcome = queue.review("fb-1", decision, "evaluator")
    assert outcome.message() == "fb-1: passages; golden record review-fb-1 written"
    queue.review("fb-3", ReviewDecision(action="not_covered"), "admin")
    records = load_golden(tmp_path / "review.jsonl")
    assert [(r.id, r.answerable, r.kind) for r in records] == [
        ("review-fb-1", True, "procedure"),
        ("review-fb-3", False, "unanswerable"),
    ]
    first = json.loads((tmp_path / "review.jsonl").read_text().splitlines()[0])
    assert first == {
        "id": "review-fb-1",
        "question": "Can Mr [NAME] write to his mum?",
        "answerable": True,
        "expected": [{"doc": "rules", "pages": [2], "ref": "Rule 4"}],
        "key_facts": ["communicate with their family"],
        "kind": "procedure",
        "persona": "staff",
        "lang": "en",
        "overlap": None,
        "source": "review",
        "role": "evaluator",
    }
    # The budgie question was also in the log (log-1): decided with fb-3, which stood for both.
    assert [i.key for i in queue.items()] == ["log-2"]
    assert {d["item"]: d["record"] for d in queue.decided()} == {
        "fb-1": "review-fb-1",
        "fb-3": "review-fb-3",
        "log-1": "review-fb-3",
    }


@pytest.mark.unit
def test_glossary_pairs_dismissals_and_a_second_decision(tmp_path: Path) -> None:
    from assistant.glossary import Glossary

    queue = _queue(tmp_path)
    outcome = queue.review(
        "log-2", ReviewDecision(action="glossary", staff_term="свиданка", document_term="visits"), "evaluator"
    )
    assert outcome.record is None and outcome.glossary == ("свиданка", "visits")
    queue.review("fb-1", ReviewDecision(action="dismiss", staff_term="mum", document_term="family"), "admin")
    suggestions = (tmp_path / "glossary-suggestions.toml").read_text()
    assert [t["phrases"] for t in tomllib.loads(suggestions)["term"]] == [["свиданка"], ["mum"]]
    assert "from review item log-2: Сколько длится свидание?" in suggestions
    assert Glossary.load(tmp_path / "glossary-suggestions.toml") is not None  # mergeable as it is
    assert not (tmp_path / "review.jsonl").exists()  # neither decision writes a test question
    with pytest.raises(ReviewError, match=r"not in the queue \(already reviewed"):
        queue.review("fb-1", ReviewDecision(action="not_covered"), "admin")
    assert [d["item"] for d in queue.decided()] == ["log-2", "fb-1"]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("decision", "role", "message"),
    [
        (
            {"action": "passages", "expected": [{"doc": "rules", "pages": [9]}]},
            "evaluator",
            "rules has no page or paragraph 9",
        ),
        (
            {"action": "passages", "expected": [{"doc": "rules", "pages": [2]}], "key_facts": ["invented words"]},
            "evaluator",
            "key_facts: 'invented words' is not in the marked passages",
        ),
        ({"action": "not_covered"}, "staff", "role: 'staff' cannot review"),
    ],
)
def test_bad_decisions_are_refused_with_one_line_and_nothing_written(
    tmp_path: Path, decision: dict[str, Any], role: str, message: str
) -> None:
    queue = _queue(tmp_path)
    with pytest.raises(ReviewError, match=message):
        queue.review("fb-1", ReviewDecision.model_validate(decision), role)
    assert not (tmp_path / "review.jsonl").exists()
    assert "fb-1" in [i.key for i in queue.items()]


@pytest.mark.unit
def test_incomplete_decisions_name_the_field() -> None:
    with pytest.raises(ValueError, match="mark at least one passage"):
        ReviewDecision(action="passages")
    with pytest.raises(ValueError, match="both the staff term and the document term"):
        ReviewDecision(action="dismiss", staff_term="bang-up")
    assert parse_place("rules:2-3:Rule 4") == ExpectedPlace(doc="rules", pages=[2, 3], ref="Rule 4")
    with pytest.raises(ValueError, match="expected DOC:PAGES"):
        parse_place("rules")


@pytest.mark.integration
def test_a_reviewed_thumbs_down_is_scored_by_handbook_eval(
    tmp_path: Path, real_embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff ask and give a thumbs-down; the evaluator marks the right passage; `handbook eval` scores it."""
    from typer.testing import CliRunner

    from assistant.app.feedback import FeedbackRecord, FeedbackStore
    from assistant.chain import Assistant
    from assistant.cli import app
    from assistant.review.queue import place_of
    from assistant.settings import Settings

    index = build_rules_index(tmp_path, real_embedder)
    minilm_env(monkeypatch, tmp_path, index)
    settings = Settings()
    assistant = Assistant.from_settings(settings, embedder=real_embedder)
    answer = assistant.ask(RIGHT_QUESTION)
    QuestionLog.from_settings(settings).record(answer, "app", role="staff")  # type: ignore[union-attr]
    store = FeedbackStore(settings.app.feedback_db)
    store.add(FeedbackRecord(question=answer.question, answer=answer.answer, rating="down"))
    queue = ReviewQueue(
        settings.review.review_path(settings.app.feedback_db),
        settings.review.glossary_suggestions_path(settings.app.feedback_db),
        feedback=store,
        question_log=QuestionLog.from_settings(settings),
        page_text=assistant.snapshot.page_text,
    )
    item = queue.items()[0]
    assert (item.key, item.question) == ("fb-1", RIGHT_QUESTION)
    hits = assistant.retriever.search("family and friends letters", k=5).hits
    right = next(place_of(h) for h in hits if h.chunk.doc_id == RIGHT_DOC and h.chunk.page_start == RIGHT_PAGE)
    queue.review(item.key, ReviewDecision(action="passages", expected=[right], key_facts=[RIGHT_FACT]), "evaluator")

    result = CliRunner().invoke(
        app, ["eval", "--golden", str(tmp_path / "review.jsonl"), "--index", str(index), "--json", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 1
    scored = report["questions"][0]
    assert scored["id"] == "review-fb-1" and scored["question"] == RIGHT_QUESTION
    assert report["hit@5"] == 1.0  # the marked passage is among the five retrieved
