"""The judge's scores in the calibration rows: added to each row's features, kept by prompt, reused only for it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from pdf_factory import make_pdf, sample_rules_pages

from assistant.answer.decision import AnswerabilityPolicy
from assistant.chain import Assistant
from assistant.llm.lead_check import CitedSource
from assistant.retrieval import HybridRetriever
from evals.decision_judge import judged_rows, load_scores
from evals.decision_rows import collect_decision_rows
from evals.golden import GoldenQuestion
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor

pytestmark = pytest.mark.unit


class CountingJudge:
    label = "local:stub"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def score(self, question: str, sources: Sequence[CitedSource]) -> float:
        self.asked.append(question)
        return float(len(question) % 7) - 3.0


def _question(qid: str, text: str, answerable: bool = True) -> GoldenQuestion:
    expected = [{"doc": "rules", "pages": [1], "ref": "Rule 1"}] if answerable else []
    return GoldenQuestion.model_validate(
        {"id": qid, "question": text, "answerable": answerable, "expected": expected,
         "key_facts": ["letters"] if answerable else [], "kind": "fact" if answerable else "unanswerable",
         "persona": "staff"}
    )  # fmt: skip


@pytest.fixture(scope="module")
def assistant_(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    from fakes import FakeEmbedder

    root = tmp_path_factory.mktemp("judge-rows")
    make_pdf(root / "pdf" / "rules.pdf", sample_rules_pages())
    Ingestor(root / "index", FakeEmbedder(), progress=False).run([root / "pdf"])  # type: ignore[arg-type]
    retriever = HybridRetriever.build(IndexSnapshot.open(root / "index"), FakeEmbedder())  # type: ignore[arg-type]
    return Assistant(retriever, answerability=AnswerabilityPolicy())


def test_scores_join_the_features_and_are_reused_for_the_same_prompt(assistant_: Assistant, tmp_path: Path) -> None:
    questions = [_question("q1", "Can prisoners write letters?"), _question("q2", "How many visits a week?", False)]
    rows = collect_decision_rows(assistant_, questions)
    store = tmp_path / "judge.json"
    judge = CountingJudge()
    first = judged_rows(assistant_, judge, questions, rows, store)  # type: ignore[arg-type]
    assert judge.asked == [q.question for q in questions]
    assert [r.evidence.features.judge for r in first] == [judge.score(q.question, []) for q in questions]  # type: ignore[union-attr]
    assert all(r.evidence.features.judge is None for r in rows)  # type: ignore[union-attr]  # the input rows stay
    assert len(load_scores(store)) == 2

    judge = CountingJudge()
    again = judged_rows(assistant_, judge, questions, rows, store)  # type: ignore[arg-type]
    assert judge.asked == [] and [r.evidence for r in again] == [r.evidence for r in first]

    changed = [questions[0], _question("q2", "How many visits a month?", False)]
    judged_rows(assistant_, judge, changed, collect_decision_rows(assistant_, changed), store)  # type: ignore[arg-type]
    assert judge.asked == ["How many visits a month?"]  # another prompt: asked again


def test_a_scores_file_that_is_not_one_is_judged_again(tmp_path: Path) -> None:
    store = tmp_path / "judge.json"
    store.write_text("[1, 2", encoding="utf-8")
    assert load_scores(store) == {}


@pytest.mark.integration
def test_calibrate_rejects_a_judge_that_cannot_work_before_asking_anything(tmp_path: Path) -> None:
    import subprocess
    import sys

    handbook = str(Path(sys.executable).with_name("handbook"))
    golden = Path(__file__).resolve().parents[2] / "evals" / "golden" / "dev.jsonl"
    done = subprocess.run(
        [handbook, "eval", "calibrate", "--golden", str(golden), "--index", str(tmp_path / "none"),
         "--judge", "openai:gpt@http://127.0.0.1:1/v1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --judge: 'openai:gpt@http://127.0.0.1:1/v1': the judge reads a model's logits: "
        "local:<name> or gguf:<path>"
    ]
