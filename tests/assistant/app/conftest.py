"""Fixtures of the app tests: the built index and one live server shared by the client, browser and load tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

# tests/conftest.py puts tests/ first on sys.path, where tests/assistant/ (no __init__.py) would
# be taken for a namespace package `assistant`, shadowing the real one and its `assistant.app`
# (`python -m pytest` hides this by putting the checkout first). Put the checkout before it.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
for _name in [n for n in sys.modules if n == "assistant" or n.startswith("assistant.")]:
    if getattr(sys.modules[_name], "__file__", None) is None:  # a namespace stand-in from tests/
        del sys.modules[_name]


@pytest.fixture()
def playwright_api() -> Any:
    """playwright's sync API for the browser tests (skipped without Debian's chromium)."""
    from app_testing import playwright_or_skip

    return playwright_or_skip()


@pytest.fixture(scope="session")
def live_app(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app on a free 127.0.0.1 port, with its feedback database in a temporary folder."""
    from app_testing import LiveApp, free_port

    from assistant.app.server import launch
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    work = tmp_path_factory.mktemp("app")
    settings = Settings(
        ingest=IngestSettings(index_dir=built_index),
        # No question limit: limits count per client address without a login, and the load bench's 20
        # sessions all come from 127.0.0.1 (tests/assistant/app/test_security_round3.py tests the limits).
        app=AppSettings(feedback_db=work / "feedback.sqlite3", auth="", auth_file=None, questions_per_minute=0),
    )
    running = launch(settings, "127.0.0.1", free_port(), work_dir=work)
    try:
        yield LiveApp(running.url, running, settings.app.feedback_db)
    finally:
        running.close()
