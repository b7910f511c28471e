"""The benchmark itself: each phase in a fresh process (ingest, re-ingest, answers, cold start, load,
the tutorial's ingest and answers), gathered into a `BenchReport`."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.bench.http_api import ask_over_http
from evals.bench.load import run_load as run_sessions
from evals.bench.machine import describe_machine
from evals.bench.process import Child, free_port, handbook_command
from evals.bench.records import (
    COLD_QUESTION,
    BenchError,
    BenchReport,
    IngestRun,
    Latency,
    LoadFigures,
    SystemFigures,
)

log = logging.getLogger(__name__)


INGEST_TIMEOUT_S = 3600.0
SERVE_TIMEOUT_S = 900.0
POLL_S = 0.05


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


def _index_meta(index: Path) -> dict[str, Any]:
    from ingest.index_store import current_generation_dir

    meta: dict[str, Any] = json.loads((current_generation_dir(index) / "meta.json").read_text())
    return meta


def run_load(url: str, sessions: int) -> LoadFigures:
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
