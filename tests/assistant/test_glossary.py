"""Tests for the staff-jargon glossary and query expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.glossary import Glossary, GlossaryEntry, GlossaryError

REAL_GLOSSARY = Path(__file__).resolve().parents[2] / "corpus" / "glossary.toml"


def _glossary() -> Glossary:
    return Glossary(
        [
            GlossaryEntry(("bang-up", "banged up"), ("locked in cell", "cell confinement")),
            GlossaryEntry(("screw", "screws"), ("prison officers",)),
            GlossaryEntry(("seg", "the block", "solitary"), ("solitary confinement", "segregation")),
            GlossaryEntry(("strip search",), ("intrusive searches",)),
            GlossaryEntry(("pat down",), ("search",)),
            GlossaryEntry(("SO", "senior officer"), ("senior officer", "supervisor")),
            GlossaryEntry(("ghosted", "ship out"), ("transfer",)),
            GlossaryEntry(("nick",), ("disciplinary offence",)),
        ]
    )


@pytest.fixture(scope="module")
def real() -> Glossary:
    return Glossary.load(REAL_GLOSSARY)


@pytest.mark.unit
def test_slang_expanded_in_order_of_appearance() -> None:
    glossary = _glossary()
    assert glossary.expand("He was banged up after the screws ghosted his mate") == [
        "locked in cell",
        "cell confinement",
        "prison officers",
        "transfer",
    ]


@pytest.mark.unit
def test_case_insensitive_and_no_duplicates() -> None:
    glossary = _glossary()
    assert glossary.expand("SEG or The Block, or solitary?") == ["solitary confinement", "segregation"]


@pytest.mark.unit
def test_whole_word_only() -> None:
    glossary = _glossary()
    assert glossary.expand("Bring a screwdriver and check the segment") == []
    assert glossary.expand("unscrew it") == []
    assert glossary.expand("a blocking order") == []


@pytest.mark.unit
def test_multiword_phrases_with_space_or_hyphen() -> None:
    glossary = _glossary()
    assert glossary.expand("When can we strip search a visitor?") == ["intrusive searches"]
    assert glossary.expand("after a pat-down") == ["search"]
    assert glossary.expand("bang up and bang-up") == ["locked in cell", "cell confinement"]
    assert glossary.expand("ask the Senior  Officer") == ["senior officer", "supervisor"]
    # Punctuation other than a hyphen breaks a phrase.
    assert glossary.expand("bang, up") == []
    # The longer phrase wins where phrases overlap.
    assert glossary.expand("a strip search then a pat down") == ["intrusive searches", "search"]


@pytest.mark.unit
def test_simple_inflections() -> None:
    glossary = _glossary()
    assert glossary.expand("two strip searches") == ["intrusive searches"]
    assert glossary.expand("he got nicked twice") == ["disciplinary offence"]
    assert glossary.expand("nicking him") == ["disciplinary offence"]
    # Inflection applies to the last word of a phrase only.
    assert glossary.expand("they were shipping out") == []
    # Three-letter words take a plural only: "-ed"/"-ing" would over-match short words.
    assert glossary.expand("two segs") == ["solitary confinement", "segregation"]
    assert glossary.expand("he was segged") == []
    assert glossary.expand("the screw's keys") == ["prison officers"]
    assert glossary.expand("the ‘seg’") == ["solitary confinement", "segregation"]


@pytest.mark.unit
def test_acronyms_are_case_sensitive() -> None:
    glossary = _glossary()
    assert glossary.expand("so what should I do?") == []
    assert glossary.expand("Ask the SO") == ["senior officer", "supervisor"]
    assert glossary.expand("Ask the SOs") == ["senior officer", "supervisor"]
    assert glossary.expand("So, ask the So") == []


@pytest.mark.unit
def test_expand_query_appends_only_new_terms() -> None:
    glossary = _glossary()
    assert glossary.expand_query("Is time in the seg solitary confinement?") == (
        "Is time in the seg solitary confinement? segregation"
    )
    assert glossary.expand_query("Visiting hours?") == "Visiting hours?"


def _cyrillic_glossary() -> Glossary:
    return Glossary(
        [
            GlossaryEntry(("ШИЗО", "шизо", "штрафной изолятор"), ("solitary confinement",)),
            GlossaryEntry(("ПКТ",), ("cell-type premises",)),
            GlossaryEntry(("свидание",), ("visits",)),
            GlossaryEntry(("длительное свидание",), ("family visits",)),
            GlossaryEntry(("осуждённый",), ("prisoners",)),
            GlossaryEntry(("сотталған", "кездесу"), ("prisoner", "visit")),
            GlossaryEntry(("этап",), ("transfer",)),
            GlossaryEntry(("bang up",), ("locked in cell",)),
        ]
    )


@pytest.mark.unit
def test_cyrillic_words_match_inflected_forms() -> None:
    glossary = _cyrillic_glossary()
    for word in ("свидание", "свидания", "свиданий", "свиданиями", "Свидании"):
        assert glossary.expand(f"а {word} когда?") == ["visits"], word
    # Russian endings on every word of a phrase.
    assert glossary.expand("сидел в штрафном изоляторе") == ["solitary confinement"]
    # Kazakh stacks suffixes: plural + case.
    assert glossary.expand("Сотталғандарға кездесулерге рұқсат па?") == ["prisoner", "visit"]
    # A short stem takes a few letters only.
    assert glossary.expand("с этапа, этапом") == ["transfer"]
    assert glossary.expand("этапирование") == []


@pytest.mark.unit
def test_cyrillic_yo_is_e() -> None:
    glossary = _cyrillic_glossary()
    assert glossary.expand("осужденного") == ["prisoners"]
    assert glossary.expand("осуждённого") == ["prisoners"]


@pytest.mark.unit
def test_cyrillic_matches_word_beginnings_only() -> None:
    glossary = _cyrillic_glossary()
    # "шизо" must not fire on schizophrenia, nor a stem inside another word.
    assert glossary.expand("у него шизофрения") == []
    assert glossary.expand("пересвидание") == []
    assert glossary.expand("несотталған") == []


@pytest.mark.unit
def test_cyrillic_acronyms_are_case_sensitive() -> None:
    glossary = _cyrillic_glossary()
    assert glossary.expand("перевели в ПКТ") == ["cell-type premises"]
    assert glossary.expand("перевели в пкт") == []
    # An acronym and its lower-case twin; a hyphenated Kazakh suffix splits off.
    assert glossary.expand("в ШИЗО или в шизо") == ["solitary confinement"]
    assert glossary.expand("ШИЗО-ға") == ["solitary confinement"]


@pytest.mark.unit
def test_cyrillic_longest_phrase_wins_and_punctuation_breaks() -> None:
    glossary = _cyrillic_glossary()
    assert glossary.expand("положено длительное свидание") == ["family visits"]
    assert glossary.expand("длительные свидания") == ["family visits"]
    assert glossary.expand("длительное, свидание") == ["visits"]


@pytest.mark.unit
def test_mixed_scripts() -> None:
    glossary = _cyrillic_glossary()
    assert glossary.expand("после bang up осуждённого на этап") == ["locked in cell", "prisoners", "transfer"]


@pytest.mark.unit
def test_cyrillic_phrases_sharing_stems_in_two_terms_rejected() -> None:
    with pytest.raises(GlossaryError, match="same stems"):
        Glossary([GlossaryEntry(("свидания",), ("visits",)), GlossaryEntry(("свиданию",), ("other",))])
    # Within one term the forms may share a stem.
    assert len(Glossary([GlossaryEntry(("свидания", "свиданию"), ("visits",))])) == 1


@pytest.mark.unit
def test_real_glossary_loads(real: Glossary) -> None:
    assert len(real) >= 80
    assert all(entry.phrases and entry.means for entry in real.entries)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How long can a lad be banged up?", "confined to cell"),
        ("Can the SO order a cell spin?", "search of cells"),
        ("The kangas want to put him down the block", "solitary confinement"),
        ("What happens after a nicking?", "disciplinary offence"),
        ("He got shanked on the landing", "assault"),
        ("Is he allowed canteen while on basic?", "prison shop"),
        ("Can a lifer get ROTL?", "life imprisonment"),
        ("Can a lifer get ROTL?", "release on temporary licence"),
        ("Can his brief come on a legal visit?", "legal adviser"),
        ("She is pregnant; can we use cuffs on the escort?", "instruments of restraint"),
        ("Found hooch and spice in his pad", "illicit substances"),
        ("Can we strip search a kid?", "intrusive searches"),
        ("Can we strip search a kid?", "children"),
        ("He was ghosted last night", "transfer"),
        ("Prisoner on remand wants letters from his family", "untried prisoners"),
        ("Prisoner on remand wants letters from his family", "correspondence"),
    ],
)
def test_real_glossary_expands_staff_wording(real: Glossary, query: str, expected: str) -> None:
    assert expected in real.expand(query)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("можно ли поместить в ШИЗО беременную?", "solitary confinement"),
        ("можно ли поместить в ШИЗО беременную?", "pregnant women"),
        ("Сколько держат в карцере?", "solitary confinement"),
        ("осужденного отправили этапом", "transfer"),
        ("его этапировали ночью", "transfer"),
        ("сколько передач в месяц положено?", "parcels"),
        ("длительные свидания с женой", "family visits"),
        ("краткосрочное свидание с родными", "visits"),
        ("надевать наручники при конвоировании", "instruments of restraint"),
        ("объявил голодовку", "hunger strike"),
        ("личный обыск с раздеванием", "strip searches"),
        ("письмо адвокату", "legal adviser"),
        ("подал жалобу прокурору", "complaints"),
        ("жалобы на пытки", "torture"),
        ("несовершеннолетних осуждённых", "juveniles"),
        ("Сотталғанды түнде тінтуге бола ма?", "search"),
        ("Сотталғанға қол кісен салуға бола ма?", "instruments of restraint"),
        ("Сотталғанның туыстарымен кездесуі", "visits"),
        ("азаптау туралы шағым", "torture"),
        ("азаптау туралы шағым", "complaints"),
        ("адвокатпен кездесу", "legal adviser"),
        ("жүкті әйелді ШИЗО-ға", "pregnant women"),
    ],
)
def test_real_glossary_expands_russian_and_kazakh(real: Glossary, query: str, expected: str) -> None:
    assert expected in real.expand(query)


@pytest.mark.unit
def test_real_glossary_expand_query_russian(real: Glossary) -> None:
    expanded = real.expand_query("можно ли поместить в ШИЗО беременную?")
    assert expanded.startswith("можно ли поместить в ШИЗО беременную? ")
    assert "solitary confinement" in expanded
    assert "pregnant" in expanded


@pytest.mark.unit
def test_real_glossary_leaves_plain_russian_alone(real: Glossary) -> None:
    assert real.expand("материалы дела трудно найти, у него шизофрения") == []


@pytest.mark.unit
def test_real_glossary_leaves_plain_prose_alone(real: Glossary) -> None:
    assert real.expand("so what is the minimum floor space?") == []
    assert real.expand("Bring a screwdriver") == []


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[term]\nphrases = ", "invalid TOML"),
        ("# empty\n", "no [[term]] tables"),
        ('[[term]]\nphrases = ["a"]\n', "term #1 ('a'): missing field 'means'"),
        ('[[term]]\nphrases = []\nmeans = ["b"]\n', "term #1: 'phrases' must be a non-empty list"),
        ('[[term]]\nphrases = ["a"]\nmeans = ["b", 3]\n', "term #1 ('a'): 'means' must be a non-empty list"),
        ('[[term]]\nphrases = ["a"]\nmeans = ["b"]\nnote = "x"\n', "term #1 ('a'): unknown field(s) note"),
        (
            '[[term]]\nphrases = ["seg"]\nmeans = ["x"]\n[[term]]\nphrases = ["the hole", "Seg"]\nmeans = ["y"]\n',
            "term #2 ('the hole'): phrase 'Seg' is also in term #1",
        ),
        ("terms = 1\n", "unexpected top-level key(s) terms"),
        ('[[term]]\nphrases = ["no. 1"]\nmeans = ["b"]\n', "phrase 'no. 1' has punctuation"),
    ],
)
def test_bad_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GlossaryError) as info:
        Glossary.load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.unit
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GlossaryError, match="not found"):
        Glossary.load(tmp_path / "absent.toml")
