"""Issue 26 (security round 3), the web app's rows: login bursts, per-client limits, gradio's temp folder, open routes.

Row 1: 20 logins sent at once were all checked. Row 2: the question limit was per self-declared
session, so the REST API without (or with a new) session hash was never limited. Row 13: serve made
`$TMPDIR/gradio/vibe_edit_history` in the shared /tmp. Row 15: /openapi.json, the heartbeat, cancel
and reset answered without login. A small generated index with the fake embedder: no model loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from app_testing import REPO_ROOT, free_port
from pdf_factory import make_pdf, sample_rules_pages

pytestmark = pytest.mark.integration

PASSWORD = "pa:ss"
USERS = ("trainer", "reader", "writer")  # one per test that counts a per-user limit


def _loader(index: Path) -> Callable[[], Any]:
    def load() -> Any:
        from fakes import FakeEmbedder

        from assistant.answer.decision import AnswerabilityPolicy
        from assistant.chain import Assistant
        from assistant.retrieval import HybridRetriever
        from ingest.index_store import IndexSnapshot

        retriever = HybridRetriever.build(IndexSnapshot.open(index), FakeEmbedder())  # type: ignore[arg-type]
        return Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))

    return load


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fakes import FakeEmbedder

    from ingest.pipeline import Ingestor

    root = tmp_path_factory.mktemp("round3")
    make_pdf(root / "pdf" / "rules.pdf", sample_rules_pages())
    Ingestor(root / "index", FakeEmbedder(), progress=False).run([root / "pdf"])  # type: ignore[arg-type]
    return root / "index"


def _launch(index: Path, work: Path, **app_settings: Any) -> Any:
    from assistant.app.server import launch
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    auth = ",".join(f"{user}:{PASSWORD}" for user in USERS)
    settings = Settings(
        ingest=IngestSettings(index_dir=index),
        app=AppSettings(feedback_db=work / "fb.sqlite3", auth=auth, auth_file=None, **app_settings),
    )
    return launch(settings, "127.0.0.1", free_port(), load=_loader(index), warm=False, follow_index_s=0.0)


@pytest.fixture(scope="module")
def app(index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    running = _launch(index, tmp_path_factory.mktemp("round3-app"), questions_per_minute=3, feedback_per_minute=2)
    try:
        yield running
    finally:
        running.close()


@contextlib.contextmanager
def _login(url: str, user: str = "trainer") -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/login", data={"username": user, "password": PASSWORD}).status_code == 200
        yield client


# ---- row 1: login attempts are counted before the password is checked -----------------------------


def _asgi_burst(attempts: int, right: int) -> list[int]:
    """`attempts` logins sent at once through `RequestGuard`, the `right`-th with the right password.

    The login behind the guard holds every request it gets until each of the burst has either
    reached it or been refused: without counting at admission, every attempt reaches it.
    """
    from assistant.app.guard import LoginThrottle, RequestGuard

    async def burst() -> list[int]:
        release = asyncio.Event()
        seen = {"checked": 0, "refused": 0}

        def settle() -> None:
            if seen["checked"] + seen["refused"] == attempts:
                release.set()

        async def login(scope: Any, receive: Any, send: Any) -> None:
            body = (await receive())["body"]
            seen["checked"] += 1
            settle()
            await release.wait()
            status = 200 if b"password=right" in body else 400
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        guard = RequestGuard(login, max_body_bytes=1000, throttle=LoginThrottle(free_attempts=5))

        async def one(n: int) -> int:
            body = f"username=trainer&password={'right' if n == right else f'guess{n}'}".encode()
            scope = {
                "type": "http",
                "method": "POST",
                "path": "/login",
                "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
                "client": ("10.0.0.7", 40000 + n),
            }
            messages = [{"type": "http.request", "body": body, "more_body": False}]
            status = 0

            async def receive() -> dict[str, Any]:
                return messages.pop() if messages else {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if status == 429:
                        seen["refused"] += 1
                        settle()

            await guard(scope, receive, send)  # type: ignore[arg-type]
            return status

        return await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(1, attempts + 1))), 120)

    return asyncio.run(burst())


def test_a_burst_of_parallel_logins_is_counted_before_any_password_is_checked(
    index: Path, tmp_path: Path
) -> None:
    import httpx

    # 20 at the same instant from one address, the right password 18th: 5 checked, 15 refused.
    statuses = _asgi_burst(20, right=18)
    assert statuses.count(400) == 5 and statuses.count(429) == 15, statuses
    assert statuses[17] == 429  # the right password came too late: not logged in

    # The same against the live server: 20 threads released by a barrier.
    running = _launch(index, tmp_path)
    try:
        barrier = threading.Barrier(20)
        codes: list[int] = []

        def guess(n: int) -> None:
            with httpx.Client(base_url=running.url, timeout=60) as client:
                barrier.wait()
                codes.append(client.post("/login", data={"username": "trainer", "password": f"g{n}"}).status_code)

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(codes) == [400] * 5 + [429] * 15, codes
        with httpx.Client(base_url=running.url, timeout=60) as late:
            assert late.post("/login", data={"username": "trainer", "password": PASSWORD}).status_code == 429
    finally:
        running.close()


# ---- row 2: limits per client, for the page and the REST API alike --------------------------------


def _rest_ask(client: Any, question: str, session_hash: str | None) -> str:
    """One question through `POST /gradio_api/call/ask`: "answered", or the error's message."""
    body: dict[str, Any] = {"data": [question]}
    if session_hash is not None:
        body["session_hash"] = session_hash
    posted = client.post("/gradio_api/call/ask", json=body)
    assert posted.status_code == 200, posted.text
    stream = client.get(f"/gradio_api/call/ask/{posted.json()['event_id']}").text
    events = re.findall(r"event: (\w+)\ndata: (.*)", stream)
    final = next((e for e in events if e[0] in ("complete", "error")), None)
    assert final is not None, stream
    return "answered" if final[0] == "complete" else str(json.loads(final[1]))


def test_rest_api_questions_are_limited_per_client_whatever_the_session_hash(app: Any) -> None:
    from gradio_client import Client

    question = "How shall prisoners be treated?"
    with _login(app.url, "reader") as first, _login(app.url, "reader") as second:
        results = [_rest_ask(first, question, None) for _ in range(2)]  # no session hash
        results += [_rest_ask(second, question, uuid.uuid4().hex) for _ in range(3)]  # a new one each time
    assert results[:3] == ["answered"] * 3, results
    assert all("too many questions: at most 3 a minute" in r for r in results[3:]), results

    # Feedback likewise: two page sessions of one user share its limit.
    one = Client(app.url, auth=("writer", PASSWORD), verbose=False)
    one.predict(question, [], api_name="/chat")
    statuses = [one.predict("up", "", api_name="/feedback")[0] for _ in range(2)]
    other = Client(app.url, auth=("writer", PASSWORD), verbose=False)
    other.predict(question, [], api_name="/chat")
    statuses.append(other.predict("up", "", api_name="/feedback")[0])
    assert statuses[:2] == ["Thank you, your feedback was stored."] * 2, statuses
    assert statuses[2].startswith("Not stored: too many feedback entries: at most 2 a minute"), statuses


# ---- row 13: gradio's folders are in the private work folder ---------------------------------------

_SERVE = """
import sys
from pathlib import Path

import httpx

from assistant.app.server import launch
from assistant.settings import AppSettings, Settings
from ingest.settings import IngestSettings

index, db, port = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
settings = Settings(ingest=IngestSettings(index_dir=index), app=AppSettings(feedback_db=db, auth="", auth_file=None))
running = launch(settings, "127.0.0.1", port, warm=False)
print("page", httpx.get(running.url, timeout=60).status_code)
print("work", running.work_dir)
running.close()
"""


def test_serve_starts_when_another_user_owns_the_shared_gradio_folder(index: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-tmp"
    planted = shared / "gradio" / "vibe_edit_history"
    planted.parent.mkdir(parents=True)
    planted.write_text("made by another user")
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
    env.update({"TMPDIR": str(shared), "PYTHONPATH": str(REPO_ROOT)})
    result = subprocess.run(
        [sys.executable, "-c", _SERVE, str(index), str(tmp_path / "fb.sqlite3"), str(free_port())],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "page 200" in result.stdout
    work = Path(result.stdout.split("work ", 1)[1].split()[0])
    assert work.parent == shared and work.name.startswith("handbook-app-")  # the private folder, mode 700
    assert planted.read_text() == "made by another user"  # gradio touched nothing in the shared folder
    assert sorted(p.name for p in (shared / "gradio").iterdir()) == ["vibe_edit_history"]
    assert not work.exists()  # removed on close


# ---- row 15: with a login, only the login page answers without one --------------------------------

CLOSED = [
    ("GET", "/openapi.json"),
    ("GET", "/gradio_api/heartbeat/0123456789"),
    ("POST", "/gradio_api/cancel"),
    ("POST", "/gradio_api/reset"),
    ("GET", "/gradio_api/token"),
    ("GET", "/gradio_api/user"),
    ("GET", "/gradio_api/app_id"),
    ("GET", "/gradio_api/runs"),
    ("GET", "/monitoring/anything"),
    ("GET", "/gradio_api/vibe-code"),
    ("POST", "/gradio_api/queue/join"),
    ("GET", "/config"),
    ("GET", "/pdf/rules"),
]


def test_without_login_only_the_login_page_answers(app: Any) -> None:
    import httpx

    def status(client: Any, method: str, path: str) -> int:
        with client.stream(method, path) as response:  # the status only: the heartbeat streams for ever
            return int(response.status_code)

    with httpx.Client(base_url=app.url, timeout=60) as anonymous:
        opened = {f"{m} {p}": status(anonymous, m, p) for m, p in CLOSED}
        assert all(code == 401 for code in opened.values()), opened
        # The login page still works: the page, everything it loads, and the form's POST.
        page = anonymous.get("/")
        assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")
        loads = [*re.findall(r'(?:src|href)="\.?(/assets/[^"]+)"', page.text), "/theme.css", "/favicon.ico"]
        assert len(loads) >= 3 and all(anonymous.get(path).status_code == 200 for path in loads), loads
        assert anonymous.post("/login", data={"username": "trainer", "password": PASSWORD}).status_code == 200
        signed_in = {f"{m} {p}": status(anonymous, m, p) for m, p in CLOSED}
        assert all(code != 401 for code in signed_in.values()), signed_in
