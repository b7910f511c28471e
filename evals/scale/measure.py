"""The measured app-like process (`python -m evals.scale _measure SPEC`): it loads the assistant as the
web app does, asks the needle and generic questions, and reports latency, memory and the needles cited."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.scale.chroma import no_proxy_env
from evals.stats import percentile

REPO_ROOT = Path(__file__).resolve().parents[2]


def rss_mb(pid: int | None = None) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc (0, 0 where unavailable)."""
    status = Path(f"/proc/{pid or 'self'}/status")
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    with contextlib.suppress(OSError):
        for line in status.read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = float(rest.split()[0]) / 1024
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


@dataclass
class MeasureSpec:
    index_dir: str
    needles: list[dict[str, Any]]
    questions: list[str]
    rounds: int = 3
    app_imports: bool = True
    barrier: str = ""  # a folder: processes started together wait there until all `parties` are ready
    parties: int = 1


def needle_cited(answer: Any, needle: dict[str, Any]) -> tuple[bool, bool]:
    """(cited anywhere, cited first): a citation of the needle's document and ref that quotes its phrase."""
    phrase = needle["phrase"].lower()

    def match(citation: Any) -> bool:
        quote = " ".join(citation.quote.split()).lower()
        return bool(citation.doc == needle["doc_id"] and citation.ref == needle["ref"] and phrase in quote)

    cited = [match(c) for c in answer.citations]
    return any(cited), bool(cited and cited[0])


def needle_rank(answer: Any, needle: dict[str, Any]) -> int | None:
    """1-based rank of the needle's passage among the answer's passages; None when not among them."""
    phrase = needle["phrase"].lower()
    for rank, passage in enumerate(answer.passages, start=1):
        if passage.doc == needle["doc_id"] and phrase in " ".join(passage.text.split()).lower():
            return rank
    return None


def measure(spec: MeasureSpec) -> dict[str, Any]:
    """Runs in a fresh process: load the assistant as the app does, ask, time, and read our memory."""
    started = time.perf_counter()
    if spec.app_imports:
        import gradio  # noqa: F401  (the web app's process carries it)
    from assistant.chain import Assistant
    from assistant.settings import Settings
    from ingest.settings import IngestSettings

    assistant = Assistant.from_settings(Settings(ingest=IngestSettings(index_dir=Path(spec.index_dir))))
    assistant.warm_up()
    startup = time.perf_counter() - started
    if spec.barrier:
        _wait_for_peers(Path(spec.barrier), spec.parties)
    latencies: list[float] = []
    stages: dict[str, list[float]] = {}
    results: dict[str, dict[str, Any]] = {}
    questions = [n["question"] for n in spec.needles] + list(spec.questions)
    for _ in range(spec.rounds):
        for question in questions:
            t = time.perf_counter()
            answer = assistant.ask(question)
            latencies.append((time.perf_counter() - t) * 1000)
            for stage, ms in answer.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
            for needle in spec.needles:
                if needle["question"] == question and needle["key"] not in results:
                    cited, first = needle_cited(answer, needle)
                    results[needle["key"]] = {
                        "cited": cited,
                        "cited_first": first,
                        "retrieved_rank": needle_rank(answer, needle),
                        "refused": answer.refused,
                        "confidence": round(answer.confidence, 3),
                        "citations": [f"{c.doc} {c.ref}" for c in answer.citations[:3]],
                    }
    # The "dense" stage includes embedding the question; time that alone to tell it from the Chroma query.
    encode_ms = []
    for question in questions:
        t = time.perf_counter()
        assistant.retriever.embedder.encode([question])
        encode_ms.append((time.perf_counter() - t) * 1000)
    current, peak = rss_mb()
    return {
        "chunks": len(assistant.snapshot.chunks),
        "startup_s": round(startup, 2),
        "asked": len(latencies),
        "latency_ms": latency_summary(latencies),
        "stage_ms_p50": {k: round(percentile(v, 50), 2) for k, v in sorted(stages.items())},
        "query_embedding_ms_p50": round(percentile(encode_ms, 50), 2) if encode_ms else 0.0,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch_loaded": "torch" in sys.modules,
        "rss_mb": current,
        "peak_rss_mb": peak,
        "needles": results,
        "needles_cited": sum(r["cited"] for r in results.values()),
        "needles_retrieved_first": sum(r["retrieved_rank"] == 1 for r in results.values()),
        "needles_total": len(spec.needles),
    }


def _wait_for_peers(folder: Path, parties: int, timeout_s: float = 300.0) -> None:
    """Start asking only when every process of the group has loaded (so that they really overlap)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + timeout_s
    while len(list(folder.glob("ready-*"))) < parties and time.monotonic() < deadline:
        time.sleep(0.05)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "mean": round(sum(values) / len(values), 1),
        "max": round(max(values), 1),
    }


def measure_main(argv: Sequence[str]) -> int:
    spec = MeasureSpec(**json.loads(Path(argv[0]).read_text()))
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(measure(spec)))
    return 0


def start_measure(spec: MeasureSpec, spec_path: Path) -> subprocess.Popen[str]:
    spec_path.write_text(json.dumps(asdict(spec)))
    return subprocess.Popen(
        [sys.executable, "-m", "evals.scale", "_measure", str(spec_path)],
        cwd=str(REPO_ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in no_proxy_env().items() if k != "HANDBOOK_LLM"},  # extractive answers: the app's default
    )


def finish_measure(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"measured process failed ({process.returncode}): {err.strip()[-2000:]}")
    return dict(json.loads(out.strip().splitlines()[-1]))
