"""Load benchmark: 20 concurrent chat sessions against one live app (the load tool is evals/bench/load.py).
Prints figures; asserts only that none failed."""

from __future__ import annotations

import pytest
from app_testing import LiveApp

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_twenty_concurrent_sessions(live_app: LiveApp, capsys: pytest.CaptureFixture[str]) -> None:
    from evals.bench.load import run_load

    live_app.running.warm.get(900)  # the cold start is measured elsewhere; this is answering under load
    report = run_load(live_app.url, sessions=20)
    with capsys.disabled():
        print("\n" + report.summary())
    assert report.errors == []
    assert len(report.latencies_s) == 40  # every session: a question and a follow-up
