"""The options and loaders the `handbook eval` command modules share (evals/cli.py, evals/llm_commands.py).

Only typer is imported at module level, so `handbook --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from evals.golden import GoldenQuestion

GoldenOpt = Annotated[Path | None, typer.Option("--golden", help="Golden set (JSONL), e.g. evals/golden/dev.jsonl.")]
IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder (default: HANDBOOK_INDEX_DIR or ./index).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object (keys: evals/README.md).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write report.json, report.md and PNG plots here.")]
BaselineOpt = Annotated[
    str | None, typer.Option("--baseline", help="Also run these baselines, comma-separated: naive,bm25.")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions.")]
CorpusOpt = Annotated[
    Path | None, typer.Option("--corpus", help="PDF folder for the baselines (default: the index's source PDFs).")
]
CacheOpt = Annotated[Path, typer.Option("--cache", help="Cache of the baselines' built stores.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """One line on stderr; raise the returned Exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def golden_questions(golden: Path, limit: int | None) -> list[GoldenQuestion]:
    from evals.golden import GoldenFormatError, load_golden

    try:
        questions = load_golden(golden)
    except GoldenFormatError as exc:
        raise fail(str(exc), 2) from None
    if not questions:
        raise fail(f"{golden}: no questions", 2)
    return questions[:limit] if limit else questions


def load_assistant(index: Path | None) -> Assistant:
    from assistant.chain import Assistant
    from assistant.settings import Settings
    from ingest.index_store import IndexMissingError

    settings = Settings()
    if index is not None:
        settings.ingest.index_dir = index
    try:
        return Assistant.from_settings(settings)
    except IndexMissingError as exc:
        raise fail(f"{exc} (after `handbook corpus fetch`)") from None
