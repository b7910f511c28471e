"""The answer decision's training rows (`handbook eval calibrate`, evals/decision_training.py).

Every golden question is asked once with the permissive policy (everything quoted); its row keeps the
answerability evidence with the decision features. Rows can be kept in a JSON file (`--rows`) and are
reused only for the same question, index generation and check code. Folds: `question_folds`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from evals.calibrate import FOLDS, Row, ask_quoting, fold_of, row_of
from evals.golden import GoldenQuestion
from evals.metrics import RANK_K
from evals.progress import progress_bar

if TYPE_CHECKING:
    from assistant.chain import Assistant

log = logging.getLogger(__name__)

CHECK_CODE = ("decision.py", "decision_features.py", "refusal.py", "names.py")  # rows are stale when these change


class DecisionRow(BaseModel):
    """A calibration row and what keeps it reusable: the question asked and the index it was asked of."""

    row: Row
    question: str
    stamp: str


def check_stamp(index_generation: str, settings_hash: str = "") -> str:
    """What a stored row depends on besides its question: the index, the checks' code, and the settings hash
    (which covers the glossary's and the alias table's content: a new alias changes the name checks)."""
    here = Path(__file__).resolve().parent.parent / "assistant" / "answer"
    digest = hashlib.sha256(f"{index_generation}\x1f{settings_hash}".encode())
    for name in CHECK_CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def collect_decision_rows(
    assistant: Assistant, questions: Sequence[GoldenQuestion], store: Path | None = None, progress: bool = False
) -> list[Row]:
    """Every question's row, asked once with the permissive policy; rows in `store` are reused when still valid."""
    stamp = check_stamp(assistant.snapshot.meta.generation, assistant.settings_hash)
    kept: dict[str, DecisionRow] = {}
    if store is not None and store.exists():
        try:
            data = json.loads(store.read_text(encoding="utf-8"))
            kept = {d["row"]["id"]: DecisionRow.model_validate(d) for d in data}
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: not a rows file (%s); asking every question again", store, exc)
    out: list[DecisionRow] = []
    with progress_bar(progress, "decision rows", len(questions)) as advance:
        for q in questions:
            old = kept.get(q.id)
            if old is not None and old.question == q.question and old.stamp == stamp:
                # Labels come from the golden record, which may have changed since.
                row = old.row.model_copy(update={"answerable": q.answerable, "overlap": q.overlap})
                out.append(DecisionRow(row=row, question=q.question, stamp=stamp))
            else:
                answer = ask_quoting(assistant, q.question, RANK_K)
                out.append(DecisionRow(row=row_of(q, answer), question=q.question, stamp=stamp))
            advance()
    if store is not None:
        merged = {**kept, **{d.row.id: d for d in out}}
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps([d.model_dump(mode="json") for d in merged.values()]), encoding="utf-8")
    return [d.row for d in out]


def question_folds(questions: Sequence[GoldenQuestion], folds: int = FOLDS) -> dict[str, int]:
    """An English question's fold by its id; a translation's by the English question with its key facts and passages."""

    def key(q: GoldenQuestion) -> tuple[Any, ...]:
        return (tuple(q.key_facts), tuple((e.doc, tuple(e.pages), e.ref) for e in q.expected))

    english = {key(q): q.id for q in questions if q.lang == "en" and q.key_facts}
    return {
        q.id: fold_of(english.get(key(q), q.id) if q.lang != "en" and q.key_facts else q.id, folds) for q in questions
    }
