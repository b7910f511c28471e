"""Texts and vectors for a GPU machine (`python -m evals.scale texts|embed`), used by an ingest of a tiny corpus."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import evals.scale.embed as embed
from evals.scale.vectors import TableEmbedder
from evals.synthetic_corpus import generate_corpus
from ingest.corpus_manifest import Manifest

if TYPE_CHECKING:
    from fakes import FakeEmbedder  # annotations only: fixtures supply the objects


@pytest.mark.integration
def test_tiny_corpus_ingests_and_the_retriever_finds_every_needle(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.retrieval import HybridRetriever
    from ingest.index_store import IndexSnapshot
    from ingest.pipeline import Ingestor

    info = generate_corpus(tmp_path / "corpus", 300)
    # The vectors `scale embed` would compute (here with the fake model) cover every chunk ingest embeds.
    monkeypatch.setattr(embed, "Embedder", lambda model, device, batch_size, backend: fake_embedder)
    texts = tmp_path / "texts.jsonl.gz"  # as for a GPU machine without the ingest package's dependencies
    embed.write_texts(texts, embed.corpus_texts([300]), embed.corpus_meta(7))
    meta, groups = embed.read_texts(texts)
    assert meta["seed"] == 7 and [g.size for g in groups] == [300]
    table = embed.embed_vectors(groups, fake_embedder.model_path, tmp_path / "v.npz", echo=lambda _: None)
    embedder = TableEmbedder(fake_embedder.model_path, table, hash_misses=True)
    report = Ingestor(tmp_path / "index", embedder, manifest=Manifest.load(Path(info.manifest)), progress=False).run(
        [Path(info.pdf_dir)]
    )
    assert report.switched and not report.failed
    assert embedder.misses == 0 and embedder.hits == report.total_chunks

    snapshot = IndexSnapshot.open(tmp_path / "index")
    retriever = HybridRetriever.build(snapshot, fake_embedder)  # type: ignore[arg-type]
    for needle in info.needles:
        top = retriever.search(needle.question, k=3).hits[0].chunk
        assert (top.doc_id, top.ref) == (needle.doc_id, needle.ref), needle.key
        assert needle.phrase.lower() in top.text.lower()
