"""Redaction before logging: names, prisoner and staff numbers, phones, dates of birth and e-mails in English,
Russian and Kazakh become typed placeholders; ordinary staff questions pass unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.review.redaction import Redactor

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
GOLDEN = [REPO / "evals" / "golden" / "dev.jsonl", REPO / "evals" / "golden" / "dev_multilingual.jsonl"]

# (question, the private strings that must be gone, the placeholders expected in the result)
PRIVATE = [
    ("Can Mr Smith have a visit from his brother on Saturday?", ["Smith"], ["NAME"]),
    ("Prisoner John Davies A1234BC says his letters were opened, what do we do?", ["John", "Davies", "A1234BC"],
     ["NAME", "PRISONER_NO"]),
    ("Officer Brown searched cell 12 without a witness, is that allowed?", ["Brown"], ["NAME"]),
    ("My colleague Sarah Jenkins was assaulted on the landing; what support is she entitled to?",
     ["Sarah", "Jenkins"], ["NAME"]),
    ("Inmate number 45821 refuses to eat, when must the doctor be told?", ["45821"], ["PRISONER_NO"]),
    ("Can Dave Hughes (DOB 12/03/1985) be moved to another wing?", ["Dave", "Hughes", "12/03/1985"],
     ["NAME", "DOB"]),
    ("A visitor gave the phone number 07700 900123 to a prisoner, do we report it?", ["07700 900123"], ["PHONE"]),
    ("Email me the rule at j.smith@justice.gov.uk please", ["j.smith@justice.gov.uk"], ["EMAIL"]),
    ("Staff number 10456 was on duty when the fight started; who writes the report?", ["10456"], ["STAFF_NO"]),
    ("The prisoner was born on 3 March 1990, is he still a young adult?", ["3 March 1990"], ["DOB"]),
    ("Mrs O'Brien wants to bring her baby into the visits hall, what are the rules?", ["O'Brien"], ["NAME"]),
    ("Kyle is refusing to go back to his cell, can we use force?", ["Kyle"], ["NAME"]),
    ("Call +44 20 7946 0958 if the lad called Connor kicks off again?", ["7946", "Connor"], ["PHONE", "NAME"]),
    ("J. Smith has been on basic for three weeks; is that too long?", ["Smith"], ["NAME"]),
    ("My password is hunter22, can you remind me the search policy?", ["hunter22"], ["SECRET"]),
    ("Inmate Garcia's case number 2023/4471, can he see his file?", ["Garcia", "2023/4471"],
     ["NAME", "PRISONER_NO"]),
    ("Ms Patel, date of birth 1988-07-14, wants her medication in cell.", ["Patel", "1988-07-14"], ["NAME", "DOB"]),
    ("Badge no. 3321 lost his keys in the yard, what do we record?", ["3321"], ["STAFF_NO"]),
    ("Осуждённый Иванов Сергей Петрович отказывается от пищи, что делать?", ["Иванов", "Сергей", "Петрович"],
     ["NAME"]),
    ("Можно ли разрешить свидание заключённому Петрову с женой?", ["Петрову"], ["NAME"]),
    ("Сотрудник Смирнова И.А. провела досмотр без понятых, это нарушение?", ["Смирнова", "И.А."], ["NAME"]),
    ("Позвоните по номеру +7 701 234 56 78, если Алексей снова нарушит режим.", ["234 56 78", "Алексей"],
     ["PHONE", "NAME"]),
    ("Дата рождения: 15.06.1992, можно ли его перевести в колонию-поселение?", ["15.06.1992"], ["DOB"]),
    ("Номер осуждённого 12345, какие у него права на переписку?", ["12345"], ["PRISONER_NO"]),
    ("Что делать, если Сидоров ударил конвоира?", ["Сидоров"], ["NAME"]),
    ("Табельный номер 7781, какие документы нужны для отчёта?", ["7781"], ["STAFF_NO"]),
    ("Родился 1 мая 1988 года, считается ли он молодым заключённым?", ["1 мая 1988"], ["DOB"]),
    ("Осужденная Кузнецова, 1985 года рождения, просит о переводе.", ["Кузнецова", "1985"], ["NAME", "DOB"]),
    ("Напишите на ivanov@mvd.kz, когда Иван Петров будет освобождён.", ["ivanov@mvd.kz", "Иван", "Петров"],
     ["EMAIL", "NAME"]),
    ("Сотталған Нұрланов Асқар тамақтан бас тартты, не істеу керек?", ["Нұрланов", "Асқар"], ["NAME"]),
    ("Айгүлге туыстарымен кездесуге бола ма?", ["Айгүл"], ["NAME"]),
    ("Қызметкер Ахметов тінтуді куәгерсіз жүргізді, бұл заңды ма?", ["Ахметов"], ["NAME"]),
    ("Сотталғанның нөмірі 55123, оның хат жазу құқығы қандай?", ["55123"], ["PRISONER_NO"]),
    ("Туған күні 1990 жылы 12 наурыз, оны басқа мекемеге ауыстыруға бола ма?", ["1990", "12 наурыз"], ["DOB"]),
    ("Ерланға +7 777 123 45 67 нөміріне хабарласуға рұқсат бар ма?", ["Ерлан", "123 45 67"], ["NAME", "PHONE"]),
    ("Тұтқын Серікбаев Дәурен Маратұлы ауырып қалды, дәрігерді қашан шақыру керек?",
     ["Серікбаев", "Дәурен", "Маратұлы"], ["NAME"]),
    ("ИИН 900312300456 бар сотталғанға сот шешімі қашан беріледі?", ["900312300456"], ["ID_NO"]),
    ("Гүлнар Сейітова 1987 жылы туған, оған ұзақ кездесу бола ма?", ["Гүлнар", "Сейітова", "1987"],
     ["NAME", "DOB"]),
]  # fmt: skip

# Staff questions with numbers, dates and capitalised names that are not personal details.
ORDINARY = [
    "Does Rule 45 allow segregation for more than 15 days?",
    "Can a prisoner be kept in the seg for 24 hours without a review?",
    "What does Article 14 of the Convention against Torture say about compensation?",
    "Under Rule 58, how often can prisoners get visits from family?",
    "Is A/RES/70/175 the same as the Nelson Mandela Rules?",
    "What is paragraph 5.67 of the security at visits framework about?",
    "How many women were held at the AMC in 2012-13?",
    "Will the Red Cross share its prison monitoring reports with embassy staff?",
    "What are the Northern Ireland Prison Service rules on closed visits?",
    "How many days of annual leave does a band 3 prison officer in England get?",
    "Category A. What escort is needed to take him to hospital?",
    "Rules 43 44 45 set limits on discipline, which one bans dark cells?",
    "Our 17-year-old's dad was caught bringing in gear. Automatic bar?",
    "Can we search a visitor's baby, and what does HMPPS say about it?",
    "Сколько дней можно держать осуждённого в ШИЗО по Правилу 44?",
    "Что говорит статья 14 Конвенции против пыток о компенсации?",
    "Можно ли надевать наручники на женщину во время родов?",
    "Сколько сотрудников охраны было в AMC в 2012–13 годах?",
    "Сотталғанды 15 күннен артық оқшаулауға бола ма?",
    "Англияда 3-деңгейлі түрме қызметкеріне жылына неше күн еңбек демалысы беріледі?",
    "Келушіні тінтуден бас тартса не істеу керек?",
]


def test_at_least_thirty_private_phrasings_in_three_languages() -> None:
    from assistant.language import detect_language

    assert len(PRIVATE) >= 30
    languages = {detect_language(text) for text, _, _ in PRIVATE}
    assert languages == {"en", "ru", "kk"}


@pytest.mark.parametrize(("text", "private", "kinds"), PRIVATE, ids=[str(i) for i in range(len(PRIVATE))])
def test_personal_details_are_replaced_by_typed_placeholders(text: str, private: list[str], kinds: list[str]) -> None:
    result = Redactor().redact(text)
    for secret in private:
        assert secret not in result.text, (secret, result.text)
    for kind in kinds:
        assert f"[{kind}]" in result.text, (kind, result.text)
    assert set(result.counts) == set(kinds), result.counts


def _golden_questions() -> list[str]:
    questions = []
    for path in GOLDEN:
        questions += [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    return questions


def test_the_dev_sets_staff_questions_are_left_unchanged() -> None:
    questions = _golden_questions()
    assert len(questions) >= 30
    changed = [(q, Redactor()(q)) for q in questions if Redactor()(q) != q]
    assert changed == []


@pytest.mark.parametrize("text", ORDINARY)
def test_rule_numbers_counts_and_institutions_are_kept(text: str) -> None:
    result = Redactor().redact(text)
    assert result.text == text
    assert not result.changed


def test_counts_and_text_around_placeholders() -> None:
    result = Redactor().redact("Can Mr Ivanov (A1234BC, born 12.03.1985) phone 07700 900123?")
    assert result.text == "Can Mr [NAME] ([PRISONER_NO], born [DOB]) phone [PHONE]?"
    assert result.counts == {"NAME": 1, "PRISONER_NO": 1, "DOB": 1, "PHONE": 1}


def test_other_full_dates_become_date_and_long_numbers_id() -> None:
    assert Redactor()("He was moved on 04/11/2024, case 88123456.") == "He was moved on [DATE], case [ID_NO]."


def test_extra_first_names_can_be_added() -> None:
    assert Redactor()("Can Zebedee see the nurse?") == "Can Zebedee see the nurse?"
    assert Redactor(frozenset({"Zebedee", "Жанболат"}))("Can Zebedee see Жанболатқа?") == "Can [NAME] see [NAME]?"
