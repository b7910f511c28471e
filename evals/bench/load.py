"""Load benchmark: concurrent gradio_client sessions against one app; prints latency percentiles and errors.

    python -m evals.bench.load --url http://127.0.0.1:7860/ --sessions 20
    python -m evals.bench.load --start --sessions 20   # starts its own server first

Each session is one browser-like conversation: a question and a follow-up through the
chat endpoint (`/chat`, the same handler as the Ask button). Figures only: no pass/fail.
`handbook bench --load N` runs the same sessions against the server it started.
Percentiles are evals/stats.py's (linear interpolation), as in every other report.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from evals.stats import percentile

log = logging.getLogger(__name__)

QUESTIONS = (
    "Can we read a prisoner's letters to his lawyer?",
    "How long can someone be kept in segregation?",
    "A visitor refuses to be searched — what now?",
    "What must happen when a prisoner arrives at the prison?",
    "Can a prisoner be punished twice for the same offence?",
)
FOLLOW_UP = "and what about women prisoners?"
HTTP_TIMEOUT_S = 300.0


@dataclass
class LoadReport:
    sessions: int
    latencies_s: list[float] = field(default_factory=list)  # one per answered request
    first_answer_s: list[float] = field(default_factory=list)  # per session: connect + first answer
    connect_s: list[float] = field(default_factory=list)  # per session: Client() (reads /config and the API info)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> str:
        lat = self.latencies_s
        lines = [
            f"sessions {self.sessions}, requests answered {len(lat)}, errors {len(self.errors)}, "
            f"wall {self.wall_s:.1f} s",
            f"answer latency  p50 {_or_nan(lat, 50):.2f} s  p95 {_or_nan(lat, 95):.2f} s  "
            f"max {max(lat, default=float('nan')):.2f} s  mean {statistics.fmean(lat) if lat else float('nan'):.2f} s",
            f"connect (Client)  p50 {_or_nan(self.connect_s, 50):.2f} s  p95 {_or_nan(self.connect_s, 95):.2f} s",
            f"first answer per session (connect + question)  p50 {_or_nan(self.first_answer_s, 50):.2f} s  "
            f"p95 {_or_nan(self.first_answer_s, 95):.2f} s",
            f"throughput {len(lat) / self.wall_s if self.wall_s else float('nan'):.2f} answers/s",
        ]
        lines += [f"error: {e}" for e in self.errors[:10]]
        return "\n".join(lines)


def _or_nan(values: Sequence[float], q: float) -> float:
    """evals/stats.py's percentile; NaN (printed "nan") for a series with no value."""
    return percentile(values, q) if values else float("nan")


def run_load(url: str, sessions: int = 20, questions: Sequence[str] = QUESTIONS, follow_up: bool = True) -> LoadReport:
    """Starts `sessions` conversations at the same moment and waits for all of them."""
    from gradio_client import Client

    report = LoadReport(sessions=sessions)
    lock = threading.Lock()
    start = threading.Barrier(sessions)

    def session(i: int) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # start anyway if one session is late
            start.wait(timeout=120)
        began = time.perf_counter()
        try:
            # gradio_client's default 5 s HTTP timeout is shorter than a busy 2-core server's queue;
            # a browser would simply wait, so the sessions do too.
            client = Client(url, verbose=False, httpx_kwargs={"timeout": HTTP_TIMEOUT_S})
            with lock:
                report.connect_s.append(time.perf_counter() - began)
            asks = [questions[i % len(questions)]] + ([FOLLOW_UP] if follow_up else [])
            for n, question in enumerate(asks):
                t = time.perf_counter()
                chat = client.predict(question, [], api_name="/chat")[0]
                elapsed = time.perf_counter() - t
                if len(chat) != 2 * (n + 1):
                    raise RuntimeError(f"expected {2 * (n + 1)} chat messages, got {len(chat)}")
                with lock:
                    report.latencies_s.append(elapsed)
                    if n == 0:
                        report.first_answer_s.append(time.perf_counter() - began)
        except Exception as exc:  # counted and reported: the benchmark goes on
            with lock:
                report.errors.append(f"session {i}: {type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        list(pool.map(session, range(sessions)))
    report.wall_s = time.perf_counter() - t0
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.bench.load", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--url", help="A running app (e.g. http://127.0.0.1:7860/).")
    parser.add_argument("--start", action="store_true", help="Start an app on a free port and wait for its warm-up.")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--no-follow-up", action="store_true", help="One question per session.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    running = None
    url = args.url
    if args.start:
        import socket

        from assistant.app.server import launch

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        running = launch(port=port)
        running.warm.get(900)  # measure answering, not the cold start
        url = running.url
    if not url:
        parser.error("give --url or --start")
    try:
        report = run_load(url, args.sessions, follow_up=not args.no_follow_up)
    finally:
        if running is not None:
            running.close()
    print(report.summary())
    return 1 if report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
