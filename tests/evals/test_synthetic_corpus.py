"""The synthetic handbook corpus (evals/synthetic_corpus.py): the plan, the written files, needles and chunk counts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evals.synthetic_corpus import corpus_chunks, generate_corpus, plan_corpus
from evals.synthetic_document import build_document
from evals.synthetic_vocabulary import NEEDLES
from ingest.corpus_manifest import Manifest

SMALL = 400  # chunks: a few small documents, built in about a second


@pytest.mark.unit
def test_plan_and_documents_are_deterministic() -> None:
    first = plan_corpus(SMALL, seed=3)
    assert first == plan_corpus(SMALL, seed=3)
    assert first != plan_corpus(SMALL, seed=4)
    assert build_document(first[0]).page_texts() == build_document(first[0]).page_texts()
    assert len({spec.id for spec in first}) == len(first) > 1


@pytest.mark.unit
def test_generated_files_are_byte_identical_and_match_the_manifest(tmp_path: Path) -> None:
    a = generate_corpus(tmp_path / "a", SMALL, seed=5)
    b = generate_corpus(tmp_path / "b", SMALL, seed=5)
    assert [d["sha256"] for d in a.documents] == [d["sha256"] for d in b.documents]
    manifest = Manifest.load(Path(a.manifest))
    assert manifest.ids == [d["id"] for d in a.documents]
    for entry in manifest:
        pdf = Path(a.pdf_dir) / entry.file_name
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == entry.sha256
        assert entry.pages is not None and entry.pages > 2
    # A second call with the same plan reuses the files.
    again = generate_corpus(tmp_path / "a", SMALL, seed=5)
    assert again.seconds == a.seconds
    saved = json.loads((tmp_path / "a" / "corpus.json").read_text())
    assert {n["key"] for n in saved["needles"]} == {n.key for n in NEEDLES}


@pytest.mark.unit
def test_every_needle_is_planted_once_per_corpus() -> None:
    planted = [n for spec in plan_corpus(SMALL) for n in build_document(spec).needles]
    assert sorted(n.key for n in planted) == sorted(n.key for n in NEEDLES)
    texts = [c.text.lower() for c in corpus_chunks(SMALL)]
    for needle in NEEDLES:
        assert sum(needle.phrase.lower() in t for t in texts) == 1


@pytest.mark.unit
@pytest.mark.parametrize("target", [300, 1500])
def test_chunk_count_is_roughly_on_target(target: int) -> None:
    count = sum(1 for _ in corpus_chunks(target))
    assert 0.85 * target <= count <= 1.15 * target


@pytest.mark.unit
def test_chunks_are_distinct() -> None:
    chunks = list(corpus_chunks(SMALL))
    assert len({c.id for c in chunks}) == len(chunks)
    texts = [c.embedding_text() for c in chunks]
    assert len(set(texts)) >= 0.99 * len(texts)
