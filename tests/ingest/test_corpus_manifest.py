"""Tests for the corpus manifest loader and the real corpus/manifest.toml."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.corpus_manifest import (
    CorpusDocument,
    Manifest,
    ManifestError,
    load_manifest,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_MANIFEST = REPO_ROOT / "corpus" / "manifest.toml"
SHARED_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

GOOD_ENTRY = """
[[document]]
id = "doc-one-2020"
title = "Document One"
publisher = "Somebody"
year = 2020
kind = "guidance"
jurisdiction = "International (UN)"
source_url = "https://example.org/doc-one.pdf"
sha256 = ""
pages = 3
reuse = "public"
local = true
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.unit
def test_loads_valid_entry(tmp_path: Path) -> None:
    docs = load_manifest(_write(tmp_path, GOOD_ENTRY))
    assert len(docs) == 1
    doc = docs[0]
    assert isinstance(doc, CorpusDocument)
    assert doc.id == "doc-one-2020"
    assert doc.kind == "guidance"
    assert doc.pages == 3
    assert doc.local is True
    assert doc.file_name == "doc-one-2020.pdf"


@pytest.mark.unit
def test_pages_optional_and_sha_lowercased(tmp_path: Path) -> None:
    text = GOOD_ENTRY.replace("pages = 3\n", "").replace('sha256 = ""', f'sha256 = "{"AB" * 32}"')
    doc = load_manifest(_write(tmp_path, text))[0]
    assert doc.pages is None
    assert doc.sha256 == "ab" * 32


@pytest.mark.unit
def test_manifest_lookup_by_id(tmp_path: Path) -> None:
    second = GOOD_ENTRY.replace("doc-one-2020", "doc-two-2021").replace("local = true", "local = false")
    manifest = Manifest.load(_write(tmp_path, GOOD_ENTRY + second))
    assert len(manifest) == 2
    assert manifest.ids == ["doc-one-2020", "doc-two-2021"]
    assert manifest.get("doc-two-2021").local is False
    assert "doc-one-2020" in manifest
    assert [d.id for d in manifest.local_documents()] == ["doc-one-2020"]
    with pytest.raises(KeyError, match="no-such-doc"):
        manifest.get("no-such-doc")


@pytest.mark.unit
def test_bad_toml_names_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[document]\nid = ")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    message = str(info.value)
    assert str(path) in message and "invalid TOML" in message
    assert "\n" not in message


@pytest.mark.unit
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "absent.toml")


@pytest.mark.unit
def test_missing_field_names_entry_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_ENTRY.replace('publisher = "Somebody"\n', ""))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    message = str(info.value)
    assert "document #1" in message and "doc-one-2020" in message
    assert "missing field 'publisher'" in message
    assert "\n" not in message


@pytest.mark.unit
def test_bad_kind_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_ENTRY.replace('kind = "guidance"', 'kind = "manual"'))
    with pytest.raises(ManifestError, match=r"field 'kind': 'manual' is not one of binding-standard"):
        load_manifest(path)


@pytest.mark.unit
def test_duplicate_id_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_ENTRY + GOOD_ENTRY)
    with pytest.raises(ManifestError, match=r"document #2 \(id 'doc-one-2020'\): duplicate id \(also document #1\)"):
        load_manifest(path)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('id = "doc-one-2020"', 'id = "../escape"', "id"),
        ('sha256 = ""', 'sha256 = "1234"', "sha256"),
        ('source_url = "https://example.org/doc-one.pdf"', 'source_url = "ftp://example.org/x.pdf"', "source_url"),
        ("year = 2020", 'year = "2020s"', "year"),
        ("local = true", "local = 3", "local"),
    ],
)
def test_invalid_field_values(tmp_path: Path, old: str, new: str, field: str) -> None:
    path = _write(tmp_path, GOOD_ENTRY.replace(old, new))
    with pytest.raises(ManifestError, match=f"field '{field}'"):
        load_manifest(path)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("url", "given", "fmt", "file_name"),
    [
        ("https://example.org/doc-one.pdf", None, "pdf", "doc-one-2020.pdf"),
        ("https://example.org/orders/Knife-Control.DOCX", None, "docx", "doc-one-2020.docx"),
        ("https://intranet.example/policies/knives.htm", None, "html", "doc-one-2020.html"),
        ("https://example.org/raw/main/visits.md", None, "md", "doc-one-2020.md"),
        ("https://intranet.example/policies/knife-control", None, "pdf", "doc-one-2020.pdf"),  # no extension
        ("https://intranet.example/policies/knife-control", "html", "html", "doc-one-2020.html"),  # given
        ("https://example.org/page.html?x=1.pdf", None, "html", "doc-one-2020.html"),  # the path, not the query
        ("https://example.org/export.pdf", "docx", "docx", "doc-one-2020.docx"),  # given wins
    ],
)
def test_format_given_or_from_the_source_url(
    tmp_path: Path, url: str, given: str | None, fmt: str, file_name: str
) -> None:
    text = GOOD_ENTRY.replace("https://example.org/doc-one.pdf", url)
    if given:
        text = text.replace("local = true", f'local = true\nformat = "{given}"')
    (doc,) = load_manifest(_write(tmp_path, text))
    assert (doc.format, doc.file_name) == (fmt, file_name)


@pytest.mark.unit
def test_bad_format_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_ENTRY.replace("local = true", 'local = true\nformat = "odt"'))
    with pytest.raises(ManifestError, match=r"field 'format': 'odt' is not one of pdf, docx, html, md"):
        load_manifest(path)


@pytest.mark.unit
def test_unknown_field_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_ENTRY.replace('reuse = "public"', 'reuse = "public"\nsha265 = ""'))
    with pytest.raises(ManifestError, match="unknown field 'sha265'"):
        load_manifest(path)


@pytest.mark.unit
def test_empty_manifest_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no \[\[document\]\] tables"):
        load_manifest(_write(tmp_path, "# nothing here\n"))


@pytest.mark.unit
def test_real_manifest_loads() -> None:
    docs = load_manifest(REAL_MANIFEST)
    assert len(docs) == 9
    ids = [doc.id for doc in docs]
    assert len(set(ids)) == len(ids)
    local = [doc for doc in docs if doc.local]
    assert len(local) == 8
    assert all(len(doc.sha256) == 64 and doc.pages for doc in local)
    assert {doc.format for doc in docs} == {"pdf"}
    unodc = next(doc for doc in docs if doc.id == "unodc-handbook-violent-extremist-prisoners-2016")
    assert unodc.local is False and unodc.sha256 == ""
    assert unodc.source_url == "https://www.unodc.org/pdf/criminal_justice/Handbook_on_VEPs.pdf"


@pytest.mark.unit
def test_real_manifest_matches_shared_mirror() -> None:
    listing = SHARED_CORPUS / "MANIFEST.tsv"
    if not listing.is_file():
        pytest.skip(f"shared corpus mirror not available at {SHARED_CORPUS}")
    with listing.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    docs = {doc.id: doc for doc in load_manifest(REAL_MANIFEST) if doc.local}
    assert sorted(f"{doc_id}.pdf" for doc_id in docs) == sorted(row["file"] for row in rows)
    for row in rows:
        doc = docs[row["file"].removesuffix(".pdf")]
        assert doc.sha256 == row["sha256"]
        assert doc.pages == int(row["pages"])
        assert doc.year == int(row["year"])
        assert doc.title == row["title"]
        assert doc.publisher == row["publisher"]
        # MANIFEST.tsv "owner/repo@commit:path" is the file whose hash is recorded.
        repo, _, rest = row["source"].partition("@")
        commit, _, path = rest.partition(":")
        assert doc.source_url == f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"
