"""Sentence embeddings from a local sentence-transformers model, loaded lazily.

Two backends: `torch` (sentence-transformers itself) and `onnx` (the same weights
exported once to ONNX and run with onnxruntime: about twice as fast on 2 CPU cores,
identical vectors). The export is local: nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAX_TOKENS = 256
# onnx-int8: the ONNX export with dynamically quantised int8 weights. An option only: on this
# machine's CPU it was not faster than fp32 ONNX and it moved the vectors (see README, Configuration).
BACKENDS = ("torch", "onnx", "onnx-int8")


_SAMPLE = 1 << 20  # bytes read from each end of a large model file


def weights_fingerprint(model_path: str) -> str:
    """The identity of a local model's files wherever its folder lies ("" where it is no folder).

    A fresh clone's venv holds the same packaged model at another path: the index, the ONNX export and
    the test index cache recognise it by this digest instead of re-embedding or exporting again. Small
    files are read whole; of a large one (the weights) its size and its first and last MiB, so that
    the digest costs milliseconds at every start.
    """
    folder = Path(model_path)
    if not folder.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\x1f{size}\x1f".encode())
        with path.open("rb") as handle:
            if size <= 2 * _SAMPLE:
                digest.update(handle.read())
            else:
                digest.update(handle.read(_SAMPLE))
                handle.seek(-_SAMPLE, os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


@dataclass
class PassageVectors:
    """One vector per passage, and the late-pooled vectors of its windows (see `Embedder.encode_passages`).

    `windows[offsets[i]:offsets[i + 1]]` are passage i's window vectors; a passage may have none.
    """

    vectors: np.ndarray  # (n, d) float32
    windows: np.ndarray  # (m, d) float32; float16 when memory-mapped from an index
    offsets: np.ndarray  # (n + 1,) int64

    def windows_of(self, row: int) -> np.ndarray:
        return self.windows[int(self.offsets[row]) : int(self.offsets[row + 1])]

    @classmethod
    def assemble(cls, vectors: np.ndarray, windows: Sequence[np.ndarray]) -> PassageVectors:
        """From the passage vectors and one (k_i, d) array of window vectors per passage."""
        dimension = vectors.shape[1] if vectors.ndim == 2 else 0
        offsets = np.zeros(len(windows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(w) for w in windows])
        parts = [np.asarray(w, dtype=np.float32).reshape(-1, dimension) for w in windows]
        stacked = np.vstack(parts) if parts else np.zeros((0, dimension), dtype=np.float32)
        return cls(np.asarray(vectors, dtype=np.float32), stacked, offsets)


class Embedder:
    """Encodes texts to L2-normalised float32 vectors."""

    def __init__(
        self,
        model_path: str,
        device: str = "cpu",
        batch_size: int = 32,
        backend: str = "torch",
        cache_dir: Path | str | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"embedding backend: unknown value {backend!r} (use {', '.join(map(repr, BACKENDS))})")
        self.model_path = model_path
        self.device = device
        self.batch_size = batch_size
        self.backend = backend
        self.cache_dir = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "handbook-assistant"
        self._model: Any = None
        self._tokenizer: Any = None
        self._session: Any = None
        self._dimension: int | None = None
        self._identity: str | None = None
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name or self.model_path

    @property
    def identity(self) -> str:
        """The model's files' digest (`weights_fingerprint`), the same at any path; "" for a path that is no folder."""
        if self._identity is None:
            self._identity = weights_fingerprint(self.model_path)
        return self._identity

    def load(self) -> None:
        """Load the model now (e.g. in a background thread while a UI starts)."""
        with self._lock:
            if self.backend == "torch" and self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.model_path, device=self.device)
                self._model.max_seq_length = MAX_TOKENS
                self._tokenizer = _load_tokenizer(self.model_path)  # offsets for late-pooled windows
            elif self.backend.startswith("onnx") and self._session is None:
                self._load_onnx()

    def dimension(self) -> int:
        if self._dimension is None:  # the model's own: any local sentence-transformers model can embed
            self._dimension = int(self.encode(["dimension probe"]).shape[1])
        return self._dimension

    def encode_query(self, text: str) -> np.ndarray:
        """A question's vector (this model treats questions and passages alike)."""
        return self.encode([text])[0]

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        # Sorting by length keeps padding (wasted work) small within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts: list[np.ndarray] = []
        for start in range(0, len(order), self.batch_size):
            batch = [texts[i] for i in order[start : start + self.batch_size]]
            parts.append(self._encode_batch(batch))
            if progress:
                progress(len(batch))
        out = np.vstack(parts).astype(np.float32)
        result = np.empty_like(out)
        result[order] = out
        return result

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors:
        """Passage vectors (the same as `encode`) and, from the same forward pass, one vector per span.

        A span's vector is the mean of the passage's token states inside it ("late chunking"):
        each window is read in the context of the whole passage, and costs no extra model run.
        Spans are character ranges of the text, in order. Spans past the model's 256-token window
        have no tokens and get no vector; they can only come last, so a passage's window i is
        always its span i.
        """
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(spans)} span lists")
        self.load()
        if not texts:
            return PassageVectors.assemble(np.zeros((0, self.dimension()), dtype=np.float32), [])
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[np.ndarray] = [np.zeros(0)] * len(texts)
        windows: list[np.ndarray] = [np.zeros(0)] * len(texts)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            states, offsets = self._token_states([texts[i] for i in rows])
            for row, hidden, token_offsets in zip(rows, states, offsets, strict=True):
                vectors[row] = _unit(hidden.mean(axis=0))
                windows[row] = _late_pooled(hidden, token_offsets, spans[row])
            if progress:
                progress(len(rows))
        return PassageVectors.assemble(np.stack(vectors), windows)

    def _token_states(self, batch: list[str]) -> tuple[list[np.ndarray], list[list[tuple[int, int]]]]:
        """Each text's final token states (padding removed) and their character offsets."""
        encodings = self._tokenizer.encode_batch(batch)
        lengths = [sum(e.attention_mask) for e in encodings]
        offsets = [list(e.offsets[:n]) for e, n in zip(encodings, lengths, strict=True)]
        if self.backend == "torch":
            states = self._model.encode(
                batch, batch_size=len(batch), output_value="token_embeddings", show_progress_bar=False
            )
            hidden = [
                np.asarray(s.float().cpu().numpy(), dtype=np.float32)[:n] for s, n in zip(states, lengths, strict=True)
            ]
            return hidden, offsets
        padded = self._session.run(None, _feeds(encodings))[0]
        return [padded[i, :n] for i, n in enumerate(lengths)], offsets

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        if self.backend == "torch":
            vectors = self._model.encode(
                batch, batch_size=len(batch), normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
            )
            return np.asarray(vectors, dtype=np.float32)
        states, _ = self._token_states(batch)
        return np.stack([_unit(hidden.mean(axis=0)) for hidden in states])

    def _load_onnx(self) -> None:
        import onnxruntime as ort

        onnx_path = self._onnx_file()
        if not onnx_path.exists():
            self._export_onnx(onnx_path)
        if self.backend == "onnx-int8":
            onnx_path = self._quantized(onnx_path)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = _load_tokenizer(self.model_path)

    def _quantized(self, fp32_path: Path) -> Path:
        target = fp32_path.with_name(fp32_path.stem + "-int8.onnx")
        if not target.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            log.info("quantising %s to int8 at %s (once)", fp32_path.name, target)
            tmp = _private_tmp(target)
            try:
                quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QInt8)
                tmp.replace(target)
            finally:
                tmp.unlink(missing_ok=True)
        return target

    def _onnx_file(self) -> Path:
        # By the files, not the path: a fresh clone (another venv) reuses this machine's export.
        stamp = f"files:{self.identity}" if self.identity else self.model_path
        digest = hashlib.sha256(stamp.encode()).hexdigest()[:12]
        return self.cache_dir / f"{self.model_name}-{digest}.onnx"

    def _export_onnx(self, target: Path) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        log.info("exporting %s to ONNX at %s (once)", self.model_path, target)
        tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        model = AutoModel.from_pretrained(self.model_path).eval()

        class _LastHidden(torch.nn.Module):
            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
                return out.last_hidden_state

        sample = tokenizer(
            ["a short sentence", "a slightly longer example sentence"], padding=True, return_tensors="pt"
        )
        names = ["input_ids", "attention_mask", "token_type_ids"]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _private_tmp(target)
        # The tracer's and the exporter's warnings (harmless here: the axes are dynamic, no index is
        # negative) would fill a newcomer's first-run terminal: they go to the log file instead.
        with warnings_to_log(log_file(self.cache_dir, "onnx-export"), f"ONNX export of {self.model_path}"):
            torch.onnx.export(
                _LastHidden(model),
                tuple(sample[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        try:
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)


def _private_tmp(target: Path) -> Path:
    """This thread's temporary file for `target`: two processes or threads converting at once (the test
    workers, two servers on a fresh machine) each write their own and rename it into place; the last rename
    wins, and both files are whole. One shared name let the first rename take the other's file away."""
    return target.with_name(f"{target.stem}.{os.getpid()}.{threading.get_ident()}.tmp")


def log_file(cache_dir: Path, name: str) -> Path:
    """`<cache>/logs/<name>.log`: where the one-time model conversions write what they have to say."""
    return Path(cache_dir) / "logs" / f"{name}.log"


@contextlib.contextmanager
def warnings_to_log(path: Path, what: str) -> Iterator[None]:
    """Python warnings raised inside (torch's TracerWarning, the ONNX exporter's UserWarning) are
    appended to `path` instead of being printed. Not thread-safe, like `warnings.catch_warnings`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            lines = [f"{time.strftime('%Y-%m-%d %H:%M:%S')} {what}: {len(caught)} warning(s)\n"]
            lines += [warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line) for w in caught]
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as fh:
                    fh.writelines(lines)
                log.info("%s: %d warning(s) written to %s", what, len(caught), path)
            except OSError as exc:
                log.info("%s: %d warning(s), not written to %s (%s)", what, len(caught), path, exc.strerror)


def _load_tokenizer(model_path: str) -> Any:
    """The model's own tokenizer.json through the `tokenizers` library: the same tokens as
    transformers' tokenizer, without importing torch (about 8 s of a cold start)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    return tokenizer


def _feeds(encodings: Sequence[Any]) -> dict[str, np.ndarray]:
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def _late_pooled(
    hidden: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Unit mean of the token states that lie inside each span (special tokens have empty offsets)."""
    starts = np.array([a for a, _ in offsets], dtype=np.int64)
    ends = np.array([b for _, b in offsets], dtype=np.int64)
    real = ends > starts
    out = []
    for a, b in spans:
        inside = real & (starts >= a) & (ends <= b)
        if inside.any():
            out.append(_unit(hidden[inside].mean(axis=0)))
    return np.stack(out) if out else np.zeros((0, hidden.shape[1]), dtype=np.float32)
