"""Conversation → Markdown export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.answer.records import Answer, Citation, Passage
from assistant.app.export import Exchange, conversation_markdown, md_escape

RULE_58 = (
    "1. Prisoners shall be allowed, under necessary supervision, to communicate with their family and friends at "
    "regular intervals: (a) By corresponding in writing"
)


def _answer(question: str, standalone: str | None = None, refused: bool = False) -> Answer:
    citations = (
        []
        if refused
        else [
            Citation(
                n=1,
                doc="un-nelson-mandela-rules",
                title="Nelson Mandela Rules",
                ref="Rule 58",
                pages=[20],
                quote=RULE_58,
            ),
            Citation(
                n=2,
                doc="hmpps-visits",
                title="HMPPS Visits *Policy*",
                ref="4.2",
                pages=[7, 8],
                quote="Visits <b>must</b> go on.",
            ),
        ]
    )
    return Answer(
        question=question,
        standalone_question=standalone or question,
        refused=refused,
        state="not_covered" if refused else "answered",
        reasons=["The indexed documents do not cover this question."] if refused else [],
        citations=citations,
        passages=[
            Passage(
                doc="un-nelson-mandela-rules",
                title="Nelson Mandela Rules",
                pages=[20],
                ref="Rule 58",
                score=0.5,
                text=RULE_58,
            )
        ],
        documents_searched=["hmpps-visits", "un-nelson-mandela-rules"],
        confidence=0.8,
    )


@pytest.mark.unit
def test_markdown_has_every_question_and_full_citations() -> None:
    exchanges = [
        Exchange("Can he write to his family?", _answer("Can he write to his family?")),
        Exchange("and visits?", _answer("and visits?", standalone="Can he write to his family? and visits?")),
        Exchange("", notice="question: empty; type a question about prison rules or policy"),
        Exchange("What is the moon made of?", _answer("What is the moon made of?", refused=True)),
    ]
    md = conversation_markdown(exchanges, exported=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert md.startswith("# Handbook Assistant conversation\n")
    assert "Exported 2026-01-02 03:04 UTC" in md
    assert "## 1. Can he write to his family?" in md
    assert "## 2. and visits?" in md
    assert "_Searched as: Can he write to his family? and visits?_" in md
    assert md.count("_Searched as:") == 1  # only where the search differed from the question
    # Full citation: title, ref, pages and document id, and the verbatim quote.
    assert "1. Nelson Mandela Rules, Rule 58, p. 20 (document `un-nelson-mandela-rules`)" in md
    assert "2. HMPPS Visits \\*Policy\\*, 4.2, pp. 7\u20138 (document `hmpps-visits`)" in md
    assert "> \u201c1. Prisoners shall be allowed, under necessary supervision" in md
    assert "question: empty" in md
    assert "The indexed documents do not cover this question." in md
    assert "**Not covered by the documents.**" not in md and "Not covered by the documents." in md
    assert md.count("**Sources**") == 2  # the refused answer has none


@pytest.mark.unit
def test_document_text_cannot_inject_markup() -> None:
    md = conversation_markdown([Exchange("<script>alert(1)</script> *bold*", _answer("q"))])
    assert "<script>" not in md and "<b>" not in md
    assert "\\<script\\>" in md and "\\*bold\\*" in md
    assert md_escape("[link](http://x) $x$ #h `c`") == "\\[link\\](http://x) \\$x\\$ \\#h \\`c\\`"


@pytest.mark.unit
def test_generated_answer_and_notes_are_exported() -> None:
    generated = _answer("Can he write home?").model_copy(
        update={
            "mode": "generated",
            "model": "ollama:llama3.1",
            "generated": "He may write to his family [1].",
            "note": "1 sentence(s) of the generated answer had no citation and were removed.",
        }
    )
    fallback = _answer("Can he phone home?").model_copy(update={"note": "Generated answer not shown: timeout."})
    text = conversation_markdown([Exchange(question=a.question, answer=a) for a in (generated, fallback)])
    assert "He may write to his family \\[1\\]" in text
    assert "_Written by ollama:llama3.1; the passages it cites:_" in text
    assert "Sources:" not in text  # the source list is exported as full citations instead
    assert "_Note: 1 sentence(s)" in text and "_Note: Generated answer not shown: timeout._" in text
