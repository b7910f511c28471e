"""`handbook eval llm-lead` and `handbook eval llm-experiments`: the language model's measurements.

Registered by evals/cli.py; only typer is imported here, the work loads inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from evals.cli_shared import IndexOpt, QuietOpt, fail, golden_questions, load_assistant


def eval_llm_lead(
    golden: Annotated[
        list[Path], typer.Option("--golden", help="Golden sets with the selection (repeat: dev, dev_multilingual).")
    ],
    index: IndexOpt = None,
    llm: Annotated[
        str | None, typer.Option("--llm", help="Language model, e.g. local:qwen2.5-coder-0.5b (default: HANDBOOK_LLM).")
    ] = None,
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="Choose the e5 threshold of the ru/kk check instead (no model).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (every question's outcome).")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the JSON report here.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Measure the generated lead on the fixed selection of dev questions (evals/llm_lead.py)."""
    import subprocess

    from evals.llm_lead import LeadReport, calibrate_e5, render_text, run_leads, selected

    questions = [q for path in golden for q in golden_questions(path, None)]
    if calibrate:
        result = calibrate_e5(load_assistant(index), questions, progress=not quiet)
        typer.echo(json.dumps(result.model_dump(), indent=2))
        return
    from assistant.chain import Assistant
    from assistant.llm.backends import LLMConfigError
    from assistant.settings import Settings

    settings = Settings()
    if index is not None:
        settings.ingest.index_dir = index
    settings.llm.backend = llm or settings.llm.backend
    settings.llm.lead = True
    if not settings.llm.backend:
        raise fail("eval llm-lead: name a language model with --llm or HANDBOOK_LLM", 2)
    try:
        chosen = selected(questions)
        assistant = Assistant.from_settings(settings)
    except (ValueError, LLMConfigError) as exc:
        raise fail(str(exc), 2) from None
    assert assistant.lead_writer is not None
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    report = LeadReport(
        model=assistant.lead_writer.label,
        questions=run_leads(assistant, chosen, not quiet, out.with_suffix(".partial.jsonl") if out else None),
        load=load,
    )
    data = {"summary": report.summary(), "dropped": report.dropped_reasons(), "not_shown": report.not_shown()}
    text = json.dumps({**data, **report.model_dump()}, ensure_ascii=False, indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text if as_json else render_text(report))


def eval_llm_experiments(
    experiment: Annotated[str, typer.Argument(help="rewrite (question rewriting) or judge (answerability judge).")],
    golden: Annotated[Path, typer.Option("--golden", help="The dev set (evals/golden/dev.jsonl).")],
    index: IndexOpt = None,
    llm: Annotated[
        str | None, typer.Option("--llm", help="rewrite: the language model (default: HANDBOOK_LLM).")
    ] = None,
    gguf: Annotated[Path | None, typer.Option("--gguf", help="judge: the GGUF file of the model.")] = None,
    sample: Annotated[int, typer.Option("--sample", min=2, help="Questions (rewrite) or per side (judge).")] = 60,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the JSON report here.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Measure the question rewrite or the model as answerability judge (evals/llm_experiments.py)."""
    from evals.llm_experiments import balanced_sample, judge_experiment, rewrite_experiment, staff_band

    questions = golden_questions(golden, None)
    assistant = load_assistant(index)
    if experiment == "rewrite":
        from assistant.llm.backends import LLMConfigError, LLMSpec, build_chat_model, options_from
        from assistant.settings import Settings

        settings = Settings()
        try:
            spec = LLMSpec.parse(llm or settings.llm.backend)
            chat_model = build_chat_model(spec, options_from(settings.llm))
        except LLMConfigError as exc:
            raise fail(str(exc), 2) from None
        result = rewrite_experiment(assistant, chat_model, staff_band(questions, sample), progress=not quiet)
    elif experiment == "judge":
        if gguf is None or not gguf.is_file():
            raise fail("eval llm-experiments judge: --gguf FILE (an assembled local model) is needed", 2)
        result = judge_experiment(assistant, gguf, balanced_sample(questions, sample), progress=not quiet)
    else:
        raise fail(f"eval llm-experiments: unknown experiment {experiment!r} (rewrite or judge)", 2)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    summary = {k: v for k, v in result.items() if k != "rows"}
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
