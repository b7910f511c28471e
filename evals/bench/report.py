"""The Markdown of a bench run: the results section (`bench.md`) and the whole docs/benchmarks.md page."""

from __future__ import annotations

from collections.abc import Callable

from evals.bench.records import TOP_K, BenchReport, SystemFigures


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

Generated by `handbook bench` (evals/bench/); rerun it to refresh this page (see the end).
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
  verification; p50 and p95 (as every percentile of the reports: `evals/stats.py`, linear
  interpolation between the closest ranks, numpy's default; evals/README.md, "Percentiles").
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
`run`), `--load N` (N concurrent sessions through `evals/bench/load.py`; minutes),
`--skip-baseline`, `-q`. The embedding backend is
the one configured (`HANDBOOK_EMBEDDING_BACKEND`). Measure on an otherwise idle machine: the
load average at the start is recorded with the machine.
"""


def render_docs_page(report: BenchReport) -> str:
    return f"{DOCS_INTRO}\n{render_markdown(report)}\n{DOCS_REPRODUCE}"
