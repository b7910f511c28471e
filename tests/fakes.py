"""Test doubles shared by the test modules (a module of its own: `conftest` names are ambiguous
when several conftest.py files exist)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ingest.embedding import PassageVectors

FAKE_DIMENSION = 384
_TOKEN = re.compile(r"\w+")


class FakeEmbedder:
    """Stands in for `ingest.embedding.Embedder` without loading a model.

    Each text becomes the normalised sum of one pseudo-random signed basis vector per
    token (hashed with sha256, so the same text gives the same vector in every process).
    `calls` and `embedded` count how often `encode` ran and how many texts it embedded.
    """

    def __init__(self, model_path: str = "/fake/models/fake-hash-embedder", dimension: int = FAKE_DIMENSION) -> None:
        self.model_path = model_path
        self.device = "cpu"
        self.batch_size = 32
        self.backend = "fake"
        self.dimension_ = dimension
        self.calls = 0
        self.embedded = 0
        self.texts: list[str] = []

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name or self.model_path

    def load(self) -> None:
        return None

    def dimension(self) -> int:
        return self.dimension_

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.calls += 1
        self.embedded += len(texts)
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dimension_), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()) or ["<empty>"]:
                digest = hashlib.sha256(token.encode("utf-8")).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimension_
                out[row, index] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        if progress is not None and len(texts):
            progress(len(texts))
        return out

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors:
        """Like `Embedder.encode_passages`; a window's vector is the hash vector of its own text."""
        vectors = self.encode(texts, progress)
        windows = [
            self._vectors([text[a:b] for a, b in text_spans]) for text, text_spans in zip(texts, spans, strict=True)
        ]
        return PassageVectors.assemble(vectors, windows)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        calls, embedded, seen = self.calls, self.embedded, len(self.texts)
        out = self.encode(texts)
        self.calls, self.embedded = calls, embedded  # windows are not separate model runs
        del self.texts[seen:]
        return out

    def reset_counts(self) -> None:
        self.calls = 0
        self.embedded = 0
        self.texts = []
