"""The generated lead in the pipeline, with scripted chat models: stream order, what is shown, and every fallback."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from pdf_factory import make_pdf, sample_rules_pages

from assistant.answer.decision import AnswerabilityPolicy
from assistant.answer.records import Answer, AnswerDelta
from assistant.answer.render import answer_text
from assistant.chain import Assistant
from assistant.retrieval import HybridRetriever
from assistant.settings import LLMSettings, Settings
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor
from ingest.textnorm import normalize_for_match

QUESTION = "Can disciplinary sanctions include prolonged solitary confinement or a dark cell?"
GOOD = "Disciplinary sanctions shall not include prolonged solitary confinement or placement in a dark cell"


@pytest.fixture(scope="module")
def lead_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fakes import FakeEmbedder

    root = tmp_path_factory.mktemp("generated-lead")
    make_pdf(root / "pdf" / "rules.pdf", sample_rules_pages())
    Ingestor(root / "index", FakeEmbedder(), progress=False).run([root / "pdf"])  # type: ignore[arg-type]
    return root / "index"


class ScriptedModel:
    """Streams a reply word by word; `respond` writes it from the prompt (to cite the right passage number)."""

    def __init__(self, respond: Any) -> None:
        self.respond = respond
        self.prompts: list[list[tuple[str, str]]] = []

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[AIMessage]:
        self.prompts.append(messages)
        for word in self.respond(messages).split(" "):
            yield AIMessage(content=word + " ")


class FailingModel:
    def stream(self, messages: list[tuple[str, str]]) -> Iterator[AIMessage]:
        raise ConnectionError("connection refused")
        yield AIMessage(content="")  # pragma: no cover - a generator that fails on its first step


class SlowModel:
    def stream(self, messages: list[tuple[str, str]]) -> Iterator[AIMessage]:
        while True:
            time.sleep(0.05)
            yield AIMessage(content="slowly ")


def _number_of(messages: list[tuple[str, str]], needle: str) -> int:
    """The [n] under which the task (the last message) gave the sentence containing `needle`."""
    passages = messages[-1][1].split("Passages:", 1)[1]
    line = next(line for line in passages.splitlines() if needle in line)
    match = re.match(r"\[(\d+)\]", line)
    assert match, line
    return int(match.group(1))


def _good(messages: list[tuple[str, str]]) -> str:
    n = _number_of(messages, "dark cell")
    return f"{GOOD} [{n}]. Staff must never take the keys home [{n}]."


def _assistant(index: Path, model: Any, timeout_s: float = 30.0) -> Assistant:
    from fakes import FakeEmbedder

    snapshot = IndexSnapshot.open(index)
    retriever = HybridRetriever.build(snapshot, FakeEmbedder())  # type: ignore[arg-type]
    assistant = Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))
    settings = Settings(llm=LLMSettings(lead=True, timeout_s=timeout_s, max_retries=0))
    assistant.use_generated_lead(settings, chat_model=model)
    return assistant


@pytest.mark.unit
def test_extractive_answer_first_then_the_checked_lead(lead_index: Path) -> None:
    model = ScriptedModel(_good)
    events = list(_assistant(lead_index, model).run(QUESTION))
    stages = [e.stage for e in events if isinstance(e, AnswerDelta)]
    assert stages == ["retrieved", "composed", "extractive", "lead"]
    draft = next(e.answer for e in events if isinstance(e, AnswerDelta) and e.stage == "extractive")
    assert draft is not None and draft.lead_kind == "extractive" and draft.lead
    final = events[-1]
    assert isinstance(final, Answer)
    assert final.lead_kind == "generated", final.note
    # The supported sentence is shown with the answer's citation number; the invented one is dropped with its reason.
    assert [s.text for s in final.lead] == [GOOD + "."]
    assert len(final.lead_dropped) == 1 and "keys" in final.lead_dropped[0].text
    assert final.lead_dropped[0].reason
    lead_delta = next(e.text for e in events if isinstance(e, AnswerDelta) and e.stage == "lead")
    n = final.lead[0].n
    assert lead_delta == f"{GOOD} [{n}]."
    cited = next(c for c in final.citations if c.n == n)
    assert "dark cell" in cited.quote  # the number points at the verbatim rule it rests on
    assert normalize_for_match(cited.quote) in normalize_for_match(
        IndexSnapshot.open(lead_index).page_text(cited.doc, cited.pages[0]) or ""
    )
    # The shown text is the model's sentence, unquoted, above the passages; the JSON says which lead it is.
    assert f"{GOOD} [{n}]." in answer_text(final)
    data = final.to_json_dict()
    assert data["lead_kind"] == "generated" and data["lead"][0]["text"] == GOOD + "."
    assert data["lead_dropped"][0]["reason"] == final.lead_dropped[0].reason
    # The model saw the question and a short prompt of top sentences, each numbered as it cites them.
    assert QUESTION in model.prompts[0][-1][1]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("model", "note"),
    [
        (FailingModel(), "failed: ConnectionError"),
        (SlowModel(), "did not answer within 0.5 s"),
        (ScriptedModel(lambda m: "Staff must never take the keys home [1]. Prisoners may keep pets [1]."), "no sent"),
        (ScriptedModel(lambda m: f"{GOOD}."), "no sentence"),  # uncited
        (ScriptedModel(lambda m: "NOT COVERED"), "do not answer"),
    ],
)
def test_the_extractive_lead_stands_with_a_note_when_no_sentence_passes(
    lead_index: Path, model: Any, note: str
) -> None:
    assistant = _assistant(lead_index, model, timeout_s=0.5)
    events = list(assistant.run(QUESTION))
    assert not [e for e in events if isinstance(e, AnswerDelta) and e.stage == "lead"]
    final = events[-1]
    assert isinstance(final, Answer)
    draft = next(e.answer for e in events if isinstance(e, AnswerDelta) and e.stage == "extractive")
    assert draft is not None
    assert final.lead_kind == "extractive" and final.lead == draft.lead and final.lead
    assert final.citations == draft.citations  # no quote added for a dropped sentence
    assert final.note.startswith("Generated lead not shown:") and note in final.note
    assert "keys" not in final.answer and "pets" not in final.answer


@pytest.mark.unit
def test_without_the_setting_there_is_no_generated_lead(lead_index: Path) -> None:
    from fakes import FakeEmbedder

    retriever = HybridRetriever.build(IndexSnapshot.open(lead_index), FakeEmbedder())  # type: ignore[arg-type]
    assistant = Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))
    events = list(assistant.run(QUESTION))
    assert [e.stage for e in events if isinstance(e, AnswerDelta)] == ["retrieved", "composed"]
    assert isinstance(events[-1], Answer) and events[-1].lead_kind == "extractive"
    assert LLMSettings().lead is False


@pytest.mark.unit
def test_cli_prints_the_extractive_answer_then_the_generated_lead(
    lead_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import _stream_answer

    answer = _stream_answer(_assistant(lead_index, ScriptedModel(_good)), QUESTION)
    printed = capsys.readouterr().out
    quotes_at = printed.index("Sources")
    lead_at = printed.index("Generated lead (")
    assert quotes_at < lead_at  # the extractive answer first, the generated lead after it
    assert f"{GOOD} [{answer.lead[0].n}]." in printed[lead_at:]
    assert "keys" not in printed

    failed = _stream_answer(_assistant(lead_index, FailingModel()), QUESTION)
    printed = capsys.readouterr().out
    assert "Generated lead (" not in printed and f"Note: {failed.note}" in printed
