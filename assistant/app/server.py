"""Starts the app: login from settings, the assistant warmed up in the background, the PDF route.

The page is served as soon as gradio is up; the embedding model loads in a background
thread, and a question asked before it is ready waits for it (cold start to first
answer is what staff notice). Nothing is shared publicly: `share=False` always, and
the server binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import assistant  # noqa: F401  (sets the offline environment before gradio is imported)
from ingest.index_store import IndexMeta, current_generation_dir
from ingest.settings import Settings

if TYPE_CHECKING:
    from assistant.chain import Assistant

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


class AuthConfigError(ValueError):
    """Login settings that cannot be used; the message names the setting, never a password."""


def parse_auth(text: str, source: str = "HANDBOOK_AUTH", separator: str = ",") -> list[tuple[str, str]]:
    """`user:password` entries split by `separator`; blank entries and `#` comments are skipped.

    The password is everything after the first ':', so it may itself contain ':'.
    """
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.split(separator), 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        user, colon, password = entry.partition(":")
        user = user.strip()
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


def load_auth(settings: Settings) -> list[tuple[str, str]]:
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
    """A login check that compares in constant time and never logs the password."""
    expected = {user: hashlib.sha256(password.encode()).digest() for user, password in pairs}

    def check(user: str, password: str) -> bool:
        digest = hashlib.sha256((password or "").encode()).digest()
        ok = hmac.compare_digest(expected.get(user, b"\0" * 32), digest) and user in expected
        if not ok:
            log.warning("failed login for user %r", user)
        return ok

    return check


class WarmAssistant:
    """Builds and warms the assistant in a background thread; `get()` waits until it is ready."""

    def __init__(self, load: Callable[[], Assistant], warm: bool = True) -> None:
        self._load = load
        self._warm = warm
        self._ready = threading.Event()
        self._assistant: Assistant | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.seconds: float | None = None

    def start(self) -> WarmAssistant:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="assistant-warm-up", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            assistant_ = self._load()
            if self._warm:
                assistant_.warm_up()
            self._assistant = assistant_
            self.seconds = time.perf_counter() - started
            log.info("assistant ready after %.1f s", self.seconds)
        except BaseException as exc:  # kept and re-raised to every caller of get()
            self._error = exc
            log.exception("the assistant failed to load")
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._assistant is not None

    @property
    def failed(self) -> bool:
        return self._ready.is_set() and self._error is not None

    def get(self, timeout: float | None = None) -> Assistant:
        self.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the assistant is still loading after {timeout:.0f} s")
        if self._assistant is None:
            raise RuntimeError(f"the assistant failed to load: {self._error}") from self._error
        return self._assistant


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
    """A launched app: its URL, the gradio Blocks and the warm-up holder."""

    url: str
    blocks: Any
    warm: WarmAssistant
    fastapi_app: Any
    login: bool = False

    def close(self) -> None:
        self.blocks.close()


def login_guard(app: Any) -> Callable[[Any], bool]:
    """Reads gradio's own login cookie, so the PDF route needs the same login as the page.

    gradio keeps the session token in `access-token-<cookie_id>` (or the `-unsecure-`
    variant over plain http) and maps it to the user in `app.tokens`.
    """

    def allowed(request: Any) -> bool:
        if not getattr(app, "auth", None):
            return True
        cookie_id = app.cookie_id
        token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        return token is not None and app.tokens.get(token) is not None

    return allowed


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
) -> RunningApp:
    """Starts the server without blocking; `RunningApp.close()` stops it.

    `load` builds the assistant (default: `Assistant.from_settings(settings)`), e.g. one
    that reuses an embedder the caller already loaded.
    """
    settings = settings or Settings()
    meta = read_documents(settings.index_dir)  # fails fast, before gradio, when there is no index
    auth_pairs = load_auth(settings)

    def default_load() -> Assistant:
        from assistant.chain import Assistant

        return Assistant.from_settings(settings)

    warm_assistant = WarmAssistant(load or default_load, warm=warm).start()

    from assistant.app.feedback import FeedbackStore
    from assistant.app.pdf_pages import PageRenderer, SourceDocuments, add_pdf_route
    from assistant.app.ui import HandbookApp

    work = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir()) / "handbook-app"
    sources = SourceDocuments(meta.documents, settings.corpus_dir)
    handbook_app = HandbookApp(
        warm_assistant,
        documents_listing(meta),
        FeedbackStore(settings.feedback_db),
        sources,
        PageRenderer(work / "pages"),
        work / "exports",
        answer_concurrency=answer_concurrency,
    )
    blocks = handbook_app.build()
    blocks.queue(default_concurrency_limit=4)
    from gradio.exceptions import ServerFailedToStartError

    try:
        fastapi_app, url, _ = _launch_blocks(blocks, host, port, auth_pairs, quiet)
    except ServerFailedToStartError as exc:  # reported like a taken port: the caller prints one line
        raise OSError(str(exc)) from exc
    add_pdf_route(fastapi_app, sources, login_guard(fastapi_app))
    return RunningApp(url=url, blocks=blocks, warm=warm_assistant, fastapi_app=fastapi_app, login=bool(auth_pairs))


def _launch_blocks(blocks: Any, host: str, port: int, auth_pairs: list[tuple[str, str]], quiet: bool) -> Any:
    import gradio as gr

    from assistant.app.ui import CSS

    return blocks.launch(
        server_name=host,
        server_port=port,
        share=False,  # never a public gradio.live tunnel, whatever GRADIO_SHARE says
        auth=auth_checker(auth_pairs) if auth_pairs else None,
        auth_message="Handbook Assistant: sign in with the account your administrator gave you.",
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
        app_kwargs={"docs_url": None, "redoc_url": None},
        theme=gr.themes.Default(),
        css=CSS,
    )
