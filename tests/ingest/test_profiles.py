"""Document profiles (ingest/profiles.py): names from the manifest and from the document itself,
stored with the index generation (profiles.json) and rebuilt when the manifest changes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pdf_factory import make_pdf

from ingest.corpus_manifest import Manifest, ManifestError
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor
from ingest.profiles import PROFILES_FILE, ProfileBuilder, defined_short_forms, proper_names

if TYPE_CHECKING:
    from fakes import FakeEmbedder

DOC_ID = "amc-brief"

_MANIFEST = """
[[document]]
id = "amc-brief"
title = "Alexander Maconochie Centre Functional Brief"
publisher = "ACT Government"
year = 2005
kind = "policy"
jurisdiction = "Australia (ACT)"
source_url = "https://example.org/amc-brief.pdf"
reuse = "public"
local = true
{extra}
"""


def _amc_pages() -> list[list[str]]:
    """A small brief about a prison: its name defined with an abbreviation, a place named in passing."""
    body = (
        "The Alexander Maconochie Centre (AMC) will hold sentenced and remand detainees. "
        "ACT Corrective Services (ACTCS) runs the AMC. Visitors arrive by the Canberra bus service. "
        "Each cottage at the AMC has its own kitchen. The Crisis Support Unit (the CSU) is near Canberra Hospital."
    )
    return [
        ["ALEXANDER MACONOCHIE CENTRE", "FUNCTIONAL BRIEF", "March 2005"],
        [body, "Rule 2", "Detainees at the AMC in Canberra may work. Staff in Canberra train each week."],
        ["Rule 3", "Canberra families may visit the AMC. ACTCS staff search every visitor to the AMC."],
        ["Rule 4", "Leave to visit Canberra is granted by ACTCS. Detainees from Canberra see the Canberra doctor."],
    ]


def _manifest(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(_MANIFEST.format(extra=extra), encoding="utf-8")
    return path


@pytest.mark.unit
def test_proper_names_are_runs_of_capitalised_words_not_sentence_openers() -> None:
    text = (
        "Prisoners in Canberra may write. The Department of Justice and Community Safety pays. "
        "Staff of HM Prison and Probation Service search visitors at the AMC in Canberra."
    )
    assert proper_names(text) == [
        "Prisoners",  # no opener this function knows without the document's own words
        "Canberra",  # "in" joins no name: "the AMC in Canberra" is two
        "Department of Justice and Community Safety",
        "Staff of HM Prison and Probation Service",
        "AMC",
        "Canberra",
    ]
    common = {"prisoners", "staff"}  # words the document also writes in lower case
    assert proper_names(text, common=common)[:4] == [
        "Canberra",
        "Department of Justice and Community Safety",
        "HM Prison and Probation Service",
        "AMC",
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "defined"),
    [
        ("the new prison, the Alexander Maconochie Centre (the AMC)", [("AMC", "Alexander Maconochie Centre")]),
        ("ACT Corrective Services (ACTCS) runs it", [("ACTCS", "ACT Corrective Services")]),
        ("part of the Department of Justice and Community Safety (JACS)", [("JACS", "Justice and Community Safety")]),
        ("under the Human Rights Act 2004 (HR Act)", [("HR Act", "Human Rights Act")]),
        ("The Hume Health Centre (the Centre) opens", [("Centre", "Hume Health Centre")]),
        ("held at the prison (AMC) since", []),  # nothing before it spells the acronym
        ("in the yard (see Rule 4)", []),
    ],
)
def test_short_forms_defined_in_parentheses(text: str, defined: list[tuple[str, str]]) -> None:
    assert defined_short_forms(text) == defined


@pytest.mark.unit
def test_profile_from_the_document_and_the_manifest(tmp_path: Path) -> None:
    extra = 'jurisdictions = ["Australian Capital Territory"]\ninstitutions = ["ACT Corrective Services"]\n'
    extra += 'places = ["Canberra", "Hume"]'
    manifest = Manifest.load(_manifest(tmp_path, extra))
    texts = [" ".join(lines) for lines in _amc_pages()]
    profile = ProfileBuilder(manifest).profile(DOC_ID, manifest.get(DOC_ID).title, texts, manifest.get(DOC_ID))

    assert profile.jurisdictions == ["Australia", "ACT", "Australian Capital Territory"]
    assert profile.institutions == ["ACT Corrective Services"]
    assert profile.places == ["Canberra", "Hume"]
    assert "Alexander Maconochie Centre" in profile.title_names
    assert profile.abbreviations == {
        "AMC": "Alexander Maconochie Centre",
        "ACTCS": "ACT Corrective Services",
        "CSU": "Crisis Support Unit",
    }
    # Frequent: the acronym and the city (6 times, never in lower case); not "Rule" or "Staff".
    assert {"AMC", "Canberra"} <= set(profile.frequent_names)
    assert not {"Rule", "Staff", "Detainees", "Each"} & set(profile.frequent_names)
    assert {"Canberra", "AMC", "Alexander Maconochie Centre", "Australian Capital Territory"} <= set(profile.names())


@pytest.mark.unit
def test_profile_without_a_manifest_entry_comes_from_the_text_alone() -> None:
    texts = [" ".join(lines) for lines in _amc_pages()]
    profile = ProfileBuilder(None).profile(DOC_ID, "amc-brief", texts)
    assert (profile.jurisdictions, profile.institutions, profile.places) == ([], [], [])
    assert profile.abbreviations["AMC"] == "Alexander Maconochie Centre"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('places = ["Canberra", ""]', "field 'places', item 2: '' is not a name"),
        ('institutions = "AMC"', "field 'institutions': expected a list of names"),
        ("jurisdictions = [3]", "field 'jurisdictions', item 1: 3 is not a name"),
        (f'places = ["{"x" * 130}"]', "field 'places', item 1"),
    ],
)
def test_manifest_name_fields_are_checked_with_one_line(tmp_path: Path, extra: str, message: str) -> None:
    path = _manifest(tmp_path, extra)
    with pytest.raises(ManifestError) as caught:
        Manifest.load(path)
    text = str(caught.value)
    assert "\n" not in text and str(path) in text and "document #1 (id 'amc-brief')" in text and message in text


@pytest.mark.unit
def test_corpus_manifest_names_load() -> None:
    manifest = Manifest.load(Path(__file__).resolve().parents[2] / "corpus" / "manifest.toml")
    amc = manifest.get("act-alexander-maconochie-centre-functional-brief-2005")
    assert "Canberra" in amc.places and "AMC" in amc.institutions


@pytest.mark.unit
def test_ingest_writes_profiles_and_rebuilds_them_when_the_manifest_changes(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus = tmp_path / "corpus"
    make_pdf(corpus / f"{DOC_ID}.pdf", _amc_pages(), header=None)
    index = tmp_path / "index"
    first = Ingestor(index, fake_embedder, manifest=Manifest.load(_manifest(tmp_path)), progress=False).run([corpus])
    assert first.switched
    snapshot = IndexSnapshot.open(index)
    assert (snapshot.directory / PROFILES_FILE).is_file()
    profiles = snapshot.profiles()
    assert profiles is not None
    profile = profiles.documents[DOC_ID]
    assert profile.abbreviations["AMC"] == "Alexander Maconochie Centre"
    assert profile.places == []

    # Unchanged: no new generation, nothing embedded.
    again = Ingestor(index, fake_embedder, manifest=Manifest.load(_manifest(tmp_path)), progress=False).run([corpus])
    assert not again.switched and IndexSnapshot.open(index).directory == snapshot.directory

    # A place added to the manifest: a new generation with the new profile, every vector reused.
    manifest = Manifest.load(_manifest(tmp_path, 'places = ["Canberra"]'))
    embedded = fake_embedder.embedded
    changed = Ingestor(index, fake_embedder, manifest=manifest, progress=False).run([corpus])
    assert changed.switched and changed.embedded == 0 and fake_embedder.embedded == embedded
    assert any("profiles" in note for note in changed.notes)
    rebuilt = IndexSnapshot.open(index).profiles()
    assert rebuilt is not None and rebuilt.documents[DOC_ID].places == ["Canberra"]


@pytest.mark.unit
def test_a_generation_without_profiles_reads_as_none(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    corpus = tmp_path / "corpus"
    make_pdf(corpus / f"{DOC_ID}.pdf", _amc_pages(), header=None)
    index = tmp_path / "index"
    Ingestor(index, fake_embedder, progress=False).run([corpus])
    snapshot = IndexSnapshot.open(index)
    (snapshot.directory / PROFILES_FILE).unlink()  # as written before profiles existed
    assert IndexSnapshot.open(index).profiles() is None
    (snapshot.directory / PROFILES_FILE).write_text("{not json", encoding="utf-8")
    assert IndexSnapshot.open(index).profiles() is None  # unreadable: a warning, names from the aliases alone
