"""Chunk vectors looked up by the sha256 of their text (int8 with a per-vector scale), and the Embedder
that takes them from such a table: `handbook scale --vectors FILE` embeds only what the table lacks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.embedding import Embedder, PassageVectors
from ingest.encoders import EMBEDDING_SPECS, PRIMARY_MODEL

KEY_BYTES = 16


def text_key(text: str) -> bytes:
    """The lookup key of an embedding text: the first 16 bytes of its sha256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


@dataclass
class VectorTable:
    """Unit vectors stored as int8 with one float32 scale per vector (a quarter of float32's size)."""

    keys: np.ndarray  # (n, 16) uint8
    q: np.ndarray  # (n, d) int8
    scale: np.ndarray  # (n,) float32
    meta: dict[str, Any] = field(default_factory=dict)
    _rows: dict[bytes, int] | None = None

    @classmethod
    def from_vectors(
        cls, keys: Sequence[bytes], vectors: np.ndarray, meta: dict[str, Any] | None = None
    ) -> VectorTable:
        vectors = np.asarray(vectors, dtype=np.float32)
        peak = np.abs(vectors).max(axis=1)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
        raw = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)
        return cls(raw.copy(), q, scale, dict(meta or {}))

    @classmethod
    def load(cls, path: Path) -> VectorTable:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
            return cls(data["keys"], data["q"], data["scale"], meta)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, keys=self.keys, q=self.q, scale=self.scale, meta=np.array(json.dumps(self.meta)))
        tmp.replace(path)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def dimension(self) -> int:
        return int(self.q.shape[1])

    def get(self, key: bytes) -> np.ndarray | None:
        if self._rows is None:
            self._rows = {row.tobytes(): i for i, row in enumerate(self.keys)}
        i = self._rows.get(key)
        if i is None:
            return None
        vector = self.q[i].astype(np.float32) * self.scale[i]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def merged(self, other: VectorTable) -> VectorTable:
        seen = {row.tobytes() for row in self.keys}
        extra = np.asarray([i for i, row in enumerate(other.keys) if row.tobytes() not in seen], dtype=np.int64)
        if not len(extra):
            return self
        return VectorTable(
            np.vstack([self.keys, other.keys[extra]]),
            np.vstack([self.q, other.q[extra]]),
            np.concatenate([self.scale, other.scale[extra]]),
            {**other.meta, **self.meta},
        )


def hash_vectors(texts: Sequence[str], dimension: int | None = None) -> np.ndarray:
    """Token-hash unit vectors (as tests/fakes.py): cheap stand-ins for latency and memory runs."""
    import re

    dimension = dimension or EMBEDDING_SPECS[PRIMARY_MODEL].dimension
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for row, text in enumerate(texts):
        for token in re.findall(r"\w+", text.lower()) or ["<empty>"]:
            digest = hashlib.sha256(token.encode("utf-8")).digest()
            out[row, int.from_bytes(digest[:4], "little") % dimension] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(out[row]))
        out[row] = out[row] / norm if norm else np.eye(1, dimension, dtype=np.float32)[0]
    return out


class TableEmbedder(Embedder):
    """An Embedder that takes vectors from a VectorTable by text hash and embeds only the misses.

    With `hash_misses`, misses get token-hash vectors instead of the model's (no model is loaded).
    `model_path` stays the real model's, so the index records the model that answers queries.
    """

    def __init__(
        self,
        model_path: str,
        table: VectorTable | None,
        hash_misses: bool = False,
        device: str = "cpu",
        batch_size: int = 32,
        backend: str = "torch",
    ) -> None:
        super().__init__(model_path, device, batch_size, backend)
        self.table = table
        self.hash_misses = hash_misses
        self.hits = 0
        self.misses = 0

    def load(self) -> None:
        if not self.hash_misses:
            super().load()

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors:
        """The table's passage vectors, without windows: a table holds one vector per text."""
        return PassageVectors.assemble(self.encode(texts, progress), [np.zeros((0, 1))] * len(texts))

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            dimension = self.table.dimension if self.table else EMBEDDING_SPECS[PRIMARY_MODEL].dimension
            return np.zeros((0, dimension), dtype=np.float32)
        found: dict[int, np.ndarray] = {}
        if self.table is not None:
            for i, text in enumerate(texts):
                vector = self.table.get(text_key(text))
                if vector is not None:
                    found[i] = vector
        missing = [i for i in range(len(texts)) if i not in found]
        self.hits += len(found)
        self.misses += len(missing)
        if progress and found:
            progress(len(found))
        fresh = np.zeros((0, 0), dtype=np.float32)
        if missing:
            batch = [texts[i] for i in missing]
            if self.hash_misses:
                fresh = hash_vectors(batch)
                if progress:
                    progress(len(batch))
            else:
                fresh = super().encode(batch, progress=progress)
        dimension = fresh.shape[1] if missing else next(iter(found.values())).shape[0]
        out = np.zeros((len(texts), dimension), dtype=np.float32)
        for i, vector in found.items():
            out[i] = vector
        for row, i in enumerate(missing):
            out[i] = fresh[row]
        return out
