"""Worker processes of the benchmark (`python -m evals.bench WORKER ...`): the warm answers and the
tutorial's ingest and answers, each timed in a process of its own."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evals.bench.records import COLD_QUESTION, TOP_K


def _worker_answer(args: argparse.Namespace) -> dict[str, Any]:
    """Warm assistant in this process; the timings of each question."""
    from assistant.chain import Assistant
    from assistant.settings import Settings
    from ingest.settings import IngestSettings

    settings = Settings(ingest=IngestSettings(index_dir=Path(args.index)))
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
        "llm": settings.llm.backend,  # a configured language model adds its generation time
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
