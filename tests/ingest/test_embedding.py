"""The two embedding backends give the same vectors; the ONNX one never imports torch to answer."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

TEXTS = [
    "Can we read a prisoner's letters to his lawyer?",
    "seg",
    "Rule 58 1. Prisoners shall be allowed, under necessary supervision, to communicate with their family. " * 20,
]


@pytest.mark.integration
def test_onnx_and_torch_vectors_match(real_embedder: Any, tmp_path: Any) -> None:
    from ingest.embedding import Embedder

    onnx = Embedder(real_embedder.model_path, backend="onnx", cache_dir=tmp_path)
    a, b = onnx.encode(TEXTS), real_embedder.encode(TEXTS)
    assert a.shape == b.shape == (3, 384)
    assert float(np.abs(a - b).max()) < 1e-4
    assert list(tmp_path.glob("*.onnx"))  # exported once into the cache folder


@pytest.mark.integration
def test_onnx_backend_loads_without_torch(real_embedder: Any, tmp_path: Any) -> None:
    from ingest.embedding import Embedder

    Embedder(real_embedder.model_path, backend="onnx", cache_dir=tmp_path).load()  # the export needs torch: here
    code = (
        "import sys; from ingest.embedding import Embedder; "
        f"e = Embedder({real_embedder.model_path!r}, backend='onnx', cache_dir={str(tmp_path)!r}); "
        "v = e.encode(['visits']); print(v.shape, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split()[-1] == "False"


@pytest.mark.integration
def test_int8_backend_is_an_approximation_of_fp32(real_embedder: Any, tmp_path: Any) -> None:
    from ingest.embedding import Embedder

    int8 = Embedder(real_embedder.model_path, backend="onnx-int8", cache_dir=tmp_path)
    a, b = int8.encode(TEXTS), real_embedder.encode(TEXTS)
    cosines = (a * b).sum(axis=1)
    assert a.shape == (3, 384) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert float(cosines.min()) > 0.85  # measured 0.91-0.99: close, but not the same vectors
    assert float(np.abs(a - b).max()) > 1e-4
    assert sorted(p.name.endswith("-int8.onnx") for p in tmp_path.glob("*.onnx")) == [False, True]


@pytest.mark.unit
def test_unknown_backend_is_one_line() -> None:
    from ingest.embedding import Embedder

    with pytest.raises(
        ValueError, match=r"^embedding backend: unknown value 'tpu' \(use 'torch', 'onnx', 'onnx-int8'\)$"
    ):
        Embedder("/models/x", backend="tpu")
