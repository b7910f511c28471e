"""Bounds on what a client may send: login guessing, request size, uploads, questions and feedback per minute.

`RequestGuard` is ASGI middleware placed in front of gradio's routes. It works on the raw
request, before FastAPI parses a body, so a 100 MB POST is refused from its Content-Length
(or after the first bytes over the limit when it streams without one) and never held in memory.
With a login configured it also answers 401 to every route but the login page's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATHS = ("/gradio_api/upload", "/gradio_api/upload_progress")
# With a login configured, the routes that answer without one: gradio's login page, what it loads, its form's
# POST and signing out, and gradio's own request to itself while it starts (it starts the queue, once).
LOGIN_PAGE_PATHS = frozenset(
    {
        *("/", "/login", "/logout"),
        *("/favicon.ico", "/theme.css", "/gradio_api/theme.css", "/manifest.json", "/robots.txt"),
        "/gradio_api/startup-events",
    }
)
LOGIN_PAGE_PREFIXES = ("/assets/", "/static/", "/svelte/")  # the page's scripts, styles and images


class RateLimited(Exception):
    """Too many requests of one kind; the message says how many are allowed and when to try again."""


@dataclass(frozen=True)
class LoginAttempt:
    """What `LoginThrottle.reserve` decided: refused for `wait_s` seconds, or admitted (`wait_s` 0)
    as the `count`-th unsuccessful attempt under its keys."""

    wait_s: float
    count: int = 0

    @property
    def admitted(self) -> bool:
        return self.wait_s <= 0


@dataclass
class LoginThrottle:
    """Exponential back-off after failed logins, per key (a client address, a user).

    After `free_attempts` failures, every attempt under that key, right password included, is
    refused for `base_delay_s * 2 ** (failures - free_attempts)` seconds (at most `max_delay_s`)
    from the last failure. A key with no failure for `forget_after_s` starts afresh.

    `reserve` checks the lockout and counts the attempt in one critical section, before the
    password is checked: of 20 attempts sent at the same instant, `free_attempts` are checked
    and the rest refused, whatever threads or tasks they run on.
    """

    free_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    forget_after_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def retry_after(self, *keys: str) -> float:
        """Seconds until any of `keys` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [self._locked_until(key, now) - now for key in keys]
        return max([0.0, *waits])

    def reserve(self, *keys: str) -> LoginAttempt:
        """Admits one attempt under all `keys`, counted as failed until `release`d, or refuses it.

        The check and the count are one step under the lock: an attempt still being checked
        already counts against the attempts that arrive beside it.
        """
        now = self.clock()
        with self._lock:
            wait = max([0.0, *(self._locked_until(key, now) - now for key in keys)])
            if wait > 0:
                return LoginAttempt(wait)
            count = self._count(keys, now)
        return LoginAttempt(0.0, count)

    def release(self, *keys: str) -> None:
        """Takes back one reserved attempt under each key (the password was right, or none was checked)."""
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                if count > 1:
                    self._failures[key] = (count - 1, last)
                else:
                    self._failures.pop(key, None)

    def failed(self, *keys: str) -> int:
        """Records a failed attempt under every key; returns the largest failure count."""
        now = self.clock()
        with self._lock:
            return self._count(keys, now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _count(self, keys: tuple[str, ...], now: float) -> int:
        counts = []
        for key in keys:
            count, last = self._failures.get(key, (0, now))
            count = 1 if now - last > self.forget_after_s else count + 1
            self._failures[key] = (count, now)
            counts.append(count)
        self._forget_old(now)
        return max(counts, default=0)

    def _locked_until(self, key: str, now: float) -> float:
        count, last = self._failures.get(key, (0, now))
        if count < self.free_attempts or now - last > self.forget_after_s:
            return now
        return last + min(self.max_delay_s, self.base_delay_s * 2 ** (count - self.free_attempts))

    def _forget_old(self, now: float) -> None:
        if len(self._failures) > 10_000:  # a guessing run from many addresses must not grow memory for ever
            for key in [k for k, (_, last) in self._failures.items() if now - last > self.forget_after_s]:
                del self._failures[key]


@dataclass
class RateLimiter:
    """At most `per_minute` events per key in any 60 s; `check` records one or raises `RateLimited`."""

    per_minute: int
    what: str  # "questions", "feedback entries"
    clock: Callable[[], float] = time.monotonic
    window_s: float = 60.0
    _events: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, key: str) -> None:
        if self.per_minute <= 0:  # 0: no limit
            return
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= self.window_s:
                events.popleft()
            if len(events) >= self.per_minute:
                wait = math.ceil(self.window_s - (now - events[0]))
                raise RateLimited(f"too many {self.what}: at most {self.per_minute} a minute; try again in {wait} s")
            events.append(now)
            if len(self._events) > 10_000:
                for stale in [k for k, v in self._events.items() if not v or now - v[-1] >= self.window_s]:
                    del self._events[stale]


def client_key(address: str | None, user: str | None = None) -> str:
    """Whom a rate limit counts: the signed-in user, else the client address; never a client-chosen value
    (a session hash is picked by the client, so a new one per request would reset the count)."""
    who = f"user:{user}" if user else f"addr:{address or 'unknown'}"
    return hashlib.sha256(who.encode()).hexdigest()[:16]


class _BodyTooLarge(Exception):
    pass


class RequestGuard:
    """ASGI middleware: body size limit, no uploads, the login throttle on `POST /login`, and with
    `logged_in` (a login configured) 401 for every route but the login page's own without a session.

    `logged_in(app, request)` is the app's session check (`assistant.app.server.is_logged_in`).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        throttle: LoginThrottle | None = None,
        logged_in: Callable[[Any, Any], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.throttle = throttle
        self.logged_in = logged_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", "")).rstrip("/")
        if any(path.endswith(p) for p in UPLOAD_PATHS):
            await _reply(send, 403, "uploads are disabled: this app takes no files")
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _reply(send, 413, self._too_large(declared))
            return
        if self.logged_in is not None and not self._public(scope) and not self._has_session(scope):
            await _reply(send, 401, "Not authenticated: sign in on the app's page first")
            return
        if self.throttle is not None and scope.get("method") == "POST" and path.endswith("/login"):
            await self._login(scope, receive, send)
            return
        await self._bounded(scope, receive, send)

    @staticmethod
    def _public(scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", "")).rstrip("/")
        if root and path.startswith(root + "/"):  # served under a prefix: the route is what follows it
            path = path[len(root) :]
        return (path.rstrip("/") or "/") in LOGIN_PAGE_PATHS or path.startswith(LOGIN_PAGE_PREFIXES)

    def _has_session(self, scope: Scope) -> bool:
        from starlette.requests import Request

        assert self.logged_in is not None
        app = scope.get("app")  # Starlette puts the (gradio) app into the scope before its middleware runs
        return app is not None and self.logged_in(app, Request(scope))

    def _too_large(self, size: int | None = None) -> str:
        got = f"{size} bytes" if size is not None else "more"
        return f"request body too large: {got} (the limit is {self.max_body_bytes} bytes)"

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, started, refused
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes and not refused:
                    refused = True
                    if not started:
                        started = True
                        await _reply(send, 413, self._too_large())
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:  # e.g. FastAPI's "error parsing the body" after our 413: the client has its answer
                return
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_BodyTooLarge):  # the 413 has been sent
            await self.app(scope, counting_receive, tracking_send)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.throttle is not None
        body = b""
        more = True
        while more:
            message = await receive()
            if message.get("type") != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _reply(send, 413, self._too_large())
                return
            more = bool(message.get("more_body"))
        user = await login_user(scope, body)
        address = (scope.get("client") or ("unknown", 0))[0]
        # Keys, not names: a password typed into the user field must not reach the log or linger readable.
        keys = (f"addr:{address}", "user:" + hashlib.sha256(user.encode()).hexdigest())
        attempt = self.throttle.reserve(*keys)  # counted before the password is checked: see LoginThrottle
        if not attempt.admitted:
            wait = attempt.wait_s
            log.warning("login refused from %s: locked out for %.0f s more", address, math.ceil(wait))
            await _reply(send, 429, f"too many failed logins; try again in {math.ceil(wait)} s", retry_after=wait)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 0

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 0))
            await send(message)

        try:
            await self.app(scope, replay, watching_send)
        finally:
            if status == 200:
                self.throttle.release(keys[0])  # the address keeps its earlier failures
                self.throttle.succeeded(keys[1])
            elif 400 <= status < 500 or status == 0:  # a wrong password (or the client left mid-check): it counts
                log.warning("failed login from %s (%d failed attempts)", address, attempt.count)
            else:  # a redirect (no login configured) or a server error: no password was judged
                self.throttle.release(*keys)


async def login_user(scope: Scope, body: bytes) -> str:
    """The `username` field of a login form, urlencoded (API clients) or multipart (gradio's login page)."""
    from starlette.requests import Request

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, replay).form()
    except Exception:  # a malformed form: gradio answers it; the attempt counts under the address
        return ""
    value = form.get("username")
    return value.strip() if isinstance(value, str) else ""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reply(send: Send, status: int, detail: str, retry_after: float | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(math.ceil(retry_after)).encode()))
    # Close the connection: the client may still be sending the body we refused to read.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
