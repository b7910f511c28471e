"""The `handbook` command line. Heavy libraries are imported inside commands so `--help` is instant."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import assistant  # noqa: F401  (sets the offline environment first)

if TYPE_CHECKING:
    from assistant.settings import Settings
    from ingest.pipeline import Ingestor, IngestReport
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


def _ingestor(settings: IngestSettings, quiet: bool) -> Ingestor:
    from ingest.chunking import Chunker
    from ingest.corpus_manifest import Manifest, ManifestError
    from ingest.encoders import MINILM, EncoderError, build_encoders
    from ingest.index_store import ChromaConfig
    from ingest.pipeline import Ingestor

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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Add or update documents in the index (chunks, vectors, BM25); other indexed documents stay unless --prune."""
    settings = _settings(index)
    sources = paths or [settings.ingest.corpus_dir]
    ingestor = _ingestor(settings.ingest, quiet)
    try:
        report = ingestor.run(sources, prune=prune)
    except KeyboardInterrupt:
        raise _fail("interrupted; the previous index is unchanged", 130) from None
    _print_ingest_report(report, settings.ingest.index_dir)
    if report.failed:
        raise typer.Exit(1)


def _print_ingest_report(report: IngestReport, index_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False)
    table = Table("document", "status", "pages", "chunks", "seconds")
    for f in report.files:
        table.add_row(f.doc_id, f.status, str(f.pages), str(f.chunks), f"{f.seconds:.1f}")
    if report.files:
        console.print(table)
    for f in report.files:
        if f.message:
            typer.echo(("error: " if f.status == "failed" else "note: ") + f.message, err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
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
    _print_ingest_report(report, settings.ingest.index_dir)


def _load_assistant(index: Path | None, llm: str | None = None):  # type: ignore[no-untyped-def]
    from assistant.chain import Assistant
    from assistant.llm import LLMConfigError, LLMSpec
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


def _print_answer(answer, show_passages: bool = False, already_shown: str = "") -> None:  # type: ignore[no-untyped-def]
    """Prints the answer; `already_shown` is the streamed part of a generated answer, not printed twice."""
    from rich.console import Console

    from assistant.answerability import CLOSEST_CAUTION

    console = Console(soft_wrap=True)  # never break a quote with inserted line ends
    if answer.language_note:
        console.print(answer.language_note, style="cyan", highlight=False, markup=False)
    text = answer.answer
    if answer.mode == "generated" and already_shown and text.startswith(already_shown):
        console.print(text[len(already_shown) :], highlight=False, markup=False)
    else:
        if already_shown:
            console.print("\n")
        if answer.state == "closest":
            # The caution stands apart from the quotes, so the reader sees it before trusting them.
            console.print(f"Caution: {CLOSEST_CAUTION}", style="bold yellow", highlight=False, markup=False)
            text = text.removeprefix(CLOSEST_CAUTION).lstrip("\n")
        elif answer.state == "not_covered":
            console.print("Not covered by the documents.", style="bold red", highlight=False, markup=False)
        console.print(text, highlight=False, markup=False)
    if answer.note:
        console.print(f"\nNote: {answer.note}", style="yellow", highlight=False, markup=False)
    if show_passages and answer.passages:
        console.print("\nPassages retrieved:", style="dim")
        for p in answer.passages:
            console.print(f"  {p.score:.4f}  {p.label()}", style="dim", markup=False)


def _stream_answer(assistant_, question: str, show_passages: bool = False, **kwargs):  # type: ignore[no-untyped-def]
    """Prints each checked sentence of a generated answer as it is written, then the sources (or the fallback)."""
    from assistant.answer import Answer

    shown: list[str] = []
    answer = None
    for event in assistant_.stream(question, **kwargs):
        if isinstance(event, Answer):
            answer = event
        else:
            typer.echo(("" if not shown else " ") + event.text, nl=False)
            shown.append(event.text)
    assert answer is not None
    _print_answer(answer, show_passages, " ".join(shown))
    return answer


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
    llm: LLMOpt = None,
) -> None:
    """Answer one question with quoted, cited passages."""
    from assistant.chain import QuestionError

    assistant_ = _load_assistant(index, llm)
    try:
        if as_json:
            answer = assistant_.ask(question, doc_ids=doc or (), kinds=kind or (), k=k)
            typer.echo(json.dumps(answer.to_json_dict(), ensure_ascii=False, indent=2))
        else:
            _stream_answer(assistant_, question, passages, doc_ids=doc or (), kinds=kind or (), k=k)
    except QuestionError as exc:
        raise _fail(str(exc), 2) from None


@app.command()
def chat(
    index: IndexOpt = None,
    doc: Annotated[list[str] | None, typer.Option("--doc", help="Search only this document id (repeatable).")] = None,
    llm: LLMOpt = None,
) -> None:
    """Multi-turn conversation in the terminal (follow-ups keep the topic). Empty line or Ctrl-D ends it."""
    from assistant.answer import Turn
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
        if answer.standalone_question != question:
            typer.echo(f"(searched as: {answer.standalone_question})")
        history.append(Turn(question=question, answer=answer.answer, standalone=answer.standalone_question))


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
) -> None:
    """Start the chat app for staff and trainers in the browser (login: HANDBOOK_AUTH or HANDBOOK_AUTH_FILE)."""
    import signal
    import time

    from assistant.app.server import AuthConfigError, is_loopback, launch, load_auth
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
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        running.close()


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
    from assistant.brief import BriefBuilder
    from assistant.chain import QuestionError, check_question
    from assistant.quiz import QuizBuilder

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
        typer.echo(markdown)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown, encoding="utf-8")
        typer.echo(f"brief written to {out}", err=True)
    if docx is not None:
        typer.echo(f"brief written to {topic_brief.to_docx(docx)}", err=True)
        if topic_quiz is not None:
            quiz_path = topic_quiz.to_docx(docx.with_name(f"{docx.stem}-quiz{docx.suffix or '.docx'}"))
            typer.echo(f"quiz written to {quiz_path}", err=True)


_register_plugins()
