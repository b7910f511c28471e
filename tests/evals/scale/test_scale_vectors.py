"""The vector table of `handbook scale --vectors` and the Embedder that reads it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from evals.scale.vectors import TableEmbedder, VectorTable, hash_vectors, text_key

if TYPE_CHECKING:
    from fakes import FakeEmbedder  # annotations only: fixtures supply the objects


@pytest.mark.unit
def test_vector_table_round_trip_is_close(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    texts = [f"passage number {i} about visits and letters" for i in range(50)]
    vectors = fake_embedder.encode(texts)
    table = VectorTable.from_vectors([text_key(t) for t in texts], vectors, {"model": "fake"})
    path = tmp_path / "vectors.npz"
    table.save(path)
    loaded = VectorTable.load(path)
    assert len(loaded) == 50 and loaded.meta["model"] == "fake" and loaded.q.dtype == np.int8
    for text, vector in zip(texts, vectors, strict=True):
        got = loaded.get(text_key(text))
        assert got is not None and float(got @ vector) > 0.999
    assert loaded.get(text_key("not in the table")) is None
    merged = loaded.merged(VectorTable.from_vectors([text_key("extra")], fake_embedder.encode(["extra"])))
    assert len(merged) == 51


@pytest.mark.unit
def test_table_embedder_uses_the_table_and_fills_misses() -> None:
    known = ["first passage", "second passage"]
    table = VectorTable.from_vectors([text_key(t) for t in known], hash_vectors(known))
    embedder = TableEmbedder("/models/real", table, hash_misses=True)
    out = embedder.encode([known[1], "a text not in the table", known[0]])
    assert (embedder.hits, embedder.misses) == (2, 1)
    assert out.shape == (3, 384)
    assert float(out[0] @ hash_vectors([known[1]])[0]) > 0.999
    assert float(out[1] @ hash_vectors(["a text not in the table"])[0]) > 0.999
    assert embedder.model_path == "/models/real"  # the index records the model that embeds questions
