"""The review loop in a real browser, with real logins: a staff user asks and gives a thumbs-down; an evaluator
opens the review queue and marks the right passage; `handbook eval --golden` then scores that question. A staff
user sees neither the queue nor the gap report, and their endpoints refuse a staff account.

The app runs on the sample rules (tests/pdf_factory.py) embedded with the real MiniLM model. Screenshots go to
the test's folder and, when HANDBOOK_SCREENSHOT_DIR is set, there too.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_testing import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration

ANSWER_WAIT_MS = 300_000  # the first answer waits for the assistant to load
STAFF = ("staff1", "staff-pass")
EVALUATOR = ("eva", "eva:pass")  # a password with ':' in it, then the role
QUESTION = "Can a lad write letters home to his mum and dad?"
UNCOVERED = "Can a prisoner keep a pet budgie in his cell?"
FACT = "communicate with their family and friends"


@pytest.fixture()
def review_app(real_embedder: Any, tmp_path: Path) -> Iterator[Any]:
    """The app with a staff and an evaluator account; yields (running app, settings)."""
    from app_testing import free_port
    from pdf_factory import make_pdf, sample_rules_pages

    from assistant.app.server import launch
    from assistant.chain import Assistant
    from assistant.settings import AnswerSettings, AppSettings, ReviewSettings, Settings
    from ingest.pipeline import Ingestor
    from ingest.settings import IngestSettings

    make_pdf(tmp_path / "pdf" / "rules.pdf", sample_rules_pages())
    index = tmp_path / "index"
    assert not Ingestor(index, real_embedder, progress=False).run([tmp_path / "pdf"]).failed
    settings = Settings(
        ingest=IngestSettings(index_dir=index, embedding_models="minilm", manifest_path=tmp_path / "none.toml"),
        # The hand rules: the learned decision was fitted on the full fused index of the real corpus, and on
        # three pages read by MiniLM alone it answers the budgie question, leaving the gap report empty.
        answer=AnswerSettings(decision="rules"),
        app=AppSettings(
            feedback_db=tmp_path / "feedback.sqlite3",
            auth=f"{STAFF[0]}:{STAFF[1]}, {EVALUATOR[0]}:{EVALUATOR[1]}:evaluator",
            auth_file=None,
        ),
        review=ReviewSettings(question_log=str(tmp_path / "questions.sqlite3"), review_file=tmp_path / "review.jsonl"),
    )
    running = launch(
        settings,
        "127.0.0.1",
        free_port(),
        load=lambda: Assistant.from_settings(settings, embedder=real_embedder),
        work_dir=tmp_path / "app",
    )
    try:
        yield running, settings
    finally:
        running.close()


def _login(browser: Any, url: str, account: tuple[str, str]) -> Any:
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.goto(url)
    page.locator('input[data-testid="textbox"]').fill(account[0])
    page.locator('input[data-testid="password"]').fill(account[1])
    page.get_by_role("button", name="Login").click()
    page.locator("#hb-question textarea").wait_for(timeout=60_000)
    return page


def _ask(page: Any, expect: Any, question: str, answers: int, log: Any) -> None:
    """Asks in the chat and waits until the answer is settled: logged, and no longer "searching" on the page."""
    box = page.locator("#hb-question textarea")
    box.fill(question)
    box.press("Enter")
    _wait_for(lambda: log.count() == answers, f"answer {answers} to be logged", ANSWER_WAIT_MS / 1000)
    expect(page.locator("#hb-chat")).not_to_contain_text("Searching the documents", timeout=60_000)
    expect(page.locator("#hb-chat [aria-label='Dislike']")).to_have_count(answers)


def _wait_for(condition: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.2)


def _save(page: Any, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    folder = os.environ.get("HANDBOOK_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / name)
    return shot


def test_thumbs_down_to_a_scored_test_question(review_app: Any, playwright_api: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.app.feedback import FeedbackStore
    from assistant.cli import app as cli_app
    from assistant.review.question_log import QuestionLog

    running, settings = review_app
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            staff = _login(browser, running.url, STAFF)
            expect(staff.get_by_role("tab", name="Ask")).to_be_visible()
            # Staff see only the chat: no brief, no queue, no report.
            assert [t.inner_text() for t in staff.get_by_role("tab").all()] == ["Ask"]
            question_log = QuestionLog.from_settings(settings)
            _ask(staff, expect, QUESTION, 1, question_log)
            staff.locator("#hb-chat [aria-label='Dislike']").first.click()
            store = FeedbackStore(settings.app.feedback_db)
            _wait_for(lambda: store.count() == 1, "the thumbs-down to be stored")
            _ask(staff, expect, UNCOVERED, 2, question_log)
            logged = question_log.rows()  # type: ignore[union-attr]
            assert [(r.source, r.role, r.question) for r in logged] == [
                ("app", "staff", QUESTION),
                ("app", "staff", UNCOVERED),
            ]

            evaluator = _login(browser, running.url, EVALUATOR)
            evaluator.get_by_role("tab", name="Review queue (evaluators)").click()
            evaluator.locator("#hb-review-items input").click()
            evaluator.get_by_role("option", name=f"fb-1 · {QUESTION}").click()
            expect(evaluator.locator("#hb-review-item")).to_contain_text(QUESTION)
            expect(evaluator.locator("#hb-review-search textarea, #hb-review-search input").first).to_have_value(
                QUESTION
            )
            evaluator.locator("#hb-review-search textarea, #hb-review-search input").first.fill(
                "letters to family and friends"
            )
            evaluator.locator("#hb-review-search-button").click()
            right = evaluator.locator("#hb-review-passages label").filter(has_text="rules @ 2, Rule 4")
            expect(right).to_have_count(1, timeout=60_000)
            right.click()
            evaluator.locator("#hb-review-facts textarea").fill(FACT)
            evaluator.locator("#hb-review-save").click()
            expect(evaluator.locator("#hb-review-status")).to_contain_text(
                "fb-1: passages; golden record review-fb-1 written", timeout=60_000
            )
            _save(evaluator, tmp_path, "app-review-queue.png")

            evaluator.get_by_role("tab", name="Gap report (evaluators)").click()
            evaluator.locator("#hb-gaps-run").click()
            expect(evaluator.locator("#hb-gaps-chart img")).to_be_visible(timeout=ANSWER_WAIT_MS)
            expect(evaluator.locator("#hb-gaps-report")).to_contain_text("budgie")
            assert _save(evaluator, tmp_path, "app-gap-report.png").stat().st_size > 10_000
        finally:
            browser.close()

    records = [json.loads(line) for line in (tmp_path / "review.jsonl").read_text().splitlines()]
    assert [(r["id"], r["question"], r["source"], r["role"]) for r in records] == [
        ("review-fb-1", QUESTION, "review", "evaluator")
    ]
    result = CliRunner().invoke(
        cli_app,
        ["eval", "--golden", str(tmp_path / "review.jsonl"), "--index", str(settings.ingest.index_dir), "--json", "-q"],
        env={"HANDBOOK_EMBEDDING_MODELS": "minilm", "HANDBOOK_MANIFEST_PATH": str(tmp_path / "none.toml")},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 1 and report["questions"][0]["id"] == "review-fb-1"
    assert report["hit@5"] == 1.0


def test_staff_cannot_use_the_queue_or_the_report_over_http(review_app: Any) -> None:
    from gradio_client import Client

    from assistant.review.question_log import QuestionLog
    from ingest.index_store import IndexSnapshot

    running, settings = review_app
    staff = Client(running.url, auth=STAFF, verbose=False)
    # The /ask API: the audit trail in the answer and in the log, with the asker's role and no user name.
    answer = staff.predict("Can Mr Smith write letters to his family?", api_name="/ask")
    generation = IndexSnapshot.open(settings.ingest.index_dir).meta.generation
    assert answer["index_generation"] == generation and len(answer["settings_hash"]) == 12
    logged = QuestionLog.from_settings(settings).rows()  # type: ignore[union-attr]
    assert [(r.source, r.role, r.question, r.index_generation, r.settings_hash) for r in logged] == [
        ("api", "staff", "Can Mr [NAME] write letters to his family?", generation, answer["settings_hash"])
    ]
    for endpoint, args in [
        ("/review_queue", ()),
        ("/review_item", ("fb-1",)),
        ("/review_search", ("letters",)),
        ("/review_not_covered", ("fb-1", [], "", "fact", "", "")),
        ("/gap_report", ("",)),
        ("/brief", ("visits", [])),
    ]:
        with pytest.raises(Exception, match="is for the roles"):
            staff.predict(*args, api_name=endpoint)
    evaluator = Client(running.url, auth=EVALUATOR, verbose=False)
    _, status, _ = evaluator.predict(api_name="/review_queue")  # the evaluator's account is let in
    expected = "1 item waiting." if answer["state"] != "answered" else "The queue is empty."
    assert status == expected
