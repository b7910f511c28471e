"""The outputs of a scale run: scale.md (a Markdown table), scale.png (latency and memory against size), scale.json."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.scale.records import LATENCY_TARGET_MS, MEMORY_TARGET_MB, SizeResult


def markdown_table(results: Sequence[SizeResult]) -> str:
    head = (
        "| target | documents | pages | chunks | vectors | generate s | ingest s | p50 ms | p95 ms "
        "| question embedding ms | app RSS MB (peak) | Chroma RSS MB | needles cited "
        "| two processes at once: needles cited, latency |\n"
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = []
    for r in results:
        app = r.app
        pair = ", ".join(f"{p['needles_cited']}/{p['needles_total']}" for p in r.two_processes) or "–"
        if r.two_processes_agree is not None:
            pair += "; same as one process" if r.two_processes_agree else "; DIFFERENT from one process"
        if r.two_processes:
            pair += "; p50 " + "/".join(f"{p['latency_ms']['p50']:.0f}" for p in r.two_processes) + " ms"
        rows.append(
            f"| {r.target} | {r.documents} | {r.pages} | {r.chunks} | {r.vectors} | {r.generate_s:.1f} "
            f"| {r.ingest_s:.1f}{' (reused)' if r.index_reused else ''} "
            f"| {app['latency_ms']['p50']:.0f} | {app['latency_ms']['p95']:.0f} "
            f"| {app.get('query_embedding_ms_p50', 0):.0f} "
            f"| {app['rss_mb']:.0f} ({app['peak_rss_mb']:.0f}) "
            f"| {'–' if r.chroma_rss_mb is None else f'{r.chroma_rss_mb:.0f}'} "
            f"| {app['needles_cited']}/{app['needles_total']} ({app.get('needles_retrieved_first', '–')} ranked first) "
            f"| {pair} |"
        )
    return head + "\n".join(rows) + "\n"


def plot(results: Sequence[SizeResult], path: Path, note: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(results, key=lambda r: r.chunks)
    x = [r.chunks for r in ordered]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(x, [r.app["latency_ms"]["p50"] for r in ordered], "o-", label="p50")
    left.plot(x, [r.app["latency_ms"]["p95"] for r in ordered], "s--", label="p95")
    left.axhline(
        LATENCY_TARGET_MS, color="red", linewidth=0.8, linestyle=":", label=f"target p50 {LATENCY_TARGET_MS:.0f} ms"
    )
    left.set(xscale="log", xlabel="chunks", ylabel="answer latency (ms)", title="Answer latency")
    left.set_ylim(bottom=0)
    left.legend()
    right.plot(x, [r.app["peak_rss_mb"] for r in ordered], "o-", label="app process, peak RSS")
    right.plot(x, [r.app["rss_mb"] for r in ordered], "^-", label="app process, RSS after questions")
    if all(r.chroma_rss_mb is not None for r in ordered):
        right.plot(x, [r.chroma_rss_mb for r in ordered], "s--", label="Chroma server RSS")
    right.axhline(MEMORY_TARGET_MB, color="red", linewidth=0.8, linestyle=":", label="target 2 GB")
    right.set(xscale="log", xlabel="chunks", ylabel="MB", title="Memory")
    right.set_ylim(bottom=0)
    right.legend(fontsize=8)
    modes = sorted({r.vectors for r in ordered})
    fig.suptitle(f"Handbook assistant at scale ({os.cpu_count()} CPU cores; vectors: {', '.join(modes)}{note})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(results: Sequence[SizeResult], out: Path, extra: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = {**extra, "results": [r.to_json() for r in results]}
    paths = [out / "scale.json", out / "scale.md", out / "scale.png"]
    paths[0].write_text(json.dumps(data, indent=2))
    paths[1].write_text(markdown_table(results))
    backend = extra.get("embedding_backend")
    plot(results, paths[2], f"; question embedding: {backend}" if backend else "")
    return paths
