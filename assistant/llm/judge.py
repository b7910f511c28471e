"""A local language model as one more input of the answer decision: "do these passages answer the question?"

`AnswerJudge.score` shows a ChatML model (the pinned Qwen models of assistant/llm/local_models.py) the
question and the five passage sentences the extractive lead's scorer ranks highest (`lead_sources`, the
sentences a generated lead would get) and reads the logits of its first answer token:
log P("Yes") - log P("No"), summed over the tokens that spell each. Nothing is generated, so a judgement
costs one pass over a prompt of about 250 tokens (3-4 s for the 1.5B model on two cores here).

The score is a feature of the learned decision (`DecisionFeatures.judge`), never a verdict alone: the
decision trained with it (`DECISION_MODEL_JUDGED` in assistant/answer/decision_weights.py) reads it next to
the retrieval scores and the checks. Off unless `HANDBOOK_JUDGE` names a model (README, "Answer states").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.llm.lead_check import CitedSource

if TYPE_CHECKING:
    from assistant.llm.backends import LLMSpec
    from assistant.settings import LLMSettings

# Changing the prompt changes the scores: the decision trained on them must be trained again.
JUDGE_PROMPT_VERSION = 1
JUDGE_SYSTEM = """You check whether numbered passages answer a question from prison staff. \
Reply with one word: Yes if the passages answer the question, No if they do not."""


def judge_prompt(question: str, sources: Sequence[CitedSource]) -> str:
    """The ChatML prompt whose next token is the judgement."""
    passages = "\n".join(f"[{s.n}] {s.text}" for s in sources) or "(none)"
    return (
        f"<|im_start|>system\n{JUDGE_SYSTEM}<|im_end|>\n<|im_start|>user\nPassages:\n{passages}\n\n"
        f"Question: {question}\nDo the passages answer the question? Yes or No.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


class AnswerJudge:
    """log P(Yes) - log P(No) of a local GGUF model after `judge_prompt`; the model loads at the first call."""

    def __init__(self, gguf: Path, label: str, threads: int = 0, context_tokens: int = 2048) -> None:
        self.gguf = gguf
        self.label = label  # "local:qwen2.5-coder-1.5b": what the answers' audit trail records
        self.threads = threads
        self.context_tokens = context_tokens
        self._llama: Any = None
        self._yes: set[int] = set()
        self._no: set[int] = set()
        self._lock = threading.Lock()  # one llama.cpp context: the app's sessions take turns

    def score(self, question: str, sources: Sequence[CitedSource]) -> float:
        import numpy as np

        prompt = judge_prompt(question, sources)
        with self._lock:
            llama = self._load()
            tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            tokens = tokens[-(self.context_tokens - 1) :]  # a prompt over the context keeps its question end
            llama.reset()
            llama.eval(tokens)
            # The last token's logits (llama-cpp-python 0.3 fills `Llama.scores` only with logits_all).
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
            yes = _logsumexp([float(logits[t]) for t in self._yes])
            no = _logsumexp([float(logits[t]) for t in self._no])
        return round(yes - no, 4)

    def _load(self) -> Any:
        if self._llama is None:
            import llama_cpp

            llama = llama_cpp.Llama(
                model_path=str(self.gguf),
                n_ctx=self.context_tokens,
                n_threads=self.threads or None,
                verbose=False,
            )
            # The first token of each spelling: the model may answer "Yes", " Yes" or "yes".
            first = {w: llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in _SPELLINGS}
            self._yes = {first[w] for w in _SPELLINGS if w.strip().lower() == "yes"}
            self._no = {first[w] for w in _SPELLINGS if w.strip().lower() == "no"}
            self._llama = llama
        return self._llama


def parse_judge(spec_text: str) -> LLMSpec:
    """The model `HANDBOOK_JUDGE` names, checked without loading anything: `local:<name>` or `gguf:<path>`."""
    from assistant.llm.backends import LLMConfigError, LLMSpec

    try:
        spec = LLMSpec.parse(spec_text)
    except LLMConfigError as exc:
        raise LLMConfigError(str(exc).replace("HANDBOOK_LLM", "HANDBOOK_JUDGE", 1)) from None
    if spec.provider not in ("local", "gguf"):
        raise LLMConfigError(
            f"HANDBOOK_JUDGE: {spec_text!r}: the judge reads a model's logits: local:<name> or gguf:<path>"
        )
    return spec


def build_judge(spec_text: str, llm: LLMSettings) -> AnswerJudge:
    """The judge `HANDBOOK_JUDGE` names: `local:<name>` (assembled and verified on first use, like
    HANDBOOK_LLM's) or `gguf:<path>` of a ChatML model. Threads and the model folder are HANDBOOK_LLM_*'s."""
    from assistant.llm.backends import gguf_file

    spec = parse_judge(spec_text)
    return AnswerJudge(gguf_file(spec, llm.model_dir, "HANDBOOK_JUDGE"), spec.label(), threads=llm.threads)


_SPELLINGS = ("Yes", " Yes", "yes", "No", " No", "no")


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))
