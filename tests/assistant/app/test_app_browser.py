"""The app in a real browser (Debian's chromium through playwright): ask, read a source card, open its page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_testing import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LiveApp

pytestmark = pytest.mark.integration



@pytest.fixture()
def expect(playwright_api: Any) -> Any:
    return playwright_api.expect


@pytest.fixture()
def page(playwright_api: Any) -> Iterator[Any]:
    """A fresh page in Debian's chromium; screenshots go to ARTIFACTS."""
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1440, "height": 1000})
        finally:
            browser.close()


ANSWER_WAIT_MS = 900_000  # a cold server first loads the embedding model


def test_ask_then_open_the_cited_page(live_app: LiveApp, page: Any, expect: Any) -> None:
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.goto(live_app.url)
    question = page.locator("#hb-question textarea")
    question.fill("Can we read a prisoner's letters to his lawyer?")
    question.press("Enter")  # as staff would; the Ask button runs the same handler

    card = page.locator("#hb-sources .hb-card").first
    expect(card).to_be_visible(timeout=ANSWER_WAIT_MS)
    head = card.locator(".hb-card-head").inner_text()
    assert re.search(r"\[1\] .+, pp?\. \d+", head), head
    expect(card.locator("mark").first).to_be_visible()
    expect(card.locator("a")).to_have_attribute("href", re.compile(r"^pdf/[\w.-]+#page=\d+$"))
    chat = page.locator("#hb-chat")
    expect(chat).to_contain_text("[1]")
    expect(chat).to_contain_text("Can we read a prisoner")
    page.screenshot(path=str(ARTIFACTS / "app-browser-answer.png"), full_page=True)

    page.locator("#hb-show").click()
    image = page.locator("#hb-page img")
    expect(image).to_be_visible(timeout=120_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('#hb-page img');"
        " return i !== null && i.complete && i.naturalWidth > 500; }",
        timeout=60_000,
    )
    page_number = re.search(r"pp?\. (\d+)", head)
    assert page_number is not None
    expect(page.locator("#hb-page-text")).to_contain_text(f"p. {page_number.group(1)}")
    expect(page.locator("#hb-page-text mark").first).to_be_visible()
    image.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "app-browser.png"), full_page=True)

    question.fill("what about phone calls?")
    page.locator("#hb-ask").click()
    expect(chat).to_contain_text("Searched as: Can we read a prisoner", timeout=ANSWER_WAIT_MS)
    expect(chat.get_by_text("Check each quote against its page")).to_have_count(2, timeout=60_000)

    page.locator("#hb-new").click()
    expect(chat).not_to_contain_text("Can we read a prisoner")
    expect(page.locator("#hb-sources .hb-card")).to_have_count(0)
    assert page_errors == []


def test_trainers_build_a_brief_and_a_quiz(live_app: LiveApp, page: Any, expect: Any) -> None:
    page.goto(live_app.url)
    page.get_by_role("tab", name="Topic brief (trainers)").click()
    page.locator("#hb-topic textarea, #hb-topic input").first.fill("searching visitors")
    page.locator("#hb-build-brief").click()
    expect(page.locator("#hb-brief")).to_contain_text("Topic brief: searching visitors", timeout=ANSWER_WAIT_MS)
    expect(page.locator("#hb-brief-docx")).to_be_enabled()
    page.locator("#hb-make-quiz").click()
    expect(page.locator("#hb-quiz")).to_contain_text("Answer key", timeout=120_000)
    expect(page.locator("#hb-quiz-docx")).to_be_enabled()
    page.screenshot(path=str(ARTIFACTS / "app-browser-brief.png"), full_page=True)


@pytest.fixture()
def cautious_app(built_index: Path, tmp_path: Path) -> Iterator[LiveApp]:
    """The app with an answer threshold no evidence reaches: every answer comes as the closest passages."""
    from app_testing import free_port

    from assistant.answer.decision import AnswerabilityPolicy
    from assistant.app.server import launch
    from assistant.chain import Assistant
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    settings = Settings(
        ingest=IngestSettings(index_dir=built_index),
        app=AppSettings(feedback_db=tmp_path / "feedback.sqlite3", auth="", auth_file=None),
    )

    def load() -> Assistant:
        assistant = Assistant.from_settings(settings)
        assistant.answerability = AnswerabilityPolicy(answer_threshold=5.0)
        return assistant

    running = launch(settings, "127.0.0.1", free_port(), load=load, work_dir=tmp_path)
    try:
        yield LiveApp(running.url, running, settings.app.feedback_db)
    finally:
        running.close()


def test_closest_passages_answer_shows_the_caution(cautious_app: LiveApp, page: Any, expect: Any) -> None:
    page.goto(cautious_app.url)
    question = page.locator("#hb-question textarea")
    question.fill("Can we read a prisoner's letters to his lawyer?")
    question.press("Enter")
    chat = page.locator("#hb-chat")
    caution = "closest the documents have; check that they answer your question"
    expect(chat).to_contain_text(caution, timeout=ANSWER_WAIT_MS)
    expect(page.locator("#hb-sources .hb-card").first).to_be_visible()  # the quotes are still shown
    expect(page.locator("#hb-sources .hb-caution")).to_be_visible()  # beside the sources too
    page.screenshot(path=str(ARTIFACTS / "app-browser-closest.png"), full_page=True)


def test_the_page_speaks_the_browser_language_and_answers_a_russian_question(
    live_app: LiveApp, playwright_api: Any, expect: Any
) -> None:
    # Russian only: gradio 6.31's page switches only to the locales it ships, and Kazakh is not
    # one of them (a Kazakh browser gets the English labels; the Kazakh strings are in place).
    from assistant.app.i18n import LABELS

    locale, lang = "ru-RU", "ru"
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1000}).new_page()
            page.goto(live_app.url)
            expect(page.locator("#hb-ask")).to_have_text(LABELS[lang]["ask_button"], timeout=60_000)
            expect(page.get_by_role("tab", name=LABELS[lang]["tab_brief"])).to_be_visible()
            question = page.locator("#hb-question textarea")
            question.fill("Можно ли читать письма заключённого к его адвокату?")
            question.press("Enter")
            chat = page.locator("#hb-chat")
            expect(chat).to_contain_text("Цитаты приводятся на языке документа", timeout=ANSWER_WAIT_MS)
            expect(page.locator("#hb-sources .hb-card").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / f"app-browser-{lang}.png"), full_page=True)
        finally:
            browser.close()
