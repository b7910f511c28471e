"""Known names (assistant/answer/names.py) and the name checks that use them (assistant/answer/decision.py).

A city, a prison, its abbreviation and the agency that runs it are one thing to staff: a question
naming Canberra is about the documents on the Alexander Maconochie Centre. The IDF vocabulary is
built as the retriever builds it (BM25's idf of the index's tokens), from a few short passages.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from assistant.answer.decision import (
    AnswerabilityPolicy,
    check_absent_names,
    check_names,
    known_name_documents,
)
from assistant.answer.names import AliasError, AliasGroup, AliasTable, NameIndex, name_key
from assistant.retrieval import ScoredChunk, SearchResult
from ingest.corpus_manifest import Manifest
from ingest.lexical import lexical_tokens
from ingest.profiles import DocumentProfile, ProfileBuilder, ProfileSet
from ingest.records import Chunk

REPO = Path(__file__).resolve().parents[3]
AMC = "act-alexander-maconochie-centre-functional-brief-2005"
AUDIT = "act-hrc-human-rights-audit-women-amc-2014"
HMPPS = "hmpps-management-of-security-at-visits-policy-framework-closed-estate-2023"
MANDELA = "un-nelson-mandela-rules-A-RES-70-175-2015"

PASSAGES = {
    AMC: "The Alexander Maconochie Centre (AMC) will hold 300 detainees. Visitors use the Canberra bus service.",
    AUDIT: "Women at the AMC were strip searched on admission. ACT Corrective Services keeps a register.",
    HMPPS: "Governors must ensure visitors are searched. Staff may refuse a visit on security grounds.",
    MANDELA: "Solitary confinement shall not exceed 15 consecutive days. Rule 44 defines it.",
}


def _idf(documents: list[str]) -> dict[str, float]:
    n = len(documents)
    df: dict[str, int] = {}
    for doc in documents:
        for token in set(lexical_tokens(doc)):
            df[token] = df.get(token, 0) + 1
    return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


IDF = _idf(list(PASSAGES.values()))


def _profiles() -> ProfileSet:
    builder = ProfileBuilder(None)
    return ProfileSet(
        documents={doc_id: builder.profile(doc_id, doc_id, [text]) for doc_id, text in PASSAGES.items()}
    )


def _aliases() -> AliasTable:
    return AliasTable(
        [
            AliasGroup(names=["Alexander Maconochie Centre", "AMC", "Canberra", "Hume"], documents=[AMC, AUDIT]),
            AliasGroup(names=["HM Prison and Probation Service", "HMPPS", "NOMS", "England"], documents=[HMPPS]),
        ]
    )


def _result(doc_ids: list[str]) -> SearchResult:
    hits = [
        ScoredChunk(
            Chunk(id=f"c{i}", doc_id=d, title=d, ref="", headings=[], page_start=1, page_end=1, text=PASSAGES[d]),
            1.0 - i / 10,
            dense=0.8,
        )
        for i, d in enumerate(doc_ids)
    ]
    return SearchResult("q", "q", hits, best_dense=0.8)


# ---- normal form ---------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("the AMC's", "amc"),
        ("H.M.P.P.S.", "hmpp"),  # the plural rule applies alike on both sides
        ("HMPPS", "hmpp"),
        ("Alexander Maconochie Centres", "alexander maconochie centre"),
        ("Canberra\u2019s", "canberra"),
        ("England & Wales", "england wale"),
        ("U.S.", "us"),
        ("prisoners'", "prisoner"),
    ],
)
def test_name_key_ignores_case_punctuation_possessives_and_plurals(written: str, key: str) -> None:
    assert name_key(written) == key


# ---- the alias table -----------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[alias]]\nnames = [", "invalid TOML"),
        ("[[term]]\nnames = ['a', 'b']", "unexpected top-level key(s) term"),
        ("alias = 3", "'alias' must be [[alias]] tables"),
        ("[[alias]]\nnames = ['AMC']", "alias #1: field 'names': give at least two names"),
        ("[[alias]]\ndocuments = ['x']", "alias #1: missing field 'names'"),
        ("[[alias]]\nnames = ['AMC', 'Hume']\ndocs = ['x']", "alias #1: unknown field 'docs'"),
        ("[[alias]]\nnames = ['AMC', '']", "alias #1: field 'names', item 2"),
        ("[[alias]]\nnames = ['AMC', 'Hume']\ndocuments = ['../etc']", "'documents': '../etc' is not a document id"),
        ("[[alias]]\nnames = ['AMC', '!!']", "'!!' has no letters or digits"),
        (
            '[[alias]]\nnames = ["AMC", "Hume"]\n[[alias]]\nnames = ["the AMC\\u2019s", "Canberra"]',
            "alias #2: name 'the AMC’s' is also in alias #1 (as 'AMC')",
        ),
    ],
)
def test_alias_table_errors_are_one_line_naming_file_and_group(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "aliases.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AliasError) as caught:
        AliasTable.load(path)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(str(path)) and message in str(caught.value)


@pytest.mark.unit
def test_alias_table_file_missing(tmp_path: Path) -> None:
    with pytest.raises(AliasError, match="alias table not found"):
        AliasTable.load(tmp_path / "none.toml")
    assert len(NameIndex.load(None, tmp_path / "none.toml")) == 0  # the assistant runs without one


@pytest.mark.unit
def test_corpus_alias_table_loads_and_points_at_manifest_documents() -> None:
    table = AliasTable.load(REPO / "corpus" / "aliases.toml")
    manifest = Manifest.load(REPO / "corpus" / "manifest.toml")
    assert len(table) >= 5
    for group in table.groups:
        assert group.documents, group.names
        assert set(group.documents) <= set(manifest.ids), group.names


# ---- the name index --------------------------------------------------------------------------------


@pytest.mark.unit
def test_a_city_name_reaches_the_documents_about_the_prison_in_it() -> None:
    """The shipped manifest and alias table: Canberra and Hume lead to the AMC's documents, HMPPS's old
    name and its jurisdiction to its framework; a city no document is about leads nowhere."""
    manifest = Manifest.load(REPO / "corpus" / "manifest.toml")
    builder = ProfileBuilder(manifest)
    profiles = ProfileSet(documents={d.id: builder.profile(d.id, d.title, [], d) for d in manifest})
    names = NameIndex(profiles, AliasTable.load(REPO / "corpus" / "aliases.toml"))

    for city in ("Canberra", "Hume", "the AMC", "Alexander Maconochie Centre", "ACTCS"):
        assert {AMC, AUDIT} <= set(names.documents_for(city)), city
    for name in ("NOMS", "England and Wales", "HM Prison and Probation Service", "HMPPS"):
        assert names.documents_for(name) == [HMPPS], name
    for name in ("Wellington", "Queensland", "California", "Texas"):
        assert not names.is_known(name) and names.documents_for(name) == []
    hits = names.find("Can visitors to Canberra's prison bring food in for the lads?")
    assert [(h.text, AMC in h.documents, h.applies_only) for h in hits] == [("Canberra's", True, False)]
    # The UN's standards apply in Kazakhstan, its cities and the other member states, without naming them;
    # a state with documents of its own keeps them.
    for place in ("Kazakhstan", "Karaganda", "Almaty", "Казахстане", "Қазақстанда", "Russia", "New Zealand"):
        [hit] = names.find(f"Can we read letters in {place}?")
        assert hit.applies_only and MANDELA in hit.documents and AMC not in hit.documents, place
    [australia] = names.find("Can we read letters in Australia?")
    assert not australia.applies_only and AMC in australia.documents


@pytest.mark.unit
def test_names_only_written_in_capitals_match_only_in_capitals() -> None:
    names = NameIndex(aliases=AliasTable([AliasGroup(names=["ACT", "Australian Capital Territory"], documents=[AMC])]))
    assert names.is_known("ACT") and not names.is_known("Act")
    assert [h.text for h in names.find("Under the Corrections Management Act, can the ACT search?")] == ["ACT"]


@pytest.mark.unit
def test_profiles_and_aliases_together(caplog: pytest.LogCaptureFixture) -> None:
    names = NameIndex(_profiles(), _aliases())
    # The profile alone: the AMC brief defines "AMC"; the alias adds the audit and the city.
    assert set(names.documents_for("Alexander Maconochie Centre")) == {AMC, AUDIT}
    assert names.is_known("ACT Corrective Services")  # a profile's frequent or title name
    assert names.documents_for("NOMS") == [HMPPS]
    # An index written before profiles: the aliases alone, one debug line.
    with caplog.at_level(logging.DEBUG, logger="assistant.answer.names"):
        older = NameIndex.load(None, None)
    assert len(older) == 0 and "no document profiles" in caplog.text
    assert NameIndex(None, _aliases()).documents_for("Canberra") == [AMC, AUDIT]


@pytest.mark.unit
def test_profile_mapping_is_accepted() -> None:
    profile = DocumentProfile(doc_id=AMC, places=["Canberra"])
    assert NameIndex({AMC: profile}).documents_for("canberra") == [AMC]


# ---- the name checks ---------------------------------------------------------------------------------


@pytest.mark.unit
def test_a_city_of_a_known_prison_is_not_absent_when_its_documents_rank() -> None:
    names = NameIndex(_profiles(), _aliases())
    question = "Are women strip searched on arrival in Canberra prison?"
    texts, top = [PASSAGES[AUDIT]], [AUDIT]  # the audit's passage never says "Canberra"
    assert check_absent_names(question, IDF, texts, top) == ["Canberra"]  # without the index: absent
    assert check_absent_names(question, IDF, texts, top, names) == []
    # Its documents are not among the closest passages: the passages are about somewhere else.
    assert check_absent_names(question, IDF, [PASSAGES[MANDELA]], [MANDELA], names) == ["Canberra"]


@pytest.mark.unit
def test_a_known_name_the_documents_never_spell_is_not_unknown() -> None:
    names = NameIndex(_profiles(), _aliases())
    question = "Do visitors in England get searched by NOMS staff?"
    assert check_names(question, IDF) == ["England"]
    assert check_names(question, IDF, names) == []
    # ... but the closest passages must come from its documents.
    assert check_absent_names(question, IDF, [PASSAGES[HMPPS]], [HMPPS], names) == []
    assert check_absent_names(question, IDF, [PASSAGES[MANDELA]], [MANDELA], names) == ["England"]


@pytest.mark.unit
def test_a_place_the_documents_apply_in_is_no_unknown_name_and_is_carried_as_such() -> None:
    """An `applies_in` group: the UN's standards apply in Kazakhstan without naming it. The question is not
    refused for an unknown name; the evidence names the place, for the note below the lead."""
    group = AliasGroup(names=["Kazakhstan", "Karaganda", "Казахстане"], documents=[MANDELA], applies_in=True)
    names = NameIndex(_profiles(), AliasTable([*_aliases().groups, group]))
    question = "Can officers in Kazakhstan read a prisoner's letters to his lawyer?"
    assert check_names(question, IDF) == ["Kazakhstan"]  # without the index: never mentioned
    assert check_names(question, IDF, names) == []
    policy = AnswerabilityPolicy(answer_threshold=0.5)
    here = policy.evidence(question, _result([MANDELA]), IDF, names=names)
    assert here.applies_in == ["Kazakhstan"] and here.unknown_names == [] and here.absent_names == []
    possessive = policy.evidence("Under Kazakhstan's code, can we read letters?", _result([MANDELA]), IDF, names=names)
    assert possessive.applies_in == ["Kazakhstan"]
    russian = policy.evidence("Можно ли читать письма адвокату в Казахстане?", _result([MANDELA]), IDF, names=names)
    assert russian.applies_in == ["Казахстане"]
    canberra = policy.evidence("Are women strip searched in Canberra prison?", _result([AUDIT]), IDF, names=names)
    assert canberra.applies_in == []  # the AMC's documents are about Canberra itself


@pytest.mark.unit
def test_an_applies_in_group_never_takes_a_name_known_otherwise() -> None:
    group = AliasGroup(names=["England", "Kazakhstan"], documents=[MANDELA], applies_in=True)
    names = NameIndex(_profiles(), AliasTable([*_aliases().groups, group]))
    [hit] = names.find("Is it allowed in Kazakhstan?")
    assert hit.applies_only and hit.documents == (MANDELA,)
    [england] = names.find("Is it allowed in England?")  # HMPPS's group knows it: its framework, not a note
    assert not england.applies_only and england.documents == (HMPPS,)


@pytest.mark.unit
@pytest.mark.parametrize(
    "question",
    ["Can visitors be strip searched in Wellington prisons?", "Are visitors searched in Karaganda prison?"],
)
def test_an_unknown_city_is_still_reported(question: str) -> None:
    names = NameIndex(_profiles(), _aliases())  # the test's own table: no `applies_in` group
    city = "Wellington" if "Wellington" in question else "Karaganda"
    assert check_names(question, IDF, names) == [city]  # never in the documents
    idf = {**IDF, **{t: 3.0 for t in lexical_tokens(city)}}  # mentioned somewhere, not near the top
    assert check_absent_names(question, idf, [PASSAGES[AUDIT]], [AUDIT], names) == [city]


@pytest.mark.unit
def test_evidence_carries_the_known_names_and_where_they_point() -> None:
    names = NameIndex(_profiles(), _aliases())
    question = "Are women strip searched on arrival in Canberra prison?"
    assert known_name_documents(question, names) == {"Canberra": [AMC, AUDIT]}
    policy = AnswerabilityPolicy(answer_threshold=0.5)
    here = policy.evidence(question, _result([AUDIT, MANDELA]), IDF, names=names)
    assert here.named_documents == {"Canberra": [AMC, AUDIT]} and here.names_elsewhere == []
    assert here.absent_names == [] and here.unknown_names == []
    elsewhere = policy.evidence(question, _result([MANDELA, HMPPS]), IDF, names=names)
    assert elsewhere.names_elsewhere == ["Canberra"] and elsewhere.absent_names == ["Canberra"]
    plain = policy.evidence(question, _result([AUDIT]), IDF)
    assert plain.named_documents == {} and plain.absent_names == ["Canberra"]  # no index: as before
