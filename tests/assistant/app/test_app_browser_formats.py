"""A citation of a Word, HTML or Markdown handbook in a real browser: the located section where a PDF shows its page.

The app runs on an index of one handbook per format (tests/flow_index.py `write_four_formats`), built
with the real MiniLM model. A screenshot goes to the test's folder and, when HANDBOOK_SCREENSHOT_DIR is
set, there too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_testing import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration

ANSWER_WAIT_MS = 300_000  # the first answer waits for the assistant to load


@pytest.fixture()
def formats_app(real_embedder: Any, tmp_path: Path) -> Iterator[str]:
    """The app on the four-format index; yields its URL."""
    from app_testing import free_port
    from flow_index import write_four_formats

    from assistant.app.server import launch
    from assistant.chain import Assistant
    from assistant.settings import AppSettings, Settings
    from ingest.pipeline import Ingestor
    from ingest.settings import IngestSettings

    write_four_formats(tmp_path / "handbooks")
    index = tmp_path / "index"
    report = Ingestor(index, real_embedder, progress=False).run([tmp_path / "handbooks"])
    assert not report.failed
    settings = Settings(
        ingest=IngestSettings(index_dir=index, embedding_models="minilm", manifest_path=tmp_path / "no-manifest.toml"),
        app=AppSettings(feedback_db=tmp_path / "feedback.sqlite3", auth="", auth_file=None),
    )
    running = launch(
        settings,
        "127.0.0.1",
        free_port(),
        load=lambda: Assistant.from_settings(settings, embedder=real_embedder),
        work_dir=tmp_path / "app",
    )
    try:
        yield running.url
    finally:
        running.close()


def _save(page: Any, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    folder = os.environ.get("HANDBOOK_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / name)
    return shot


def test_a_flow_document_citation_shows_its_located_section(
    formats_app: str, playwright_api: Any, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(formats_app)
            question = page.locator("#hb-question textarea")
            question.fill("How is a kitchen knife issued to a prisoner worker?")
            question.press("Enter")

            card = page.locator("#hb-sources .hb-card").first
            expect(card).to_be_visible(timeout=ANSWER_WAIT_MS)
            head = card.locator(".hb-card-head").inner_text()
            # "[1] knives-word, 1. Knife control, 1.2, ¶ 4": section, numbered unit and paragraph, no page.
            found = re.search(r"^\[1\] (knives-[a-z]+), (\d\. Knife control), (\d\.2), \u00b6 4$", head)
            assert found, head
            section = found.group(2)
            expect(card.locator("mark").first).to_be_visible()
            expect(card.locator("a")).to_have_count(0)  # no PDF to open
            expect(page.locator("#hb-chat")).to_contain_text(head.removeprefix("[1] "))

            page.locator("#hb-show").click()
            view = page.locator("#hb-page-text .hb-section")
            expect(view).to_be_visible(timeout=60_000)
            expect(view.locator("h4")).to_have_text(head)
            expect(view.locator(".hb-section-heading")).to_have_text(section)
            cited = view.locator(".hb-para.hb-cited")
            expect(cited).to_have_count(1)
            expect(cited).to_have_attribute("data-paragraph", "4")
            expect(cited.locator("mark")).to_contain_text("issued to a named prisoner worker only")
            # The rest of the section is shown around it (paragraph 3 before, 5 after), unmarked.
            expect(view.locator('.hb-para[data-paragraph="3"]')).to_contain_text("shadow board")
            expect(view.locator('.hb-para[data-paragraph="5"]')).to_be_visible()
            expect(page.locator("#hb-page img")).to_have_count(0)  # no page image for a flow document
            expect(page.locator("#hb-page")).to_be_hidden()  # nor its empty box
            view.scroll_into_view_if_needed()
            shot = _save(page, tmp_path, "app-browser-section.png")
            assert shot.stat().st_size > 10_000
            assert errors == []
        finally:
            browser.close()
