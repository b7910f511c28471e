"""Fusers: the candidate sources' scores -> one score per chunk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from assistant.retrieval.records import ScoredChunk, SourceRun
from ingest.records import Chunk


class Fuser(Protocol):
    # What one unit of a ranker's bonus (the kind prior) is worth on this fuser's scale.
    prior_scale: float

    def fuse(
        self, runs: Sequence[SourceRun], weights: Mapping[str, float], chunks: Sequence[Chunk]
    ) -> list[ScoredChunk]: ...


def _hits(runs: Sequence[SourceRun], chunks: Sequence[Chunk]) -> dict[int, ScoredChunk]:
    hits: dict[int, ScoredChunk] = {}
    for run in runs:
        for row, score in run.candidates:
            hit = hits.setdefault(row, ScoredChunk(chunks[row], 0.0, row=row))
            hit.scores[run.name] = score
            if row in run.windows and hit.window is None:
                hit.window = run.windows[row]
    return hits


class ConvexFuser:
    """`sum_s w_s * norm(score_s) / sum_s w_s` over the union of every source's candidates.

    Normalised per query ("minmax" to [0, 1], or "zscore"). A candidate found by one source
    still gets the other sources' real scores (its cosine from the stored vectors, its BM25
    score from the full score array), not a guessed zero. Unlike RRF it keeps how far apart the
    scores are. Chosen on BEIR SciFact's train split (nDCG@10 0.732 against 0.695 for RRF).
    """

    prior_scale = 1.0

    def __init__(self, normalization: str = "minmax") -> None:
        if normalization not in ("minmax", "zscore"):
            raise ValueError(f"normalization: unknown value {normalization!r} (use 'minmax' or 'zscore')")
        self.normalization = normalization

    def fuse(
        self, runs: Sequence[SourceRun], weights: Mapping[str, float], chunks: Sequence[Chunk]
    ) -> list[ScoredChunk]:
        hits = _hits(runs, chunks)
        if not hits:
            return []
        rows = sorted(hits)
        total = sum(weights.get(run.name, 0.0) for run in runs) or 1.0
        for run in runs:
            missing = [row for row in rows if run.name not in hits[row].scores]
            if missing:
                scores, windows = run.score_rows(missing)
                for row, score, window in zip(missing, scores, windows, strict=True):
                    hits[row].scores[run.name] = float(score)
                    if window is not None and hits[row].window is None:
                        hits[row].window = window
            normalised = normalise(np.asarray([hits[row].scores[run.name] for row in rows]), self.normalization)
            weight = weights.get(run.name, 0.0) / total
            for row, value in zip(rows, normalised, strict=True):
                hits[row].score += weight * float(value)
        return list(hits.values())


class RrfFuser:
    """Weighted reciprocal rank fusion: `sum_s w_s / (k + rank_s + 1)`; needs no score calibration."""

    def __init__(self, k: int = 20) -> None:
        self.k = k
        self.prior_scale = 1.0 / k

    def fuse(
        self, runs: Sequence[SourceRun], weights: Mapping[str, float], chunks: Sequence[Chunk]
    ) -> list[ScoredChunk]:
        hits = _hits(runs, chunks)
        for run in runs:
            for rank, (row, _) in enumerate(run.candidates):
                hits[row].score += weights.get(run.name, 0.0) / (self.k + rank + 1)
        return list(hits.values())


def normalise(values: np.ndarray, how: str) -> np.ndarray:
    """Per-query rescaling so that cosines and BM25 scores can be added: min-max to [0, 1], or z-scores."""
    if how == "zscore":
        spread = float(values.std())
        return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.ones_like(values)
