"""Tests for the quiz built from a topic brief: cloze and multiple-choice questions, answer key, .docx."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.trainers.brief import BriefDocument, BriefPassage, TopicBrief
from assistant.trainers.quiz import BLANK, Quiz, QuizBuilder
from ingest.lexical import lexical_tokens
from ingest.records import PageSpan, RefSpan

MANDELA = "Nelson Mandela Rules (A/RES/70/175)"
RULES_44_45 = (
    "For the purpose of these rules, solitary confinement shall refer to the confinement of prisoners for 22 hours "
    "or more a day without meaningful human contact. Prolonged solitary confinement shall refer to solitary "
    "confinement for a time period in excess of 15 consecutive days.\n"
    "1. Solitary confinement shall be used only in exceptional cases as a last resort, for as short a time as "
    "possible and subject to independent review, and only pursuant to the authorization by a competent authority. "
    "It shall not be imposed by virtue of a prisoner's sentence."
)
RULE_45_AT = RULES_44_45.index("1. Solitary")
RULE_23 = (
    "1. Every prisoner who is not employed in outdoor work shall have at least one hour of suitable exercise in the "
    "open air daily if the weather permits.\n2. Young prisoners, and others of suitable age and physique, shall "
    "receive physical and recreational training during the period of exercise."
)
RULE_58 = (
    "2. Where conjugal visits are allowed, this right shall be applied without discrimination, and women prisoners "
    "shall be able to exercise this right on an equal basis with men. Procedures shall be in place and premises "
    "shall be made available to ensure fair and equal access with due regard to safety and dignity."
)
POLICY = (
    "Children visiting must be accompanied by an adult aged 18 years or over. Visits for families should last at "
    "least 2 hours where the visits hall allows it. Staff will explain searching procedures to children in a "
    "reassuring manner before the visit starts. Too short."
)
REPORT = (
    "Women reported that family visits were cancelled at short notice on several weekends. The Commissioner "
    "recommends that the centre publish visiting times at least 7 days in advance to families."
)


def _passage(title: str, ref: str, pages: list[int], text: str, **spans: object) -> BriefPassage:
    return BriefPassage(doc=title.lower()[:10], title=title, ref=ref, pages=pages, text=text, score=1.0, **spans)  # type: ignore[arg-type]


def _brief() -> TopicBrief:
    rules = [
        _passage(
            MANDELA,
            "Rules 44\u201345",
            [17, 18],
            RULES_44_45,
            ref_spans=[RefSpan(offset=0, ref="Rule 44"), RefSpan(offset=RULE_45_AT, ref="Rule 45")],
            page_spans=[PageSpan(offset=0, page=17), PageSpan(offset=RULE_45_AT, page=18)],
        ),
        _passage(MANDELA, "Rule 23", [12], RULE_23),
        _passage(MANDELA, "Rule 58", [20], RULE_58),
    ]
    return TopicBrief(
        topic="visits and solitary confinement",
        generated_at="2026-03-04T10:11:12+00:00",
        documents=[
            BriefDocument(doc="un", title="Standard Minimum Rules", kind="binding-standard", passages=rules),
            BriefDocument(
                doc="hmpps",
                title="Visits Policy Framework",
                kind="policy",
                passages=[_passage("HMPPS Visits (2023)", "4.2", [11], POLICY)],
            ),
            BriefDocument(
                doc="audit",
                title="Human Rights Audit",
                kind="report",
                passages=[_passage("ACT Audit (2014)", "11", [16], REPORT)],
            ),
        ],
    )


def _sources(brief: TopicBrief) -> dict[str, str]:
    """Each sentence of the brief, whitespace-squashed, for checking that prompts quote them."""
    return {" ".join(p.text.split()): p.title for p in brief.passages()}


def _unblank(question_prompt: str, answer: str) -> str:
    return question_prompt.replace(BLANK, answer)


@pytest.mark.unit
def test_same_seed_same_quiz_other_seed_other_quiz() -> None:
    brief = _brief()
    first = QuizBuilder(n_questions=5, seed=7).build(brief)
    assert first == QuizBuilder(n_questions=5, seed=7).build(brief)
    others = [QuizBuilder(n_questions=5, seed=s).build(brief) for s in range(1, 6)]
    assert any(o.model_dump() != first.model_dump() for o in others)


@pytest.mark.unit
def test_questions_quote_the_passages_and_never_give_the_answer_away() -> None:
    brief = _brief()
    texts = " ".join(" ".join(p.text.split()) for p in brief.passages())
    quiz = QuizBuilder(n_questions=20, seed=3).build(brief, kind="mixed")
    assert len(quiz.questions) >= 8
    assert [q.n for q in quiz.questions] == list(range(1, len(quiz.questions) + 1))
    for q in quiz.questions:
        assert q.prompt.count(BLANK) == 1
        assert _unblank(q.prompt, q.answer) in texts  # the filled-in prompt is verbatim source text
        assert " ".join(q.source_text.split()).endswith(_unblank(q.prompt, q.answer))
        assert 8 <= len(_unblank(q.prompt, q.answer).split()) <= 40
        rest = q.prompt.replace(BLANK, " ")
        assert not re.search(rf"(?<!\w){re.escape(q.answer)}(?!\w)", rest, re.IGNORECASE), q
        if not any(ch.isdigit() for ch in q.answer):
            assert not set(lexical_tokens(q.answer)) & set(lexical_tokens(rest)), q
    assert len({q.answer.lower() for q in quiz.questions}) == len(quiz.questions)
    assert "Too short." not in " ".join(q.source_text for q in quiz.questions)


@pytest.mark.unit
def test_numbers_and_durations_are_blanked_first() -> None:
    quiz = QuizBuilder(n_questions=20, seed=0).build(_brief(), kind="cloze")
    answers = {q.answer for q in quiz.questions}
    assert {"22 hours", "15 consecutive days", "one hour", "18 years", "2 hours", "7 days"} <= answers
    assert all(q.kind == "cloze" and q.options == [] for q in quiz.questions)


@pytest.mark.unit
def test_answer_repeated_in_the_sentence_is_not_asked() -> None:
    text = (
        "Visits last 2 hours and the visits hall closes 2 hours after lunch on weekdays. "
        "Children should be welcomed by trained officers in the family centre on arrival."
    )
    brief = TopicBrief(
        topic="t",
        generated_at="2026-01-01T00:00:00+00:00",
        documents=[BriefDocument(doc="d", title="D", kind="policy", passages=[_passage("D", "1", [1], text)])],
    )
    quiz = QuizBuilder(n_questions=5).build(brief, kind="cloze")
    assert quiz.questions and all(q.answer != "2 hours" for q in quiz.questions)
    for q in quiz.questions:
        assert q.answer.lower() not in q.prompt.lower()
        assert "visit" not in q.answer.lower() or "visit" not in q.prompt.lower()


@pytest.mark.unit
def test_multiple_choice_has_four_distinct_options_of_the_answers_type() -> None:
    quiz = QuizBuilder(n_questions=20, seed=1).build(_brief(), kind="multiple-choice")
    assert len(quiz.questions) >= 6
    for q in quiz.questions:
        assert q.kind == "multiple-choice"
        assert len(q.options) == 4 and len({o.lower() for o in q.options}) == 4
        assert q.answer in q.options
        assert q.answer_letter() == "ABCD"[q.options.index(q.answer)]
        for option in q.options:
            assert option.lower() not in q.prompt.replace(BLANK, " ").lower().split()
    by_answer = {q.answer: q for q in quiz.questions}
    hours = by_answer["22 hours"].options
    assert all(re.fullmatch(r"\d+ hours?", o) for o in hours), hours
    days = by_answer["15 consecutive days"].options
    assert all(re.fullmatch(r"\d+ consecutive days?", o) for o in days), days
    words = next(q for q in quiz.questions if not any(ch.isdigit() for ch in q.answer))
    assert all(re.fullmatch(r"[a-z][a-z'-]+", o) for o in words.options), words.options


@pytest.mark.unit
def test_options_are_shuffled_not_always_first() -> None:
    quiz = QuizBuilder(n_questions=20, seed=2).build(_brief(), kind="multiple-choice")
    assert len({q.options.index(q.answer) for q in quiz.questions}) > 1


@pytest.mark.unit
def test_mixed_quiz_alternates_kinds() -> None:
    quiz = QuizBuilder(n_questions=6, seed=0).build(_brief())
    kinds = [q.kind for q in quiz.questions]
    assert len(kinds) == 6
    assert "cloze" in kinds and "multiple-choice" in kinds


@pytest.mark.unit
def test_citation_is_the_sentences_own_rule_and_page() -> None:
    quiz = QuizBuilder(n_questions=20, seed=0).build(_brief(), kind="cloze")
    by_answer = {q.answer: q for q in quiz.questions}
    assert by_answer["22 hours"].citation == f"{MANDELA}, Rule 44, p. 17"
    rule_45 = next(q for q in quiz.questions if q.source_text.startswith("Solitary confinement shall be used"))
    assert rule_45.citation == f"{MANDELA}, Rule 45, p. 18"
    assert by_answer["one hour"].citation == f"{MANDELA}, Rule 23, p. 12"
    assert by_answer["18 years"].citation == "HMPPS Visits (2023), 4.2, p. 11"


@pytest.mark.unit
def test_markdown_answer_key_cites_ref_and_page() -> None:
    quiz = QuizBuilder(n_questions=20, seed=0).build(_brief())
    md = quiz.to_markdown()
    questions, key = md.split("## Answer key", 1)
    assert questions.startswith("# Quiz: visits and solitary confinement")
    for q in quiz.questions:
        assert f"**{q.n}.**" in questions
        assert q.prompt.split(BLANK)[0].strip()[:30].replace("*", "") in questions.replace("\\", "")
        line = next(x for x in key.splitlines() if x.startswith(f"{q.n}. "))
        assert q.answer in line and q.citation in line.replace("\\", "")
        assert re.search(r"(Rules? \d+|4\.2|11), p\. \d+", line), line
    mc = next(q for q in quiz.questions if q.kind == "multiple-choice")
    assert f"**{mc.answer_letter()}. {mc.answer}**" in key
    for i, option in enumerate(mc.options):
        assert f"- {'ABCD'[i]}. {option}" in questions


@pytest.mark.unit
def test_markdown_without_answers_hides_the_key() -> None:
    quiz = QuizBuilder(n_questions=6, seed=0).build(_brief(), kind="cloze")
    md = quiz.to_markdown(with_answers=False)
    assert "Answer key" not in md
    assert not any(re.search(rf"(?<!\w){re.escape(q.answer)}(?!\w)", md) for q in quiz.questions)


@pytest.mark.unit
def test_docx_quiz_with_answer_key(tmp_path: Path) -> None:
    from docx import Document

    quiz = QuizBuilder(n_questions=6, seed=0).build(_brief())
    path = quiz.to_docx(tmp_path / "quiz.docx")
    assert [p.name for p in tmp_path.iterdir()] == ["quiz.docx"]
    texts = [p.text for p in Document(str(path)).paragraphs]
    assert texts[0] == "Quiz: visits and solitary confinement"
    body = "\n".join(texts)
    assert "Answer key" in texts
    for q in quiz.questions:
        assert f"{q.n}. {q.prompt}" in texts
        key_line = next(t for t in texts[texts.index("Answer key") :] if t.startswith(f"{q.n}. ") and q.citation in t)
        assert q.answer in key_line
    mc = next(q for q in quiz.questions if q.kind == "multiple-choice")
    assert all(f"{'ABCD'[i]}. {o}" in texts for i, o in enumerate(mc.options))
    assert BLANK in body


@pytest.mark.unit
def test_empty_brief_gives_an_empty_quiz(tmp_path: Path) -> None:
    brief = TopicBrief(topic="nothing", generated_at="2026-01-01T00:00:00+00:00", documents=[])
    quiz = QuizBuilder().build(brief)
    assert quiz == Quiz(topic="nothing", questions=[])
    assert "No questions" in quiz.to_markdown()
    assert quiz.to_docx(tmp_path / "q.docx").exists()


@pytest.mark.unit
def test_bad_configuration_rejected() -> None:
    with pytest.raises(ValueError, match="n_questions"):
        QuizBuilder(n_questions=0)
    with pytest.raises(ValueError, match="kind"):
        QuizBuilder().build(_brief(), kind="essay")  # type: ignore[arg-type]
