"""The assistant, built and warmed up in a background thread, following the index as ingests switch it;
and the slow part of an ingest (e5), run in a background thread while the app already serves.

Its own module because both the server (which starts it) and the page (whose handlers wait
for it) need it: the page imports it from here, never from the server, so the server ->
page dependency stays one way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.checkpoints import EmbedProgress, read_progress
from ingest.index_store import CURRENT

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from ingest.pipeline import IngestReport

log = logging.getLogger(__name__)


class WarmAssistant:
    """Builds and warms the assistant in a background thread; `get()` waits until it is ready.

    With `index_dir`, it follows the index: when an ingest names a new generation in `CURRENT`
    (looked at no more than once per `check_interval_s`), the next `get()` builds an assistant on
    it with `reload(previous)` and swaps it in. Requests already answering keep the assistant they
    got; requests arriving while the new one is built get the old one, so none is dropped.
    """

    def __init__(
        self,
        load: Callable[[], Assistant],
        warm: bool = True,
        *,
        index_dir: Path | None = None,
        reload: Callable[[Assistant], Assistant] | None = None,
        check_interval_s: float = 1.0,
    ) -> None:
        self._load = load
        self._warm = warm
        self._ready = threading.Event()
        self._assistant: Assistant | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.seconds: float | None = None
        self._index_dir = index_dir
        self._reload = reload or (lambda _previous: load())
        self.check_interval_s = check_interval_s
        self._checked_at = float("-inf")
        self._swap_lock = threading.Lock()
        self._listeners: list[Callable[[Assistant], None]] = []

    def on_change(self, listener: Callable[[Assistant], None]) -> None:
        """`listener(assistant)` runs after an assistant on a new index generation is swapped in."""
        self._listeners.append(listener)

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
        self._follow_index()
        return self._assistant

    @property
    def generation(self) -> str | None:
        """The index generation the current assistant answers from (None before it has loaded)."""
        return _generation_of(self._assistant)

    def improving(self) -> EmbedProgress | None:
        """How far an ingest running now has embedded a slow model (e5) into the followed index; None if none runs.

        Read from the ingest's checkpoint (ingest/checkpoints.py): any ingest counts, `serve --ingest`'s
        background one or a `handbook ingest` in another terminal.
        """
        return read_progress(self._index_dir) if self._index_dir is not None else None

    def _follow_index(self) -> None:
        if self._index_dir is None:
            return
        now = time.monotonic()
        if now - self._checked_at < self.check_interval_s:
            return
        self._checked_at = now
        loaded = self.generation
        try:
            current = (self._index_dir / CURRENT).read_text().strip()
        except OSError:
            return  # no pointer (an index being rebuilt from nothing): keep serving what is loaded
        if loaded is None or not current or current == loaded:
            return
        if not self._swap_lock.acquire(blocking=False):
            return  # another request is building it; this one is answered by the current assistant
        try:
            previous = self._assistant
            assert previous is not None
            started = time.perf_counter()
            fresh = self._reload(previous)
            self._assistant = fresh  # one reference assignment: each request sees the old or the new, whole
            log.info(
                "now answering from index generation %s (was %s; loaded in %.1f s)",
                _generation_of(fresh),
                loaded,
                time.perf_counter() - started,
            )
            for listener in self._listeners:
                listener(fresh)
        except Exception:
            log.exception("loading index generation %s failed; still answering from %s", current, loaded)
        finally:
            self._swap_lock.release()


def _generation_of(assistant_: Any) -> str | None:
    meta = getattr(getattr(assistant_, "snapshot", None), "meta", None)
    return getattr(meta, "generation", None)


class BackgroundIngest:
    """Runs `run()` (an ingest) in a daemon thread at low CPU priority, while the app answers questions.

    `handbook serve --ingest` ingests in the foreground until MiniLM and BM25 can answer, then leaves
    the slow model (e5) to this: the ingest resumes from the checkpoint the foreground seeded, saves
    its own as it goes (a stopped server loses at most one slice), and writes the fused generation,
    which the app follows like any new generation.
    """

    def __init__(self, run: Callable[[], IngestReport], name: str = "background-ingest") -> None:
        self._run = run
        self._name = name
        self._thread: threading.Thread | None = None
        self.report: IngestReport | None = None
        self.error: BaseException | None = None
        self.seconds: float | None = None

    def start(self) -> BackgroundIngest:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for the ingest to end; False if it still runs after `timeout` seconds."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _work(self) -> None:
        started = time.perf_counter()
        # Questions first: this thread (and the engine threads it starts) yields the CPU to the web server's.
        # Linux gives each thread its own nice value; elsewhere this changes nothing.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            self.report = self._run()
        except BaseException as exc:  # kept for the caller; the app goes on answering from what is live
            self.error = exc
            log.exception("the background ingest failed")
        finally:
            self.seconds = time.perf_counter() - started
