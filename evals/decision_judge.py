"""The local model's judgement of every calibration question (assistant/llm/judge.py), as one more feature.

`handbook eval calibrate --judge local:<name>` adds each question's score to its row's features and trains the
decision on JUDGED_FEATURE_NAMES. A judgement costs seconds, so the scores are kept in a JSON file
(`--judge-scores`) under a digest of the judge's label, its prompt version and the prompt itself (the question
and the passage sentences it was shown): a score is reused only for exactly the same prompt, so a new index,
lead scorer or question asks the model again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evals.calibrate import Row
from evals.progress import progress_bar

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.llm.judge import AnswerJudge
    from evals.golden import GoldenQuestion

log = logging.getLogger(__name__)


def judge_named(setting: str) -> AnswerJudge:
    """The judge `--judge` names (assistant/llm/judge.py); a setting that cannot work is a one-line ValueError."""
    from assistant.llm.backends import LLMConfigError
    from assistant.llm.judge import build_judge
    from assistant.settings import LLMSettings

    try:
        return build_judge(setting, LLMSettings())
    except LLMConfigError as exc:
        raise ValueError(str(exc).replace("HANDBOOK_JUDGE", "--judge", 1)) from None


def feature_names(judge: AnswerJudge | None) -> tuple[str, ...]:
    """What the decision reads: with a judge, its judgement too."""
    from assistant.answer.decision_features import FEATURE_NAMES, JUDGED_FEATURE_NAMES

    return JUDGED_FEATURE_NAMES if judge is not None else FEATURE_NAMES


def weights_module(judged: bool) -> Path:
    """The file `--write` writes: the decision with the judgement has its own."""
    from assistant.answer import decision_weights, decision_weights_judged

    return Path(str((decision_weights_judged if judged else decision_weights).__file__)).resolve()


def prompt_key(label: str, prompt_version: int, prompt: str) -> str:
    return hashlib.sha256(f"{label}\x1f{prompt_version}\x1f{prompt}".encode()).hexdigest()[:24]


def load_scores(store: Path | None) -> dict[str, float]:
    if store is None or not store.exists():
        return {}
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items()}
    except (ValueError, AttributeError, TypeError) as exc:
        log.warning("%s: not a judge scores file (%s); judging every question again", store, exc)
        return {}


def judged_rows(
    assistant: Assistant,
    judge: AnswerJudge,
    questions: Sequence[GoldenQuestion],
    rows: Sequence[Row],
    store: Path | None = None,
    progress: bool = False,
) -> list[Row]:
    """`rows` (in `questions` order) with the judge's score in their features; scores kept in `store`."""
    from assistant.answer.lead import default_selector
    from assistant.llm.judge import JUDGE_PROMPT_VERSION, judge_prompt
    from assistant.llm.lead import lead_sources

    scores = load_scores(store)
    selector = default_selector()
    out: list[Row] = []
    asked = 0
    with progress_bar(progress, "judge", len(questions)) as advance:
        for q, row in zip(questions, rows, strict=True):
            features = row.evidence.features
            if features is None or not row.evidence.has_passages:
                out.append(row)  # no passages: the decision never asks the judge
                advance()
                continue
            request = assistant.compose_request(q.question)
            sources = lead_sources(request, selector)
            key = prompt_key(judge.label, JUDGE_PROMPT_VERSION, judge_prompt(request.question, sources))
            if key not in scores:
                scores[key] = judge.score(request.question, sources)
                asked += 1
                if store is not None and asked % 20 == 0:  # a long run keeps what it has judged
                    _save(store, scores)
            judged = features.model_copy(update={"judge": scores[key]})
            out.append(row.model_copy(update={"evidence": row.evidence.model_copy(update={"features": judged})}))
            advance()
    if store is not None:
        _save(store, scores)
    log.info("judge: %d of %d questions asked the model, the rest from %s", asked, len(questions), store)
    return out


def _save(store: Path, scores: dict[str, float]) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(scores, sort_keys=True), encoding="utf-8")
