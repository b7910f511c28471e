"""`handbook bench`: ingest throughput, re-ingest, answer latency, cold start and peak memory,
with the LangChain tutorial pipeline measured in the same run and every figure given as a
ratio to it. Results: `docs/benchmarks.md` (written with `--docs-md`).

Each phase runs in a fresh process, so that imports, model loading and memory are those a
user meets: the ingests are `handbook ingest` itself, the cold start is `handbook serve`
timed until its HTTP `/ask` API returns the first answer, and the warm latencies and the
tutorial's phases run in worker processes of this module (`python -m evals.bench WORKER`).
The peak RSS of a child is read from its own rusage when it is reaped (`os.wait4`).

Only the standard library and typer are imported at module level: the `handbook` CLI imports
this module on every start.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from evals.stats import percentile

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GOLDEN = Path(__file__).resolve().parent / "golden" / "dev.jsonl"
COLD_QUESTION = "How long can someone be kept in segregation?"
TOP_K = 5  # passages per question for both systems (the assistant's default top_k)
INGEST_TIMEOUT_S = 3600.0
SERVE_TIMEOUT_S = 900.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.05
REQUIRED_KEYS = ("ingest_s", "reingest_s", "answer_ms", "cold_start_s", "peak_rss_mb")


class BenchError(RuntimeError):
    """A phase that could not be measured; the message is one line (plus where its log is)."""


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """p50 and p95 (evals/stats.py) and mean of a list of timings; None when there are none."""

    n: int
    p50: float | None
    p95: float | None
    mean: float | None

    @classmethod
    def of(cls, values: Sequence[float], digits: int = 2) -> Latency:
        if not values:
            return cls(0, None, None, None)
        return cls(
            len(values),
            round(percentile(values, 50), digits),
            round(percentile(values, 95), digits),
            round(sum(values) / len(values), digits),
        )


@dataclass(frozen=True)
class IngestRun:
    """One ingest: wall time of the whole process, what it produced and its peak RSS."""

    seconds: float
    pages: int
    chunks: int
    embedded: int | None  # chunks embedded in this run (0 on a re-ingest with nothing changed)
    peak_rss_mb: float | None
    cpu_s: float | None = None  # user + system CPU time of the process, all its threads

    @property
    def pages_per_s(self) -> float | None:
        return _rate(self.pages, self.seconds)

    @property
    def chunks_per_s(self) -> float | None:
        return _rate(self.chunks, self.seconds)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "pages": self.pages,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "pages_per_s": self.pages_per_s,
            "chunks_per_s": self.chunks_per_s,
            "peak_rss_mb": self.peak_rss_mb,
            "cpu_s": self.cpu_s,
        }


@dataclass
class SystemFigures:
    """The figures of one system (the assistant, or the LangChain tutorial)."""

    name: str
    description: str
    ingest: IngestRun
    reingest: IngestRun
    answer_ms: Latency
    cold_start_s: float | None
    peak_rss_by_phase: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    answer_parts_ms: dict[str, Latency] = field(default_factory=dict)  # e.g. retrieve, compose
    cold_start_cpu_s: float | None = None  # CPU time of the cold-started process until its first answer

    @property
    def peak_rss_mb(self) -> float | None:
        values = [v for v in self.peak_rss_by_phase.values() if v is not None]
        return max(values) if values else None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "ingest_s": self.ingest.seconds,
            "reingest_s": self.reingest.seconds,
            "answer_ms": asdict(self.answer_ms),
            "cold_start_s": self.cold_start_s,
            "peak_rss_mb": self.peak_rss_mb,
            "cold_start_cpu_s": self.cold_start_cpu_s,
            "ingest": self.ingest.to_json_dict(),
            "reingest": self.reingest.to_json_dict(),
            "peak_rss_mb_by_phase": dict(self.peak_rss_by_phase),
            "answer_parts_ms": {part: asdict(latency) for part, latency in self.answer_parts_ms.items()},
            "name": self.name,
            "description": self.description,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class LoadFigures:
    """Concurrent chat sessions against one `handbook serve` (assistant/app/loadbench.py)."""

    sessions: int
    requests: int
    errors: int
    latency_s: Latency
    first_answer_s: Latency  # per session: connect + first question
    wall_s: float
    error_samples: list[str] = field(default_factory=list)

    @property
    def answers_per_s(self) -> float | None:
        return _rate(self.requests, self.wall_s)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "requests": self.requests,
            "errors": self.errors,
            "latency_s": asdict(self.latency_s),
            "first_answer_s": asdict(self.first_answer_s),
            "wall_s": self.wall_s,
            "answers_per_s": self.answers_per_s,
            "error_samples": list(self.error_samples),
        }


@dataclass(frozen=True)
class Machine:
    cpu: str
    logical_cores: int
    usable_cores: int
    ram_gib: float | None
    os: str
    python: str
    torch: str
    backend: str  # the embedding backend and device of this run
    load_average: tuple[float, float, float] | None  # at the start of the run: a busy machine shows here
    bytecode: str = "unknown"  # whether the libraries' .pyc files exist: without them every start compiles

    def describe(self) -> str:
        ram = f"{self.ram_gib:.1f} GiB RAM" if self.ram_gib is not None else "RAM unknown"
        cores = f"{self.logical_cores} logical cores ({self.usable_cores} usable)"
        text = (
            f"{self.cpu}, {cores}, {ram}; {self.os}; Python {self.python}, torch {self.torch}; "
            f"embedding backend {self.backend}"
        )
        if self.load_average is not None:
            text += f"; load average {self.load_average[0]:.2f} at the start"
        return text + f"; library bytecode {self.bytecode}"


@dataclass
class BenchReport:
    ours: SystemFigures
    tutorial: SystemFigures | None
    machine: Machine
    corpus: str
    documents: int
    questions: int
    started: str
    seconds: float = 0.0
    load: LoadFigures | None = None

    def ratios(self) -> dict[str, Any]:
        """Ours ÷ tutorial for every figure; {} without the tutorial (None where either is missing)."""
        if self.tutorial is None:
            return {}
        a, b = self.ours, self.tutorial
        return {
            "ingest_s": ratio(a.ingest.seconds, b.ingest.seconds),
            "reingest_s": ratio(a.reingest.seconds, b.reingest.seconds),
            "answer_ms": {
                "p50": ratio(a.answer_ms.p50, b.answer_ms.p50),
                "p95": ratio(a.answer_ms.p95, b.answer_ms.p95),
            },
            "cold_start_s": ratio(a.cold_start_s, b.cold_start_s),
            "peak_rss_mb": ratio(a.peak_rss_mb, b.peak_rss_mb),
            "pages_per_s": ratio(a.ingest.pages_per_s, b.ingest.pages_per_s),
            "chunks_per_s": ratio(a.ingest.chunks_per_s, b.ingest.chunks_per_s),
        }

    def to_json_dict(self) -> dict[str, Any]:
        out = self.ours.to_json_dict()
        out["tutorial"] = self.tutorial.to_json_dict() if self.tutorial else None
        out["ratios"] = self.ratios()
        out["load"] = self.load.to_json_dict() if self.load else None
        out["machine"] = asdict(self.machine) | {"description": self.machine.describe()}
        out["run"] = {
            "corpus": self.corpus,
            "documents": self.documents,
            "questions": self.questions,
            "top_k": TOP_K,
            "started": self.started,
            "seconds": round(self.seconds, 1),
        }
        return out


# --- pure helpers -----------------------------------------------------------------------------


def ratio(ours: float | None, reference: float | None) -> float | None:
    """ours / reference, rounded to 3 decimals; None when either is missing or the reference is not positive."""
    if ours is None or reference is None or reference <= 0:
        return None
    return round(ours / reference, 3)


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None


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


def describe_machine(backend: str = "torch", device: str = "cpu") -> Machine:
    """CPU model, cores, memory, OS, Python and torch versions; nothing is imported to find them."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram: float | None = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = round(int(line.split()[1]) / 1024**2, 1)
                break
    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = "not installed"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = tuple(round(x, 2) for x in os.getloadavg())
    return Machine(
        cpu=cpu,
        logical_cores=os.cpu_count() or 1,
        usable_cores=usable,
        ram_gib=ram,
        os=platform.platform(terse=True),
        python=platform.python_version(),
        torch=torch,
        backend=f"{backend} on {device}",
        load_average=load,  # type: ignore[arg-type]
        bytecode=bytecode_state(),
    )


def bytecode_state(package: str = "gradio") -> str:
    """Whether `package` (the slowest import of a start) has compiled .pyc files, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        return "unknown"
    if Path(importlib.util.cache_from_source(spec.origin)).is_file():
        return "precompiled"
    if sys.flags.dont_write_bytecode:
        return "not compiled, compiled again at every start (PYTHONDONTWRITEBYTECODE is set)"
    return "not compiled yet (the first start writes it)"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


_Row = tuple[str, float | None, float | None, float | None, int]  # figure, ours, tutorial, ratio, digits


def render_markdown(report: BenchReport) -> str:
    """The results section: machine, the figures table with ratios, load, memory by phase, notes."""
    ours, tut, ratios = report.ours, report.tutorial, report.ratios()
    pages = ours.ingest.pages
    lines = [
        f"## Results ({report.started}, {report.documents} documents, {pages:,} pages)",
        "",
        f"Machine: {report.machine.describe()}.",
        "",
    ]
    answer_ratios = ratios.get("answer_ms", {})

    def row(name: str, get: Callable[[SystemFigures], float | None], key: str | None, digits: int) -> _Row:
        mine, theirs = get(ours), (get(tut) if tut is not None else None)
        value = answer_ratios.get(key[10:]) if key and key.startswith("answer_ms.") else ratios.get(key or "")
        return name, mine, theirs, value, digits

    rows = [
        row("ingest, cold (s)", lambda f: f.ingest.seconds, "ingest_s", 1),
        row("ingest throughput (pages/s)", lambda f: f.ingest.pages_per_s, "pages_per_s", 2),
        row("ingest throughput (chunks/s)", lambda f: f.ingest.chunks_per_s, "chunks_per_s", 2),
        row("re-ingest, nothing changed (s)", lambda f: f.reingest.seconds, "reingest_s", 1),
        row("answer latency p50, warm (ms)", lambda f: f.answer_ms.p50, "answer_ms.p50", 1),
        row("answer latency p95, warm (ms)", lambda f: f.answer_ms.p95, "answer_ms.p95", 1),
        row("cold start to first answer (s)", lambda f: f.cold_start_s, "cold_start_s", 1),
        row("peak memory, RSS (MB)", lambda f: f.peak_rss_mb, "peak_rss_mb", 0),
    ]
    if tut is not None:
        lines += ["| figure | Handbook Assistant | LangChain tutorial | ratio |", "|---|---:|---:|---:|"]
        lines += [f"| {name} | {_fmt(a, d)} | {_fmt(b, d)} | {_fmt_ratio(r)} |" for name, a, b, r, d in rows]
        lines += [
            "",
            "Ratio = Handbook Assistant ÷ tutorial: below 1 means less time or memory than the tutorial; "
            "for throughput, above 1 means faster.",
        ]
    else:
        lines += ["| figure | Handbook Assistant |", "|---|---:|"]
        lines += [f"| {name} | {_fmt(a, d)} |" for name, a, _b, _r, d in rows]
        lines += ["", "The tutorial pipeline was not measured in this run (`--skip-baseline`): no ratios."]
    lines += [
        "",
        f"Chunks: {ours.ingest.chunks:,} (Handbook Assistant)"
        + (f", {tut.ingest.chunks:,} (tutorial)" if tut else "")
        + f"; answer latencies over {ours.answer_ms.n} dev-set questions, top {TOP_K} passages.",
    ]
    parts = ", ".join(f"{name} {_fmt(lat.p50)} ms" for name, lat in ours.answer_parts_ms.items() if lat.n)
    if parts:
        lines[-1] += f" Handbook Assistant's parts of an answer (p50): {parts}."
    cpu = [
        f"{system.name}: ingest {_fmt(system.ingest.cpu_s)} s, cold start {_fmt(system.cold_start_cpu_s)} s"
        for system in [ours, *([tut] if tut else [])]
        if system.ingest.cpu_s is not None or system.cold_start_cpu_s is not None
    ]
    if cpu:
        lines += [
            "",
            "CPU time (user + system, all threads) of the same processes, which moves less than wall time on a "
            f"busy machine: {'; '.join(cpu)}.",
        ]
    if report.load is not None:
        ld = report.load
        lines += [
            "",
            f"### Load: {ld.sessions} concurrent sessions",
            "",
            f"{ld.sessions} gradio_client sessions started together against one `handbook serve`, each asking a "
            f"question and a follow-up through the chat endpoint: {ld.requests} answers, {ld.errors} errors, "
            f"{ld.wall_s:.1f} s in all ({_fmt(ld.answers_per_s, 2)} answers/s). Latency per answer, queueing "
            f"included: p50 {_fmt(ld.latency_s.p50, 2)} s, p95 {_fmt(ld.latency_s.p95, 2)} s; first answer per "
            f"session (connect + question): p50 {_fmt(ld.first_answer_s.p50, 2)} s, "
            f"p95 {_fmt(ld.first_answer_s.p95, 2)} s.",
        ]
        lines += [f"- error: {e}" for e in ld.error_samples]
    lines += ["", "### Peak memory by phase (RSS, MB)", "", "| phase | MB |", "|---|---:|"]
    for system in [ours, *([tut] if tut else [])]:
        for phase, mb in system.peak_rss_by_phase.items():
            lines.append(f"| {system.name}: {phase} | {_fmt(mb, 0)} |")
    notes = [*ours.notes, *(tut.notes if tut else [])]
    if notes:
        lines += ["", "### Notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


DOCS_INTRO = """# Benchmarks

Generated by `handbook bench` (evals/bench.py); rerun it to refresh this page (see the end).
The LangChain RAG tutorial pipeline is measured in the same run on the same PDFs, and each
figure is given as a ratio to it.

## What is measured

- **Ingest, cold**: `handbook ingest --index TMP CORPUS -q` in a fresh process into an empty
  index: process start, PDF text, structure, chunking, embedding every chunk, the vector and
  BM25 indexes. Throughput is the corpus's pages (and each system's own chunks) per second of
  that wall time.
- **Re-ingest, nothing changed**: the same command again: every file is hashed, found
  unchanged, nothing is embedded.
- **Answer latency, warm**: one process with the model loaded and the indexes open (after one
  warm-up question) asks the dev-set questions (`evals/golden/dev.jsonl`): `Answer.timings_ms["total"]`,
  i.e. condensing, query expansion, dense and BM25 retrieval, fusion, composing and quote
  verification; p50 and p95.
- **Cold start to the first answer**: from launching `handbook serve` (process start included)
  until the first answer has arrived through the app's HTTP `/ask` API
  (`POST /gradio_api/call/ask`, then its event stream); the question is sent as soon as the
  port accepts connections and waits for the model to finish loading.
- **Peak memory**: the peak resident set size of each child process (`ru_maxrss` from
  `os.wait4`, or `VmHWM` for the server right after its first answer); the headline figure is
  the largest.
- **CPU time**: user + system time of the same processes (all threads), up to the
  first answer for the cold starts; it moves less than wall time when the machine is busy.
- **The LangChain tutorial** (`evals/baselines.py`, `naive`): `PyPDFLoader` per PDF,
  `RecursiveCharacterTextSplitter(1000, 200)`, `HuggingFaceEmbeddings` with the same
  all-MiniLM-L6-v2 on CPU, an embedded `langchain_chroma.Chroma` store. Built fresh in every
  run in a temporary folder (never from `.cache/baselines`), in its own process: that wall time
  is its ingest. It has no change detection, so its re-ingest is a full rebuild (not measured
  twice). Its latency is one `similarity_search_with_score(question, k=5)` (query embedding
  included; retrieval only, no answer is composed); its cold start is a fresh process until its
  first search result (no web server).
"""

DOCS_REPRODUCE = """## Reproduce

```
make run                                   # or at least: .venv, the corpus PDFs
.venv/bin/handbook bench --out out/bench --docs-md docs/benchmarks.md    # everything, ~10 min on 2 cores
.venv/bin/handbook bench --skip-baseline --questions 20 --json           # ours only, quicker
.venv/bin/handbook bench --skip-baseline --load 50                        # + 50 concurrent web sessions
```

Options: `--corpus DIR` (default: `HANDBOOK_CORPUS_DIR` when it holds PDFs, else
`../shared/corpus`), `--questions N` (the first N dev-set questions; default all),
`--golden FILE`, `--out DIR` (`bench.json`, `bench.md`), `--json` (one JSON object on
stdout: `ingest_s`, `reingest_s`, `answer_ms` {`p50`, `p95`, `mean`, `n`}, `cold_start_s`,
`peak_rss_mb`, and `cold_start_cpu_s`, `ingest` and `reingest` (`seconds`, `pages`, `chunks`,
`embedded`, `pages_per_s`, `chunks_per_s`, `peak_rss_mb`, `cpu_s`), `peak_rss_mb_by_phase`,
`answer_parts_ms`, `tutorial` (the same keys), `ratios` (ours ÷ tutorial), `load`, `machine`,
`run`), `--load N` (N concurrent sessions through `assistant/app/loadbench.py`; minutes),
`--skip-baseline`, `-q`. The embedding backend is
the one configured (`HANDBOOK_EMBEDDING_BACKEND`). Measure on an otherwise idle machine: the
load average at the start is recorded with the machine.
"""


def render_docs_page(report: BenchReport) -> str:
    return f"{DOCS_INTRO}\n{render_markdown(report)}\n{DOCS_REPRODUCE}"


# --- child processes --------------------------------------------------------------------------


@dataclass
class ChildResult:
    returncode: int
    seconds: float  # from just before the process was started until it was reaped
    peak_rss_mb: float | None
    cpu_s: float | None = None  # user + system


class Child:
    """A subprocess whose own peak RSS is read from its rusage when this object reaps it.

    Never use `Popen.poll/wait` on it: `os.wait4` must be the one to reap the process.
    """

    def __init__(self, cmd: Sequence[str], env: dict[str, str], log_path: Path, stdout_path: Path | None = None):
        self.cmd = list(cmd)
        self.log_path = log_path
        self._result: ChildResult | None = None
        log.debug("starting %s", " ".join(self.cmd))
        with log_path.open("wb") as err, (stdout_path or log_path.with_suffix(".out")).open("wb") as out:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _reaped(self, status: int, rusage: Any) -> ChildResult:
        code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = code  # so that Popen does not try to reap it again
        cpu = round(rusage.ru_utime + rusage.ru_stime, 2)
        self._result = ChildResult(code, time.perf_counter() - self.started, round(rusage.ru_maxrss / 1024, 1), cpu)
        return self._result

    def poll(self) -> ChildResult | None:
        if self._result is None:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                return self._reaped(status, rusage)
        return self._result

    def wait(self, timeout: float) -> ChildResult:
        if self._result is not None:
            return self._result
        timer = threading.Timer(timeout, self._kill)
        timer.start()
        try:
            _, status, rusage = os.wait4(self.pid, 0)
        finally:
            timer.cancel()
        return self._reaped(status, rusage)

    def _kill(self) -> None:
        log.warning("%s: still running after its time limit; killed", self.cmd[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> ChildResult:
        """SIGTERM (the server closes cleanly), SIGKILL after `timeout`."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        return self.wait(timeout)

    def peak_rss_now_mb(self) -> float | None:
        """VmHWM of the running process (its peak RSS so far)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        return None

    def cpu_seconds_now(self) -> float | None:
        """User + system CPU time of the running process so far (/proc/PID/stat)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
        return None

    def log_tail(self, lines: int = 8) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").strip().splitlines()
            return "\n".join(text[-lines:])
        return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


# --- the benchmark ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    corpus: Path
    questions: tuple[str, ...]
    skip_baseline: bool = False
    load_sessions: int = 0  # 0: no load test
    work_dir: Path | None = None  # default: a temporary folder, removed afterwards
    handbook: tuple[str, ...] = ()  # how to run the CLI; default: the `handbook` beside this Python
    python: str = sys.executable
    backend: str = "torch"
    device: str = "cpu"
    progress: bool = True


class Bench:
    """Runs the phases, each in a fresh process, and returns a `BenchReport`."""

    def __init__(self, config: BenchConfig) -> None:
        if not config.questions:
            raise BenchError("no questions to time the answers with")
        self.config = config
        self.handbook = list(config.handbook) or handbook_command(config.python)
        self._env = dict(os.environ)

    def run(self) -> BenchReport:
        pdfs = sorted(self.config.corpus.glob("*.pdf"))
        if not pdfs:
            raise BenchError(f"{self.config.corpus}: no PDF files")
        started_at = time.strftime("%Y-%m-%d %H:%M")
        machine = describe_machine(self.config.backend, self.config.device)
        t0 = time.perf_counter()
        work = self.config.work_dir or Path(tempfile.mkdtemp(prefix="handbook-bench-"))
        work.mkdir(parents=True, exist_ok=True)
        self._env["HANDBOOK_FEEDBACK_DB"] = str(work / "feedback.sqlite3")  # never the repository's
        questions_file = work / "questions.json"
        questions_file.write_text(json.dumps(list(self.config.questions)))
        phases = ["ingest", "re-ingest", "answers", "cold start"]
        phases += ["load"] if self.config.load_sessions else []
        phases += [] if self.config.skip_baseline else ["tutorial ingest", "tutorial answers"]
        ok = False
        try:
            with _phase_progress(self.config.progress, phases) as phase:
                ours, documents, load = self._ours(work, questions_file, phase)
                tutorial = None if self.config.skip_baseline else self._tutorial(work, questions_file, ours, phase)
            ok = True
        finally:
            if self.config.work_dir is None:
                if ok:
                    shutil.rmtree(work, ignore_errors=True)
                else:
                    log.warning("bench failed: its logs are kept in %s", work)
        report = BenchReport(
            ours=ours,
            tutorial=tutorial,
            machine=machine,
            corpus=str(self.config.corpus),
            documents=documents,
            questions=len(self.config.questions),
            started=started_at,
            load=load,
        )
        report.seconds = time.perf_counter() - t0
        return report

    # -- the assistant --

    def _ours(
        self, work: Path, questions_file: Path, phase: Callable[[str], None]
    ) -> tuple[SystemFigures, int, LoadFigures | None]:
        index = work / "index"
        phase("ingest")
        cold = self._ingest(index, work / "ingest")
        phase("re-ingest")
        again = self._ingest(index, work / "reingest")
        documents = len(_index_meta(index)["documents"])
        phase("answers")
        answers = self._worker(
            "answer", ["--index", str(index), "--questions", str(questions_file)], work / "answers", INGEST_TIMEOUT_S
        )
        phase("cold start")
        cold_start_s, cold_cpu_s, serve_rss, load = self._serve(index, work, phase)
        figures = SystemFigures(
            name="Handbook Assistant",
            description="structure-aware chunks, MiniLM + BM25 hybrid retrieval, answers quoted and verified",
            ingest=cold,
            reingest=again,
            answer_ms=Latency.of(answers["latencies_ms"]),
            answer_parts_ms={
                "retrieve": Latency.of(answers["retrieve_ms"]),
                "compose": Latency.of(answers["compose_ms"]),
            },
            cold_start_s=round(cold_start_s, 2),
            cold_start_cpu_s=cold_cpu_s,
            peak_rss_by_phase={
                "ingest": cold.peak_rss_mb,
                "re-ingest": again.peak_rss_mb,
                "answers (warm process)": answers["peak_rss_mb"],
                "serve, after the first answer": serve_rss,
            },
        )
        if answers.get("llm"):
            figures.notes.append(f"answers generated by the configured language model {answers['llm']!r}")
        if again.embedded:
            figures.notes.append(f"the re-ingest embedded {again.embedded} chunks: something changed between runs")
        return figures, documents, load

    def _ingest(self, index: Path, log_base: Path) -> IngestRun:
        cmd = [*self.handbook, "ingest", "--index", str(index), "--quiet", str(self.config.corpus)]
        child = Child(cmd, self._env, log_base.with_suffix(".log"), log_base.with_suffix(".out"))
        result = child.wait(INGEST_TIMEOUT_S)
        output = log_base.with_suffix(".out").read_text(errors="replace")
        if result.returncode != 0:
            raise BenchError(f"`handbook ingest` exited with {result.returncode}: {child.log_tail(3) or output[-300:]}")
        meta = _index_meta(index)
        # "N chunks, embedded: 12 minilm, 12 e5": the primary model's count is the chunks embedded.
        embedded = re.search(r"(\d+) chunks, embedded: (\d+)", output)
        run = IngestRun(
            seconds=round(result.seconds, 2),
            pages=sum(int(d.get("pages", 0)) for d in meta["documents"].values()),
            chunks=sum(int(d.get("chunks", 0)) for d in meta["documents"].values()),
            embedded=int(embedded.group(2)) if embedded else None,
            peak_rss_mb=result.peak_rss_mb,
            cpu_s=result.cpu_s,
        )
        log.info("ingest: %.1f s, %d pages, %d chunks, %s embedded", run.seconds, run.pages, run.chunks, run.embedded)
        return run

    def _serve(
        self, index: Path, work: Path, phase: Callable[[str], None]
    ) -> tuple[float, float | None, float | None, LoadFigures | None]:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        cmd = [*self.handbook, "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(index)]
        child = Child(cmd, self._env, work / "serve.log")
        try:
            self._first_answer(child, url)
            cold = time.perf_counter() - child.started
            cpu = child.cpu_seconds_now()
            rss = child.peak_rss_now_mb()
            log.info("cold start to first answer: %.1f s (serve peak RSS %s MB)", cold, rss)
            load = None
            if self.config.load_sessions:
                phase("load")
                load = run_load(url, self.config.load_sessions)
        finally:
            result = child.stop()
        if load is not None:
            log.info("serve peak RSS after the load test: %s MB", result.peak_rss_mb)
        return cold, cpu, rss if rss is not None else result.peak_rss_mb, load

    def _first_answer(self, child: Child, url: str) -> dict[str, Any]:
        deadline = time.perf_counter() + SERVE_TIMEOUT_S
        while True:
            if child.poll() is not None:
                raise BenchError(f"`handbook serve` exited before answering; {child.log_path}:\n{child.log_tail()}")
            try:
                answer = ask_over_http(url, COLD_QUESTION, timeout=max(1.0, deadline - time.perf_counter()))
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                if time.perf_counter() > deadline:
                    raise BenchError(f"no answer from `handbook serve` after {SERVE_TIMEOUT_S:.0f} s: {exc}") from None
                time.sleep(POLL_S)  # not listening yet
                continue
            if "answer" not in answer:
                raise BenchError(f"/ask: unexpected reply {str(answer)[:200]}")
            return answer

    # -- the tutorial --

    def _tutorial(
        self, work: Path, questions_file: Path, ours: SystemFigures, phase: Callable[[str], None]
    ) -> SystemFigures:
        cache = work / "tutorial-cache"  # fresh: never the .cache/baselines of `handbook eval`
        corpus = ["--corpus", str(self.config.corpus), "--cache", str(cache)]
        phase("tutorial ingest")
        built = self._worker("tutorial-ingest", corpus, work / "tutorial-ingest", INGEST_TIMEOUT_S)
        ingest = IngestRun(
            seconds=round(built["process_seconds"], 2),  # the whole process, as for `handbook ingest`
            pages=ours.ingest.pages,  # the same PDFs
            chunks=int(built["chunks"]),
            embedded=int(built["chunks"]),
            peak_rss_mb=built["peak_rss_mb"],
            cpu_s=built["cpu_s"],
        )
        phase("tutorial answers")
        started = time.time()
        answered = self._worker(
            "tutorial-answer",
            [*corpus, "--questions", str(questions_file), "--started", repr(started)],
            work / "tutorial-answers",
            INGEST_TIMEOUT_S,
        )
        from evals.baselines import NaiveRagBaseline

        return SystemFigures(
            name="LangChain tutorial",
            description=NaiveRagBaseline.description,
            ingest=ingest,
            reingest=ingest,
            answer_ms=Latency.of(answered["latencies_ms"]),
            cold_start_s=round(answered["first_answer_epoch"] - started, 2),
            cold_start_cpu_s=answered.get("first_answer_cpu_s"),
            peak_rss_by_phase={
                "ingest": ingest.peak_rss_mb,
                "answers (cold start, then warm)": answered["peak_rss_mb"],
            },
            notes=[
                "tutorial: re-ingest = a full rebuild (it has no change detection); not measured twice",
                "tutorial: latency = one similarity_search_with_score (retrieval only, no answer composed); "
                "cold start = process start to the first search result, without a web server",
                f"tutorial: split + embed {built['build_seconds']:.1f} s of its {ingest.seconds:.1f} s ingest "
                "(the rest: process start, imports, model load)",
            ],
        )

    def _worker(self, name: str, args: list[str], log_base: Path, timeout: float) -> dict[str, Any]:
        result_path = log_base.with_suffix(".json")
        cmd = [self.config.python, "-m", "evals.bench", name, *args, "--result", str(result_path)]
        child = Child(cmd, self._env, log_base.with_suffix(".log"))
        result = child.wait(timeout)
        if result.returncode != 0 or not result_path.is_file():
            raise BenchError(f"bench worker {name} exited with {result.returncode}: {child.log_tail(3)}")
        data: dict[str, Any] = json.loads(result_path.read_text())
        data["peak_rss_mb"] = result.peak_rss_mb
        data["cpu_s"] = result.cpu_s
        data["process_seconds"] = result.seconds
        return data


def handbook_command(python: str = sys.executable) -> list[str]:
    """The `handbook` console script of this environment (beside its Python), else one on PATH."""
    beside = Path(python).with_name("handbook")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("handbook")
    if found:
        return [found]
    return [python, "-c", "from assistant.cli import app; app()"]


def _index_meta(index: Path) -> dict[str, Any]:
    from ingest.index_store import current_generation_dir

    meta: dict[str, Any] = json.loads((current_generation_dir(index) / "meta.json").read_text())
    return meta


def run_load(url: str, sessions: int) -> LoadFigures:
    from assistant.app.loadbench import run_load as run_sessions

    report = run_sessions(url, sessions)
    figures = LoadFigures(
        sessions=sessions,
        requests=len(report.latencies_s),
        errors=len(report.errors),
        latency_s=Latency.of(report.latencies_s, digits=3),
        first_answer_s=Latency.of(report.first_answer_s, digits=3),
        wall_s=round(report.wall_s, 2),
        error_samples=report.errors[:5],
    )
    log.info("load: %d sessions, %d answers, %d errors", sessions, figures.requests, figures.errors)
    return figures


@contextlib.contextmanager
def _phase_progress(enabled: bool, phases: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A rich bar over the phases on stderr; `phase(name)` marks the previous phase done."""
    if not enabled:
        yield lambda name: log.info("bench phase: %s", name)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("bench", total=len(phases))
        seen: list[str] = []

        def phase(name: str) -> None:
            if seen:
                bar.advance(task)
            seen.append(name)
            bar.update(task, description=f"bench: {name}")
            log.info("bench phase: %s", name)

        yield phase
        bar.update(task, completed=len(phases))


# --- worker processes (python -m evals.bench WORKER ...) --------------------------------------


def _worker_answer(args: argparse.Namespace) -> dict[str, Any]:
    """Warm assistant in this process; the timings of each question."""
    from assistant.chain import Assistant
    from ingest.settings import Settings

    settings = Settings()
    settings.index_dir = Path(args.index)
    started = time.perf_counter()
    assistant = Assistant.from_settings(settings)
    assistant.warm_up()
    warm_s = time.perf_counter() - started
    latencies, retrieve, compose = [], [], []
    for question in json.loads(Path(args.questions).read_text()):
        t = time.perf_counter()
        answer = assistant.ask(question, k=TOP_K)
        wall_ms = (time.perf_counter() - t) * 1000
        latencies.append(round(answer.timings_ms.get("total", wall_ms), 2))
        retrieve.append(answer.timings_ms.get("retrieve_total", 0.0))
        compose.append(answer.timings_ms.get("compose", 0.0))
    return {
        "warm_up_s": round(warm_s, 2),
        "latencies_ms": latencies,
        "retrieve_ms": retrieve,
        "compose_ms": compose,
        "llm": str(getattr(settings, "llm", "") or ""),  # a configured language model adds its generation time
    }


def _tutorial_parts(args: argparse.Namespace) -> Any:
    from evals.baselines import NaiveRagBaseline, TutorialCorpus
    from ingest.settings import default_model_path

    pdfs = sorted(Path(args.corpus).glob("*.pdf"))
    return NaiveRagBaseline(TutorialCorpus(pdfs, Path(args.cache)), default_model_path())


def _worker_tutorial_ingest(args: argparse.Namespace) -> dict[str, Any]:
    """The tutorial's index built from nothing (load, split, embed, store)."""
    started = time.perf_counter()
    baseline = _tutorial_parts(args)
    baseline.prepare()
    chunks = len(baseline.corpus.chunks())
    baseline.close()
    return {"seconds": time.perf_counter() - started, "build_seconds": baseline.build_seconds, "chunks": chunks}


def _worker_tutorial_answer(args: argparse.Namespace) -> dict[str, Any]:
    """The tutorial's store opened by a fresh process: the first search (cold), then one per question."""
    baseline = _tutorial_parts(args)
    baseline.search(COLD_QUESTION, TOP_K)  # opens the stored index and loads the model
    first = time.time()
    first_cpu = time.process_time()
    latencies = []
    for question in json.loads(Path(args.questions).read_text()):
        t = time.perf_counter()
        baseline.search(question, TOP_K)
        latencies.append(round((time.perf_counter() - t) * 1000, 2))
    baseline.close()
    return {
        "first_answer_epoch": first,
        "first_answer_cpu_s": round(first_cpu, 2),
        "started_epoch": float(args.started),
        "latencies_ms": latencies,
    }


WORKERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "answer": _worker_answer,
    "tutorial-ingest": _worker_tutorial_ingest,
    "tutorial-answer": _worker_tutorial_answer,
}


def worker_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description="bench worker processes (internal)")
    parser.add_argument("worker", choices=sorted(WORKERS))
    parser.add_argument("--result", required=True, help="JSON file to write")
    parser.add_argument("--index")
    parser.add_argument("--questions")
    parser.add_argument("--corpus")
    parser.add_argument("--cache")
    parser.add_argument("--started", default="0")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import assistant  # noqa: F401  (the offline environment, as in the CLI)

    result = WORKERS[args.worker](args)
    Path(args.result).write_text(json.dumps(result))
    return 0


# --- the command ------------------------------------------------------------------------------


def default_corpus() -> Path:
    """HANDBOOK_CORPUS_DIR when it holds PDFs, else the shared mirror beside the checkout."""
    from ingest.fetch import default_mirror
    from ingest.settings import Settings

    configured = Settings().corpus_dir
    if configured.is_dir() and any(configured.glob("*.pdf")):
        return configured
    return default_mirror(REPO_ROOT) or REPO_ROOT.parent / "shared" / "corpus"


def load_questions(golden: Path, limit: int | None) -> tuple[str, ...]:
    from evals.golden import load_golden

    questions = tuple(q.question for q in load_golden(golden))
    return questions[:limit] if limit else questions


def bench_command(
    corpus: Annotated[
        Path | None,
        typer.Option(
            "--corpus", help="PDF folder (default: HANDBOOK_CORPUS_DIR if it has PDFs, else ../shared/corpus)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write bench.json and bench.md (a Markdown section).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (keys: docs/benchmarks.md).")] = False,
    skip_baseline: Annotated[
        bool, typer.Option("--skip-baseline", help="Do not measure the LangChain tutorial pipeline (no ratios).")
    ] = False,
    questions: Annotated[
        int | None, typer.Option("--questions", min=1, help="Time the first N golden questions (default: all).")
    ] = None,
    golden: Annotated[Path, typer.Option("--golden", help="Questions for the answer latency.")] = DEFAULT_GOLDEN,
    docs_md: Annotated[
        Path | None, typer.Option("--docs-md", help="(Re)write this results page, e.g. docs/benchmarks.md.")
    ] = None,
    load: Annotated[
        int, typer.Option("--load", min=0, help="Also run N concurrent web sessions against the server (minutes).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Benchmark ingest, re-ingest, answer latency, cold start and memory against the LangChain tutorial."""
    from evals.golden import GoldenFormatError
    from ingest.settings import Settings

    corpus_dir = corpus or default_corpus()
    if not corpus_dir.is_dir() or not any(corpus_dir.glob("*.pdf")):
        typer.echo(f"error: {corpus_dir}: no PDF files (pass --corpus DIR)", err=True)
        raise typer.Exit(2)
    try:
        asked = load_questions(golden, questions)
    except (GoldenFormatError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = Settings()
    config = BenchConfig(
        corpus=corpus_dir,
        questions=asked,
        skip_baseline=skip_baseline,
        load_sessions=load,
        backend=settings.embedding_backend,
        device=settings.embedding_device,
        progress=not quiet,
    )
    try:
        report = Bench(config).run()
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    data = report.to_json_dict()
    markdown = render_markdown(report)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        (out / "bench.md").write_text(markdown, encoding="utf-8")
        typer.echo(f"written: {out / 'bench.json'}, {out / 'bench.md'}", err=True)
    if docs_md is not None:
        docs_md.parent.mkdir(parents=True, exist_ok=True)
        docs_md.write_text(render_docs_page(report), encoding="utf-8")
        typer.echo(f"written: {docs_md}", err=True)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else markdown)


if __name__ == "__main__":
    raise SystemExit(worker_main())
