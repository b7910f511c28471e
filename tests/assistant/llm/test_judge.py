"""The local model's judgement as an input of the learned decision: its score, its setting, the chain."""

from __future__ import annotations

import ctypes
import math
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from pdf_factory import make_pdf, sample_rules_pages

from assistant.answer import decision_weights_judged
from assistant.answer.decision import AnswerabilityPolicy
from assistant.answer.decision_features import JUDGED_FEATURE_NAMES
from assistant.answer.decision_model import JudgedModelError, load_judged_decision_model
from assistant.chain import Assistant
from assistant.llm.backends import LLMConfigError
from assistant.llm.judge import JUDGE_PROMPT_VERSION, AnswerJudge, build_judge, judge_prompt
from assistant.llm.lead_check import CitedSource
from assistant.retrieval import HybridRetriever
from assistant.settings import AnswerSettings, LLMSettings, Settings
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor

pytestmark = pytest.mark.unit

VOCAB = {"Yes": 5, " Yes": 6, "yes": 7, "No": 8, " No": 9, "no": 10}


class FakeLlama:
    """What AnswerJudge uses of llama_cpp.Llama: tokenize, reset, eval and the last token's logits."""

    loads = 0

    def __init__(self, model_path: str, n_ctx: int, n_threads: int | None, verbose: bool) -> None:
        FakeLlama.loads += 1
        self.n_ctx = n_ctx
        self.seen: list[list[int]] = []
        self.logits = np.zeros(16, dtype=np.float32)
        self._ctx = types.SimpleNamespace(get_logits=lambda: self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))

    def tokenize(self, data: bytes, add_bos: bool, special: bool) -> list[int]:
        text = data.decode()
        return [VOCAB[text]] if text in VOCAB else [11] * len(text.split())

    def n_vocab(self) -> int:
        return len(self.logits)

    def reset(self) -> None:
        pass

    def eval(self, tokens: list[int]) -> None:
        self.seen.append(list(tokens))
        self.logits[:] = 0.0
        self.logits[[5, 6, 7]] = [2.0, 1.0, 0.0]  # "Yes" in three spellings
        self.logits[[8, 9, 10]] = [0.5, 0.0, -1.0]


@pytest.fixture()
def fake_llama(monkeypatch: pytest.MonkeyPatch) -> type[FakeLlama]:
    FakeLlama.loads = 0
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    return FakeLlama


def _source(n: int, *sentences: str) -> CitedSource:
    return CitedSource(n=n, hit=n - 1, spans=(), sentences=sentences)


def _logsumexp(values: Sequence[float]) -> float:
    return math.log(sum(math.exp(v) for v in values))


def test_the_prompt_numbers_the_passages_and_ends_where_the_model_answers() -> None:
    prompt = judge_prompt(
        "Can we read his letters?", [_source(1, "Letters may be read.", "Not legal ones."), _source(2, "x")]
    )
    assert "[1] Letters may be read. Not legal ones.\n[2] x" in prompt
    assert "Question: Can we read his letters?" in prompt and prompt.endswith("<|im_start|>assistant\n")
    assert "Passages:\n(none)" in judge_prompt("q?", [])


def test_the_score_is_the_log_odds_of_yes_over_no_and_the_model_loads_once(fake_llama: type[FakeLlama]) -> None:
    judge = AnswerJudge(Path("/models/judge.gguf"), "gguf:judge.gguf")
    sources = [_source(1, "Letters may be read.")]
    first = judge.score("Can we read his letters?", sources)
    assert first == pytest.approx(_logsumexp([2.0, 1.0, 0.0]) - _logsumexp([0.5, 0.0, -1.0]), abs=1e-4)
    assert judge.score("Can we read his letters?", sources) == first and fake_llama.loads == 1


def test_a_prompt_over_the_context_keeps_its_end(fake_llama: type[FakeLlama]) -> None:
    judge = AnswerJudge(Path("/m.gguf"), "gguf:m.gguf", context_tokens=32)
    judge.score("q?", [_source(1, "word " * 200)])
    assert len(judge._llama.seen[-1]) == 31


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("ollama:qwen2.5", "HANDBOOK_JUDGE: 'ollama:qwen2.5': the judge reads a model's logits"),
        ("nonsense", "HANDBOOK_JUDGE: 'nonsense' is not <provider>:<model>"),
        ("local:no-such-model", "HANDBOOK_JUDGE: local model 'no-such-model' is unknown"),
        ("gguf:/nowhere/judge.gguf", "HANDBOOK_JUDGE: /nowhere/judge.gguf: no such GGUF file"),
    ],
)
def test_a_judge_setting_that_cannot_work_fails_in_one_line(
    setting: str, message: str, fake_llama: type[FakeLlama]
) -> None:
    with pytest.raises(LLMConfigError) as caught:
        build_judge(setting, LLMSettings())
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def _judged_weights(judge_weight: float) -> dict[str, object]:
    """A logistic decision that reads only the judgement (the other features weigh nothing)."""
    n = len(JUDGED_FEATURE_NAMES)
    answers = {
        "kind": "logistic",
        "features": list(JUDGED_FEATURE_NAMES),
        "bias": 0.0,
        "mean": [0.0] * n,
        "scale": [1.0] * n,
        "weights": [0.0] * (n - 1) + [judge_weight],
    }
    return {"answers": answers, "right": None, "thresholds": {"en": [0.5, 0.5], "cyrillic": [0.5, 0.5]}}


def test_only_the_decision_trained_with_that_judge_and_prompt_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decision_weights_judged, "DECISION_MODEL", {})
    monkeypatch.setattr(decision_weights_judged, "JUDGE", {})
    with pytest.raises(JudgedModelError, match="handbook eval calibrate --judge local:x --write"):
        load_judged_decision_model("local:x", JUDGE_PROMPT_VERSION)
    monkeypatch.setattr(decision_weights_judged, "DECISION_MODEL", _judged_weights(2.0))
    monkeypatch.setattr(decision_weights_judged, "JUDGE", {"model": "local:x", "prompt_version": JUDGE_PROMPT_VERSION})
    assert load_judged_decision_model("local:x", JUDGE_PROMPT_VERSION).answers.features[-1] == "judge"
    with pytest.raises(JudgedModelError, match="trained with the judge 'local:x'"):
        load_judged_decision_model("local:y", JUDGE_PROMPT_VERSION)
    with pytest.raises(JudgedModelError):
        load_judged_decision_model("local:x", JUDGE_PROMPT_VERSION + 1)


class StubJudge:
    """A judge whose verdict is set by the test; it records what it was shown."""

    label = "local:stub"

    def __init__(self, score: float) -> None:
        self.verdict = score
        self.shown: list[tuple[str, list[str]]] = []

    def score(self, question: str, sources: Sequence[CitedSource]) -> float:
        self.shown.append((question, [s.text for s in sources]))
        return self.verdict


@pytest.fixture(scope="module")
def rules_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fakes import FakeEmbedder

    root = tmp_path_factory.mktemp("judge-rules")
    make_pdf(root / "pdf" / "rules.pdf", sample_rules_pages())
    Ingestor(root / "index", FakeEmbedder(), progress=False).run([root / "pdf"])  # type: ignore[arg-type]
    return root / "index"


def test_the_chain_gives_the_judgement_to_the_decision_trained_with_it(
    rules_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes import FakeEmbedder

    monkeypatch.setattr(decision_weights_judged, "DECISION_MODEL", _judged_weights(2.0))
    monkeypatch.setattr(
        decision_weights_judged, "JUDGE", {"model": "local:stub", "prompt_version": JUDGE_PROMPT_VERSION}
    )
    retriever = HybridRetriever.build(IndexSnapshot.open(rules_index), FakeEmbedder())  # type: ignore[arg-type]
    assistant = Assistant(retriever, answerability=AnswerabilityPolicy())
    judge = StubJudge(3.0)
    settings = Settings(answer=AnswerSettings(judge="local:stub"))
    assistant.use_judge(settings, judge)  # type: ignore[arg-type]

    question = "Can prisoners write letters to their family?"
    answered = assistant.ask(question)
    assert judge.shown and judge.shown[0][0] == question and judge.shown[0][1]  # the lead's best sentences
    assert answered.timings_ms["judge"] >= 0 and answered.state != "not_covered"
    assert answered.confidence == pytest.approx(1 / (1 + math.exp(-6.0)), abs=1e-4)
    judge.verdict = -3.0
    refused = assistant.ask(question)
    assert refused.state == "not_covered" and refused.confidence == pytest.approx(1 / (1 + math.exp(6.0)), abs=1e-4)


def test_the_judge_needs_the_learned_decision(rules_index: Path) -> None:
    from fakes import FakeEmbedder

    retriever = HybridRetriever.build(IndexSnapshot.open(rules_index), FakeEmbedder())  # type: ignore[arg-type]
    assistant = Assistant(retriever)
    with pytest.raises(LLMConfigError, match="HANDBOOK_DECISION=learned"):
        assistant.use_judge(Settings(answer=AnswerSettings(judge="local:stub", decision="rules")), StubJudge(0.0))  # type: ignore[arg-type]


@pytest.mark.integration
@pytest.mark.parametrize("command", ["ask", "serve"])
def test_the_cli_rejects_a_bad_judge_setting_in_one_line_before_loading_anything(
    command: str, rules_index: Path, tmp_path: Path
) -> None:
    import os
    import subprocess

    handbook = str(Path(sys.executable).with_name("handbook"))
    args = [handbook, "ask", "visits?"] if command == "ask" else [handbook, "serve", "--port", "1"]
    done = subprocess.run(
        [*args, "--index", str(rules_index)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HANDBOOK_JUDGE": "ollama:qwen2.5"},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: HANDBOOK_JUDGE: 'ollama:qwen2.5': the judge reads a model's logits: local:<name> or gguf:<path>"
    ]
