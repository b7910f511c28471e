"""`handbook ingest` on a folder of PDF, DOCX, HTML and Markdown handbooks: all indexed, quotes checkable
against the stored text of each location, bad files named in one line, nothing indexed lost."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from doc_factory import (
    KNIFE_ISSUE,
    make_cp1252_markdown,
    make_docx,
    make_html,
    make_markdown,
    make_not_a_zip_docx,
    make_textless_html,
)
from pdf_factory import make_pdf, sample_rules_pages
from typer.testing import CliRunner

from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor, IngestReport, read_document
from ingest.sentences import sentence_spans
from ingest.textnorm import normalize_for_match

if TYPE_CHECKING:
    from fakes import FakeEmbedder

pytestmark = pytest.mark.unit

SUPPORTED = "(supported: .pdf, .docx, .html, .md)"
FORMATS = {"rules": "pdf", "knives-word": "docx", "knives-intranet": "html", "knives-notes": "md"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """One handbook per format, and files that are not for the index."""
    folder = tmp_path / "handbooks"
    make_pdf(folder / "rules.pdf", sample_rules_pages())
    make_docx(folder / "knives-word.docx")
    make_html(folder / "knives-intranet.html")
    make_markdown(folder / "knives-notes.md")
    (folder / "MANIFEST.tsv").write_text("file\tsha256\n", encoding="utf-8")  # not a document: no word about it
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "~$ives-word.docx").write_bytes(b"\x00" * 162)  # Word's lock file beside an open document
    return folder


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def _ingest(index: Path, embedder: FakeEmbedder, paths: list[Path]) -> IngestReport:
    return Ingestor(index, embedder, progress=False).run(paths)


def _quote_found(snap: IndexSnapshot, doc_id: str, first: int, last: int, quote: str) -> bool:
    """The quote check of the assistant, done here without it: the quote in the stored text of its locations."""
    stored = " ".join(normalize_for_match(snap.page_text(doc_id, n) or "") for n in range(first, last + 1))
    return normalize_for_match(quote) in stored


def test_a_folder_of_four_formats_indexes_all_four(folder: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    (folder / "standing-orders.odt").write_bytes(b"PK\x03\x04 an OpenDocument text")
    (folder / "rota.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    report = _ingest(index_dir, fake_embedder, [folder])
    assert not report.failed and report.switched
    assert {f.doc_id: f.status for f in report.files if f.status != "skipped"} == dict.fromkeys(FORMATS, "new")
    assert [f.message for f in report.files if f.status == "skipped"] == [
        f"{folder / 'rota.xlsx'}: unsupported format .xlsx {SUPPORTED}",
        f"{folder / 'standing-orders.odt'}: unsupported format .odt {SUPPORTED}",
    ]
    snap = IndexSnapshot.open(index_dir)
    assert {doc_id: doc.format for doc_id, doc in snap.meta.documents.items()} == FORMATS
    assert snap.document("knives-word") == snap.meta.documents["knives-word"]
    assert not snap.meta.documents["knives-word"].paged and snap.meta.documents["rules"].paged
    assert {doc_id: {c.doc_id for c in snap.chunks} >= {doc_id} for doc_id in FORMATS} == dict.fromkeys(FORMATS, True)


def test_every_paragraph_is_stored_and_every_sentence_is_found_at_its_location(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [folder])
    snap = IndexSnapshot.open(index_dir)
    for doc_id, fmt in FORMATS.items():
        doc = snap.meta.documents[doc_id]
        pages = [p for p in snap.page_records() if p.doc_id == doc_id]
        assert [p.page for p in pages] == list(range(1, doc.pages + 1))
        if fmt != "pdf":
            # Flow documents: the stored text of location n is paragraph n, as the reader read it.
            read = read_document(Path(doc.source_path))
            assert [p.text for p in pages] == [loc[0].text for loc in read.locations]
        for chunk in (c for c in snap.chunks if c.doc_id == doc_id):
            for start, end in sentence_spans(chunk.text):
                first, last = chunk.page_at(start), chunk.page_at(end - 1)
                assert _quote_found(snap, doc_id, first, last, chunk.text[start:end]), (doc_id, chunk.text[start:end])


def test_the_same_passage_is_cited_by_heading_unit_and_paragraph_in_each_flow_format(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [folder])
    snap = IndexSnapshot.open(index_dir)
    expected = {"knives-word": ("1. Knife control", "1.2"), "knives-intranet": ("3. Knife control", "3.2"),
                "knives-notes": ("3. Knife control", "3.2")}  # fmt: skip
    for doc_id, (section, ref) in expected.items():
        chunk = next(c for c in snap.chunks if c.doc_id == doc_id and KNIFE_ISSUE[:60] in c.text)
        offset = chunk.text.index(KNIFE_ISSUE[:60])
        assert chunk.headings[-1] == section and chunk.ref_at(offset) == ref
        assert chunk.page_at(offset) == 4  # paragraph 4 in all three files
        assert _quote_found(snap, doc_id, 4, 4, "issued to a named prisoner worker only")
        assert not _quote_found(snap, doc_id, 3, 3, "issued to a named prisoner worker only")


def test_bad_files_one_line_each_the_others_ingested(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    corrupt = make_not_a_zip_docx(folder / "corrupt.docx")
    textless = make_textless_html(folder / "menu.html")
    legacy = make_cp1252_markdown(folder / "prices.md")
    odt = folder / "orders.odt"
    odt.write_bytes(b"PK\x03\x04")
    report = _ingest(index_dir, fake_embedder, [folder])
    offset = legacy.read_bytes().index(b"\xa3")
    assert {f.path: f.message for f in report.failed} == {
        corrupt: f"{corrupt}: corrupt DOCX (not a ZIP package: truncated, or another format renamed)",
        textless: f"{textless}: no text after dropping navigation, headers, footers, scripts and styles",
        legacy: f"{legacy}: not UTF-8 (byte 0xa3 at offset {offset}); save it as UTF-8",
    }
    assert [(f.path, f.message) for f in report.files if f.status == "skipped"] == [
        (odt, f"{odt}: unsupported format .odt {SUPPORTED}")
    ]
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == sorted(FORMATS)


def test_a_flow_document_replaced_by_a_bad_file_keeps_what_the_index_held(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [folder])
    before = IndexSnapshot.open(index_dir)
    held = [c.id for c in before.chunks if c.doc_id == "knives-word"]
    held_pages = [p for p in before.page_records() if p.doc_id == "knives-word"]
    make_not_a_zip_docx(folder / "knives-word.docx")
    make_markdown(folder / "knives-notes.md", extra=" A sentence added to the notes.")
    report = _ingest(index_dir, fake_embedder, [folder])
    assert [f.doc_id for f in report.failed] == ["knives-word"] and report.switched
    after = IndexSnapshot.open(index_dir)
    assert [c.id for c in after.chunks if c.doc_id == "knives-word"] == held
    assert [p for p in after.page_records() if p.doc_id == "knives-word"] == held_pages
    assert after.meta.documents["knives-word"] == before.meta.documents["knives-word"]
    assert any("A sentence added to the notes." in c.text for c in after.chunks if c.doc_id == "knives-notes")


def test_an_unsupported_file_given_by_name_fails_and_changes_nothing(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [folder])
    generation = IndexSnapshot.open(index_dir).meta.generation
    odt = folder / "orders.odt"
    odt.write_bytes(b"PK\x03\x04")
    report = _ingest(index_dir, fake_embedder, [odt])
    assert [(f.status, f.message) for f in report.files] == [("failed", f"{odt}: unsupported format .odt {SUPPORTED}")]
    assert not report.switched and sorted(report.kept) == sorted(FORMATS)
    assert IndexSnapshot.open(index_dir).meta.generation == generation


def test_unchanged_folder_is_not_read_again(folder: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    _ingest(index_dir, fake_embedder, [folder])
    generation = IndexSnapshot.open(index_dir).meta.generation
    fake_embedder.reset_counts()
    report = _ingest(index_dir, fake_embedder, [folder])
    assert {f.status for f in report.files} == {"unchanged"} and not report.switched
    assert fake_embedder.embedded == 0 and IndexSnapshot.open(index_dir).meta.generation == generation


def test_another_tokenizer_version_rebuilds_bm25_and_reuses_the_vectors(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.lexical import LEXICAL_VERSION

    _ingest(index_dir, fake_embedder, [folder])
    before = IndexSnapshot.open(index_dir)
    assert before.meta.lexical_version == LEXICAL_VERSION
    newer = LEXICAL_VERSION + 1
    for module in ("ingest.pipeline", "ingest.index_store"):
        monkeypatch.setattr(f"{module}.LEXICAL_VERSION", newer)
    fake_embedder.reset_counts()
    report = _ingest(index_dir, fake_embedder, [folder])
    assert report.switched and fake_embedder.embedded == 0
    assert report.notes == [
        f"BM25 index rebuilt: it was built with tokenizer version {LEXICAL_VERSION}, this is version {newer}"
    ]
    after = IndexSnapshot.open(index_dir)
    assert after.meta.generation != before.meta.generation and after.meta.lexical_version == newer
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    again = _ingest(index_dir, fake_embedder, [folder])
    assert not again.switched and not again.notes


def test_index_written_before_the_tokenizer_was_recorded_reads_as_version_1(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [folder / "rules.pdf"])
    meta_path = IndexSnapshot.open(index_dir).directory / "meta.json"
    import json

    meta = json.loads(meta_path.read_text())
    del meta["lexical_version"]
    for doc in meta["documents"].values():
        del doc["format"]  # and documents from before other formats: PDFs
    meta_path.write_text(json.dumps(meta))
    snap = IndexSnapshot.open(index_dir)
    assert snap.meta.lexical_version == 1 and snap.meta.documents["rules"].format == "pdf"
    fake_embedder.reset_counts()
    report = _ingest(index_dir, fake_embedder, [folder / "rules.pdf"])
    # Version 1 is not today's: the files are unchanged, nothing is embedded, only BM25 is rebuilt.
    assert [f.status for f in report.files] == ["unchanged"] and fake_embedder.embedded == 0
    assert report.switched and IndexSnapshot.open(index_dir).meta.lexical_version > 1


def test_another_chunker_version_rechunks_every_document(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(index_dir, fake_embedder, [folder])
    before = IndexSnapshot.open(index_dir)
    monkeypatch.setattr("ingest.pipeline.CHUNKER_VERSION", before.meta.chunker["version"] + 1)
    fake_embedder.reset_counts()
    report = _ingest(index_dir, fake_embedder, [folder / "rules.pdf"])  # the others are re-read from their files
    assert {f.doc_id: f.status for f in report.files} == dict.fromkeys(FORMATS, "changed")
    after = IndexSnapshot.open(index_dir)
    assert after.meta.chunker["version"] == before.meta.chunker["version"] + 1
    assert fake_embedder.embedded == 0  # the same chunks: their vectors are reused


def test_cli_names_skipped_and_failed_files(
    folder: Path, index_dir: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from assistant.cli import app

    monkeypatch.setattr("ingest.encoders.Embedder", lambda *args, **kwargs: fake_embedder)
    monkeypatch.setenv("HANDBOOK_EMBEDDING_MODELS", "minilm")
    monkeypatch.chdir(tmp_path)
    for name in ("CHROMA_HOST", "HANDBOOK_CHROMA_HOST", "HANDBOOK_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HANDBOOK_MANIFEST_PATH", str(tmp_path / "no-manifest.toml"))
    odt = folder / "orders.odt"
    odt.write_bytes(b"PK\x03\x04")
    result = CliRunner().invoke(app, ["ingest", str(folder), "--index", str(index_dir), "-q"])
    assert result.exit_code == 0, result.output  # a skipped file is named, not an error
    assert result.stderr.splitlines() == [f"note: {odt}: unsupported format .odt {SUPPORTED}"]
    corrupt = make_not_a_zip_docx(folder / "corrupt.docx")
    result = CliRunner().invoke(app, ["ingest", str(folder), "--index", str(index_dir), "-q"])
    assert result.exit_code == 1
    assert f"error: {corrupt}: corrupt DOCX (not a ZIP package: truncated, or another format renamed)" in (
        result.stderr.splitlines()
    )
