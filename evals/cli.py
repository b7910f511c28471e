"""`handbook` commands of the evaluation package, registered through the `handbook.cli` entry point.

Only typer is imported here: the evaluation code (and the model behind it) loads inside
the commands, so `handbook --help` stays instant.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evals.cli_shared import (
    BaselineOpt,
    CacheOpt,
    CorpusOpt,
    GoldenOpt,
    IndexOpt,
    JsonOpt,
    LimitOpt,
    OutOpt,
    QuietOpt,
    fail,
    golden_questions,
    load_assistant,
)

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from evals.runner import EvalReport

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / ".cache" / "baselines"
DEFAULT_FLOORS = Path(__file__).resolve().parent / "floors.json"


def register(app: typer.Typer) -> None:
    """Adds the evaluation commands to the `handbook` CLI (more sub-apps can be added here)."""
    app.add_typer(build_eval_app(), name="eval")
    from evals.beir.cli import beir_command
    from evals.bench.cli import bench_command
    from evals.scale.cli import build_scale_app

    app.command("beir")(beir_command)
    app.command("bench")(bench_command)
    app.add_typer(build_scale_app(), name="scale")


def build_eval_app() -> typer.Typer:
    eval_app = typer.Typer(
        help="Evaluate answers on a golden set (`eval --golden FILE` = `eval run`); compare, calibrate, check.",
        invoke_without_command=True,
        rich_markup_mode=None,  # plain help, like the main app: rich help formatting is slow to import
    )
    eval_app.callback(invoke_without_command=True)(eval_default)
    eval_app.command("run")(eval_run)
    eval_app.command("compare")(eval_compare)
    eval_app.command("calibrate")(eval_calibrate)
    eval_app.command("calibrate-support")(eval_calibrate_support)
    eval_app.command("check")(eval_check)
    eval_app.command("lead")(eval_lead)
    from evals.llm_commands import eval_llm_experiments, eval_llm_lead

    eval_app.command("llm-lead")(eval_llm_lead)
    eval_app.command("llm-experiments")(eval_llm_experiments)
    return eval_app


def eval_default(
    ctx: typer.Context,
    golden: GoldenOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    baseline: BaselineOpt = None,
    limit: LimitOpt = None,
    corpus: CorpusOpt = None,
    cache: CacheOpt = DEFAULT_CACHE,
    quiet: QuietOpt = False,
) -> None:
    """Evaluate the assistant on a golden set (the same as `handbook eval run`), or run a subcommand."""
    if ctx.invoked_subcommand is not None:
        return
    if golden is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    eval_run(golden, index, as_json, out, baseline, limit, corpus, cache, quiet)


def eval_run(
    golden: Annotated[Path, typer.Option("--golden", help="Golden set (JSONL), e.g. evals/golden/dev.jsonl.")],
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    baseline: BaselineOpt = None,
    limit: LimitOpt = None,
    corpus: CorpusOpt = None,
    cache: CacheOpt = DEFAULT_CACHE,
    quiet: QuietOpt = False,
) -> None:
    """Ask every golden question, score answers and retrieval, optionally against baselines."""
    report = _evaluate(golden, index, limit, baseline, corpus, cache, progress=not quiet)
    if out is not None:
        from evals.report import write_report

        paths = write_report(report, out)
        typer.echo(f"report written: {', '.join(str(p) for p in paths)}", err=True)
    if as_json:
        typer.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        _print_summary(report)


def eval_compare(
    a: Annotated[Path, typer.Argument(help="The earlier report (report.json or `--json` output).")],
    b: Annotated[Path, typer.Argument(help="The later report.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Metric deltas (B - A) and the questions that flipped between two reports."""
    from evals.compare import ReportError, compare_reports, load_report, render_text

    try:
        comparison = compare_reports(load_report(a), load_report(b), str(a), str(b))
    except ReportError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(
        json.dumps(comparison.to_json_dict(), ensure_ascii=False, indent=2) if as_json else render_text(comparison)
    )


def eval_calibrate(
    golden: Annotated[
        list[Path],
        typer.Option("--golden", help="Golden sets with unanswerable questions (repeat it: dev, dev_multilingual)."),
    ],
    index: IndexOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    limit: LimitOpt = None,
    max_false_refusal: Annotated[
        float, typer.Option("--max-false-refusal", min=0.0, max=1.0, help="The hand rules' false-refusal limit.")
    ] = 0.025,  # evals.calibrate.MAX_FALSE_REFUSAL (not imported: `handbook --help` stays light)
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    rows: Annotated[
        Path | None,
        typer.Option("--rows", help="Keep each question's features here (JSON) and reuse them while still valid."),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the classifier fitted on all questions to decision_weights.py.")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Learn the answer decision; print out-of-fold figures of it and of the hand rules (evals/decision_training.py)."""
    from evals.decision_figures import render_text
    from evals.decision_rows import collect_decision_rows, question_folds
    from evals.decision_training import train_decision

    questions = [q for path in golden for q in golden_questions(path, limit)]
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise fail(f"question id {q.id} is in more than one golden file", 2)
        seen.add(q.id)
    if all(q.answerable for q in questions) or not any(q.answerable for q in questions):
        raise fail(f"{', '.join(map(str, golden))}: calibration needs answerable and unanswerable questions", 2)
    assistant = load_assistant(index)
    found = collect_decision_rows(assistant, questions, rows, progress=not quiet)
    sources = {q.id: path.name for path in golden for q in golden_questions(path, limit)}
    report, weights = train_decision(
        found, question_folds(questions, folds), rules_max_false_refusal=max_false_refusal, sources=sources
    )
    if write:
        from assistant.answer import decision_weights
        from evals.decision_export import write_weights

        target = Path(decision_weights.__file__).resolve()
        write_weights(weights, report, target, [str(p) for p in golden])
        typer.echo(f"weights written: {target}", err=True)
    typer.echo(json.dumps(report.to_json_dict(), indent=2) if as_json else render_text(report))


def eval_calibrate_support(
    golden: Annotated[Path, typer.Option("--golden", help="Golden set with key facts (the dev set).")],
    index: IndexOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    limit: LimitOpt = None,
    max_false_accept: Annotated[
        float, typer.Option("--max-false-accept", min=0.0, max=1.0, help="Limit on wrong citations accepted.")
    ] = 0.05,
    quiet: QuietOpt = False,
) -> None:
    """Print the support threshold of the generated-answer citation check per lexical weight (writes nothing)."""
    from evals.support_calibration import calibrate_support, collect_pairs, render_text

    pairs = collect_pairs(load_assistant(index), golden_questions(golden, limit), progress=not quiet)
    results = [calibrate_support(pairs, w, max_false_accept) for w in (0.0, 0.25, 0.5, 0.75, 1.0)]
    typer.echo(json.dumps([r.model_dump() for r in results], indent=2) if as_json else render_text(results))


def eval_lead(
    golden: Annotated[
        list[Path], typer.Option("--golden", help="Golden sets with key facts (repeat it: dev, dev_multilingual).")
    ],
    index: IndexOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    scorer: Annotated[
        str | None, typer.Option("--scorer", help="Use this scorer (hand, logistic, logistic-no-e5), not the best.")
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the weights fitted on all questions to answer/lead_weights.py.")
    ] = False,
    candidates: Annotated[
        Path | None,
        typer.Option("--candidates", help="Keep the collected sentences in this JSONL file; ask only new questions."),
    ] = None,
    limit: LimitOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Learn the lead's sentence scorer from the key facts; print out-of-fold figures (evals/lead_training.py)."""
    from evals.lead_training import CandidatesFileError, train_lead, write_weights

    questions = [q for path in golden for q in golden_questions(path, limit)]
    assistant = load_assistant(index)
    try:
        report = train_lead(assistant, questions, scorer, progress=not quiet, candidates=candidates)
    except CandidatesFileError as exc:
        raise fail(str(exc), 2) from None
    if write:
        from assistant.answer import lead_weights

        selector = getattr(assistant.composer, "lead", None)
        target = Path(lead_weights.__file__).resolve()
        write_weights(report, selector.passages if selector is not None else 5, target)
        typer.echo(f"weights written: {target}", err=True)
    if as_json:
        typer.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"candidate sentences {report.candidates}, holding a key fact {report.positives}")
    typer.echo("simulated lead, key facts found out of fold (en / ru+kk / all):")
    for name, shares in report.comparison.shares.items():
        typer.echo(f"  {name:16s} {shares['en']:.3f} / {shares['cyrillic']:.3f} / {shares['all']:.3f}")
    typer.echo(f"chosen: {report.chosen}; asked again with each fold's model (out of fold):")
    for name, m in report.metrics.items():
        typer.echo(
            f"  {name:14s} n {m.n_answerable:3d}  key facts in 60 words {_num(m.lead_key_fact_share)}  "
            f"key-fact coverage {_num(m.key_fact_coverage)}  words before passages {m.words_before_passages}  "
            f"p50 {m.latency_ms.p50} ms"
        )


def eval_check(
    golden: Annotated[Path | None, typer.Option("--golden", help="Golden set to run (the dev set in CI).")] = None,
    floors: Annotated[Path, typer.Option("--floors", help="Floors and ceilings (JSON).")] = DEFAULT_FLOORS,
    report: Annotated[
        Path | None, typer.Option("--report", help="Check this report JSON instead of running the golden set.")
    ] = None,
    index: IndexOpt = None,
    limit: LimitOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """CI gate: exit 1, with one line per metric, when a metric is below its floor (or above its ceiling)."""
    from evals.gate import FloorsError, check_floors, load_floors

    try:
        limits = load_floors(floors)
    except FloorsError as exc:
        raise fail(str(exc), 2) from None
    if report is not None:
        from evals.compare import ReportError, load_report

        try:
            metrics = load_report(report).to_json_dict()
        except ReportError as exc:
            raise fail(str(exc), 2) from None
    elif golden is not None:
        metrics = _evaluate(golden, index, limit, None, None, DEFAULT_CACHE, progress=not quiet).to_json_dict()
    else:
        raise fail("eval check: pass --golden FILE (or --report FILE)", 2)
    problems = check_floors(metrics, limits)
    for line in problems:
        typer.echo(f"FAIL {line}", err=True)
    if problems:
        raise typer.Exit(1)
    checked = len(limits.floors) + len(limits.ceilings)
    typer.echo(f"ok: {checked} metrics within their floors/ceilings ({floors})")


# --- helpers --------------------------------------------------------------------------------


def _evaluate(
    golden: Path,
    index: Path | None,
    limit: int | None,
    baseline: str | None,
    corpus: Path | None,
    cache: Path,
    progress: bool,
) -> EvalReport:
    from evals.runner import EvalRunner

    questions = golden_questions(golden, limit)
    names = [n.strip() for n in (baseline or "").split(",") if n.strip()]
    assistant = load_assistant(index)
    baselines: list[Any] = []
    try:
        if names:
            baselines = _baselines(names, assistant, corpus, cache, progress)
        return EvalRunner(assistant, questions, baselines, progress=progress, golden_path=str(golden)).run()
    finally:
        for b in baselines:
            b.close()


def _baselines(names: list[str], assistant: Assistant, corpus: Path | None, cache: Path, progress: bool) -> list[Any]:
    from evals.baselines import BaselineError, index_pdfs, make_baselines
    from ingest.settings import default_model_path

    try:
        pdfs = index_pdfs(list(assistant.snapshot.meta.documents.values()), corpus)
        return list(make_baselines(names, pdfs, cache, default_model_path(), progress=progress))
    except BaselineError as exc:
        raise fail(str(exc), 2) from None


def _print_summary(report: EvalReport) -> None:
    from rich.console import Console
    from rich.table import Table

    from evals.report import HEADLINE
    from evals.runner import SYSTEM

    systems = [(SYSTEM, report.metrics)] + [(name, b.metrics) for name, b in report.baselines.items()]
    table = Table("metric", *(name for name, _ in systems), title=f"{report.metrics.n} questions ({report.run.golden})")
    for key, label, _lower in HEADLINE:
        values = [m.value(key) for _, m in systems]
        table.add_row(
            label,
            *("–" if v is None else f"{v:.1f}" if key.startswith(("latency", "words")) else f"{v:.3f}" for v in values),
        )
    kinds = Table("kind", "n", "hit@5", "MRR@10", "key facts", "refusal recall", "false refusals", title="per kind")
    for kind, m in report.per_kind.items():
        cells = [m.hit_5, m.mrr_10, m.key_fact_coverage, m.refusal_recall, m.false_refusal_rate]
        kinds.add_row(kind, str(m.n), *("–" if v is None else f"{v:.3f}" for v in cells))
    console = Console()
    console.print(table)
    console.print(kinds)
    if report.per_overlap:
        bands = Table(
            "overlap", "n", "hit@5", "MRR@10", "key facts", "in 60 words", "false refusals", title="per overlap band"
        )
        for band, m in report.per_overlap.items():
            cells = [m.hit_5, m.mrr_10, m.key_fact_coverage, m.lead_key_fact_share, m.false_refusal_rate]
            bands.add_row(band, str(m.n), *("–" if v is None else f"{v:.3f}" for v in cells))
        console.print(bands)
    if len(report.per_lang) > 1:
        columns = ("language", "n", "hit@5", "key facts", "in 60 words", "words before passages")
        langs = Table(*columns, title="per language")
        for lang, m in report.per_lang.items():
            shown = [_num(v) for v in (m.hit_5, m.key_fact_coverage, m.lead_key_fact_share)]
            words = "–" if m.words_before_passages is None else f"{m.words_before_passages:.0f}"
            langs.add_row(lang, str(m.n), *shown, words)
        console.print(langs)
    for name, b in report.baselines.items():
        build = "–" if b.build_seconds is None else f"{b.build_seconds:.1f} s"
        console.print(f"baseline {name}: build {build}{' (cached)' if b.cached else ''}", highlight=False)
    cv = report.out_of_fold
    if cv is not None:
        f = cv.out_of_fold
        console.print(
            f"hand rules out-of-fold ({cv.folds} folds; the learned decision: eval calibrate): "
            f"false refusals {_num(f.false_refusal_rate)}, refusal recall "
            f"{_num(f.refusal_recall)}, key facts {_num(f.key_fact_coverage)}; answered {_num(f.answered_share)}, "
            f"closest {_num(f.closest_share)}, not covered {_num(f.not_covered_share)}",
            highlight=False,
        )
    console.print(f"{len(report.failures)} questions with failures (see report.md with --out)", highlight=False)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
