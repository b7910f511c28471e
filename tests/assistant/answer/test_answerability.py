"""The answerability checks, each on its own, and the decision they feed (assistant/answer/decision.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.decision import (
    AnswerabilityPolicy,
    Evidence,
    FocusTerm,
    asked_quantity,
    asks_time_count,
    check_answer_type,
    check_counted_thing,
    check_focus_terms,
    check_names,
    counted_thing,
    focus_terms,
    gives_quantity,
    is_cyrillic,
    question_subject,
    states_count_of,
)
from assistant.glossary import Glossary, GlossaryEntry

IDF = {
    "prison": 0.8,
    "staff": 1.7,
    "visit": 1.6,
    "solitari": 5.0,
    "confin": 4.0,
    "restraint": 5.5,
    "england": 5.0,
    "queensland": 6.0,
    "parcel": 6.5,
    "segreg": 5.2,
    "drug": 4.5,
    "test": 4.0,
}

# (question, the kind of quantity it asks for): 42 phrasings of the kinds the check knows.
QUANTITY_QUESTIONS = [
    ("What dose of methadone can healthcare give on reception?", "dose"),
    ("How many mg of diazepam is a prisoner allowed to hold in possession?", "dose"),
    ("What's the maximum dosage of paracetamol in-cell?", "dose"),
    ("What age do you have to be to be held with adults?", "age"),
    ("How old must a child be to visit without an adult?", "age"),
    ("Is there a minimum age for working in the kitchens?", "age"),
    ("At what age can a young person be moved to the adult estate?", "age"),
    ("What time is lock-up on the wings?", "time of day"),
    ("At what hour must the night state be called?", "time of day"),
    ("How early can unlock start in the morning?", "time of day"),
    ("What percentage of staff must be trained in first aid?", "percentage"),
    ("What proportion of the budget goes on healthcare?", "percentage"),
    ("Roughly what share of a prison service's budget normally goes on staff?", "percentage"),
    ("What rate of pay do prisoners get for kitchen work?", "money"),
    ("How much money can a prisoner spend at the canteen each week?", "money"),
    ("What hourly wage do prisoners earn for firefighting work?", "money"),
    ("How much does a phone call to a mobile cost?", "money"),
    ("What is the maximum weight of a parcel a prisoner can receive?", "measurement"),
    ("How high is the perimeter fence in metres?", "measurement"),
    ("What time should the visits team be in before the families turn up?", "time of day"),
    ("At what blood alcohol reading do we turn a visitor away?", "measurement"),
    ("What's the minimum length of a social visit in minutes?", "duration"),
    ("What's the fine for a visitor caught bringing in a phone?", "money"),
    ("What's the pass mark for the academy exam?", "percentage"),
    ("How big does a single cell have to be?", "measurement"),
    ("What size must the exercise yard be?", "measurement"),
    ("What temperature must cells be kept at in winter?", "measurement"),
    ("How long can someone be kept down the seg before it counts as prolonged solitary?", "duration"),
    ("How many days can a prisoner be held in segregation?", "duration"),
    ("After how many years can a lifer apply for parole?", "duration"),
    ("What is the retention period for CCTV footage of a use of force?", "duration"),
    ("How soon must a complaint be answered?", "duration"),
    ("Within how many hours must a new arrival see a nurse?", "duration"),
    ("How much time do they get out of cell?", "duration"),
    ("How often do closed visits have to be looked at again?", "frequency"),
    ("How frequently must the cells be searched?", "frequency"),
    ("How many times a week can he shower?", "frequency"),
    ("What year were the Mandela Rules adopted?", "date"),
    ("When was the Convention against Torture signed?", "date"),
    ("By when must the action plan be finished?", "date"),
    ("How many books are allowed in a cell?", "count"),
    ("What is the maximum number of visitors at one visit?", "count"),
    ("How many staff must be present for a strip search?", "count"),
]

NOT_QUANTITY = [
    "Can we put him on a charge for trashing his cell?",
    "Is it acceptable to keep a woman in cuffs while she's giving birth?",
    "When can the doctor authorise force-feeding?",
    "What happens if a visitor refuses to be searched?",
    "Who decides whether a visit goes ahead without photo ID?",
    "What is the maximum punishment for fighting?",
]


@pytest.mark.unit
@pytest.mark.parametrize(("question", "kind"), QUANTITY_QUESTIONS)
def test_asked_quantity_names_the_kind(question: str, kind: str) -> None:
    assert asked_quantity(question) == kind


@pytest.mark.unit
def test_enough_phrasings_of_every_kind() -> None:
    assert len(QUANTITY_QUESTIONS) >= 30
    kinds = {kind for _, kind in QUANTITY_QUESTIONS}
    assert kinds >= {"dose", "age", "duration", "count", "percentage", "date", "money", "time of day"}


@pytest.mark.unit
@pytest.mark.parametrize("question", NOT_QUANTITY)
def test_questions_not_asking_for_a_quantity(question: str) -> None:
    assert asked_quantity(question) is None


@pytest.mark.unit
@pytest.mark.parametrize(
    "question",
    [
        "Сколько дней можно держать заключённого в одиночной камере?",
        "Қанша күн оқшаулауда ұстауға болады?",
        "Какая доза метадона разрешена? 5 mg",
    ],
)
def test_cyrillic_questions_do_not_crash_and_are_recognised(question: str) -> None:
    asked_quantity(question)  # may or may not recognise the kind; must not fail
    assert is_cyrillic(question)
    assert focus_terms(question, IDF) == [] or all(f.term for f in focus_terms(question, IDF))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("Solitary confinement for a time period in excess of 15 consecutive days.", "duration", True),
        ("at least one hour of suitable exercise in the open air daily", "duration", True),
        ("Visits shall be reviewed monthly.", "frequency", True),
        ("States report every four years to the Committee.", "frequency", True),
        ("A child under four years old may stay with the mother.", "age", True),
        ("Prisoners receive 75 per cent of the minimum wage.", "percentage", True),
        ("The fee is £2.50 per call.", "money", True),
        ("Lock-up is at 8.30 pm on weekdays.", "time of day", True),
        ("Staff must be in place 30 minutes before visitors arrive.", "time of day", True),  # relative to an event
        ("Visits last two hours.", "time of day", False),
        ("Each cell shall have at least 7.5 m2 of floor space.", "measurement", True),
        ("Cells are kept between 18 and 21 degrees.", "measurement", True),
        ("a dose of 30 mg daily", "dose", True),
        ("The Rules were adopted on 17 December 2015.", "date", True),
        ("Prisoners may keep up to twelve books.", "count", True),
        ("Rule 44 defines solitary confinement.", "count", False),  # a rule number is not a quantity
        ("Adopted in 2015 by the General Assembly.", "count", False),  # nor is a year
        ("See section 5.67 on searches.", "count", False),
        ("Solitary confinement shall be used only in exceptional cases.", "duration", False),
        ("Prisoners shall be paid equitably.", "money", False),
    ],
)
def test_gives_quantity(text: str, kind: str, expected: bool) -> None:
    assert gives_quantity(text, kind) is expected  # type: ignore[arg-type]


def _focus(*terms: str) -> list[FocusTerm]:
    return [FocusTerm(t, 5.0, frozenset({t})) for t in terms]


@pytest.mark.unit
def test_answer_type_needs_the_quantity_near_the_focus() -> None:
    question = "How many days can a prisoner be held in solitary confinement?"
    focus = _focus("solitari", "confin")
    near = ["Prolonged solitary confinement means confinement for more than 15 consecutive days."]
    far = ["Solitary confinement shall be used only in exceptional cases. Visits last two hours."]
    assert check_answer_type(question, near, focus) is None
    # The figure is in the sentence after the focus term: still near.
    assert check_answer_type(question, far, focus) is None
    unrelated = ["Solitary confinement is prohibited for children. It is a last resort. Visits last two hours."]
    assert check_answer_type(question, unrelated, focus) == "duration"
    assert check_answer_type("Can he be held in solitary confinement?", unrelated, focus) is None  # no quantity asked
    elsewhere = ["Visits last two hours.", "Solitary confinement is a last resort."]
    assert check_answer_type(question, elsewhere, focus) == "duration"  # a figure in a passage off the topic


@pytest.mark.unit
def test_answer_type_with_two_focus_terms_needs_both_in_the_sentence() -> None:
    question = "How many days can a prisoner be held in solitary confinement?"
    focus = _focus("solitari", "confin")
    one_term = ["Confinement to cell is reviewed. Reviews take place every 7 days."]
    assert check_answer_type(question, one_term, focus, min_terms=1) is None
    assert check_answer_type(question, one_term, focus, min_terms=2) == "duration"
    both = ["Solitary confinement beyond 15 consecutive days is prohibited."]
    assert check_answer_type(question, both, focus, min_terms=2) is None


@pytest.mark.unit
def test_a_count_of_time_units_needs_a_number_of_them_near_the_topic() -> None:
    question = "How many hours' notice do we have to give before a cell search?"
    focus = _focus("hour", "notic", "cell", "search")
    # "hours" is the unit asked in, not the topic: a figure in hours elsewhere is not near.
    assert check_answer_type(question, ["Assessment takes place within 24 hours of reception."], focus) == "duration"
    # Words of time without a number do not answer "how many hours".
    assert check_answer_type(question, ["Cell searches shall be carried out promptly."], focus) == "duration"
    assert check_answer_type(question, ["Notice of a cell search is given 24 hours ahead."], focus) is None
    # "How many days a week" asks a frequency: "daily" answers it.
    assert asks_time_count(question) is not None and asks_time_count("How long is a visit?") is None
    weekly = "How many days a week are visits held?"
    assert check_answer_type(weekly, ["Visits are held daily."], _focus("visit")) is None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("How many books can a lad keep in his pad?", "books"),
        ("How many phone calls a week does a lad on basic get?", "calls"),
        ("How many drug dogs must be on duty for each visits session?", "dogs"),
        ("How many CCTV cameras does a visits hall need at minimum?", "cameras"),
        ("What's the max number of social visits a month for a convicted lad?", "visits"),
        ("How many free stamps and envelopes does a lad get each week?", "stamps"),
        ("How many kilos of property can a lad bring on a transfer?", "kilos"),
        ("How many members sit on the Committee against Torture?", "members"),
        ("How many lads are allowed in one dormitory at most?", "lads"),
        ("How many days of annual leave does an officer get?", None),  # time: the duration check's
        ("How many hours' notice do we have to give?", None),
        ("How much money can someone post in each month?", None),  # money: the money check's
        ("How many times an hour are obs done?", None),  # a frequency
        ("How many can they buy a week?", None),  # nothing named
        ("Can we read a prisoner's letters?", None),
    ],
)
def test_counted_thing_is_what_a_how_many_question_counts(question: str, thing: str | None) -> None:
    assert counted_thing(question) == thing


@pytest.mark.unit
@pytest.mark.parametrize(
    ("thing", "text", "states"),
    [
        ("officers", "A full search is carried out by two officers of the same sex.", True),
        ("books", "Prisoners may keep up to 12 library books in their cell.", True),
        ("cells", "The Management Unit comprises management cells six and detention cells four.", True),
        ("folk", "More than 10.35 million people are held in penal institutions.", True),  # a person word
        ("members", "The Committee shall consist of ten experts.", True),  # staff words stand for each other
        ("children", "Rule 28 Visits involving children shall take place in a suitable setting.", False),
        ("dogs", "5.41 Prison dogs may be used to search visitors.", False),  # a paragraph number
        ("members", "2. The members of the Committee shall be elected.", False),  # a list marker
        ("prisoners", "The units may be two storey, Indigenous prisoners should be housed below.", False),  # a clause
        ("stamps", "In line with PSI 49 2011, stamps are sold at the canteen.", False),  # an instruction's number
        ("books", "Prisoners may borrow books from the library.", False),
    ],
)
def test_states_count_of_finds_a_figure_for_the_thing(thing: str, text: str, states: bool) -> None:
    assert states_count_of(thing, [text]) is states


@pytest.mark.unit
def test_check_counted_thing_uses_the_glossary_meanings() -> None:
    question = "How many screws have to be there for a strip search?"
    text = ["A strip search is carried out by two officers."]
    assert check_counted_thing(question, text) is None  # a staff word stands for any staff word
    vapes = "How many vapes can a lad buy?"
    assert check_counted_thing(vapes, ["Prisoners may buy two e-cigarettes a week."]) == "vapes"
    glossary = Glossary([GlossaryEntry(("vapes",), ("e-cigarettes",))])
    assert check_counted_thing(vapes, ["Prisoners may buy two e-cigarettes a week."], glossary) is None


@pytest.mark.unit
def test_focus_terms_drop_generic_and_question_words_and_add_glossary_meanings() -> None:
    glossary = Glossary([GlossaryEntry(("seg",), ("segregation", "solitary confinement"))])
    focus = focus_terms("How long can staff keep someone down the seg?", IDF, glossary)
    terms = {f.term: f for f in focus}
    assert "staff" not in terms and "prison" not in terms and "long" not in terms  # generic / question words
    assert "seg" in terms and {"segreg", "solitari", "confin"} <= terms["seg"].alternatives
    missing, share = check_focus_terms(focus, ["Segregation shall be reviewed by the governor."])
    assert "seg" not in missing  # found through its glossary meaning
    assert 0.0 <= share < 1.0


@pytest.mark.unit
def test_check_focus_terms_reports_the_missing_terms_and_their_weight_share() -> None:
    focus = [FocusTerm("restraint", 6.0, frozenset({"restraint"})), FocusTerm("parcel", 2.0, frozenset({"parcel"}))]
    missing, share = check_focus_terms(focus, ["Instruments of restraint shall never be used on women in labour."])
    assert missing == ["parcel"] and share == pytest.approx(0.25)
    assert check_focus_terms([], ["anything"]) == ([], 0.0)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("What hourly wage do prisoners in California state prisons earn?", ["California"]),
        ("Are Tasmania prison officers allowed to carry batons?", ["Tasmania"]),
        ("What COVID-19 vaccination rate must staff reach?", ["COVID"]),
        ("A Romanian prisoner wants a translator. Do we have to provide one?", []),  # a nationality
        ("Mr Novak says he was refused a visit. Can he complain?", []),  # a person
        ("Can a Zorbanian national be held in segregation?", []),  # an adjective of place
        ("Is there anything on segregation in England?", []),  # a place the documents mention
    ],
)
def test_check_names_refuses_only_a_focus_name(question: str, names: list[str]) -> None:
    assert check_names(question, IDF) == names


@pytest.mark.unit
def test_question_subject_is_the_question_on_one_line() -> None:
    assert question_subject("How many  books are\nallowed in a cell?") == "How many books are allowed in a cell?"
    assert question_subject("x" * 200, limit=10) == "x" * 9 + "\u2026"


def _evidence(**update: object) -> Evidence:
    return Evidence(dense=0.7, coverage=0.5, subject="books allowed in a cell").model_copy(update=update)


@pytest.mark.unit
def test_decide_answered_closest_and_not_covered() -> None:
    policy = AnswerabilityPolicy(answer_threshold=0.6, lexical_weight=0.2)
    assert policy.decide(_evidence()).state == "answered"
    weak = policy.decide(_evidence(dense=0.4))
    assert weak.state == "closest" and not weak.refused and weak.reasons[0].check == "weak_match"
    missing = policy.decide(_evidence(quantity_asked="count", quantity_missing="count"))
    assert missing.state == "not_covered" and missing.refused
    assert missing.reasons[0].message == (
        "The documents give no figure in answer to \u201cbooks allowed in a cell\u201d; "
        "the passages on this topic state none."
    )
    named = policy.decide(_evidence(unknown_names=["California"]))
    assert named.state == "not_covered" and named.reasons[0].message == "The documents never mention California."
    assert policy.decide(Evidence(has_passages=False)).state == "not_covered"


@pytest.mark.unit
def test_decide_a_count_of_time_units_with_its_own_near() -> None:
    # The figure is near one focus term but not near two.
    evidence = _evidence(quantity_asked="duration", quantity_missing=None, quantity_missing_strict="duration")
    loose = AnswerabilityPolicy(quantity_near_terms=1, time_count_near_terms=1)
    strict_for_time = AnswerabilityPolicy(quantity_near_terms=1, time_count_near_terms=2)
    assert loose.decide(evidence.model_copy(update={"time_count": True})).state == "answered"
    assert strict_for_time.decide(evidence.model_copy(update={"time_count": True})).state == "not_covered"
    assert strict_for_time.decide(evidence).state == "answered"  # "how long": the looser near applies


@pytest.mark.unit
def test_decide_counted_thing_off_weak_and_on() -> None:
    strong = _evidence(counted_missing="books", dense=0.8)
    weak = _evidence(counted_missing="books", dense=0.5)
    off = AnswerabilityPolicy(answer_threshold=0.6, lexical_weight=0.0, counted_check="off")
    only_weak = AnswerabilityPolicy(answer_threshold=0.6, lexical_weight=0.0, counted_check="weak")
    always = AnswerabilityPolicy(answer_threshold=0.6, lexical_weight=0.0, counted_check="on")
    assert (off.decide(strong).state, off.decide(weak).state) == ("answered", "closest")
    assert (only_weak.decide(strong).state, only_weak.decide(weak).state) == ("answered", "not_covered")
    decision = always.decide(strong)
    assert decision.state == "not_covered" and decision.reasons[0].check == "counted_thing"
    assert decision.reasons[0].message.startswith("The documents give no number of books in answer to")


@pytest.mark.unit
def test_decide_focus_terms_only_above_their_threshold() -> None:
    evidence = _evidence(missing_focus=["jammer"], missing_focus_share=0.6)
    assert AnswerabilityPolicy(missing_focus=0.5).decide(evidence).state == "not_covered"
    assert AnswerabilityPolicy(missing_focus=0.7).decide(evidence).state == "answered"


@pytest.mark.unit
def test_cyrillic_questions_are_never_not_covered_on_lexical_evidence() -> None:
    evidence = _evidence(lexical_checks=False, unknown_names=["X"], quantity_missing="count", dense=0.3)
    decision = AnswerabilityPolicy().decide(evidence)
    assert decision.state == "closest"


@pytest.mark.unit
def test_permissive_policy_never_refuses_nor_cautions() -> None:
    evidence = _evidence(unknown_names=["California"], quantity_missing="count", dense=-1.0)
    assert AnswerabilityPolicy().permissive().decide(evidence).state == "answered"


@pytest.mark.unit
def test_nothing_quotable_makes_the_closest_passages() -> None:
    policy = AnswerabilityPolicy()
    answered = policy.decide(_evidence(dense=0.9))
    assert answered.state == "answered"
    settled = policy.settle(answered, quoted=False)
    assert settled.state == "closest" and settled.reasons[-1].check == "nothing_quotable"
    assert policy.settle(answered, quoted=True) == answered
    refused = policy.decide(_evidence(unknown_names=["California"], dense=0.9))
    assert policy.settle(refused, quoted=False).state == "not_covered"  # "not covered" stands


VOCABULARY = frozenset(
    {"approved", "keep", "cuffs", "cuff", "lad", "prison", "officers", "allowed", "carry", "phone", "mobile", "models"}
)


@pytest.mark.unit
def test_rare_terms_are_words_neither_the_documents_nor_english_know() -> None:
    from assistant.answer.decision import check_rare_terms

    question = "Which mobile phone jammer models are approved? Can the lad keep his cuffs?"
    assert check_rare_terms(question, IDF, VOCABULARY) == ["jammer"]
    assert check_rare_terms(question, {**IDF, "jammer": 6.0}, VOCABULARY) == []  # the documents use it
    assert check_rare_terms(question, IDF, None) == []  # no vocabulary: the check is off
    glossary = Glossary([GlossaryEntry(("jammer",), ("signal blocking device",))])
    assert check_rare_terms(question, IDF, VOCABULARY, glossary) == []  # staff wording the glossary explains
    assert check_rare_terms("Are Tasers allowed?", IDF, VOCABULARY) == []  # capitalised: left to the names check
    assert check_rare_terms("Is the lad's mobile phone approved?", IDF, VOCABULARY) == []  # a possessive is its word


@pytest.mark.unit
def test_load_vocabulary_skips_wordpieces_and_symbols(tmp_path: Path) -> None:
    from assistant.answer.decision import load_vocabulary

    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n##ing\nprison\nLondon\n42\nvisit\n", encoding="utf-8")
    assert load_vocabulary(path) == frozenset({"prison", "visit"})


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "passages", "absent"),
    [
        (
            "Are Queensland prison officers allowed to carry batons?",
            ["Officers in England carry batons."],
            ["Queensland"],
        ),
        ("Are Queensland prison officers allowed to carry batons?", ["In Queensland, officers may not."], []),
        ("Can a lifer in England apply for parole?", ["Parole rules of the state."], ["England"]),
        ("Does Governor Queensland approve visits?", ["Visits are approved."], []),  # a person's title before it
        ("Queensland: can officers carry batons?", ["Batons."], []),  # opens the question: no setting
        ("What is the position of Mr Smith?", ["Nothing."], []),
    ],
)
def test_absent_names_are_focus_places_the_closest_passages_never_mention(
    question: str, passages: list[str], absent: list[str]
) -> None:
    from assistant.answer.decision import check_absent_names

    assert check_absent_names(question, IDF, passages) == absent


@pytest.mark.unit
def test_decide_reports_rare_terms_and_absent_names() -> None:
    rare = AnswerabilityPolicy(rare_term_check=True).decide(_evidence(rare_terms=["jammer"]))
    assert rare.state == "not_covered" and rare.reasons[0].message == "The documents never mention: jammer."
    assert AnswerabilityPolicy(rare_term_check=False).decide(_evidence(rare_terms=["jammer"])).state == "answered"
    absent = AnswerabilityPolicy().decide(_evidence(absent_names=["Queensland"]))
    assert absent.state == "not_covered" and "Queensland" in absent.reasons[0].message
