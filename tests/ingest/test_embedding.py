"""The two embedding backends give the same vectors; the ONNX one never imports torch to answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
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
def test_two_conversions_at_once_both_succeed(
    real_embedder: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two test workers on a fresh machine exported MiniLM into one cache at once: one rename took the
    other's temporary file away (FileNotFoundError). Each now writes its own and renames it into place."""
    import threading
    import time

    import torch

    from ingest.embedding import Embedder

    def slow_export(model: Any, args: Any, path: str, **_: Any) -> None:
        time.sleep(0.5)  # both exports are under way before either renames
        Path(path).write_bytes(b"onnx")

    monkeypatch.setattr(torch.onnx, "export", slow_export)
    target = tmp_path / "model.onnx"
    embedders = [Embedder(real_embedder.model_path, backend="onnx", cache_dir=tmp_path) for _ in range(2)]
    errors: list[BaseException] = []

    def export(embedder: Any) -> None:
        try:
            embedder._export_onnx(target)
        except BaseException as exc:  # the failure this test is about, reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=export, args=(e,)) for e in embedders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and target.read_bytes() == b"onnx"
    assert not list(tmp_path.glob("*.tmp"))


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


PASSAGE = (
    "Rule 58 | Contact with the outside world\n"
    "Prisoners shall be allowed to communicate with their family and friends at regular intervals. "
    "Visits take place in conditions that respect privacy. "
    "Legal advisers may visit without delay, out of the hearing of staff."
)


def _two_sentence_windows(text: str) -> list[tuple[int, int]]:
    first = text.index("Prisoners")
    second = text.index("Visits")
    third = text.index("Legal")
    # The last span lies past the text, as a window past the model's 256 tokens would: no tokens.
    return [(first, third - 1), (second, len(text)), (len(text) + 5, len(text) + 50)]


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_passage_vectors_and_late_pooled_windows(real_embedder: Any, tmp_path: Any, backend: str) -> None:
    from ingest.embedding import Embedder

    embedder = Embedder(real_embedder.model_path, backend=backend, cache_dir=tmp_path)
    texts = [PASSAGE, "seg"]
    result = embedder.encode_passages(texts, [_two_sentence_windows(PASSAGE), []])
    assert float(np.abs(result.vectors - real_embedder.encode(texts)).max()) < 1e-4  # the same passage vectors
    assert list(result.offsets) == [0, 2, 2]  # the span without tokens gets no vector
    windows = result.windows_of(0)
    assert windows.shape == (2, 384) and np.allclose(np.linalg.norm(windows, axis=1), 1.0, atol=1e-5)
    # Each window reads its sentences in the context of the passage: close to, not equal to, the sentences alone.
    alone = real_embedder.encode([PASSAGE[a:b] for a, b in _two_sentence_windows(PASSAGE)[:2]])
    cosines = (windows * alone).sum(axis=1)
    assert float(cosines.min()) > 0.6 and float(np.abs(windows - alone).max()) > 1e-3
    legal = real_embedder.encode(["Can a lawyer visit out of the hearing of staff?"])[0]
    assert float(windows[1] @ legal) > float(result.vectors[0] @ legal)  # the window answers more sharply


@pytest.mark.unit
def test_passage_spans_must_match_the_texts() -> None:
    from ingest.embedding import Embedder

    with pytest.raises(ValueError, match="2 texts but 1 span lists"):
        Embedder("/no/such/model").encode_passages(["a", "b"], [[]])


@pytest.mark.unit
def test_the_files_digest_is_the_same_at_any_path_and_changes_with_the_files(tmp_path: Path) -> None:
    from ingest.embedding import weights_fingerprint

    def model(folder: Path, weights: bytes) -> str:
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"hidden_size": 384}')
        (folder / "model.safetensors").write_bytes(weights)
        return str(folder)

    weights = bytes(range(256)) * 20_000  # 5 MB: its first and last MiB are read
    a = weights_fingerprint(model(tmp_path / "clone-a" / "model", weights))
    assert a and a == weights_fingerprint(model(tmp_path / "clone-b" / "model", weights))
    changed = weights[:-1] + b"\x00"  # its last byte
    assert weights_fingerprint(model(tmp_path / "clone-c" / "model", changed)) != a
    assert weights_fingerprint(model(tmp_path / "clone-d" / "model", weights + b"\x00")) != a  # another size
    assert weights_fingerprint(str(tmp_path / "no-such-folder")) == ""
