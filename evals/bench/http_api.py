"""The app's HTTP `/ask` API as a client sees it: one question, answered through a server-sent-events stream."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from evals.bench.records import BenchError


def parse_sse(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a server-sent-events body (gradio's `/gradio_api/call/...` streams)."""
    events: list[tuple[str, str]] = []
    event = "message"
    data: list[str] = []
    for line in [*text.splitlines(), ""]:
        if not line:
            if data:
                events.append((event, "\n".join(data)))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return events


def ask_over_http(base_url: str, question: str, timeout: float) -> dict[str, Any]:
    """One question through the app's `/ask` API (gradio: POST the call, then read its event stream)."""
    base = base_url.rstrip("/")
    request = urllib.request.Request(
        f"{base}/gradio_api/call/ask",
        data=json.dumps({"data": [question]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{base}/gradio_api/call/ask/{event_id}", timeout=timeout) as response:
        body = response.read().decode("utf-8", errors="replace")
    for event, data in parse_sse(body):
        if event == "complete":
            payload = json.loads(data)
            return dict(payload[0] if isinstance(payload, list) else payload)
        if event == "error":
            raise BenchError(f"/ask answered with an error: {data}")
    raise BenchError(f"/ask: no answer in the event stream ({body[:200]!r})")
