"""The client of the app's `/ask` API: server-sent events."""

from __future__ import annotations

import pytest

from evals.bench.http_api import parse_sse


@pytest.mark.unit
def test_server_sent_events_are_parsed() -> None:
    body = 'event: heartbeat\ndata: null\n\nevent: complete\ndata: [{"answer": "yes"}]\n\n'
    assert parse_sse(body) == [("heartbeat", "null"), ("complete", '[{"answer": "yes"}]')]
    assert parse_sse('event: error\ndata: "boom"') == [("error", '"boom"')]
