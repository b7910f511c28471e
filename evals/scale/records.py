"""What a scale run takes (`ScaleOptions`, the sizes) and what one corpus size gives (`SizeResult`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

LATENCY_TARGET_MS = 150.0
MEMORY_TARGET_MB = 2048.0


@dataclass
class SizeResult:
    target: int
    documents: int
    pages: int
    chunks: int
    generate_s: float
    ingest_s: float
    embedded: int
    vectors: str  # "model", "table" or "fake"
    table_hits: int
    table_misses: int
    app: dict[str, Any]
    two_processes: list[dict[str, Any]]
    chroma_rss_mb: float | None
    two_processes_correct: bool | None = None  # both cite every needle
    two_processes_agree: bool | None = None  # both cite what the single process cited (sharing changes nothing)
    index_reused: bool = False  # the index of an earlier run was up to date: ingest_s is only the check

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScaleOptions:
    """How each corpus size is built and measured (the `handbook scale` options)."""

    fake_vectors: bool = False  # hash vectors: latency and memory only, answers are meaningless
    seed: int = 7
    rounds: int = 3  # passes over the questions per measurement
    workers: int = 1  # processes generating the PDFs
    two_processes: bool = True  # also two app processes against the same server at once
    app_imports: bool = True  # import gradio in the measured process, as the app does
    progress: bool = True


def parse_sizes(text: str) -> list[int]:
    sizes: list[int] = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        factor = 1000 if part.endswith("k") else 1
        try:
            value = int(part.rstrip("k")) * factor
        except ValueError:
            raise ValueError(f"--sizes: {part!r} is not a number of chunks") from None
        if value < 50:
            raise ValueError(f"--sizes: {value} is too small (at least 50 chunks)")
        sizes.append(value)
    if not sizes:
        raise ValueError("--sizes: give at least one size, e.g. 1000,10000")
    return sizes
