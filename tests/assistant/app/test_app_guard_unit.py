"""The request guard's parts on their own: login back-off, rate limits, body limit, no uploads, TLS options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request  # at module level: the handlers' string annotations are resolved here

from assistant.app.guard import LoginThrottle, RateLimited, RateLimiter, RequestGuard

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_back_off_doubles_after_five_failures_and_forgets_later() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=5, base_delay_s=1.0, max_delay_s=8.0, forget_after_s=900.0, clock=clock)
    for _ in range(4):
        throttle.failed("addr:1", "user:a")
    assert throttle.retry_after("addr:1", "user:a") == 0
    throttle.failed("addr:1", "user:a")
    assert throttle.retry_after("addr:1") == pytest.approx(1.0)
    assert throttle.retry_after("addr:2", "user:a") == pytest.approx(1.0)  # the same user from elsewhere
    assert throttle.retry_after("addr:2", "user:b") == 0
    clock.now += 1.5
    assert throttle.retry_after("addr:1", "user:a") == 0
    delays = []
    for _ in range(4):
        throttle.failed("addr:1", "user:a")
        delays.append(throttle.retry_after("addr:1"))
    assert delays == pytest.approx([2.0, 4.0, 8.0, 8.0])  # doubling, up to the cap
    throttle.succeeded("user:a")
    assert throttle.retry_after("user:a") == 0 and throttle.retry_after("addr:1") > 0
    clock.now += 901
    assert throttle.retry_after("addr:1") == 0
    throttle.failed("addr:1")
    assert throttle.retry_after("addr:1") == 0  # counting starts afresh


def test_rate_limiter_counts_per_key_in_a_sliding_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(3, "questions", clock=clock)
    for _ in range(3):
        limiter.check("s1")
    with pytest.raises(RateLimited, match=r"^too many questions: at most 3 a minute; try again in 60 s$"):
        limiter.check("s1")
    limiter.check("s2")  # another session
    clock.now += 45
    with pytest.raises(RateLimited, match="try again in 15 s"):
        limiter.check("s1")
    clock.now += 15
    limiter.check("s1")
    RateLimiter(0, "questions", clock=clock).check("s1")  # 0: no limit


@pytest.fixture
def guarded() -> Iterator[Any]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/login")
    async def login(request: Request) -> Any:
        from fastapi.responses import JSONResponse

        form = await request.form()
        ok = form.get("password") == "right"
        return JSONResponse({"success": ok}, status_code=200 if ok else 400)

    app.add_middleware(RequestGuard, max_body_bytes=1000, throttle=LoginThrottle(free_attempts=2))  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield client


def test_body_over_the_limit_is_refused_declared_or_streamed(guarded: Any) -> None:
    assert guarded.post("/echo", content=b"x" * 1000).json() == {"size": 1000}
    response = guarded.post("/echo", content=b"x" * 1001)
    assert response.status_code == 413
    assert response.json()["detail"] == "request body too large: 1001 bytes (the limit is 1000 bytes)"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(50):
            yield b"y" * 100

    streamed = guarded.post("/echo", content=chunks())
    assert streamed.status_code == 413 and "too large" in streamed.json()["detail"]
    assert guarded.post("/echo", content=b"ok").json() == {"size": 2}


def test_uploads_are_refused(guarded: Any) -> None:
    for path in ("/gradio_api/upload", "/gradio_api/upload/", "/gradio_api/upload_progress"):
        response = guarded.post(path, files={"files": ("a.txt", b"hello")})
        assert response.status_code == 403 and "uploads are disabled" in response.json()["detail"], path


def test_login_is_refused_during_the_lockout_even_with_the_right_password(
    guarded: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secret_in_user_field = "Tr0ub4dor&3"
    with caplog.at_level("WARNING", logger="assistant.app.guard"):
        for _ in range(2):
            assert guarded.post("/login", data={"username": secret_in_user_field, "password": "x"}).status_code == 400
        refused = guarded.post("/login", data={"username": "trainer", "password": "right"})
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("too many failed logins; try again in ")
    assert refused.headers["retry-after"] == "1"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "failed login from testclient (2 failed attempts)" in logged
    assert secret_in_user_field not in logged and "trainer" not in logged


def test_tls_files_are_passed_to_gradio(tmp_path: Path) -> None:
    from assistant.app.server import _launch_blocks
    from assistant.settings import AppSettings

    class FakeBlocks:
        def launch(self, **kwargs: Any) -> Any:
            self.kwargs = kwargs
            return None, "https://127.0.0.1:1", None

    blocks = FakeBlocks()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    _launch_blocks(blocks, "0.0.0.0", 1, [], True, AppSettings(), ssl_certfile=cert, ssl_keyfile=key)
    assert blocks.kwargs["ssl_certfile"] == str(cert) and blocks.kwargs["ssl_keyfile"] == str(key)
    assert blocks.kwargs["share"] is False
    middleware = blocks.kwargs["app_kwargs"]["middleware"]
    assert [m.cls for m in middleware] == [RequestGuard]
    _launch_blocks(blocks, "127.0.0.1", 1, [], True, AppSettings())
    assert "ssl_certfile" not in blocks.kwargs


@pytest.mark.parametrize(
    ("host", "env", "warning"),
    [
        ("0.0.0.0", {"HANDBOOK_AUTH": "trainer:pw"}, "passwords travel in clear"),
        ("192.168.1.5", {"HANDBOOK_AUTH": ""}, "without a login"),
        ("127.0.0.1", {"HANDBOOK_AUTH": "trainer:pw"}, None),
    ],
)
def test_serve_warns_on_a_network_address_and_passes_tls_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, env: dict[str, str], warning: str | None
) -> None:
    import time

    from typer.testing import CliRunner

    import assistant.app.server as server
    from assistant.cli import app

    calls: list[dict[str, Any]] = []

    class Running:
        url = "http://x"
        login = True

        def close(self) -> None:
            calls.append({"closed": True})

    def fake_launch(settings: Any, host: str, port: int, **kwargs: Any) -> Running:
        calls.append({"host": host, **kwargs})
        return Running()

    def stop(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "launch", fake_launch)
    monkeypatch.setattr(server, "check_port", lambda host, port: None)  # 192.168.1.5 is no address of this machine
    monkeypatch.setattr(time, "sleep", stop)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HANDBOOK_AUTH_FILE", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", host, "--port", "1"])
    assert result.exit_code == 0, result.output
    if warning is None:
        assert "warning" not in result.stderr
    else:
        assert f"warning: --host {host}" in result.stderr and warning in result.stderr

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("c")
    key.write_text("k")
    calls.clear()
    result = CliRunner().invoke(
        app, ["serve", "--host", host, "--port", "1", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    )
    assert result.exit_code == 0, result.output
    assert calls[0]["ssl_certfile"] == cert and calls[0]["ssl_keyfile"] == key
    assert "passwords travel in clear" not in result.stderr
    only_cert = CliRunner().invoke(app, ["serve", "--host", host, "--ssl-certfile", str(cert)])
    assert only_cert.exit_code == 2 and "go together" in only_cert.stderr


def test_the_user_name_is_read_from_urlencoded_and_multipart_forms() -> None:
    import asyncio

    import httpx

    from assistant.app.guard import login_user

    for request in (
        httpx.Request("POST", "http://x/login", data={"username": " trainer ", "password": "p"}),
        httpx.Request("POST", "http://x/login", data={"username": "trainer"}, files={"password": (None, b"p")}),
    ):
        body = request.read()
        scope = {"type": "http", "method": "POST", "path": "/login", "query_string": b""}
        scope["headers"] = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
        assert asyncio.run(login_user(scope, body)) == "trainer", request.headers["content-type"]
