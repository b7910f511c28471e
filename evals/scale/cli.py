"""The `handbook scale` commands (typer); the work is in the modules beside this one, which know no typer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Only typer here: the rest of evals/scale/ (numpy, the models) loads inside the commands (`handbook --help` fast).
DEFAULT_OUT = Path(__file__).resolve().parents[2] / ".cache" / "scale"
DEFAULT_SIZES = "1000,10000,100000"


def build_scale_app() -> typer.Typer:
    app = typer.Typer(
        help="Answer latency and memory against corpus size on a Chroma server; `scale embed`: vectors on a GPU.",
        invoke_without_command=True,
        rich_markup_mode=None,  # plain help, like the main app
    )
    app.callback(invoke_without_command=True)(scale_command)
    app.command("embed")(embed_command)
    return app


def scale_command(
    ctx: typer.Context,
    sizes: Annotated[str, typer.Option("--sizes", help="Corpus sizes in chunks, comma-separated: 1000,10k,100k.")] = (
        DEFAULT_SIZES
    ),
    out: Annotated[Path, typer.Option("--out", help="Where scale.json, scale.md and scale.png go.")] = DEFAULT_OUT,
    work: Annotated[
        Path | None, typer.Option("--work", help="Corpora, indexes and the server's data (default: OUT/work).")
    ] = None,
    chroma_host: Annotated[
        str | None, typer.Option("--chroma-host", help="Use this Chroma server instead of starting one.")
    ] = None,
    chroma_port: Annotated[int | None, typer.Option("--chroma-port", help="Its port (default 8000).")] = None,
    vectors: Annotated[
        Path | None,
        typer.Option(
            "--vectors", help="Vectors from `scale embed` (.npz); chunks not in it are embedded by the model."
        ),
    ] = None,
    fake_vectors: Annotated[
        bool,
        typer.Option("--fake-vectors", help="Token-hash vectors instead of the model's: latency and memory only."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Corpus seed.")] = 7,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Times each question is asked.")] = 3,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes writing the PDFs.")] = 1,
    two_processes: Annotated[
        bool, typer.Option("--two-processes/--no-two-processes", help="Also run two processes on one server.")
    ] = True,
    app_imports: Annotated[
        bool,
        typer.Option(
            "--app-imports/--no-app-imports", help="Import gradio in the measured processes, as the app does."
        ),
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Generate, ingest and measure each corpus size; print a Markdown table; write JSON and a plot."""
    from evals.scale.harness import run_scale
    from evals.scale.records import ScaleOptions, parse_sizes
    from evals.scale.report import markdown_table

    if ctx.invoked_subcommand is not None:
        return
    try:
        size_list = parse_sizes(sizes)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    if vectors is not None and fake_vectors:
        raise _fail("--vectors and --fake-vectors exclude each other", 2)
    if vectors is not None and not vectors.exists():
        raise _fail(f"{vectors}: no such file", 2)

    def echo(message: str) -> None:
        if not quiet:
            typer.echo(message, err=True)

    try:
        options = ScaleOptions(fake_vectors, seed, rounds, workers, two_processes, app_imports, progress=not quiet)
        results, paths = run_scale(
            size_list, out, work or out / "work", chroma_host, chroma_port, vectors, options, echo
        )
    except RuntimeError as exc:
        raise _fail(str(exc)) from None
    typer.echo(markdown_table(results))
    typer.echo(f"written: {', '.join(str(p) for p in paths)}")
    if any(r.two_processes_agree is False for r in results):
        raise _fail("two processes sharing the server did not both cite what a single process cites")


def embed_command(
    sizes: Annotated[str, typer.Option("--sizes", help="Corpus sizes in chunks, comma-separated.")] = "100000",
    texts: Annotated[
        Path | None, typer.Option("--texts", help="Texts from `python -m evals.scale texts` instead of --sizes.")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="sentence-transformers folder (default: the packaged all-MiniLM-L6-v2).")
    ] = "",
    out: Annotated[Path, typer.Option("--out", help="The .npz to write (merged into when it exists).")] = Path(
        "vectors.npz"
    ),
    device: Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:1, ...")] = "cpu",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 128,
    seed: Annotated[int, typer.Option("--seed", help="Corpus seed (as for `handbook scale`).")] = 7,
    via_pdf: Annotated[
        bool, typer.Option("--via-pdf", help="Chunk the written PDFs (fpdf2 + pypdfium2), not the laid-out text.")
    ] = False,
) -> None:
    """Embed the chunk texts of the synthetic corpora; print throughput (chunks/s); write int8 vectors."""
    from evals.scale.embed import corpus_meta, corpus_texts, embed_vectors, read_texts
    from evals.scale.records import parse_sizes
    from ingest.settings import default_model_path

    model_path = model or default_model_path()
    if texts is not None:
        meta, groups = read_texts(texts)
        embed_vectors(groups, model_path, out, device, batch_size, meta, echo=typer.echo)
        return
    try:
        size_list = parse_sizes(sizes)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    made = corpus_texts(size_list, seed, via_pdf)
    embed_vectors(made, model_path, out, device, batch_size, corpus_meta(seed), echo=typer.echo)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
