"""The ingest pipeline end to end on generated PDFs: incremental updates, bad input, atomic switch, CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from pdf_factory import (
    make_bad_trailer_pdf,
    make_blank_pdf,
    make_empty_file,
    make_encrypted_pdf,
    make_image_only_pdf,
    make_large_pdf,
    make_pdf,
    make_repeated_line_pdf,
    make_text_named_pdf,
    make_truncated_pdf,
    sample_rules_pages,
)
from typer.testing import CliRunner

from ingest.index_store import CURRENT, WINDOW_OFFSETS, WINDOWS, IndexSnapshot, IndexWriter, has_index
from ingest.pipeline import Ingestor, IngestReport, RemoveError

if TYPE_CHECKING:
    from fakes import FakeEmbedder  # annotations only: fixtures supply the objects


def _article_pages(variant: str = "") -> list[list[str]]:
    """A second, differently numbered document (Articles), three pages."""
    filler = "Each State Party shall keep the committee informed of the steps it has taken"
    pages = []
    for page in range(3):
        lines: list[str] = []
        for k in range(2):
            n = page * 2 + k + 1
            extra = variant if n == 4 else ""
            lines += [
                f"Article {n}",
                f"1. Each State Party shall take effective legislative measures under article {n}. {filler}.{extra}",
                f"2. No exceptional circumstances whatsoever may be invoked as a justification. {filler}.",
                f"3. An order from a superior officer may not be invoked as a justification. {filler}.",
            ]
        pages.append(lines)
    return pages


def _make_rules(folder: Path, name: str = "rules.pdf", variant: str = "") -> Path:
    return make_pdf(folder / name, sample_rules_pages(variant))


def _make_articles(folder: Path, name: str = "articles.pdf", variant: str = "") -> Path:
    return make_pdf(
        folder / name, _article_pages(variant), header="CAT/C/99/1", title="Convention against Test Torture"
    )


def _ingest(index: Path, embedder: FakeEmbedder, paths: list[Path]) -> IngestReport:
    return Ingestor(index, embedder, progress=False).run(paths)


def _fingerprint(index: Path, embedder: FakeEmbedder) -> tuple[object, ...]:
    """What the index answers: its documents, their chunk ids, and the top hits of fixed searches."""
    snap = IndexSnapshot.open(index)
    queries = ["letters and visits from family and friends", "torture justified by exceptional circumstances"]
    vectors = embedder.encode(queries)
    dense = snap.collection().query(query_embeddings=vectors, n_results=1)["ids"]
    return snap.meta.documents, _ids_by_doc(snap), dense


def _gen_dirs(index: Path) -> list[str]:
    return sorted(p.name for p in index.glob("gen-*"))


def _ids_by_doc(snap: IndexSnapshot) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for chunk in snap.chunks:
        out.setdefault(chunk.doc_id, []).append(chunk.id)
    return out


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    _make_rules(folder)
    _make_articles(folder)
    return folder


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


# -- unit: incremental ingest -------------------------------------------------------------------------


@pytest.mark.unit
def test_ingest_two_pdfs(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    report = _ingest(index_dir, fake_embedder, [corpus])
    assert report.switched
    assert not report.failed
    assert sorted((f.doc_id, f.status) for f in report.files) == [("articles", "new"), ("rules", "new")]
    snap = IndexSnapshot.open(index_dir)
    assert sorted(snap.meta.documents) == ["articles", "rules"]
    assert report.total_chunks == len(snap.chunks) == report.embedded == fake_embedder.embedded
    assert snap.meta.model == fake_embedder.model_name
    assert snap.meta.model_path == fake_embedder.model_path
    assert snap.meta.dimension == 384
    for doc in snap.meta.documents.values():
        assert doc.pages == 3
        assert doc.chunks == sum(1 for c in snap.chunks if c.doc_id == doc.id) > 0
        assert doc.sha256 and Path(doc.source_path).name == f"{doc.id}.pdf"
    refs = {c.ref for c in snap.chunks}
    assert {"Rule 1", "Rule 5", "Article 1", "Article 6"} <= refs
    # The running header and the page counters never reach a chunk.
    for chunk in snap.chunks:
        assert "A/RES/99/1" not in chunk.text and "CAT/C/99/1" not in chunk.text
        assert "Standard Rules for the Care of Test Prisoners" not in chunk.text
        assert not any(f"{n}/3" in chunk.text for n in (1, 2, 3))
        assert 1 <= chunk.page_start <= chunk.page_end <= 3
    # Every store agrees on the chunk count.
    assert snap.embeddings().shape == (len(snap.chunks), 384)
    assert snap.collection().count() == len(snap.chunks)
    assert {(p.doc_id, p.page) for p in snap.page_records()} == {
        (d, n) for d in ("rules", "articles") for n in (1, 2, 3)
    }
    assert (index_dir / CURRENT).read_text().strip() == snap.meta.generation


@pytest.mark.unit
def test_vectors_are_queryable(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    snap = IndexSnapshot.open(index_dir)
    target = next(c for c in snap.chunks if c.ref == "Rule 4")
    query = fake_embedder.encode([target.embedding_text()])
    result = snap.collection().query(query_embeddings=query, n_results=3)
    assert result["ids"][0][0] == target.id
    assert result["metadatas"][0][0]["ref"] == "Rule 4"
    # Rows in Chroma match rows of embeddings.npy.
    row = result["metadatas"][0][0]["row"]
    assert snap.chunks[row].id == target.id
    assert np.allclose(snap.embeddings()[row], query[0], atol=1e-6)
    scores, _ = snap.bm25().retrieve([["solitari"]], k=1, return_as="tuple")
    assert scores.shape == (1, 1)


@pytest.mark.unit
def test_reingest_unchanged_embeds_nothing(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    first = _ingest(index_dir, fake_embedder, [corpus])
    generation = IndexSnapshot.open(index_dir).meta.generation
    fake_embedder.reset_counts()
    second = _ingest(index_dir, fake_embedder, [corpus])
    assert not second.switched
    assert second.embedded == 0
    assert fake_embedder.embedded == 0
    assert second.total_chunks == first.total_chunks
    assert {f.status for f in second.files} == {"unchanged"}
    assert IndexSnapshot.open(index_dir).meta.generation == generation
    assert _gen_dirs(index_dir) == [generation]


@pytest.mark.unit
def test_changed_pdf_only_its_new_chunks_embedded(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)
    before_vectors = {c.id: before.embeddings()[i] for i, c in enumerate(before.chunks)}
    fake_embedder.reset_counts()

    _make_rules(corpus, variant=" A new sentence was added to this rule.")
    report = _ingest(index_dir, fake_embedder, [corpus])

    after = IndexSnapshot.open(index_dir)
    assert report.switched
    assert {f.doc_id: f.status for f in report.files} == {"rules": "changed", "articles": "unchanged"}
    new_ids = {c.id for c in after.chunks} - set(before_vectors)
    assert new_ids, "the changed rule should give a new chunk"
    assert {c.doc_id for c in after.chunks if c.id in new_ids} == {"rules"}
    assert report.embedded == len(new_ids) == fake_embedder.embedded
    assert all("A new sentence was added" in text for text in fake_embedder.texts)
    # The other document is untouched: same chunks, same vectors.
    assert _ids_by_doc(after)["articles"] == _ids_by_doc(before)["articles"]
    vectors = after.embeddings()
    for i, chunk in enumerate(after.chunks):
        if chunk.id in before_vectors:
            assert np.array_equal(vectors[i], before_vectors[chunk.id])
    assert after.meta.documents["articles"] == before.meta.documents["articles"]
    assert after.meta.documents["rules"].sha256 != before.meta.documents["rules"].sha256
    assert after.collection().count() == len(after.chunks)


@pytest.mark.unit
def test_windows_are_written_and_carried_with_their_chunks(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)
    stored = before.passage_vectors()
    assert before.has_windows
    assert [len(stored.windows_of(i)) for i in range(len(before.chunks))] == [
        len(c.window_spans()) for c in before.chunks
    ]
    assert len(stored.windows) > 0
    old_windows = {c.id: np.asarray(stored.windows_of(i)) for i, c in enumerate(before.chunks)}

    _make_rules(corpus, variant=" A new sentence was added to this rule.")
    _ingest(index_dir, fake_embedder, [corpus])
    after = IndexSnapshot.open(index_dir)
    carried = after.passage_vectors()
    for i, chunk in enumerate(after.chunks):
        if chunk.id in old_windows:  # an unchanged chunk keeps its windows exactly
            assert np.array_equal(np.asarray(carried.windows_of(i)), old_windows[chunk.id])
        else:
            assert len(carried.windows_of(i)) == len(chunk.window_spans())


@pytest.mark.unit
def test_index_from_before_windows_is_embedded_again_once(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    first = _ingest(index_dir, fake_embedder, [corpus])
    generation = IndexSnapshot.open(index_dir).directory
    (generation / WINDOWS).unlink()
    (generation / WINDOW_OFFSETS).unlink()
    assert not IndexSnapshot.open(index_dir).has_windows
    fake_embedder.reset_counts()
    upgraded = _ingest(index_dir, fake_embedder, [corpus])
    assert upgraded.switched and upgraded.embedded == first.total_chunks
    assert IndexSnapshot.open(index_dir).has_windows
    fake_embedder.reset_counts()
    assert _ingest(index_dir, fake_embedder, [corpus]).embedded == 0


@pytest.mark.unit
def test_removed_pdf_leaves_the_index_only_with_prune(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)
    (corpus / "articles.pdf").unlink()
    fake_embedder.reset_counts()
    kept = _ingest(index_dir, fake_embedder, [corpus])
    assert kept.removed == [] and kept.kept == ["articles"] and not kept.switched
    assert IndexSnapshot.open(index_dir).meta.generation == before.meta.generation

    report = Ingestor(index_dir, fake_embedder, progress=False).run([corpus], prune=True)
    assert report.removed == ["articles"]
    assert report.switched and report.embedded == 0
    after = IndexSnapshot.open(index_dir)
    assert sorted(after.meta.documents) == ["rules"]
    assert {c.doc_id for c in after.chunks} == {"rules"}
    assert _ids_by_doc(after)["rules"] == _ids_by_doc(before)["rules"]
    assert {p.doc_id for p in after.page_records()} == {"rules"}
    assert after.collection().count() == len(after.chunks)


@pytest.mark.unit
def test_old_generations_are_collected(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    generations = []
    for n in range(4):
        _make_rules(corpus, variant=f" Revision number {'abcd'[n]} of this rule.")
        _ingest(index_dir, fake_embedder, [corpus])
        generations.append(IndexSnapshot.open(index_dir).meta.generation)
    assert len(set(generations)) == 4
    # The live generation and the one before it (for readers still using it).
    assert _gen_dirs(index_dir) == sorted(generations[-2:])
    assert not list(index_dir.glob(f"{CURRENT}.*.tmp"))


@pytest.mark.unit
def test_same_document_under_two_names_indexed_once(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    shutil.copyfile(corpus / "rules.pdf", corpus / "zz-rules-copy.pdf")
    report = _ingest(index_dir, fake_embedder, [corpus])
    statuses = {f.doc_id: f.status for f in report.files}
    # The first name in sorted order is indexed.
    assert statuses == {"articles": "new", "rules": "new", "zz-rules-copy": "duplicate"}
    duplicate = next(f for f in report.files if f.status == "duplicate")
    assert "rules.pdf" in duplicate.message
    assert not report.failed
    snap = IndexSnapshot.open(index_dir)
    assert sorted(snap.meta.documents) == ["articles", "rules"]
    assert "zz-rules-copy" not in {c.doc_id for c in snap.chunks}
    assert report.embedded == len(snap.chunks)


@pytest.mark.unit
def test_same_file_given_twice_indexed_once(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    report = _ingest(index_dir, fake_embedder, [corpus / "rules.pdf", corpus / "rules.pdf"])
    assert sorted(f.status for f in report.files) == ["duplicate", "new"]
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["rules"]


@pytest.mark.unit
def test_missing_path_is_reported(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    missing = corpus / "nowhere.pdf"
    report = _ingest(index_dir, fake_embedder, [corpus, missing])
    assert [f.path for f in report.failed] == [missing]
    assert str(missing) in report.failed[0].message
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["articles", "rules"]


@pytest.mark.unit
def test_model_change_reembeds_everything(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, make_fake_embedder: type[FakeEmbedder]
) -> None:
    first = _ingest(index_dir, fake_embedder, [corpus])
    other = make_fake_embedder(model_path="/fake/models/another-model")
    report = _ingest(index_dir, other, [corpus])
    assert report.switched
    assert report.embedded == other.embedded == first.total_chunks
    assert IndexSnapshot.open(index_dir).meta.model == "another-model"


def test_the_same_model_files_at_another_path_embed_nothing_again(
    corpus: Path, index_dir: Path, make_fake_embedder: type[FakeEmbedder]
) -> None:
    """A fresh clone's venv holds the packaged model at another path: its files' digest says it is the same model."""
    first = make_fake_embedder(model_path="/clone-a/.venv/model")
    first.identity = "digest-of-the-files"  # type: ignore[attr-defined]
    _ingest(index_dir, first, [corpus])
    assert IndexSnapshot.open(index_dir).meta.model_identity == "digest-of-the-files"
    moved = make_fake_embedder(model_path="/clone-b/.venv/model")
    moved.identity = "digest-of-the-files"  # type: ignore[attr-defined]
    report = _ingest(index_dir, moved, [corpus])
    assert report.embedded == moved.embedded == 0
    assert {f.status for f in report.files} == {"unchanged"}
    changed = make_fake_embedder(model_path="/clone-b/.venv/model")
    changed.identity = "digest-of-other-files"  # type: ignore[attr-defined]
    assert _ingest(index_dir, changed, [corpus]).embedded > 0  # other files: embedded again


# -- unit: bad input ----------------------------------------------------------------------------------

BAD_INPUTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated": (make_truncated_pdf, "corrupt or truncated"),
    "encrypted": (make_encrypted_pdf, "encrypted"),
    "no-text": (make_image_only_pdf, "OCR"),
    "zero-byte": (make_empty_file, "empty file"),
    "not-a-pdf": (make_text_named_pdf, "not a PDF"),
}


def _corrupt_text_pdf(path: Path) -> Path:
    """Valid header, garbage body: neither pypdf nor pdfium can read it."""
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n")
    return path


BAD_INPUTS["corrupt"] = (_corrupt_text_pdf, "corrupt or truncated")
BAD_INPUTS["bad-trailer"] = (make_bad_trailer_pdf, "cannot parse: AttributeError")
BAD_INPUTS["blank"] = (make_blank_pdf, "all 3 pages are blank")


@pytest.mark.unit
@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_reported_in_one_line_others_ingested(
    kind: str, corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    build, reason = BAD_INPUTS[kind]
    bad = build(corpus / f"bad-{kind}.pdf")
    report = _ingest(index_dir, fake_embedder, [corpus])
    assert [f.path for f in report.failed] == [bad]
    message = report.failed[0].message
    assert "\n" not in message
    assert str(bad) in message
    assert reason.lower() in message.lower()
    assert len(message) < 300
    assert {f.doc_id: f.status for f in report.files if f.status != "failed"} == {"rules": "new", "articles": "new"}
    snap = IndexSnapshot.open(index_dir)
    assert sorted(snap.meta.documents) == ["articles", "rules"]


@pytest.mark.unit
@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_replacement_keeps_what_the_index_held(
    kind: str, corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    build, reason = BAD_INPUTS[kind]
    target = _make_rules(corpus, name="victim.pdf", variant=" The victim copy differs here.")
    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)
    held = _ids_by_doc(before)["victim"]
    held_pages = [p for p in before.page_records() if p.doc_id == "victim"]

    target.unlink()
    build(target)
    report = _ingest(index_dir, fake_embedder, [corpus])
    assert [f.doc_id for f in report.failed] == ["victim"]
    assert reason.lower() in report.failed[0].message.lower()
    after = IndexSnapshot.open(index_dir)
    assert _ids_by_doc(after)["victim"] == held
    assert after.meta.documents["victim"] == before.meta.documents["victim"]
    assert "victim" not in report.removed

    # Also when another document changes and a new generation is written.
    _make_articles(corpus, variant=" An added sentence.")
    fake_embedder.reset_counts()
    report = _ingest(index_dir, fake_embedder, [corpus])
    assert report.switched
    assert [f.doc_id for f in report.failed] == ["victim"]
    latest = IndexSnapshot.open(index_dir)
    assert latest.meta.generation != before.meta.generation
    assert _ids_by_doc(latest)["victim"] == held
    assert [p for p in latest.page_records() if p.doc_id == "victim"] == held_pages
    assert all("victim" not in text for text in fake_embedder.texts)
    assert latest.collection().count() == len(latest.chunks)


@pytest.mark.unit
def test_only_bad_input_builds_no_index(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    folder = tmp_path / "bad"
    make_empty_file(folder / "empty.pdf")
    report = _ingest(index_dir, fake_embedder, [folder])
    assert len(report.failed) == 1
    assert not report.switched
    assert not has_index(index_dir)


@pytest.mark.unit
@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_file_given_alone_changes_and_removes_nothing(
    kind: str, corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = _fingerprint(index_dir, fake_embedder)
    generation = IndexSnapshot.open(index_dir).meta.generation
    build, reason = BAD_INPUTS[kind]
    (tmp_path / "elsewhere").mkdir()
    bad = build(tmp_path / "elsewhere" / f"bad-{kind}.pdf")
    report = _ingest(index_dir, fake_embedder, [bad])
    assert [f.path for f in report.failed] == [bad] and reason.lower() in report.failed[0].message.lower()
    assert report.removed == [] and sorted(report.kept) == ["articles", "rules"]
    assert not report.switched
    assert IndexSnapshot.open(index_dir).meta.generation == generation
    assert _fingerprint(index_dir, fake_embedder) == before


@pytest.mark.unit
def test_blank_pdf_is_called_blank_not_scanned(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    blank = make_blank_pdf(tmp_path / "blank.pdf", pages=300)
    (failure,) = _ingest(index_dir, fake_embedder, [blank]).failed
    assert "all 300 pages are blank" in failure.message and "blank.pdf" in failure.message
    assert "OCR" not in failure.message and "scanned" not in failure.message


@pytest.mark.unit
def test_mostly_blank_pdf_names_its_blank_pages(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    pdf = make_blank_pdf(tmp_path / "mostly-blank.pdf", pages=12, text_pages=3)
    (outcome,) = _ingest(index_dir, fake_embedder, [pdf]).files
    assert outcome.status == "new"
    assert outcome.message == f"{pdf}: pages 4\u201312: blank"


@pytest.mark.unit
def test_mostly_scanned_pdf_names_its_pages_without_text(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    pdf = make_blank_pdf(tmp_path / "part-scan.pdf", pages=12, text_pages=3, drawn=True)
    (outcome,) = _ingest(index_dir, fake_embedder, [pdf]).files
    assert outcome.status == "new"
    assert outcome.message == f"{pdf}: pages 4\u201312: images without text (need OCR)"


@pytest.mark.unit
def test_a_few_blank_pages_are_not_worth_a_note(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    pdf = make_blank_pdf(tmp_path / "one-blank.pdf", pages=4, text_pages=3)
    (outcome,) = _ingest(index_dir, fake_embedder, [pdf]).files
    assert outcome.status == "new" and outcome.message == ""


@pytest.mark.unit
def test_pdf_of_one_repeated_line_keeps_the_text_of_every_page(
    tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    line = "All wings are checked by the duty officer at noon."
    pdf = make_repeated_line_pdf(tmp_path / "register.pdf", pages=300, distinct=40, line=line)
    report = _ingest(index_dir, fake_embedder, [pdf])
    (outcome,) = report.files
    assert outcome.status == "new" and outcome.pages == 300 and outcome.message == ""
    pages = {p.page: p.text for p in IndexSnapshot.open(index_dir).page_records()}
    assert len(pages) == 300
    assert all(pages[n] == line for n in range(41, 301))  # once stored empty: "taken for a header"
    assert all(f"on day {n}." in pages[n] for n in range(1, 41))
    assert any(line in chunk.text for chunk in IndexSnapshot.open(index_dir).chunks)


@pytest.mark.unit
def test_text_lost_in_cleaning_is_reported(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    # Pages 4-10: two lines repeated on them and the running title; each a third of the page, all taken as running.
    filler = ["Annex on test forms of the rules A", "Annex on test notes of the rules B"]
    pdf = make_pdf(tmp_path / "annexes.pdf", sample_rules_pages() + [filler] * 7)
    (outcome,) = _ingest(index_dir, fake_embedder, [pdf]).files
    assert outcome.status == "new"
    assert outcome.message == f"{pdf}: pages 4\u201310: no text after cleaning"


@pytest.mark.unit
def test_any_exception_while_parsing_one_file_is_that_files_failure(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.structure import StructureParser

    original = StructureParser.run

    def fragile(self: StructureParser, pages: list) -> list:  # type: ignore[type-arg]
        if any("Article" in line.text for page in pages for line in page):
            raise KeyError("'heading' (simulated parser bug)\nsecond line")
        return original(self, pages)

    monkeypatch.setattr(StructureParser, "run", fragile)
    report = _ingest(index_dir, fake_embedder, [corpus])
    (failure,) = report.failed
    assert failure.doc_id == "articles"
    assert failure.message.startswith(f"{corpus / 'articles.pdf'}: cannot parse: KeyError:")
    assert "\n" not in failure.message
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["rules"]


@pytest.mark.unit
def test_same_file_name_in_two_folders_gives_two_documents(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = _fingerprint(index_dir, fake_embedder)
    other = tmp_path / "2023"
    second = _make_rules(other, variant=" The 2023 edition adds this sentence.")
    report = _ingest(index_dir, fake_embedder, [corpus, other])  # once: chromadb DuplicateIDError, nothing ingested
    assert not report.failed
    statuses = {f.doc_id: (f.status, f.message) for f in report.files}
    assert statuses["rules"] == ("unchanged", "")
    assert statuses["articles"] == ("unchanged", "")
    assert statuses["rules-2023"] == (
        "new",
        f"{second}: document id rules-2023, because rules is already the id of {corpus / 'rules.pdf'}",
    )
    snap = IndexSnapshot.open(index_dir)
    assert sorted(snap.meta.documents) == ["articles", "rules", "rules-2023"]
    assert Path(snap.meta.documents["rules-2023"].source_path) == second
    assert snap.collection().count() == len(snap.chunks) == len({c.id for c in snap.chunks})
    # Nothing lost: the documents already indexed answer as before.
    documents, ids, _ = before  # type: ignore[misc]
    assert {d: snap.meta.documents[d] for d in documents} == documents  # type: ignore[attr-defined]
    assert {d: _ids_by_doc(snap)[d] for d in ids} == ids  # type: ignore[attr-defined]

    # The ids stick to the files: again, or the second folder alone, nothing changes.
    fake_embedder.reset_counts()
    again = _ingest(index_dir, fake_embedder, [other])
    assert [(f.doc_id, f.status) for f in again.files] == [("rules-2023", "unchanged")]
    assert not again.switched and fake_embedder.embedded == 0


@pytest.mark.unit
def test_same_file_name_in_two_new_folders(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    first = _make_rules(tmp_path / "A")
    second = _make_rules(tmp_path / "B", variant=" Edition B.")
    report = _ingest(index_dir, fake_embedder, [tmp_path / "A", tmp_path / "B"])
    assert [(f.path, f.doc_id, f.status) for f in report.files] == [
        (first, "rules", "new"),
        (second, "rules-B", "new"),
    ]
    assert "document id rules-B, because rules is already the id of" in report.files[1].message
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["rules", "rules-B"]


@pytest.mark.unit
def test_moved_file_keeps_its_document_id(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    moved = tmp_path / "moved"
    moved.mkdir()
    (corpus / "rules.pdf").rename(moved / "rules.pdf")
    report = _ingest(index_dir, fake_embedder, [moved])
    assert [(f.doc_id, f.status) for f in report.files] == [("rules", "unchanged")]


# -- unit: ingest adds or updates; removing is explicit ------------------------------------------------


@pytest.mark.unit
def test_ingest_one_file_keeps_the_other_documents(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)
    _make_rules(corpus, variant=" A change to the rules only.")
    report = _ingest(index_dir, fake_embedder, [corpus / "rules.pdf"])
    assert [(f.doc_id, f.status) for f in report.files] == [("rules", "changed")]
    assert report.removed == [] and report.kept == ["articles"]
    after = IndexSnapshot.open(index_dir)
    assert sorted(after.meta.documents) == ["articles", "rules"]
    assert _ids_by_doc(after)["articles"] == _ids_by_doc(before)["articles"]
    assert after.meta.documents["articles"] == before.meta.documents["articles"]
    assert [p for p in after.page_records() if p.doc_id == "articles"] == [
        p for p in before.page_records() if p.doc_id == "articles"
    ]
    assert after.collection().count() == len(after.chunks)


@pytest.mark.unit
def test_new_chunker_rechunks_the_documents_not_given_too(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    from ingest.chunking import Chunker

    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)
    ingestor = Ingestor(index_dir, fake_embedder, chunker=Chunker(max_words=40, min_words=10), progress=False)
    report = ingestor.run([corpus / "rules.pdf"])
    assert sorted((f.doc_id, f.status) for f in report.files) == [("articles", "changed"), ("rules", "changed")]
    after = IndexSnapshot.open(index_dir)
    assert after.meta.chunker == ingestor.chunker_config()
    assert len(_ids_by_doc(after)["articles"]) > len(_ids_by_doc(before)["articles"])


@pytest.mark.unit
def test_new_file_is_added_beside_the_indexed_ones(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    _ingest(index_dir, fake_embedder, [corpus / "rules.pdf"])
    report = _ingest(index_dir, fake_embedder, [corpus / "articles.pdf"])
    assert [(f.doc_id, f.status) for f in report.files] == [("articles", "new")]
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["articles", "rules"]


@pytest.mark.unit
def test_prune_removes_what_was_not_given(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    _make_rules(tmp_path / "extra", name="extra.pdf", variant=" Extra.")
    _ingest(index_dir, fake_embedder, [tmp_path / "extra"])
    report = Ingestor(index_dir, fake_embedder, progress=False).run([corpus / "rules.pdf"], prune=True)
    assert report.removed == ["articles", "extra"] and report.kept == []
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["rules"]


@pytest.mark.unit
def test_prune_keeps_a_document_whose_file_failed(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = _fingerprint(index_dir, fake_embedder)
    make_truncated_pdf(corpus / "articles.pdf")
    report = Ingestor(index_dir, fake_embedder, progress=False).run([corpus], prune=True)
    assert [f.doc_id for f in report.failed] == ["articles"]
    assert report.removed == []
    assert _fingerprint(index_dir, fake_embedder) == before


@pytest.mark.unit
def test_prune_keeps_the_documents_of_a_missing_folder(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    other = _make_rules(tmp_path / "other", name="other.pdf", variant=" Other.")
    _ingest(index_dir, fake_embedder, [corpus, other])
    before = _fingerprint(index_dir, fake_embedder)
    corpus.rename(tmp_path / "renamed")
    report = Ingestor(index_dir, fake_embedder, progress=False).run([corpus, other], prune=True)
    assert [f.message for f in report.failed] == [f"{corpus}: no such file or folder"]
    assert report.removed == [] and not report.switched
    assert _fingerprint(index_dir, fake_embedder) == before


@pytest.mark.unit
def test_prune_with_nothing_good_removes_nothing(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = _fingerprint(index_dir, fake_embedder)
    bad = make_empty_file(tmp_path / "other" / "empty.pdf")
    report = Ingestor(index_dir, fake_embedder, progress=False).run([bad], prune=True)
    assert report.removed == [] and not report.switched
    assert report.notes == ["nothing removed: pruning would have left the index empty"]
    assert _fingerprint(index_dir, fake_embedder) == before


@pytest.mark.unit
def test_remove_by_id_embeds_nothing(corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)
    fake_embedder.reset_counts()
    report = Ingestor(index_dir, fake_embedder, progress=False).remove(["articles"])
    assert report.removed == ["articles"] and report.switched and report.embedded == 0 == fake_embedder.embedded
    after = IndexSnapshot.open(index_dir)
    assert sorted(after.meta.documents) == ["rules"]
    assert _ids_by_doc(after)["rules"] == _ids_by_doc(before)["rules"]
    assert {p.doc_id for p in after.page_records()} == {"rules"}
    assert after.collection().count() == len(after.chunks)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("ids", "reason"),
    [(["articles", "nope"], "unknown document id nope"), (["articles", "rules"], "would leave the index empty")],
)
def test_remove_refuses_unknown_ids_and_an_empty_index(
    ids: list[str], reason: str, corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = _fingerprint(index_dir, fake_embedder)
    generation = IndexSnapshot.open(index_dir).meta.generation
    with pytest.raises(RemoveError, match=reason):
        Ingestor(index_dir, fake_embedder, progress=False).remove(ids)
    assert IndexSnapshot.open(index_dir).meta.generation == generation
    assert _fingerprint(index_dir, fake_embedder) == before


@pytest.mark.unit
def test_text_free_pdf_message_mentions_ocr(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    scan = make_image_only_pdf(tmp_path / "scan.pdf", pages=3)
    report = _ingest(index_dir, fake_embedder, [scan])
    (failure,) = report.failed
    assert "OCR" in failure.message and "scan.pdf" in failure.message and "3 pages" in failure.message


# -- unit: atomic switch ------------------------------------------------------------------------------


@pytest.mark.unit
def test_failed_write_keeps_previous_generation(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(index_dir, fake_embedder, [corpus])
    before = IndexSnapshot.open(index_dir)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full (simulated)")

    _make_rules(corpus, variant=" Changed text.")
    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="simulated"):
        patch.setattr(IndexWriter, "_write_chroma", staticmethod(broken))
        _ingest(index_dir, fake_embedder, [corpus])

    assert _gen_dirs(index_dir) == [before.meta.generation]
    snap = IndexSnapshot.open(index_dir)
    assert snap.meta.generation == before.meta.generation
    assert [c.id for c in snap.chunks] == [c.id for c in before.chunks]
    assert snap.collection().count() == len(before.chunks)
    query = snap.embeddings()[:1]
    assert snap.collection().query(query_embeddings=query, n_results=1)["ids"][0] == [snap.chunks[0].id]
    # The lock was released: the next ingest goes through.
    report = _ingest(index_dir, fake_embedder, [corpus])
    assert report.switched


@pytest.mark.unit
def test_failed_write_of_first_index_leaves_nothing(
    corpus: Path, index_dir: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        IndexWriter, "_write_bm25", staticmethod(lambda *a, **k: (_ for _ in ()).throw(OSError("boom")))
    )
    with pytest.raises(OSError, match="boom"):
        _ingest(index_dir, fake_embedder, [corpus])
    assert _gen_dirs(index_dir) == []
    assert not has_index(index_dir)


# -- CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_embedder: FakeEmbedder) -> FakeEmbedder:
    """The CLI with a fake embedder and no manifest, Chroma server or .env from the environment."""
    fake = fake_embedder

    def factory(model_path: str, *args: object, **kwargs: object) -> FakeEmbedder:
        return fake

    monkeypatch.setattr("ingest.encoders.Embedder", factory)
    monkeypatch.setenv("HANDBOOK_EMBEDDING_MODELS", "minilm")  # the fake stands in for MiniLM only
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("CHROMA_HOST", "HANDBOOK_CHROMA_HOST", "CHROMA_PORT", "HANDBOOK_CHROMA_PORT", "HANDBOOK_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HANDBOOK_MANIFEST_PATH", str(tmp_path / "no-manifest.toml"))
    return fake


@pytest.mark.unit
def test_cli_ingest_and_stats(corpus: Path, index_dir: Path, cli_env: FakeEmbedder) -> None:
    from assistant.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(corpus), "--index", str(index_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert "index updated" in result.stdout
    assert cli_env.embedded > 0

    result = runner.invoke(app, ["index", "stats", "--index", str(index_dir), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert {"documents", "chunks", "model", "index"} <= set(stats)
    assert stats["documents"] == 2
    assert stats["chunks"] == len(IndexSnapshot.open(index_dir).chunks) == cli_env.embedded
    assert stats["model"] == cli_env.model_name
    assert Path(stats["index"]) == index_dir
    assert set(stats["per_document"]) == {"rules", "articles"}

    result = runner.invoke(app, ["ingest", str(corpus), "--index", str(index_dir), "-q"])
    assert result.exit_code == 0
    assert "already up to date" in result.stdout


@pytest.mark.unit
def test_cli_ingest_exit_code_1_when_a_file_failed(corpus: Path, index_dir: Path, cli_env: FakeEmbedder) -> None:
    from assistant.cli import app

    bad = make_truncated_pdf(corpus / "broken.pdf")
    result = CliRunner().invoke(app, ["ingest", str(corpus), "--index", str(index_dir), "-q"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert str(bad) in errors[0] and "corrupt or truncated" in errors[0]
    # The good files are in the index all the same.
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["articles", "rules"]


@pytest.mark.unit
def test_cli_ingest_of_one_bad_file_says_nothing_was_removed(
    corpus: Path, index_dir: Path, cli_env: FakeEmbedder, tmp_path: Path
) -> None:
    from assistant.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(corpus), "--index", str(index_dir), "-q"]).exit_code == 0
    generation = IndexSnapshot.open(index_dir).meta.generation
    bad = make_bad_trailer_pdf(tmp_path / "one.pdf")
    result = runner.invoke(app, ["ingest", str(bad), "--index", str(index_dir), "-q"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {bad}: cannot parse: AttributeError: 'NumberObject' object has no attribute 'items'"
    ]
    assert "removed" not in result.stdout
    assert "kept in the index, not among the given paths: 2 documents (--prune removes them)" in result.stdout
    assert IndexSnapshot.open(index_dir).meta.generation == generation


@pytest.mark.unit
def test_cli_prune_and_index_remove(corpus: Path, index_dir: Path, cli_env: FakeEmbedder, tmp_path: Path) -> None:
    from assistant.cli import app

    runner = CliRunner()
    extra = _make_rules(tmp_path / "extra", name="extra.pdf", variant=" Extra.")
    assert runner.invoke(app, ["ingest", str(corpus), str(extra), "--index", str(index_dir), "-q"]).exit_code == 0

    result = runner.invoke(app, ["ingest", str(corpus), "--prune", "--index", str(index_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines() if "removed" in line] == ["removed from the index: extra"]

    generation = IndexSnapshot.open(index_dir).meta.generation
    result = runner.invoke(app, ["index", "remove", "articles", "nope", "--index", str(index_dir)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: unknown document id nope (the index holds: articles, rules)"]
    assert IndexSnapshot.open(index_dir).meta.generation == generation

    result = runner.invoke(app, ["index", "remove", "articles", "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "removed from the index: articles" in result.stdout
    assert sorted(IndexSnapshot.open(index_dir).meta.documents) == ["rules"]


@pytest.mark.unit
def test_cli_stats_without_index(tmp_path: Path, cli_env: FakeEmbedder) -> None:
    from assistant.cli import app

    result = CliRunner().invoke(app, ["index", "stats", "--index", str(tmp_path / "none"), "--json"])
    assert result.exit_code == 1
    assert "handbook ingest" in result.stderr


# -- slow ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_thousand_page_pdf(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> None:
    pdf = make_large_pdf(tmp_path / "big" / "register.pdf", pages=2000)
    report = _ingest(index_dir, fake_embedder, [pdf])
    assert not report.failed
    (outcome,) = report.files
    assert outcome.pages == 2000
    snap = IndexSnapshot.open(index_dir)
    assert snap.meta.documents["register"].pages == 2000
    assert len(snap.page_records()) == 2000
    assert min(c.page_start for c in snap.chunks) == 1
    assert max(c.page_end for c in snap.chunks) == 2000
    assert all(1 <= c.page_start <= c.page_end <= 2000 for c in snap.chunks)
    assert report.embedded == len(snap.chunks) == snap.collection().count()
    text = " ".join(c.text for c in snap.chunks)
    assert text.count("Staff shall record the check") == 2000


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.heavy(30)
def test_kill_9_during_ingest_keeps_previous_generation(tmp_path: Path, real_embedder: object) -> None:
    folder = tmp_path / "pdfs"
    _make_rules(folder)
    _make_articles(folder)
    index_dir = tmp_path / "index"
    first = Ingestor(index_dir, real_embedder, progress=False).run([folder])  # type: ignore[arg-type]
    assert first.switched
    old = IndexSnapshot.open(index_dir)
    old_count = len(old.chunks)

    # Enough new text that embedding and writing take a while.
    make_large_pdf(folder / "register.pdf", pages=600)
    env = {
        **os.environ,
        "HANDBOOK_MANIFEST_PATH": str(tmp_path / "no-manifest.toml"),
        "HANDBOOK_INDEX_DIR": str(index_dir),
    }
    for name in ("CHROMA_HOST", "HANDBOOK_CHROMA_HOST"):
        env.pop(name, None)
    handbook = Path(sys.executable).parent / "handbook"
    proc = subprocess.Popen(
        [str(handbook), "ingest", str(folder), "--index", str(index_dir), "-q"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if set(_gen_dirs(index_dir)) - {old.meta.generation}:
                break  # the new generation is being written: kill it now
            time.sleep(0.005)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    snap = IndexSnapshot.open(index_dir)
    assert snap.meta.generation == old.meta.generation
    assert len(snap.chunks) == old_count
    assert "register" not in snap.meta.documents
    assert snap.collection().count() == old_count
    assert len(snap.collection().query(query_embeddings=snap.embeddings()[:1], n_results=3)["ids"][0]) == 3

    # The next ingest succeeds and clears the half-written generation away.
    report = Ingestor(index_dir, real_embedder, progress=False).run([folder])  # type: ignore[arg-type]
    assert report.switched and not report.failed
    latest = IndexSnapshot.open(index_dir)
    assert "register" in latest.meta.documents
    assert set(_gen_dirs(index_dir)) == {old.meta.generation, latest.meta.generation}
