"""The records of a `handbook bench` run and their JSON form (keys: docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evals.bench.machine import Machine
from evals.stats import percentile

COLD_QUESTION = "How long can someone be kept in segregation?"
TOP_K = 8  # passages per question for both systems (the assistant's default top_k)
REQUIRED_KEYS = ("ingest_s", "reingest_s", "answer_ms", "cold_start_s", "peak_rss_mb")


class BenchError(RuntimeError):
    """A phase that could not be measured; the message is one line (plus where its log is)."""


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
    """Concurrent chat sessions against one `handbook serve` (evals/bench/load.py)."""

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


def ratio(ours: float | None, reference: float | None) -> float | None:
    """ours / reference, rounded to 3 decimals; None when either is missing or the reference is not positive."""
    if ours is None or reference is None or reference <= 0:
        return None
    return round(ours / reference, 3)


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None
