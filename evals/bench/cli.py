"""`handbook bench`: the typer command (only typer and the standard library at import: `handbook --help`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GOLDEN = REPO_ROOT / "evals" / "golden" / "dev.jsonl"


def default_corpus() -> Path:
    """HANDBOOK_CORPUS_DIR when it holds PDFs, else the shared mirror beside the checkout."""
    from ingest.fetch import default_mirror
    from ingest.settings import IngestSettings

    configured = IngestSettings().corpus_dir
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
    llm: Annotated[
        bool,
        typer.Option(
            "--llm", help="Only the local language models: load, first token, tokens/s, s per answer (on --index)."
        ),
    ] = False,
    llm_model: Annotated[
        list[str] | None,
        typer.Option("--llm-model", help="With --llm: this local model only (repeatable; default: every installed)."),
    ] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="With --llm: llama.cpp threads.")] = 2,
    index: Annotated[
        Path | None, typer.Option("--index", help="With --llm: the index to ask (default: HANDBOOK_INDEX_DIR).")
    ] = None,
) -> None:
    """Benchmark ingest, re-ingest, answer latency, cold start and memory against the LangChain tutorial."""
    if llm:
        _bench_llm(golden, questions or 5, llm_model or [], threads, index, out, as_json)
        return
    from evals.bench.harness import Bench, BenchConfig
    from evals.bench.records import BenchError
    from evals.bench.report import render_docs_page, render_markdown
    from evals.golden import GoldenFormatError
    from ingest.settings import IngestSettings

    corpus_dir = corpus or default_corpus()
    if not corpus_dir.is_dir() or not any(corpus_dir.glob("*.pdf")):
        typer.echo(f"error: {corpus_dir}: no PDF files (pass --corpus DIR)", err=True)
        raise typer.Exit(2)
    try:
        asked = load_questions(golden, questions)
    except (GoldenFormatError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = IngestSettings()
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


def _bench_llm(
    golden: Path, questions: int, models: list[str], threads: int, index: Path | None, out: Path | None, as_json: bool
) -> None:
    """`handbook bench --llm` (evals/bench/llm.py)."""
    from assistant.llm.local_models import LOCAL_MODELS
    from evals.bench.llm import LLMBench, LLMBenchConfig, render_llm_markdown
    from evals.golden import GoldenFormatError
    from ingest.settings import IngestSettings

    unknown = [m for m in models if m not in LOCAL_MODELS]
    if unknown:
        typer.echo(f"error: --llm-model {unknown[0]!r}: local models are {', '.join(LOCAL_MODELS)}", err=True)
        raise typer.Exit(2)
    try:
        asked = load_questions(golden, questions)
    except (GoldenFormatError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from assistant.settings import LLMSettings

    config = LLMBenchConfig(
        index=index or IngestSettings().index_dir,
        questions=asked,
        models=tuple(models),
        threads=threads,
        model_dir=LLMSettings().model_dir,
    )
    report = LLMBench(config).run()
    data = report.to_json_dict()
    markdown = render_llm_markdown(report)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "llm-bench.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        (out / "llm-bench.md").write_text(markdown, encoding="utf-8")
        typer.echo(f"written: {out / 'llm-bench.json'}, {out / 'llm-bench.md'}", err=True)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else markdown)
