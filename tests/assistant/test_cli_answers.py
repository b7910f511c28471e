"""`handbook ask` / `chat` printing: the lead, the first passages (`--all`: every one), streamed generated
sentences, sources once, the fallback note, the caution and "not covered" as assistant/answer/render.py lays
them out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant import cli
from assistant.answer.records import Answer, AnswerDelta, Citation, LeadSentence, Passage
from assistant.language import PROFILES

CITATION = Citation(
    n=1, doc="rules", title="Rules", ref="Rule 4", pages=[2], quote="Prisoners shall be allowed.", passage=0
)
PASSAGE = Passage(doc="rules", title="Rules", pages=[2], ref="Rule 4", score=1.0, text="Prisoners shall be allowed.")
SENTENCES = ["Prisoners may write to their family [1].", "They may receive visits [1]."]


class StubAssistant:
    def __init__(self, answer: Answer, deltas: list[str]) -> None:
        self.answer = answer
        self.deltas = deltas

    def run(self, question: str, **_: Any) -> Iterator[AnswerDelta | Answer]:
        yield AnswerDelta(stage="retrieved")
        for text in self.deltas:
            yield AnswerDelta(text=text)
        yield self.answer

    def ask(self, question: str, **_: Any) -> Answer:
        return self.answer


def _answer(**update: Any) -> Answer:
    base = Answer(question="q", standalone_question="q", refused=False)
    return base.model_copy(update={"citations": [CITATION], "passages": [PASSAGE], **update})


def _run(monkeypatch: pytest.MonkeyPatch, stub: StubAssistant, *args: str) -> str:
    monkeypatch.setattr(cli, "_load_assistant", lambda index, llm=None: stub)
    result = CliRunner().invoke(cli.app, ["ask", "Can he write home?", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.unit
def test_generated_sentences_stream_and_sources_print_once(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _answer(generated=" ".join(SENTENCES), mode="generated", model="m")
    out = _run(monkeypatch, StubAssistant(answer, SENTENCES))
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


CAUTION = PROFILES["en"].texts.caution


@pytest.mark.unit
def test_closest_answer_prints_the_caution_apart_then_the_quotes(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _run(monkeypatch, StubAssistant(_answer(state="closest"), []))
    assert out.count(CAUTION) == 1  # once, above the quotes
    assert out.index(CAUTION) < out.index("Prisoners shall be allowed.")


@pytest.mark.unit
def test_not_covered_answer_says_so_and_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    reasons = ["The documents never mention Ruritania."]
    answer = _answer(refused=True, state="not_covered", citations=[], reasons=reasons, documents_searched=["rules"])
    out = _run(monkeypatch, StubAssistant(answer, []))
    assert out.startswith("Not covered by the documents.")
    assert "The documents never mention Ruritania." in out and "Closest passages:" in out
    assert "Documents searched: rules." in out
    assert CAUTION not in out


@pytest.mark.unit
def test_answered_prints_no_caution(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _run(monkeypatch, StubAssistant(_answer(), []))
    assert CAUTION not in out and "Not covered" not in out


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
    lead = [LeadSentence(text="Prisoners shall be allowed.", n=1, passage=0)]
    out = _run(monkeypatch, StubAssistant(_answer(lang="kk", lead=lead), []))
    lead_at = out.index("\u201cPrisoners shall be allowed.\u201d [1]")
    assert out.index(note) < lead_at < out.index("Rules, Rule 4, p. 2:")
    assert "Растайтын үзінділер (1):" in out  # the answer's own words in the question's language


def _citations(n: int) -> list[Citation]:
    return [CITATION.model_copy(update={"n": i, "quote": f"Quote number {i} of the rules."}) for i in range(1, n + 1)]


@pytest.mark.unit
def test_the_lead_first_then_two_passages_and_all_with_all(monkeypatch: pytest.MonkeyPatch) -> None:
    lead = [LeadSentence(text="Quote number 3 of the rules.", n=3, passage=0)]
    answer = _answer(citations=_citations(4), lead=lead)
    out = _run(monkeypatch, StubAssistant(answer, []))
    assert out.startswith("\u201cQuote number 3 of the rules.\u201d [3]")
    assert "Supporting passages (4):" in out
    assert "\u201cQuote number 2 of the rules.\u201d [2]" in out
    assert "\u201cQuote number 4 of the rules.\u201d [4]" not in out
    assert "More passages: 2 (--all prints them)" in out
    assert out.count("Rules, Rule 4, p. 2") == 2 + 4  # two passages shown, every source listed
    every = _run(monkeypatch, StubAssistant(answer, []), "--all")
    assert "\u201cQuote number 4 of the rules.\u201d [4]" in every and "More passages" not in every
