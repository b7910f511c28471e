"""Tests for question-language detection and the quoted-in-English notice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.language import detect_language, quoted_in_document_language

GOLDEN = Path(__file__).resolve().parents[2] / "evals" / "golden"

ENGLISH = [
    "How long can someone be kept down the seg?",
    "Can we strip search a kid?",
    "What does ШИЗО mean?",  # an English question about a Russian acronym
    "Can we put him in the ШИЗО for a week?",
    "Is the Kazakh word сотталған the same as prisoner?",
    "HMPPS visits policy",
    "Rule 44",
    "cuffs on escort",
    "Où est la salle des visites?",  # other Latin-script languages: the documents' language
    "",
    "   ",
    "123 / 456",
    "??",
    "AMC",
    "What is the UN CAT?",
]

RUSSIAN = [
    "Сколько суток можно держать осуждённого в ШИЗО?",
    "можно ли поместить в ШИЗО беременную?",
    "Что такое HMPPS?",  # Russian question, English acronym
    "Чем отличается jail от prison?",  # Russian question, English words
    "Что значит dynamic security в Mandela Rules?",  # no English function word
    "Можно ли перевести осуждённого в Қарағанды?",  # a Kazakh place name
    "Как по-казахски будет «сотталған»?",  # a quoted Kazakh word
    "ШИЗО",
    "сколько дней ШИЗО",
    "положены ли длительные свидания",
    "Посетитель отказывается от досмотра — что делать?",
    "наручники при этапировании",
    "Осужденный объявил голодовку, что делать?",
    "Разрешены ли передачи в ПКТ?",
    "ПОДАЛ ЖАЛОБУ ПРОКУРОРУ, ЕГО НАКАЗАЛИ",
    "а если он несовершеннолетний",
]

KAZAKH = [
    "Сотталғанды ШИЗО-да неше күн ұстауға болады?",
    "Адвокат кездесуге бола ма?",  # no Kazakh-only letter: the particles decide
    "ШИЗО қанша?",
    "Кездесу кезінде туыстарын құшақтауға рұқсат етіле ме?",
    "Сотталған он күннен бері аштық жариялап отыр.",  # "он" is "ten", not "he"
    "Қол кісенді қашан қолдануға болады?",
    "Тінту жүргізуге кім құқылы?",
    "AMC-де әйелдерге кездесу неше минут?",  # Kazakh with an English acronym
    "Мекеме бастығы шешім қабылдай ала ма?",
    "Азаптау дегеніміз не?",  # "не" is "what" here
    "Сотталғанның адвокатқа жазған хаттарын оқуға бола ма?",
    "Этап кезінде не керек?",
    "Жүкті әйелді ШИЗО-ға орналастыруға бола ма",
    "шағым беру тәртібі қандай",
    "Nelson Mandela Rules бойынша душ аптасына неше рет?",
    "СОТТАЛҒАНҒА СӘЛЕМДЕМЕ БЕРУГЕ БОЛА МА",
]


@pytest.mark.unit
@pytest.mark.parametrize("text", ENGLISH)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.unit
@pytest.mark.parametrize("text", RUSSIAN)
def test_russian(text: str) -> None:
    assert detect_language(text) == "ru"


@pytest.mark.unit
@pytest.mark.parametrize("text", KAZAKH)
def test_kazakh(text: str) -> None:
    assert detect_language(text) == "kk"


@pytest.mark.unit
@pytest.mark.parametrize("name", ["dev.jsonl", "dev_multilingual.jsonl"])
def test_golden_questions_detected_as_their_language(name: str) -> None:
    records = [json.loads(line) for line in (GOLDEN / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert records
    wrong = [r["id"] for r in records if detect_language(r["question"]) != r.get("lang", "en")]
    assert wrong == []


@pytest.mark.unit
def test_notice_in_the_question_language() -> None:
    assert quoted_in_document_language("en") == ""
    assert quoted_in_document_language("ru") == "Цитаты приводятся на языке документа (английском)."
    assert quoted_in_document_language("kk") == "Үзінділер құжаттың тілінде (ағылшын тілінде) келтірілген."
    for lang in ("ru", "kk"):
        assert detect_language(quoted_in_document_language(lang)) == lang
