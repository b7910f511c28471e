"""The records that flow through the retrieval stages: the query, each source's scores, the ranked hits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.records import Chunk


@dataclass(frozen=True)
class SearchFilter:
    """Restricts a search to some documents or document kinds; empty means everything."""

    doc_ids: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    def allowed_docs(self, documents: dict[str, str]) -> set[str] | None:
        """Doc ids allowed by this filter, given {doc id: kind}; None when unrestricted."""
        if not self.doc_ids and not self.kinds:
            return None
        allowed = set(documents)
        if self.doc_ids:
            allowed &= set(self.doc_ids)
        if self.kinds:
            allowed &= {d for d, kind in documents.items() if kind in self.kinds}
        return allowed


@dataclass(frozen=True)
class Query:
    """A question as the sources read it."""

    text: str  # as asked: English questions reach the dense models so (they understand paraphrase)
    expanded: str  # with the glossary's terms added: BM25 reads it, and dense models in `expand_dense` languages
    lang: str  # "en", "ru" or "kk"
    allowed: np.ndarray | None = None  # bool mask over the snapshot's chunks; None: every chunk


RowScorer = Callable[[Sequence[int]], "tuple[np.ndarray, list[int | None]]"]


@dataclass
class SourceRun:
    """One candidate source's answer to a query."""

    name: str
    candidates: list[tuple[int, float]]  # (chunk row, score), best first
    score_rows: RowScorer  # this source's score (and best window) for any rows, e.g. another source's candidates
    windows: dict[int, int] = field(default_factory=dict)  # candidate row -> its best window
    best: float = 0.0  # the best candidate's score: the evidence strength of a dense source
    vector: np.ndarray | None = None  # a dense source's query vector (the lead scores sentences with it)


@dataclass
class ScoredChunk:
    chunk: Chunk
    score: float  # fused score (weighted sum of normalised source scores, or reciprocal rank fusion)
    dense: float = 0.0  # the evidence dense model's score (cosine, mixed with its best window's)
    lexical: float = 0.0  # BM25 score
    dense_rank: int | None = None  # rank among the evidence dense model's candidates
    lexical_rank: int | None = None
    window: int | None = None  # the chunk's best-matching window (sentences window, window + 1), if scored
    scores: dict[str, float] = field(default_factory=dict)  # every source's score, by source name
    row: int = -1  # the chunk's row in the snapshot: the tie-breaker that keeps rankings deterministic


@dataclass
class SearchResult:
    query: str
    expanded_query: str
    hits: list[ScoredChunk]
    timings_ms: dict[str, float] = field(default_factory=dict)
    best_dense: float = 0.0  # best score of the evidence dense model over its candidates: the evidence strength
    lang: str = "en"
    best_scores: dict[str, float] = field(default_factory=dict)  # each dense source's best candidate score
    sources: tuple[str, ...] = ()  # the sources that ran
    query_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # each dense source's query vector
