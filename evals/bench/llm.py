"""`handbook bench --llm`: the speed of the local language models in the generated-answer route.

For each local model whose part packages are installed (assistant/llm/local_models.py), on the real
index: the time to assemble it (or to find it assembled), the time to load it, then for a few dev
questions asked through the assistant with the model as its backend (`local:<name>`, the route a
deployment uses): time to first token, prompt tokens per second, generated tokens per second and
seconds per generated answer. The token figures come from llama.cpp's own counters (prompt tokens
it evaluated, tokens it generated, the milliseconds of each); the first token is timed on the wall
clock around the model's stream. llama-cpp-python keeps the previous prompt's cache, so a question
evaluates only the tokens after the prefix it shares with the last one (the system prompt):
`prompt_tokens` is the whole prompt, `prompt_evaluated` what was computed.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evals.bench.machine import describe_machine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMBenchConfig:
    index: Path
    questions: tuple[str, ...]
    models: tuple[str, ...] = ()  # empty: every local model whose parts are installed
    threads: int = 2
    passages: int = 5  # passages in the prompt (the route's default)
    max_tokens: int = 400
    context_tokens: int = 4096
    model_dir: Path | None = None


@dataclass(frozen=True)
class LLMCall:
    """One question through the route: what llama.cpp counted and what the wall clock saw."""

    question: str
    mode: str  # "generated" when the model's answer passed the citation check, else "extractive"
    lead_kind: str
    calls: int  # model calls the route made for this question
    first_token_s: float | None
    answer_s: float  # the route's "generate" stage, wall clock
    prompt_tokens: int
    prompt_evaluated: int
    prompt_eval_s: float
    generated_tokens: int
    generate_eval_s: float

    @property
    def prompt_tokens_per_s(self) -> float | None:
        return self.prompt_evaluated / self.prompt_eval_s if self.prompt_eval_s > 0 else None

    @property
    def generated_tokens_per_s(self) -> float | None:
        return self.generated_tokens / self.generate_eval_s if self.generate_eval_s > 0 else None


@dataclass
class LLMModelBench:
    name: str
    size_mb: float
    assemble_s: float  # assembling from the parts, or finding the verified file (see `assembled_now`)
    assembled_now: bool
    load_s: float
    calls: list[LLMCall] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def median(values: Sequence[float | None]) -> float | None:
            kept = [v for v in values if v is not None]
            return round(statistics.median(kept), 2) if kept else None

        return {
            "model": self.name,
            "size_mb": round(self.size_mb),
            "assemble_s": round(self.assemble_s, 2),
            "assembled_now": self.assembled_now,
            "load_s": round(self.load_s, 2),
            "questions": len(self.calls),
            "first_token_s": median([c.first_token_s for c in self.calls]),
            "prompt_tokens": median([c.prompt_tokens for c in self.calls]),
            "prompt_tokens_per_s": median([c.prompt_tokens_per_s for c in self.calls]),
            "generated_tokens": median([c.generated_tokens for c in self.calls]),
            "generated_tokens_per_s": median([c.generated_tokens_per_s for c in self.calls]),
            # Pooled over the questions (all tokens / all seconds): a 3-token answer's own rate is mostly noise.
            "prompt_tokens_per_s_pooled": _rate(sum(c.prompt_evaluated for c in self.calls),
                                                sum(c.prompt_eval_s for c in self.calls)),
            "generated_tokens_per_s_pooled": _rate(sum(c.generated_tokens for c in self.calls),
                                                   sum(c.generate_eval_s for c in self.calls)),
            "answer_s": median([c.answer_s for c in self.calls]),
            "answer_s_mean": round(statistics.mean(c.answer_s for c in self.calls), 2) if self.calls else None,
            "shown_generated": sum(c.mode == "generated" or c.lead_kind == "generated" for c in self.calls),
        }


@dataclass
class LLMBenchReport:
    config: LLMBenchConfig
    machine: str
    load_before: tuple[float, float, float] | None
    load_after: tuple[float, float, float] | None
    models: list[LLMModelBench] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # model -> why it was not measured
    route: str = "answer"  # "answer": the generated answer; "lead": the generated lead (HANDBOOK_LLM_LEAD=true)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "load_average_before": self.load_before,
            "load_average_after": self.load_after,
            "route": self.route,
            "threads": self.config.threads,
            "passages": self.config.passages,
            "max_tokens": self.config.max_tokens,
            "models": [m.summary() for m in self.models],
            "calls": {m.name: [asdict(c) for c in m.calls] for m in self.models},
            "skipped": self.skipped,
        }


class _Timed:
    """Wraps a llama_cpp.Llama's chat completion to time the first streamed token of each call."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.original = client.create_chat_completion
        self.first_token_s: list[float] = []
        client.create_chat_completion = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = self.original(*args, **kwargs)
        if not kwargs.get("stream"):
            self.first_token_s.append(time.perf_counter() - started)
            return result
        return self._stream(result, started)

    def _stream(self, chunks: Iterator[Any], started: float) -> Iterator[Any]:
        first = True
        for chunk in chunks:
            delta = (chunk.get("choices") or [{}])[0].get("delta") or {}
            if first and delta.get("content"):
                self.first_token_s.append(time.perf_counter() - started)
                first = False
            yield chunk


class LLMBench:
    """Measures each local model in the generated-answer route; see the module docstring."""

    def __init__(self, config: LLMBenchConfig) -> None:
        self.config = config

    def run(self) -> LLMBenchReport:
        from assistant.chain import Assistant
        from assistant.llm.local_models import LOCAL_MODELS, assemble, missing_parts, verified_path
        from assistant.settings import LLMSettings, Settings
        from ingest.settings import IngestSettings

        cfg = self.config
        machine = describe_machine()
        report = LLMBenchReport(cfg, machine.describe(), _load(), None)
        base = Settings(ingest=IngestSettings(index_dir=cfg.index), llm=LLMSettings(backend=""))
        assistant = Assistant.from_settings(base)  # retrieval and embedders once, shared by the models
        assistant.ask(cfg.questions[0])  # warm the retrieval models: their first call is not the model's cost
        for name in cfg.models or tuple(LOCAL_MODELS):
            spec = LOCAL_MODELS[name]
            missing = missing_parts(spec)
            if missing:
                report.skipped[name] = missing[0]
                continue
            started = time.perf_counter()
            assembled_now = verified_path(spec, cfg.model_dir) is None
            path = assemble(spec, cfg.model_dir)
            assemble_s = time.perf_counter() - started
            llm = LLMSettings(
                backend=f"local:{name}",
                threads=cfg.threads,
                max_tokens=cfg.max_tokens,
                context_tokens=cfg.context_tokens,
                timeout_s=900,
                max_retries=0,
                condense=False,
                model_dir=path.parent,
            )
            started = time.perf_counter()
            assistant.use_language_model(Settings(ingest=base.ingest, answer=base.answer, llm=llm))
            load_s = time.perf_counter() - started
            bench = LLMModelBench(name, spec.size / 1e6, assemble_s, assembled_now, load_s)
            # The generated answer, or the generated lead where HANDBOOK_LLM_LEAD=true: one chat model either way.
            user = assistant.generator or getattr(assistant, "lead_writer", None)
            assert user is not None
            report.route = "lead" if user is not assistant.generator else "answer"
            if report.route == "answer":
                assistant.generator.max_passages = cfg.passages  # type: ignore[union-attr]
            client = user.chat_model.client
            timer = _Timed(client)
            for question in cfg.questions:
                bench.calls.append(self._ask(assistant, client, timer, question))
                log.info("%s: %s", name, bench.calls[-1])
            report.models.append(bench)
            assistant.generator = None  # let the model go before the next one loads
            if hasattr(assistant, "lead_writer"):
                assistant.lead_writer = None
        report.load_after = _load()
        return report

    @staticmethod
    def _ask(assistant: Any, client: Any, timer: _Timed, question: str) -> LLMCall:
        import llama_cpp

        llama_cpp.llama_perf_context_reset(client.ctx)
        calls_before = len(timer.first_token_s)
        answer = assistant.ask(question)
        perf = llama_cpp.llama_perf_context(client.ctx)
        firsts = timer.first_token_s[calls_before:]
        return LLMCall(
            question=question,
            mode=answer.mode,
            lead_kind=getattr(answer, "lead_kind", "extractive"),
            calls=len(firsts),
            first_token_s=round(firsts[0], 3) if firsts else None,
            answer_s=round(answer.timings_ms.get("generate", 0.0) / 1000, 3),
            prompt_tokens=max(client.n_tokens - perf.n_eval, 0),
            prompt_evaluated=perf.n_p_eval,
            prompt_eval_s=round(perf.t_p_eval_ms / 1000, 3),
            generated_tokens=perf.n_eval,
            generate_eval_s=round(perf.t_eval_ms / 1000, 3),
        )


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None


def _load() -> tuple[float, float, float] | None:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return None
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def render_llm_markdown(report: LLMBenchReport) -> str:
    cfg = report.config
    lines = [
        "### Local language models (`handbook bench --llm`)",
        "",
        f"{report.machine}; the generated {report.route}; {cfg.threads} llama.cpp threads; "
        f"{len(cfg.questions)} dev questions, "
        + (
            f"{cfg.passages} passages each, at most {cfg.max_tokens} tokens, temperature 0; "
            if report.route == "answer"
            else "the lead's own passages and token limit (HANDBOOK_LLM_LEAD_MAX_TOKENS), temperature 0; "
        )
        + f"load average {_fmt_load(report.load_before)} before, {_fmt_load(report.load_after)} after. "
        "Medians over the questions; token rates pooled (all tokens / all seconds of llama.cpp's counters).",
        "",
        "| model | size | assemble | load | first token | prompt tokens | prompt tok/s "
        "| generated tokens | generated tok/s | s per answer (median / mean) | shown |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in report.models:
        s = m.summary()
        assemble_note = f"{s['assemble_s']} s" + ("" if s["assembled_now"] else " (reused)")
        lines.append(
            f"| {s['model']} | {s['size_mb']} MB | {assemble_note} | {s['load_s']} s | {s['first_token_s']} s "
            f"| {s['prompt_tokens']} | {s['prompt_tokens_per_s_pooled']} | {s['generated_tokens']} "
            f"| {s['generated_tokens_per_s_pooled']} | {s['answer_s']} / {s['answer_s_mean']} s "
            f"| {s['shown_generated']} of {s['questions']} |"
        )
    for name, why in report.skipped.items():
        lines.append(f"\n{name}: not measured ({why})")
    return "\n".join(lines) + "\n"


def _fmt_load(load: tuple[float, float, float] | None) -> str:
    return "unknown" if load is None else " / ".join(f"{x:.2f}" for x in load)
