"""The lead and the folded supporting passages in a real browser (Debian's chromium through playwright).

The app answers from a small handbook of rules on segregation, indexed with the real MiniLM model,
under an answer threshold no evidence reaches (every answer comes as the closest passages, so the
caution shows too). In English and in Russian: the chat shows the lead first, then "Supporting
passages (N)" with the first two open and the rest folded in a <details> a click opens; a Russian
page shows the chat's own words in Russian, the language note above the English lead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_testing import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration

ANSWER_WAIT_MS = 300_000  # the first answer waits for the assistant to load

FILLER = (
    "The governor shall record the decision, its reasons and its duration in the segregation log, and the "
    "record shall be kept for inspection by the independent monitoring board."
)
# Another handbook on other matters: the rules on segregation stand out from it (scores are relative).
OTHER = [
    [f"Rule {n}", f"1. {text} The duty officer shall note it in the wing log before the end of the shift."]
    for n, text in (
        (1, "Prisoners may borrow up to six library books a week from the prison library."),
        (2, "Meals shall be served three times a day at the usual hours, with drinking water always available."),
        (3, "Visitors shall book a social visit at least two days in advance through the visits booking line."),
        (4, "Each prisoner shall receive clean bedding once a week and clean clothing twice a week."),
        (5, "Workshops are open on weekdays, and prisoners are paid for the work they do in them."),
    )
]
RULES = [
    ["Rule 1", f"1. Solitary confinement shall be used only in exceptional cases and as a last resort. {FILLER}"],
    [
        "Rule 2",
        "1. Prolonged solitary confinement means solitary confinement for more than 15 consecutive days.",
        f"2. Prolonged solitary confinement shall be prohibited. {FILLER}",
    ],
    ["Rule 3", f"1. A prisoner in solitary confinement shall be visited by a doctor every day. {FILLER}"],
    ["Rule 4", f"1. Solitary confinement shall not be imposed on children or pregnant women. {FILLER}"],
    ["Rule 5", f"1. A prisoner in solitary confinement shall have an hour of exercise in the open air daily. {FILLER}"],
]


@pytest.fixture()
def lead_app(real_embedder: Any, tmp_path: Path) -> Iterator[str]:
    """The app on a one-handbook index (real MiniLM); yields its URL."""
    from app_testing import free_port
    from pdf_factory import make_pdf

    from assistant.answer.decision import AnswerabilityPolicy
    from assistant.app.server import launch
    from assistant.chain import Assistant
    from assistant.settings import AppSettings, Settings
    from ingest.pipeline import Ingestor
    from ingest.settings import IngestSettings

    make_pdf(tmp_path / "handbook" / "segregation-rules.pdf", RULES, header=None, footer_counter=False)
    make_pdf(tmp_path / "handbook" / "daily-life.pdf", OTHER, header=None, footer_counter=False)
    index = tmp_path / "index"
    report = Ingestor(index, real_embedder, progress=False).run([tmp_path / "handbook"])
    assert not report.failed
    settings = Settings(
        ingest=IngestSettings(index_dir=index, embedding_models="minilm", manifest_path=tmp_path / "no-manifest.toml"),
        app=AppSettings(feedback_db=tmp_path / "feedback.sqlite3", auth="", auth_file=None),
    )

    def load() -> Assistant:
        assistant = Assistant.from_settings(settings, embedder=real_embedder)
        assistant.answerability = AnswerabilityPolicy(answer_threshold=5.0)  # always the closest passages
        return assistant

    running = launch(settings, "127.0.0.1", free_port(), load=load, work_dir=tmp_path / "app")
    try:
        yield running.url
    finally:
        running.close()


def _ask(playwright_api: Any, url: str, locale: str, question: str, shot: Path) -> dict[str, Any]:
    """Asks in a browser of that locale; returns what the last answer showed, before and after unfolding."""
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1000}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            box = page.locator("#hb-question textarea")
            box.fill(question)
            box.press("Enter")
            expect(page.locator("#hb-sources .hb-card").first).to_be_visible(timeout=ANSWER_WAIT_MS)
            answer = page.locator("#hb-chat .message-row, #hb-chat [data-testid='bot']").last
            folded = page.locator("#hb-chat details").last
            expect(folded).to_have_count(1)
            summary = folded.locator("summary")
            hidden_quote = folded.locator("strong").first  # the first folded passage's label
            seen = {
                "text": page.locator("#hb-chat").inner_text(),
                "answer": answer.inner_text(),
                "open": folded.evaluate("d => d.open"),
                "summary": summary.inner_text(),
                "folded_visible": hidden_quote.is_visible(),
                "cards": page.locator("#hb-sources .hb-card").count(),
            }
            summary.click()
            expect(hidden_quote).to_be_visible()
            seen["unfolded"] = folded.inner_text()
            page.screenshot(path=str(shot), full_page=True)
            seen["errors"] = errors
            return seen
        finally:
            browser.close()


def test_english_the_lead_then_two_passages_and_the_rest_folded(
    lead_app: str, playwright_api: Any, tmp_path: Path
) -> None:
    question = "What do the rules say about solitary confinement?"
    seen = _ask(playwright_api, lead_app, "en-GB", question, tmp_path / "lead-en.png")
    text = seen["text"]
    heading = re.search(r"Supporting passages \((\d+)\)", text)
    assert heading, text
    n = int(heading.group(1))
    assert n >= 3
    lead = re.search(r"\u201c[^\u201d]+\u201d \[\d\]", text)
    assert lead and lead.start() < heading.start(), text  # the lead comes first
    assert "closest the documents have" in text[: heading.start()]  # the caution above the lead
    assert seen["open"] is False and not seen["folded_visible"]
    assert seen["summary"] == f"More passages: {n - 2}"
    assert text.count("Rule ") >= 2  # the two open passages' labels
    assert "segregation-rules" in seen["unfolded"] or "Rule" in seen["unfolded"]
    assert seen["cards"] >= n  # the source cards stay, one per citation
    assert seen["errors"] == []


def test_russian_page_the_note_the_english_lead_and_the_chats_words_in_russian(
    lead_app: str, playwright_api: Any, tmp_path: Path
) -> None:
    seen = _ask(
        playwright_api, lead_app, "ru-RU", "Сколько суток можно держать осуждённого в ШИЗО?", tmp_path / "lead-ru.png"
    )
    text = seen["text"]
    note = text.index("Цитаты приводятся на языке документа")
    caution = text.index("Это ближайшие к вопросу фрагменты документов")
    heading = re.search(r"Подтверждающие фрагменты \((\d+)\)", text)
    assert heading, text
    lead = re.search(r"\u201c[^\u201d]+\u201d \[\d\]", text)  # the lead: English, verbatim
    assert lead and note < caution < lead.start() < heading.start(), text
    assert len(text[lead.start() : heading.start()].split()) <= 60 + 3  # at most 60 English words, and the [n]s
    assert "Supporting passages" not in text and "closest the documents have" not in text
    assert seen["open"] is False and not seen["folded_visible"]
    assert seen["summary"] == f"Ещё фрагментов: {int(heading.group(1)) - 2}"
    assert seen["errors"] == []
