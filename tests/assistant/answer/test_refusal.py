"""The lexical evidence of the answerability decision (assistant/answer/refusal.py): unknown names and term coverage.

The IDF vocabulary is built here as the retriever builds it (`HybridRetriever.idf`: BM25's idf of every
stemmed token of the index), from a few short documents, so that a word counts as known exactly when
an index of these documents would hold it.
"""

from __future__ import annotations

import math

import pytest

from assistant.answer.decision import check_names
from assistant.answer.refusal import term_coverage, unknown_names
from ingest.lexical import lexical_tokens

DOCUMENTS = [
    "Prisoners in England and Wales may receive visits from family and friends.",
    "Segregation: a prisoner may be kept apart from others for up to 14 days. Rule 45 of the Prison Rules applies.",
    "Staff search every visitor. Queensland Corrective Services and the NHS publish their own rules on searches.",
    "Letters to a legal adviser are not read by staff. Article 8 protects correspondence.",
]


def _idf(documents: list[str]) -> dict[str, float]:
    """BM25 idf, as `HybridRetriever.idf` reads it off the index."""
    n = len(documents)
    df: dict[str, int] = {}
    for doc in documents:
        for token in set(lexical_tokens(doc)):
            df[token] = df.get(token, 0) + 1
    return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


IDF = _idf(DOCUMENTS)


# ---- unknown_names ----------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("Are prisoners in California paid?", ["California"]),
        ("Do visitors in Ohio and Texas get searched?", ["Ohio", "Texas"]),  # in the order asked
        ("Can Texas prisons and Texas courts read letters?", ["Texas"]),  # each name once
        ("Are California's prisons searched?", ["California"]),  # the possessive is not part of the name
        ("What does HMPPS say about letters?", ["HMPPS"]),  # an acronym of five capitals or more
        ("Do COVID rules and COVID tests stop visits?", ["COVID"]),
        ("Does the Romanian embassy get visits?", ["Romanian"]),  # a nationality too: check_names drops those
        ("Can a prisoner in New Zealand get visits?", ["New", "Zealand"]),  # word by word
    ],
)
def test_capitalised_words_the_documents_never_mention_are_names(question: str, names: list[str]) -> None:
    found = unknown_names(question, IDF)
    assert found == names
    # check_names (answerability) finds each name in the question by its text: it must be a part of it.
    assert all(name in question for name in found)


@pytest.mark.unit
@pytest.mark.parametrize(
    "question",
    [
        "Are visits allowed in England?",  # known to the documents
        "Do the Prison Rules apply in Wales?",  # known after stemming: "Rules" -> "rule", "Wales" -> "wale"
        "What do Queensland Corrective Services search?",  # a known name of several words
        "Does the NHS see prisoners?",  # a short acronym is not taken for a name, known or not
        "Does the NYPD search visitors?",  # ... even one the documents never mention
        "are prisoners in california paid?",  # lower case: not a name, whatever the word
        "Is a prisoner in segregation for 14 days under Rule 45?",  # numbers are never names
        "What does Article 8 of 1950 say about letters?",
    ],
)
def test_known_words_lower_case_and_numbers_are_not_unknown_names(question: str) -> None:
    assert unknown_names(question, IDF) == []


@pytest.mark.unit
@pytest.mark.parametrize(
    "question",
    [
        "California prisoners: are they paid?",  # the question's first word is capitalised anyway
        "   California prisoners: are they paid?",  # ... also after leading spaces
        "Visits are searched. Texas does it too?",  # a sentence's first word
        "Is it searched? Texas does it.",
        "Searches! Ohio too?",
        "Question: Texas searches?",  # after a colon
    ],
)
def test_a_sentence_initial_word_is_not_taken_for_a_name(question: str) -> None:
    assert unknown_names(question, IDF) == []


@pytest.mark.unit
def test_a_capitalised_word_inside_a_sentence_counts_even_when_ordinary() -> None:
    # Title case in the middle of a sentence reads as a name; "Sunday" is not in the documents.
    assert unknown_names("Are visits allowed on Sunday?", IDF) == ["Sunday"]
    assert unknown_names("Are visits allowed on sunday?", IDF) == []


@pytest.mark.unit
def test_cyrillic_text_yields_no_names() -> None:
    # The pattern and the tokens are Latin-script: a Russian question yields no names (the answerability
    # decision switches its lexical checks off for Cyrillic questions, see is_cyrillic).
    assert unknown_names("Разрешены ли свидания в Калифорнии?", IDF) == []
    assert lexical_tokens("Калифорния") == []  # why: a Cyrillic word has no tokens to look up
    # A Latin name inside a Russian question is still one.
    assert unknown_names("Какие правила в California?", IDF) == ["California"]


@pytest.mark.unit
def test_empty_question_or_vocabulary() -> None:
    assert unknown_names("", IDF) == []
    assert unknown_names("   ", IDF) == []
    assert unknown_names("Are visits allowed in England?", {}) == ["England"]  # an empty index knows nothing


@pytest.mark.unit
def test_check_names_keeps_only_the_focus_among_unknown_names() -> None:
    # The caller: only a place the question is set in (or an acronym) refuses; a nationality does not.
    question = "Does a Romanian prisoner in California get visits?"
    assert unknown_names(question, IDF) == ["Romanian", "California"]
    assert check_names(question, IDF) == ["California"]


# ---- term_coverage ----------------------------------------------------------------------


@pytest.mark.unit
def test_coverage_is_the_idf_weighted_share_of_terms_found() -> None:
    terms = lexical_tokens("How long can a prisoner be kept in segregation?")
    assert terms == ["how", "long", "prison", "kept", "segreg"]
    texts = [DOCUMENTS[1]]  # has prisoner, kept, segregation; not "how", "long"
    unknown = max(IDF.values())  # "how" and "long" are in no document: they weigh as the rarest token
    expected = (IDF["prison"] + IDF["kept"] + IDF["segreg"]) / (
        2 * unknown + IDF["prison"] + IDF["kept"] + IDF["segreg"]
    )
    assert term_coverage(terms, texts, IDF) == pytest.approx(expected)
    assert 0.0 < expected < 1.0


@pytest.mark.unit
def test_rare_terms_weigh_more_than_common_ones() -> None:
    idf = {"prison": 0.5, "segreg": 4.0}
    assert term_coverage(["prison", "segreg"], ["The segregation unit."], idf) == pytest.approx(4.0 / 4.5)
    assert term_coverage(["prison", "segreg"], ["Every prisoner."], idf) == pytest.approx(0.5 / 4.5)


@pytest.mark.unit
def test_without_idf_weights_every_term_counts_once() -> None:
    # An empty vocabulary: every term weighs 1, so coverage is the plain share of the terms found.
    assert term_coverage(["visit", "letter", "parcel"], ["Letters and visits."], {}) == pytest.approx(2 / 3)
    # A term repeated in the question counts once.
    assert term_coverage(["visit", "visit", "letter"], ["Visits."], {}) == pytest.approx(1 / 2)


@pytest.mark.unit
def test_passages_are_matched_by_stem_over_all_texts() -> None:
    terms = lexical_tokens("visiting letters")
    assert term_coverage(terms, ["Visits are allowed.", "Letters are read."], IDF) == pytest.approx(1.0)
    assert term_coverage(terms, ["VISITED", "a LETTER"], IDF) == pytest.approx(1.0)  # case does not matter


@pytest.mark.unit
def test_coverage_of_empty_or_cyrillic_input_is_zero() -> None:
    assert term_coverage([], DOCUMENTS, IDF) == 0.0
    assert term_coverage(["visit"], [], IDF) == 0.0
    assert term_coverage(["visit"], [""], IDF) == 0.0
    assert term_coverage(lexical_tokens("Разрешены ли свидания?"), DOCUMENTS, IDF) == 0.0  # no Latin terms
    assert term_coverage(["visit"], ["Свидания разрешены."], IDF) == 0.0  # Cyrillic passages match nothing
    assert term_coverage(["visit"], ["visits"], {"visit": 0.0}) == 0.0  # all weights zero: no division by it
