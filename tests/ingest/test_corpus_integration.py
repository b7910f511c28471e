"""The real shared corpus ingested once with the real model (session fixture `corpus_index` in conftest)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor

if TYPE_CHECKING:
    from conftest import CorpusIndex  # annotations only: the session fixture supplies it

pytestmark = pytest.mark.integration

MANDELA = "un-nelson-mandela-rules-A-RES-70-175-2015"
CAT = "un-convention-against-torture-1984"
MANDELA_HEADER = "Treatment of Prisoners (the Nelson Mandela Rules) A/RES/70/175"
# A page counter standing alone: "20/33" with nothing but white space around it.
BARE_COUNTER = re.compile(r"(?:^|\s)\d{1,3}/\d{1,3}(?:\s|$)")


@pytest.fixture(scope="module")
def snapshot(corpus_index: CorpusIndex) -> IndexSnapshot:
    return IndexSnapshot.open(corpus_index.index_dir)


def test_all_corpus_documents_ingested(corpus_index: CorpusIndex, snapshot: IndexSnapshot) -> None:
    pdfs = sorted(p.stem for p in corpus_index.corpus.glob("*.pdf"))
    assert not corpus_index.report.failed, [f.message for f in corpus_index.report.failed]
    assert sorted(snapshot.meta.documents) == pdfs
    assert corpus_index.report.switched
    assert corpus_index.report.embedded == len(snapshot.chunks) == corpus_index.report.total_chunks
    assert snapshot.collection().count() == len(snapshot.chunks)
    assert snapshot.embeddings().shape == (len(snapshot.chunks), snapshot.meta.dimension)
    for doc in snapshot.meta.documents.values():
        assert doc.chunks == sum(1 for c in snapshot.chunks if c.doc_id == doc.id) > 0


def test_mandela_rule_58_is_one_chunk_on_page_20(snapshot: IndexSnapshot) -> None:
    matches = [c for c in snapshot.chunks if c.doc_id == MANDELA and "Rule 58" in [r.ref for r in c.refs]]
    assert len(matches) == 1
    (chunk,) = matches
    assert chunk.ref == "Rule 58"
    assert (chunk.page_start, chunk.page_end) == (20, 20)
    assert "Prisoners shall be allowed, under necessary supervision" in chunk.text
    assert chunk.text.startswith("1. Prisoners shall be allowed")


def test_cat_article_14(snapshot: IndexSnapshot) -> None:
    matches = [c for c in snapshot.chunks if c.doc_id == CAT and c.ref == "Article 14"]
    assert len(matches) == 1
    assert "redress" in matches[0].text


def test_no_running_header_in_any_chunk(snapshot: IndexSnapshot) -> None:
    offenders = [c.id for c in snapshot.chunks if MANDELA_HEADER in c.text]
    assert offenders == []


def test_no_bare_page_counter_in_mandela_chunks(snapshot: IndexSnapshot) -> None:
    pages = snapshot.meta.documents[MANDELA].pages
    offenders = [
        (c.ref, m.group().strip())
        for c in snapshot.chunks
        if c.doc_id == MANDELA
        for m in BARE_COUNTER.finditer(c.text)
        if m.group().strip().endswith(f"/{pages}")
    ]
    assert offenders == []
    assert not any("20/33" in c.text for c in snapshot.chunks if c.doc_id == MANDELA)


def test_chunk_pages_within_document(snapshot: IndexSnapshot) -> None:
    for chunk in snapshot.chunks:
        pages = snapshot.meta.documents[chunk.doc_id].pages
        assert 1 <= chunk.page_start <= chunk.page_end <= pages, (chunk.doc_id, chunk.ref)
        assert all(chunk.page_start <= span.page <= chunk.page_end for span in chunk.pages)


def test_page_counts_match_the_manifest(corpus_index: CorpusIndex, snapshot: IndexSnapshot) -> None:
    if corpus_index.manifest is None:
        pytest.skip("no corpus/manifest.toml")
    for doc in snapshot.meta.documents.values():
        if doc.id in corpus_index.manifest and corpus_index.manifest.get(doc.id).pages:
            assert doc.pages == corpus_index.manifest.get(doc.id).pages, doc.id


def test_reingest_embeds_nothing(corpus_index: CorpusIndex, snapshot: IndexSnapshot) -> None:
    ingestor = Ingestor(corpus_index.index_dir, corpus_index.embedder, manifest=corpus_index.manifest, progress=False)
    report = ingestor.run([corpus_index.corpus])
    assert report.embedded == 0
    assert not report.switched
    assert not report.failed
    assert {f.status for f in report.files} == {"unchanged"}
    assert IndexSnapshot.open(corpus_index.index_dir).meta.generation == snapshot.meta.generation
