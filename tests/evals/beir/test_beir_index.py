"""The cache folder of a BEIR index: keyed by the corpus and the model's weights, not the model's folder name."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.beir.dataset import load_beir
from evals.beir.index import index_dir_for, model_fingerprint


@pytest.mark.unit
def test_cache_folder_is_keyed_by_corpus_and_model_weights(dataset_dir: Path, tmp_path: Path) -> None:
    data = load_beir(dataset_dir, "test")
    model_a, model_b = tmp_path / "a" / "model", tmp_path / "b" / "model"
    for folder, weights in ((model_a, b"weights one"), (model_b, b"weights two")):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(weights)
    first = index_dir_for(data, str(model_a), tmp_path)
    assert first == index_dir_for(data, str(model_a), tmp_path)
    assert first.parent == tmp_path and first.name.startswith("tiny-")
    # Same folder name "model", different weights: a different index.
    assert index_dir_for(data, str(model_b), tmp_path) != first
    (model_b / "model.safetensors").write_bytes(b"weights one")
    model_fingerprint.cache_clear()
    assert index_dir_for(data, str(model_b), tmp_path) == first
