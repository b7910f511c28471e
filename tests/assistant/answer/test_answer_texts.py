"""The answer's own words are written in one place: assistant/answer/render.py (their texts: assistant/language.py).

The caution, "not covered", the supporting-passages heading, the sources heading and the language
note were once put into the answer text by the chain and cut out again with `removeprefix` by the
CLI and the app. Now an Answer is data; these tests read the package's source to keep it so.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from assistant.answer.records import Answer, Citation, LeadSentence, Passage
from assistant.answer.render import answer_markdown, answer_parts, answer_text
from assistant.language import PROFILES

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[3] / "assistant"
DEFINED_IN = PACKAGE / "language.py"  # the texts, one table per language
RENDERER = PACKAGE / "answer" / "render.py"  # the only module that writes them
# Not answers: the reviewers' queue names a logged answer's state in the same words.
NOT_ANSWERS = {PACKAGE / "review" / "queue.py"}
# Reading one of these fields of a language's texts is writing it into an answer.
_FIELDS = re.compile(
    r"\.(caution|not_covered|not_covered_default|documents_searched|closest_passages|passages_heading|"
    r"more_passages|language_note)\b(?!\s*[:=])"
)


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(PACKAGE.rglob("*.py"))}


def _texts() -> list[str]:
    out = []
    for profile in PROFILES.values():
        t = profile.texts
        out += [t.caution, t.not_covered, t.not_covered_default, t.closest_passages, t.language_note]
        out += [t.passages_heading.split("{")[0], t.more_passages.split("{")[-1].strip("}").strip() or "more"]
    return [text for text in out if len(text) > 6]


def _string_constants(source: str) -> list[str]:
    """Every string literal of the code but the docstrings (which may name the texts)."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_texts_are_written_nowhere_but_in_the_language_table() -> None:
    for path, source in _sources().items():
        if path == DEFINED_IN or path in NOT_ANSWERS:
            continue
        literals = _string_constants(source)
        for text in _texts():
            assert not any(text in literal for literal in literals), (
                f"{path.relative_to(PACKAGE.parent)} writes {text!r}: take it from assistant/language.py in render.py"
            )


def test_only_the_renderer_reads_them() -> None:
    readers = {
        path.relative_to(PACKAGE.parent).as_posix()
        for path, source in _sources().items()
        if path not in (DEFINED_IN, RENDERER)
        and any("texts" in line or "profile(" in line for line in source.splitlines() if _FIELDS.search(line))
    }
    assert readers == set(), f"these modules write an answer's own words: {sorted(readers)}"


def test_no_front_end_cuts_rendered_text_apart() -> None:
    for name in ("cli.py", "app/ui.py", "app/export.py"):
        source = (PACKAGE / name).read_text(encoding="utf-8")
        assert "removeprefix" not in source, name
        assert "SOURCES_HEADING" not in source and "CLOSEST_CAUTION" not in source, name
    ui = (PACKAGE / "app" / "ui.py").read_text(encoding="utf-8")
    assert "citation.quote in p.text" not in ui  # a citation names its passage; no substring search


CITATIONS = [
    Citation(n=i, doc="rules", title="Rules", ref=f"Rule {i}", pages=[i], quote=f"Quote {i} of the rules.", passage=0)
    for i in range(1, 5)
]
PASSAGES = [Passage(doc="rules", title="Rules", pages=[1], ref="Rule 1", score=1.0, text="Quote 1 of the rules.")]


def _answer(**update: object) -> Answer:
    lead = [LeadSentence(text="Quote 3 of the rules.", n=3, passage=0)]
    base = Answer(question="q", standalone_question="q", refused=False, citations=CITATIONS, passages=PASSAGES)
    return base.model_copy(update={"lead": lead, **update})


def test_reading_order_of_an_answer() -> None:
    kinds = [p.kind for p in answer_parts(_answer(state="closest", lang="ru"))]
    assert kinds == ["note", "caution", "lead", "heading", "passage", "passage", "passage", "passage", "sources"]
    text = answer_text(_answer(lang="ru", state="closest"))
    ru = PROFILES["ru"].texts
    assert text.startswith(ru.language_note + "\n\n" + ru.caution + "\n\n\u201cQuote 3 of the rules.\u201d [3]")
    assert "Подтверждающие фрагменты (4):" in text and "Источники:" in text
    shown = answer_parts(_answer(), passages=2)
    assert [p.kind for p in shown][-2:] == ["more", "sources"] and shown[-2].text == "More passages: 2"


def test_a_place_the_documents_apply_in_is_named_below_the_lead_in_the_questions_language() -> None:
    en = _answer(applies_in=["Kazakhstan"])
    assert [p.kind for p in answer_parts(en)][:3] == ["lead", "applies_in", "heading"]
    note = PROFILES["en"].texts.applies_in.format(names="Kazakhstan")
    assert note.startswith("The documents say nothing specific to Kazakhstan: these are UN standards")
    assert note in answer_text(en) and f"_{note}_" in answer_markdown(en)
    assert en.to_json_dict()["applies_in"] == ["Kazakhstan"]
    ru = answer_text(_answer(applies_in=["Казахстане"], lang="ru"))
    assert PROFILES["ru"].texts.applies_in.format(names="Казахстане") in ru
    assert "applies_in" not in [p.kind for p in answer_parts(_answer())]


def test_not_covered_and_nothing_quotable() -> None:
    refused = _answer(state="not_covered", refused=True, citations=[], lead=[], reasons=["The documents never say."])
    assert [p.kind for p in answer_parts(refused)] == ["not_covered", "reasons", "searched", "closest"]
    unquotable = _answer(state="closest", citations=[], lead=[])
    assert [p.kind for p in answer_parts(unquotable)] == ["caution", "closest"]


def test_the_chat_folds_all_but_the_first_two_passages_in_the_pages_language() -> None:
    en = answer_markdown(_answer(lang="ru"), PROFILES["en"].texts)  # an English page, a Russian question
    assert en.startswith(f"_{PROFILES['ru'].texts.language_note}_")  # the note in the question's language
    assert "**Supporting passages (4)**" in en
    open_part, folded = en.split("<details>", 1)
    assert "Quote 2 of the rules." in open_part and "Quote 3 of the rules.\u201d\n" not in open_part.split("**")[-1]
    assert folded.startswith("<summary>More passages: 2</summary>") and "Quote 4 of the rules." in folded
    assert en.rstrip().endswith("</details>")
    ru = answer_markdown(_answer(state="closest"), PROFILES["ru"].texts)  # a Russian page
    assert PROFILES["ru"].texts.caution in ru and "Подтверждающие фрагменты (4)" in ru and "Ещё фрагментов: 2" in ru
    assert PROFILES["en"].texts.caution not in ru
