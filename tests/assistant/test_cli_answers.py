"""`handbook ask` / `chat` printing: streamed generated sentences, sources once, the fallback note."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant import cli
from assistant.answer import Answer, AnswerDelta, Citation

CITATION = Citation(n=1, doc="rules", title="Rules", ref="Rule 4", pages=[2], quote="Prisoners shall be allowed.")
SENTENCES = ["Prisoners may write to their family [1].", "They may receive visits [1]."]


class StubAssistant:
    def __init__(self, answer: Answer, deltas: list[str]) -> None:
        self.answer = answer
        self.deltas = deltas

    def stream(self, question: str, **_: Any) -> Iterator[AnswerDelta | Answer]:
        for text in self.deltas:
            yield AnswerDelta(text=text)
        yield self.answer

    def ask(self, question: str, **_: Any) -> Answer:
        return self.answer


def _answer(**update: Any) -> Answer:
    base = Answer(
        question="q", standalone_question="q", answer="Rules, Rule 4, p. 2:\n\u201cx\u201d [1]", refused=False
    )
    return base.model_copy(update={"citations": [CITATION], **update})


def _run(monkeypatch: pytest.MonkeyPatch, stub: StubAssistant, *args: str) -> str:
    monkeypatch.setattr(cli, "_load_assistant", lambda index, llm=None: stub)
    result = CliRunner().invoke(cli.app, ["ask", "Can he write home?", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.unit
def test_generated_sentences_stream_and_sources_print_once(monkeypatch: pytest.MonkeyPatch) -> None:
    text = " ".join(SENTENCES) + "\n\nSources:\n[1] Rules, Rule 4, p. 2: \u201cPrisoners shall be allowed.\u201d"
    out = _run(monkeypatch, StubAssistant(_answer(answer=text, mode="generated", model="m"), SENTENCES))
    assert out.count("Prisoners may write to their family [1].") == 1
    assert out.count("Sources:") == 1
    assert out.index("They may receive visits") < out.index("Sources:")
    assert "Note:" not in out


@pytest.mark.unit
def test_fallback_after_streamed_sentences_prints_the_quotes_and_the_note(monkeypatch: pytest.MonkeyPatch) -> None:
    note = "Generated answer not shown: a sentence is not supported by the passage it cites."
    out = _run(monkeypatch, StubAssistant(_answer(note=note), SENTENCES[:1]))
    assert "Rules, Rule 4, p. 2:" in out  # the extractive answer follows what was streamed
    assert out.rstrip().endswith(f"Note: {note}")


@pytest.mark.unit
def test_json_output_has_the_generated_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    out = _run(monkeypatch, StubAssistant(_answer(note="n", model="ollama:x"), []), "--json")
    data = json.loads(out)
    assert (data["mode"], data["note"], data["model"]) == ("extractive", "n", "ollama:x")


CAUTION = "These passages are the closest the documents have; check that they answer your question."


@pytest.mark.unit
def test_closest_answer_prints_the_caution_apart_then_the_quotes(monkeypatch: pytest.MonkeyPatch) -> None:
    text = f"{CAUTION}\n\nRules, Rule 4, p. 2:\n\u201cPrisoners shall be allowed.\u201d [1]"
    out = _run(monkeypatch, StubAssistant(_answer(answer=text, state="closest"), []))
    assert f"Caution: {CAUTION}" in out
    assert out.count(CAUTION) == 1  # not repeated above the quotes
    assert out.index("Caution:") < out.index("Prisoners shall be allowed.")


@pytest.mark.unit
def test_not_covered_answer_says_so_and_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "The documents never mention Ruritania.\nDocuments searched: Rules.\nClosest passages:\n- Rules, p. 2"
    answer = _answer(answer=text, refused=True, state="not_covered", citations=[])
    out = _run(monkeypatch, StubAssistant(answer, []))
    assert out.startswith("Not covered by the documents.")
    assert "The documents never mention Ruritania." in out and "Closest passages:" in out
    assert "Caution:" not in out


@pytest.mark.unit
def test_answered_prints_no_caution(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _run(monkeypatch, StubAssistant(_answer(), []))
    assert "Caution:" not in out and "Not covered" not in out


@pytest.mark.unit
@pytest.mark.parametrize(("state", "refused"), [("answered", False), ("closest", False), ("not_covered", True)])
def test_json_output_has_the_state_and_refused_only_when_not_covered(
    monkeypatch: pytest.MonkeyPatch, state: str, refused: bool
) -> None:
    import json

    answer = _answer(state=state, refused=refused, reasons=["r"] if state != "answered" else [])
    data = json.loads(_run(monkeypatch, StubAssistant(answer, []), "--json"))
    assert (data["state"], data["refused"]) == (state, refused)
    assert data["reasons"] == answer.reasons


@pytest.mark.unit
def test_a_kazakh_answer_says_first_that_the_quotes_are_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    note = "Үзінділер құжаттың тілінде (ағылшын тілінде) келтірілген."
    out = _run(monkeypatch, StubAssistant(_answer(lang="kk", language_note=note), []))
    assert out.index(note) < out.index("Rules, Rule 4, p. 2:")
