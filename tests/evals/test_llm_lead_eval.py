"""The generated-lead evaluation's independent check and its bookkeeping, on hand-made answers."""

from __future__ import annotations

import pytest

from assistant.answer.records import Answer, Citation, DroppedSentence, LeadSentence, Passage
from evals.golden import GoldenQuestion
from evals.llm_lead import SELECTION, outcome, reason_group, selected
from evals.llm_lead_independent_check import independent_problems

RULE_44 = (
    "For the purpose of these rules, solitary confinement shall refer to the confinement of prisoners for 22 hours "
    "or more a day without meaningful human contact. Prolonged solitary confinement shall refer to solitary "
    "confinement for a time period in excess of 15 consecutive days."
)


def _answer(lang: str, sentences: list[str], kind: str = "generated") -> Answer:
    passage = Passage(doc="mandela", title="Nelson Mandela Rules", pages=[17], ref="Rule 44", score=1.0, text=RULE_44)
    citation = Citation(
        n=1, doc="mandela", title="Nelson Mandela Rules", ref="Rule 44", pages=[17], quote=RULE_44, passage=0
    )
    return Answer(
        question="q",
        standalone_question="q",
        refused=False,
        lang=lang,
        lead=[LeadSentence(text=s, n=1, passage=0) for s in sentences],
        lead_kind=kind,  # type: ignore[arg-type]
        citations=[citation],
        passages=[passage],
        lead_dropped=[DroppedSentence(text="x [1].", reason="number 30 is not in the cited passage")],
        timings_ms={"generate": 2500.0},
    )


@pytest.mark.unit
def test_independent_check_passes_supported_sentences() -> None:
    assert independent_problems(_answer("ru", ["Длительное одиночное заключение — более 15 суток подряд."])) == []
    assert independent_problems(_answer("ru", ["Более пятнадцати суток подряд, по Правилам Нельсона Манделы."])) == []
    assert independent_problems(_answer("kk", ["Ұзақ оқшаулау — қатарынан он бес тәуліктен артық."])) == []
    assert independent_problems(_answer("en", ["Prolonged solitary confinement means over 15 consecutive days."])) == []


@pytest.mark.unit
def test_independent_check_finds_wrong_numbers_names_and_languages() -> None:
    (wrong_number,) = independent_problems(_answer("ru", ["Длительное одиночное заключение — более 30 суток."]))
    assert "30" in wrong_number
    (in_words,) = independent_problems(_answer("ru", ["Более двадцати суток подряд."]))
    assert "20" in in_words
    (name,) = independent_problems(_answer("ru", ["В Караганде одиночное заключение — более 15 суток."]))
    assert "Караганде" in name
    (english,) = independent_problems(_answer("ru", ["Prolonged solitary confinement means over 15 days."]))
    assert "language" in english
    (russian_for_kazakh,) = independent_problems(_answer("kk", ["Одиночное заключение — более 15 суток."]))
    assert "language" in russian_for_kazakh


@pytest.mark.unit
def test_outcome_counts_key_facts_in_words_and_in_cited_quotes() -> None:
    q = GoldenQuestion(
        id="ru001",
        question="Сколько суток?",
        answerable=True,
        expected=[],
        key_facts=["15 consecutive days", "22 hours or more a day"],
        kind="fact",
        persona="staff",
        lang="ru",
    )
    draft = _answer("ru", [RULE_44.split(". ")[1]], kind="extractive")
    final = _answer("ru", ["Более 15 суток подряд."])
    row = outcome(q, draft, final)
    assert row.shown and row.seconds == 2.5 and row.facts == 2
    assert row.facts_in_words == 0 and row.facts_in_quotes == 2  # Russian words; the cited rule holds both
    assert row.extractive_facts_in_words == 1  # the verbatim sentence holds "15 consecutive days"
    assert row.extractive_facts_in_quotes == 2
    assert row.dropped == [("x [1].", "number 30 is not in the cited passage")]
    assert reason_group(row.dropped[0][1]) == "number not in the passage"


@pytest.mark.unit
def test_the_selection_is_fixed_and_complete() -> None:
    assert [len(SELECTION[lang]) for lang in ("en", "ru", "kk")] == [20, 10, 10]
    with pytest.raises(ValueError, match="lack the selected"):
        selected([])
