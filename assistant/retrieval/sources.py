"""Candidate sources: each turns a query into scored candidate chunks, and can score any other chunk."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from assistant.retrieval.records import Query, SourceRun
from ingest.embedding import PassageVectors
from ingest.encoders import TextEncoder
from ingest.lexical import lexical_tokens

log = logging.getLogger(__name__)


class CandidateSource(Protocol):
    name: str

    def run(self, query: Query) -> SourceRun: ...


def top_rows(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The n best rows, best first; equal scores in row order, so that the ranking is deterministic."""
    n = min(n, len(scores))
    if n <= 0:
        return []
    threshold = -np.partition(-scores, n - 1)[n - 1]  # the n-th best score
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)[: n - len(above)]  # ties at the cut: the first rows
    top = np.concatenate([above, tied])
    top = top[np.lexsort((top, -scores[top]))]
    return [(int(row), float(scores[row])) for row in top]


class DenseSource:
    """Cosine search over one model's stored chunk vectors.

    Exact (every chunk scored with one matrix product) up to `exact_search_limit` chunks: the
    same ranking after every re-ingest, where an approximate index (Chroma's HNSW) builds a
    different graph each time. Above it, `ann` (a Chroma query) finds the candidates.
    With `window_weight` > 0 and window vectors stored, a candidate's score is
    `(1 - w) * its cosine + w * the best cosine of its two-sentence windows` (dev set, MiniLM:
    hit@1 0.548 -> 0.591, MRR@10 0.676 -> 0.704 at 0.5; SciFact unchanged).
    """

    def __init__(
        self,
        name: str,
        encoder: TextEncoder,
        vectors: Callable[[], PassageVectors],
        candidate_k: int = 40,
        window_weight: float = 0.0,
        exact_search_limit: int = 200_000,
        expanded_for: Iterable[str] = (),
        ann: Callable[[np.ndarray, int, Query], list[tuple[int, float]]] | None = None,
    ) -> None:
        self.name = name
        self.encoder = encoder
        self._load_vectors = vectors
        self._vectors: PassageVectors | None = None
        self.candidate_k = candidate_k
        self.window_weight = window_weight
        self.exact_search_limit = exact_search_limit
        self.expanded_for = frozenset(expanded_for)  # question languages read with the glossary's terms
        self.ann = ann

    def vectors(self) -> PassageVectors:
        if self._vectors is None:
            self._vectors = self._load_vectors()
        return self._vectors

    def run(self, query: Query) -> SourceRun:
        text = query.expanded if query.lang in self.expanded_for else query.text
        vector = np.asarray(self.encoder.encode_query(text), dtype=np.float32)
        stored = self.vectors()
        if len(stored.vectors) <= self.exact_search_limit or self.ann is None:
            cosines = stored.vectors @ vector
            if query.allowed is not None:
                cosines = np.where(query.allowed, cosines, -np.inf)
            found = [(row, score) for row, score in top_rows(cosines, self.candidate_k) if np.isfinite(score)]
        else:
            found = self.ann(vector, self.candidate_k, query)

        def score_rows(rows: Sequence[int]) -> tuple[np.ndarray, list[int | None]]:
            return self._scores(vector, list(rows))

        rows = [row for row, _ in found]
        scores, windows = score_rows(rows)
        rescored = sorted(zip(rows, (float(x) for x in scores), strict=True), key=lambda pair: (-pair[1], pair[0]))
        best_windows = {row: w for row, w in zip(rows, windows, strict=True) if w is not None}
        best = rescored[0][1] if rescored else 0.0
        return SourceRun(self.name, rescored, score_rows, best_windows, best=best, vector=vector)

    def _scores(self, vector: np.ndarray, rows: list[int]) -> tuple[np.ndarray, list[int | None]]:
        stored = self.vectors()
        scores = stored.vectors[rows] @ vector if rows else np.zeros(0, dtype=np.float32)
        best_windows: list[int | None] = [None] * len(rows)
        if not self.window_weight or not len(stored.windows):
            return scores, best_windows
        for k, row in enumerate(rows):
            windows = stored.windows_of(row)
            if len(windows):
                similarities = np.asarray(windows, dtype=np.float32) @ vector
                best_windows[k] = int(similarities.argmax())
                best = float(similarities[best_windows[k]])
                scores[k] = (1 - self.window_weight) * scores[k] + self.window_weight * best
        return scores, best_windows


class LexicalSource:
    """BM25 (bm25s) over the chunks' stemmed words, on the glossary-expanded question.

    Its tokens are English words only: a Russian or Kazakh question reaches it only through the
    English terms that the glossary adds for its phrases.
    """

    name = "bm25"

    def __init__(self, bm25: Callable[[], Any], candidate_k: int = 40) -> None:
        self._load = bm25
        self._bm25: Any = None
        self.candidate_k = candidate_k

    def index(self) -> Any:
        if self._bm25 is None:
            self._bm25 = self._load()
        return self._bm25

    def scores(self, text: str, allowed: np.ndarray | None) -> np.ndarray | None:
        """BM25 score of every chunk (-1 outside the filter); None when the text has no searchable word."""
        tokens = lexical_tokens(text)
        bm25 = self.index()
        if not tokens:
            return None
        scores = np.asarray(bm25.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            scores = np.where(allowed, scores, np.float32(-1.0))
        return scores

    def run(self, query: Query) -> SourceRun:
        scores = self.scores(query.expanded, query.allowed)

        def score_rows(rows: Sequence[int]) -> tuple[np.ndarray, list[int | None]]:
            if scores is None:
                return np.zeros(len(rows), dtype=np.float32), [None] * len(rows)
            return np.maximum(scores[list(rows)], 0.0), [None] * len(rows)

        found = [] if scores is None else [(r, s) for r, s in top_rows(scores, self.candidate_k) if s > 0]
        return SourceRun(self.name, found, score_rows, best=found[0][1] if found else 0.0)
