"""Starts the app: login from settings, the assistant warmed up in the background, the PDF route.

The page is served as soon as gradio is up; the embedding model loads in a background
thread, and a question asked before it is ready waits for it (cold start to first
answer is what staff notice). Nothing is shared publicly: `share=False` always, and
the server binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import ipaddress
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import assistant  # noqa: F401  (sets the offline environment before gradio is imported)
from assistant.app.roles import Access, load_roles, split_role
from assistant.app.warm import WarmAssistant
from assistant.settings import AppSettings, Settings
from ingest.index_store import IndexMeta, current_generation_dir

if TYPE_CHECKING:
    from assistant.chain import Assistant

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


class AuthConfigError(ValueError):
    """Login settings that cannot be used; the message names the setting, never a password."""


def parse_auth(text: str, source: str = "HANDBOOK_AUTH", separator: str = ",") -> list[tuple[str, str]]:
    """`user:password[:role]` entries split by `separator`; blank entries and `#` comments are skipped.

    The password is everything after the first ':' and before a final `:staff`, `:trainer`, `:evaluator`
    or `:admin` (the account's role, `assistant.app.roles`), so it may itself contain ':'.
    """
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.split(separator), 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        user, colon, password = entry.partition(":")
        user = user.strip()
        password = split_role(password)[0]
        where = f"{source}: entry {number}"
        if not colon:
            raise AuthConfigError(f"{where} has no ':' (expected user:password)")
        if not user:
            raise AuthConfigError(f"{where} has an empty user name")
        if not password:
            raise AuthConfigError(f"{where} (user {user!r}) has an empty password")
        if user in seen:
            raise AuthConfigError(f"{where}: user {user!r} is listed twice")
        seen.add(user)
        pairs.append((user, password))
    return pairs


def load_auth(settings: AppSettings) -> list[tuple[str, str]]:
    """Accounts from HANDBOOK_AUTH and HANDBOOK_AUTH_FILE together; empty means no login."""
    pairs = parse_auth(settings.auth, "HANDBOOK_AUTH") if settings.auth.strip() else []
    if settings.auth_file is not None:
        try:
            text = Path(settings.auth_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise AuthConfigError(f"HANDBOOK_AUTH_FILE: cannot read {settings.auth_file}: {exc.strerror}") from None
        pairs += parse_auth(text, f"HANDBOOK_AUTH_FILE {settings.auth_file}", separator="\n")
    users = [u for u, _ in pairs]
    duplicates = sorted({u for u in users if users.count(u) > 1})
    if duplicates:
        raise AuthConfigError(f"HANDBOOK_AUTH and HANDBOOK_AUTH_FILE both list user(s) {', '.join(duplicates)}")
    return pairs


def auth_checker(pairs: list[tuple[str, str]]) -> Callable[[str, str], bool]:
    """A login check that compares in constant time and logs neither the password nor the user name."""
    expected = {user: hashlib.sha256(password.encode()).digest() for user, password in pairs}

    def check(user: str, password: str) -> bool:
        # Failures are logged by the login throttle (assistant.app.guard) with the client address and a
        # count, never the user name: a password typed into the user field must not reach the log.
        digest = hashlib.sha256((password or "").encode()).digest()
        return hmac.compare_digest(expected.get(user, b"\0" * 32), digest) and user in expected

    return check


def read_documents(index_dir: Path) -> IndexMeta:
    """The index's metadata, read without loading chunks or the model (for the page's filters)."""
    return IndexMeta.model_validate_json((current_generation_dir(index_dir) / "meta.json").read_text())


def documents_listing(meta: IndexMeta) -> list[dict[str, Any]]:
    """The same records as `Assistant.documents()`, available before the assistant has loaded."""
    return [
        {"id": d.id, "title": d.title, "short_title": d.short_title or d.title, "kind": d.kind, "pages": d.pages}
        for d in meta.documents.values()
    ]


@dataclass
class RunningApp:
    """A launched app: its URL, the gradio Blocks and the warm-up holder.

    `work_dir` holds page images and downloads; when the app made it (the default), `close()` removes it.
    """

    url: str
    blocks: Any
    warm: WarmAssistant
    fastapi_app: Any
    login: bool = False
    work_dir: Path | None = None
    owns_work_dir: bool = False

    def close(self) -> None:
        self.blocks.close()
        if self.owns_work_dir and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def is_logged_in(app: Any, request: Any) -> bool:
    """THE login check for every custom route (the `/pdf` route): the same session as gradio's own pages.

    gradio 6 keeps the session token in the cookie `access-token-<cookie_id>` (or the
    `-unsecure-` variant over plain http) and maps it to the user in `app.tokens`; with no
    login configured (`app.auth` unset) everyone is let in. If a gradio upgrade changes this,
    `tests/assistant/app/test_app_guard.py` fails: it logs in for real and needs 401 without
    the session and 200 with it.
    """
    if not getattr(app, "auth", None):
        return True
    cookie_id = app.cookie_id
    token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
        f"access-token-unsecure-{cookie_id}"
    )
    return token is not None and app.tokens.get(token) is not None


def login_guard(app: Any) -> Callable[[Any], bool]:
    """`is_logged_in` bound to one app, as a route's `is_allowed(request)`."""
    return lambda request: is_logged_in(app, request)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Raises OSError when this machine cannot listen on `host`:`port` (the port is taken, or the host is
    not one of its addresses).

    Asked before the models load and gradio starts, so that a taken port is reported at once rather than
    after the app's start-up (seconds; minutes with `serve --ingest`). The server's own bind still decides.
    """
    import socket

    if port == 0:  # any free port
        return
    family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        probe.bind(address)


def private_work_dir() -> Path:
    """A folder only this user can read (mode 700), removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix="handbook-app-"))
    path.chmod(0o700)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def use_private_gradio_dir(folder: Path) -> None:
    """Points gradio's temporary and cache folder (`GRADIO_TEMP_DIR`) at `folder`, in this process.

    By default gradio uses the shared `$TMPDIR/gradio`: the copies of every file it serves, and
    (gradio 6.31) `vibe_edit_history`, which `launch` creates, so another user who made that path a
    file, or a folder of theirs, stopped serve. Modules imported before this read the variable at
    import (`DEFAULT_TEMP_DIR` in gradio.routes, gradio.route_utils, ...): those constants are set too.
    """
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    for name, module in list(sys.modules.items()):
        if name.startswith("gradio.") and isinstance(getattr(module, "DEFAULT_TEMP_DIR", None), str):
            setattr(module, "DEFAULT_TEMP_DIR", str(folder))  # noqa: B010  (a module's constant, not an attribute)


def launch(
    settings: Settings | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    load: Callable[[], Assistant] | None = None,
    warm: bool = True,
    work_dir: Path | None = None,
    answer_concurrency: int = 2,
    quiet: bool = True,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    follow_index_s: float = 1.0,
) -> RunningApp:
    """Starts the server without blocking; `RunningApp.close()` stops it.

    `load` builds the assistant (default: `Assistant.from_settings(settings)`), e.g. one
    that reuses an embedder the caller already loaded; it is called again when an ingest
    switches the index to a new generation. Page images and downloads go to `work_dir`
    (default: a private temporary folder, removed on close and at exit).
    """
    settings = settings or Settings()
    meta = read_documents(settings.ingest.index_dir)  # fails fast, before gradio, when there is no index
    check_port(host, port)
    auth_pairs = load_auth(settings.app)

    def default_load() -> Assistant:
        from assistant.chain import Assistant

        return Assistant.from_settings(settings)

    def default_reload(previous: Assistant) -> Assistant:
        from assistant.chain import Assistant

        # Reuse the loaded models (seconds saved on the first question after an ingest); MiniLM only
        # when the new generation was embedded with the same one.
        old = previous.snapshot.meta
        same_model = read_documents(settings.ingest.index_dir).embedded_by(old.model_path, old.model_identity)
        loaded = previous.retriever.encoders()
        if not same_model:
            loaded.pop("minilm", None)
        return Assistant.from_settings(settings, encoders=loaded)

    warm_assistant = WarmAssistant(
        load or default_load,
        warm=warm,
        index_dir=settings.ingest.index_dir,
        reload=None if load is not None else default_reload,
        check_interval_s=follow_index_s,
    ).start()

    owns_work = work_dir is None
    work = private_work_dir() if work_dir is None else Path(work_dir)
    # Before gradio is imported (or, if it was, before it makes its folders): nothing in the shared /tmp.
    use_private_gradio_dir(work / "gradio")

    from assistant.app.feedback import FeedbackStore
    from assistant.app.guard import RateLimiter
    from assistant.app.pdf_pages import PageRenderer, SourceDocuments, add_pdf_route
    from assistant.app.ui import HandbookApp

    sources = SourceDocuments(meta.documents, settings.ingest.corpus_dir)
    handbook_app = HandbookApp(
        warm_assistant,
        documents_listing(meta),
        FeedbackStore(settings.app.feedback_db),
        sources,
        PageRenderer(work / "pages"),
        work / "exports",
        answer_concurrency=answer_concurrency,
        question_limit=RateLimiter(settings.app.questions_per_minute, "questions"),
        feedback_limit=RateLimiter(settings.app.feedback_per_minute, "feedback entries"),
        **_review_parts(settings, warm_assistant, work / "exports", bool(auth_pairs)),
    )
    warm_assistant.on_change(handbook_app.index_changed)
    blocks = handbook_app.build()
    blocks.queue(default_concurrency_limit=4)
    from gradio.exceptions import ServerFailedToStartError

    try:
        fastapi_app, url, _ = _launch_blocks(
            blocks,
            host,
            port,
            auth_pairs,
            quiet,
            settings.app,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            i18n=handbook_app.i18n,
        )
    except ServerFailedToStartError as exc:  # reported like a taken port: the caller prints one line
        raise OSError(str(exc)) from exc
    add_pdf_route(fastapi_app, sources, login_guard(fastapi_app))
    return RunningApp(
        url=url,
        blocks=blocks,
        warm=warm_assistant,
        fastapi_app=fastapi_app,
        login=bool(auth_pairs),
        work_dir=work,
        owns_work_dir=owns_work,
    )


def _review_parts(settings: Settings, warm: WarmAssistant, export_dir: Path, login: bool) -> dict[str, Any]:
    """The roles, the question log and the evaluators' tabs (review queue, gap report) of HandbookApp."""
    import sqlite3

    from assistant.app.feedback import FeedbackStore
    from assistant.app.review_tab import GapsTab, ReviewTab
    from assistant.review.question_log import QuestionLog
    from assistant.review.queue import ReviewQueue

    access = Access(load_roles(settings.app) if login else None)
    try:
        question_log = QuestionLog.from_settings(settings)
    except (OSError, sqlite3.Error) as exc:  # the app still answers; the operator sees why nothing is logged
        log.warning("question log %s cannot be opened (%s): answers are not logged", settings.review.question_log, exc)
        question_log = None
    feedback_db = settings.app.feedback_db

    def current() -> Assistant:
        return warm.get(900.0)  # a reviewer who opens the tab during warm-up waits for it

    def page_text(doc: str, page: int) -> str | None:
        return current().snapshot.page_text(doc, page)

    queue = ReviewQueue(
        settings.review.review_path(feedback_db),
        settings.review.glossary_suggestions_path(feedback_db),
        feedback=FeedbackStore(feedback_db),
        question_log=question_log,
        page_text=page_text,
    )
    tabs = [ReviewTab(queue, access, current), GapsTab(question_log, access, current, export_dir)]
    return {"access": access, "question_log": question_log, "role_tabs": tabs}


def _launch_blocks(
    blocks: Any,
    host: str,
    port: int,
    auth_pairs: list[tuple[str, str]],
    quiet: bool,
    settings: AppSettings,
    *,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    i18n: Any = None,
) -> Any:
    import gradio as gr
    from starlette.middleware import Middleware

    from assistant.app.guard import LoginThrottle, RequestGuard
    from assistant.app.ui import CSS

    throttle = LoginThrottle(settings.login_free_attempts, max_delay_s=settings.login_max_lockout_s)
    guard = Middleware(
        RequestGuard,  # type: ignore[arg-type]
        max_body_bytes=settings.max_request_bytes,
        throttle=throttle,
        # With a login, only the login page answers without one (gradio leaves /openapi.json, the
        # heartbeat, cancel, reset and others open).
        logged_in=is_logged_in if auth_pairs else None,
    )
    tls: dict[str, Any] = {}
    if ssl_certfile is not None or ssl_keyfile is not None:
        # ssl_verify=False concerns only gradio's own start-up request to itself (a certificate made
        # out to a host name does not match 127.0.0.1); browsers still verify the certificate.
        tls = {"ssl_certfile": str(ssl_certfile), "ssl_keyfile": str(ssl_keyfile), "ssl_verify": False}
    return blocks.launch(
        i18n=i18n,  # the page's labels in the browser's language (English, Russian, Kazakh)
        server_name=host,
        server_port=port,
        share=False,  # never a public gradio.live tunnel, whatever GRADIO_SHARE says
        auth=auth_checker(auth_pairs) if auth_pairs else None,
        auth_message=(
            "Handbook Assistant: sign in with the account your administrator gave you. "
            f"After {settings.login_free_attempts} failed attempts, sign-ins are refused for a while."
        ),
        prevent_thread_lock=True,
        quiet=quiet,
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        # gradio's check that "localhost is accessible" (5 HEAD requests of the page, 3 s timeout)
        # fails the whole start when the page is slow to render, as it is while the model loads in
        # the background on a busy machine and a request is already waiting (measured: serve exited
        # with "a shareable link must be created"). The server has already answered gradio's own
        # startup-events request on this address, so the check adds nothing here.
        _frontend=False,
        pwa=False,
        footer_links=["api", "settings"],
        max_file_size="1kb",  # no upload field; RequestGuard refuses the upload route anyway
        app_kwargs={"docs_url": None, "redoc_url": None, "middleware": [guard]},
        theme=gr.themes.Default(),
        css=CSS,
        **tls,
    )
