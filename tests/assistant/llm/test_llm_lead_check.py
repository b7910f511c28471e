"""The generated lead's sentence check on small texts: language, numbers, names, support, in three languages."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pytest
from fakes import FakeEmbedder

from assistant.llm.citation_check import CitationChecker
from assistant.llm.lead_check import CitedSource, LeadSentenceChecker, name_present, names_in, numbers_in

PASSAGE = CitedSource(
    n=1,
    hit=0,
    spans=((0, 10), (11, 20)),
    sentences=(
        "Prolonged solitary confinement shall refer to solitary confinement for a time period in excess of "
        "15 consecutive days.",
        "Solitary confinement shall be used only in exceptional cases as a last resort.",
    ),
    ref="Rule 44",
    title="Nelson Mandela Rules",
)
SOURCES = {1: PASSAGE}

# A stand-in for the multilingual encoder: Russian and Kazakh words it knows become their English
# translation before hashing, so a faithful translation lands near its English sentence and other text does not.
_LEXICON = {
    "длительное": "prolonged", "длительным": "prolonged", "одиночное": "solitary", "одиночным": "solitary",
    "заключение": "confinement", "содержание": "confinement", "означает": "refer", "срок": "time period",
    "более": "in excess of", "суток": "days", "дней": "days", "подряд": "consecutive", "пятнадцати": "15",
    "используется": "used", "только": "only", "исключительных": "exceptional", "случаях": "cases",
    "ұзақ": "prolonged", "оқшаулау": "solitary confinement", "қатарынан": "consecutive", "тәуліктен": "days",
    "артық": "in excess of", "мерзім": "time period", "он": "", "бес": "15",
}  # fmt: skip


class TranslatingEncoder:
    def __init__(self) -> None:
        self.hashing = FakeEmbedder()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        translated = [
            " ".join(_LEXICON.get(w.lower(), w) for w in re.findall(r"\w+", text)) for text in texts
        ]
        return self.hashing.encode(translated)


@pytest.fixture
def checker() -> LeadSentenceChecker:
    english = FakeEmbedder()
    support = CitationChecker(english.encode, {}, threshold=0.5)
    return LeadSentenceChecker(support, TranslatingEncoder().encode, e5_threshold=0.6)


@pytest.mark.unit
def test_a_right_russian_sentence_passes(checker: LeadSentenceChecker) -> None:
    verdict = checker.check("Длительное одиночное заключение означает срок более 15 суток подряд [1].", "ru", SOURCES)
    assert verdict.ok, verdict.reason
    assert verdict.markers == (1,) and verdict.best == {1: 0}  # backed by the first sentence


@pytest.mark.unit
def test_number_words_count_as_numbers(checker: LeadSentenceChecker) -> None:
    in_words = "Длительное одиночное заключение означает срок более пятнадцати суток подряд [1]."
    verdict = checker.check(in_words, "ru", SOURCES)
    assert verdict.ok, verdict.reason
    kazakh = checker.check("Ұзақ оқшаулау мерзім он бес тәуліктен артық қатарынан [1].", "kk", SOURCES)
    assert kazakh.ok, kazakh.reason


@pytest.mark.unit
def test_a_russian_sentence_with_a_wrong_number_is_dropped(checker: LeadSentenceChecker) -> None:
    verdict = checker.check("Длительное одиночное заключение означает срок более 30 суток подряд [1].", "ru", SOURCES)
    assert not verdict.ok
    assert verdict.reason == "number 30 is not in the cited passage"
    in_words = checker.check("Длительное одиночное заключение означает срок более двадцати суток [1].", "ru", SOURCES)
    assert not in_words.ok and "20" in in_words.reason


@pytest.mark.unit
def test_an_english_sentence_under_a_russian_question_is_dropped(checker: LeadSentenceChecker) -> None:
    english = "Prolonged solitary confinement means more than 15 consecutive days [1]."
    assert checker.check(english, "en", SOURCES).ok
    verdict = checker.check(english, "ru", SOURCES)
    assert not verdict.ok and verdict.reason == "written in en, the question is in ru"
    russian = "Длительное одиночное заключение означает срок более 15 суток [1]."
    russian_under_kazakh = checker.check(russian, "kk", SOURCES)
    assert not russian_under_kazakh.ok and "written in ru" in russian_under_kazakh.reason


@pytest.mark.unit
def test_unsupported_uncited_and_wrongly_cited_sentences_are_dropped(checker: LeadSentenceChecker) -> None:
    unrelated = checker.check("Осуждённым разрешены свидания с семьёй каждую неделю [1].", "ru", SOURCES)
    assert not unrelated.ok and unrelated.reason.startswith("support ")
    uncited = checker.check("Длительное одиночное заключение означает срок более 15 суток подряд.", "ru", SOURCES)
    assert not uncited.ok and uncited.reason == "no [n] citation"
    wrong = checker.check("Длительное одиночное заключение означает срок более 15 суток подряд [2].", "ru", SOURCES)
    assert not wrong.ok and "not given" in wrong.reason


@pytest.mark.unit
def test_names_must_be_in_the_cited_passage(checker: LeadSentenceChecker) -> None:
    # A name from the document title, transliterated, is present; a place the passage never names is not.
    assert checker.check(
        "По Правилам Нельсона Манделы длительное одиночное заключение означает срок более 15 суток подряд [1].",
        "ru",
        SOURCES,
    ).ok
    verdict = checker.check(
        "В Караганде длительное одиночное заключение означает срок более 15 суток подряд [1].", "ru", SOURCES
    )
    assert not verdict.ok and "Караганде" in verdict.reason
    english = checker.check("Under the Bangkok Rules prolonged solitary confinement means 15 days [1].", "en", SOURCES)
    assert not english.ok and "Bangkok" in english.reason


@pytest.mark.unit
def test_without_a_multilingual_encoder_no_russian_sentence_is_shown() -> None:
    support = CitationChecker(FakeEmbedder().encode, {}, threshold=0.5)
    checker = LeadSentenceChecker(support, None)
    verdict = checker.check("Длительное одиночное заключение означает срок более 15 суток подряд [1].", "ru", SOURCES)
    assert not verdict.ok and "encoder" in verdict.reason


@pytest.mark.unit
def test_numbers_and_names_are_read_in_three_languages() -> None:
    assert numbers_in("не более пятнадцати суток, 22 часа", "ru") == {15.0, 22.0}
    assert numbers_in("двадцать пять раз; он сказал", "ru") == {20.0, 5.0, 25.0}  # "он" is "he" in Russian
    assert numbers_in("он бес тәулік, онда", "kk") == {10.0, 5.0, 15.0}  # "онда" (there) is no number
    assert numbers_in("fifteen days under Rule 44.2, 1,000 people", "en") == {15.0, 44.2, 44.0, 1000.0}
    assert names_in("Согласно Правилам Нельсона Манделы, ШИЗО и CCTV") == ["Нельсона", "Манделы", "ШИЗО", "CCTV"]
    pool = "rule 44 nelson mandela rules"
    words = set(pool.split())
    assert name_present("Манделы", pool, words) and not name_present("ШИЗО", pool, words)


@pytest.mark.unit
def test_a_staff_term_counts_where_its_glossary_term_is_in_the_passage() -> None:
    support = CitationChecker(FakeEmbedder().encode, {}, threshold=0.5)
    sentence = "В ШИЗО длительное одиночное заключение означает срок более 15 суток подряд [1]."
    strict = LeadSentenceChecker(support, TranslatingEncoder().encode, e5_threshold=0.6)
    assert not strict.check(sentence, "ru", SOURCES).ok  # "ШИЗО" is nowhere in the English passage
    glossary = {"ШИЗО": ["solitary confinement", "segregation"], "СИЗО": ["remand"]}
    checker = LeadSentenceChecker(
        support, TranslatingEncoder().encode, e5_threshold=0.6, translate=lambda w: glossary.get(w, [])
    )
    assert checker.check(sentence, "ru", SOURCES).ok
    remand = checker.check(sentence.replace("ШИЗО", "СИЗО"), "ru", SOURCES)
    assert not remand.ok and "СИЗО" in remand.reason  # its glossary term is not in this passage


@pytest.mark.unit
def test_a_sentence_that_drops_or_adds_a_negation_is_dropped() -> None:
    rule = CitedSource(
        n=1,
        hit=0,
        spans=((0, 10),),
        sentences=("Instruments of restraint shall never be used on women during labour.",),
        ref="Rule 48",
    )
    support = CitationChecker(FakeEmbedder().encode, {}, threshold=0.5)
    lexicon = {"наручники": "instruments of restraint", "женщинам": "women", "родах": "labour", "при": "during"}
    checker = LeadSentenceChecker(
        support,
        lambda texts: FakeEmbedder().encode(
            [" ".join(lexicon.get(w.lower(), w) for w in re.findall(r"\w+", t)) for t in texts]
        ),
        e5_threshold=0.5,
    )
    assert checker.check("Instruments of restraint shall never be used on women during labour [1].", "en", {1: rule}).ok
    flipped = checker.check("Instruments of restraint shall be used on women during labour [1].", "en", {1: rule})
    assert not flipped.ok and flipped.reason == "negation differs from the cited sentence"
    assert checker.check("Наручники нельзя применять к женщинам при родах [1].", "ru", {1: rule}).ok
    allowed = checker.check("Наручники можно применять к женщинам при родах [1].", "ru", {1: rule})
    assert not allowed.ok and allowed.reason == "negation differs from the cited sentence"
