"""Hybrid retrieval: dense (Chroma) and lexical (bm25s) candidates fused by reciprocal rank or by normalised scores."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.glossary import Glossary
from ingest.embedding import Embedder, PassageVectors
from ingest.index_store import IndexSnapshot
from ingest.lexical import lexical_tokens
from ingest.records import Chunk

log = logging.getLogger(__name__)


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


@dataclass
class ScoredChunk:
    chunk: Chunk
    score: float  # fused score (reciprocal rank fusion, or the convex combination of normalised scores)
    dense: float = 0.0  # cosine similarity to the question, 0 when not among dense candidates (rrf fusion)
    lexical: float = 0.0  # BM25 score, 0 when not among lexical candidates (rrf fusion)
    dense_rank: int | None = None
    lexical_rank: int | None = None
    window: int | None = None  # the chunk's best-matching window (sentences window, window + 1), if scored


@dataclass
class SearchResult:
    query: str
    expanded_query: str
    hits: list[ScoredChunk]
    timings_ms: dict[str, float] = field(default_factory=dict)
    best_dense: float = 0.0  # best cosine over all dense candidates: the evidence strength


DEFAULT_KIND_PRIOR = {"binding-standard": 1.0, "policy": 0.8, "guidance": 0.8, "report": 0.0}
FUSIONS = ("rrf", "convex")
NORMALIZATIONS = ("minmax", "zscore")


class HybridRetriever:
    """Searches one index snapshot.

    The default, `fusion="convex"`, scores every candidate by
    `alpha * norm(cosine) + (1 - alpha) * norm(BM25)`, normalised per query over the union
    of both candidate lists (`normalization` "minmax" or "zscore"). A candidate found by
    one retriever only still gets the other retriever's real score (its cosine from the
    stored embeddings, its BM25 score from the full score array), not a guessed zero.
    Unlike RRF it keeps how far apart the scores are, not just their order. Chosen on
    BEIR SciFact's train split (nDCG@10 0.732 against 0.695 for RRF; test 0.733), it also
    did better on the handbook dev set (hit@5 0.861 / MRR 0.676 against 0.843 / 0.654).

    `fusion="rrf"`: weighted reciprocal rank fusion, which needs no score calibration
    and lets lexical evidence count less (`lexical_weight`).
    """

    def __init__(
        self,
        snapshot: IndexSnapshot,
        embedder: Embedder,
        glossary: Glossary | None = None,
        candidate_k: int = 40,
        rrf_k: int = 20,
        dense_weight: float = 1.0,
        lexical_weight: float = 0.5,
        kind_prior: dict[str, float] | None = None,
        prior_weight: float = 0.2,
        fusion: str = "convex",
        alpha: float = 0.5,
        normalization: str = "minmax",
        window_weight: float = 0.5,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"fusion: unknown value {fusion!r} (use 'rrf' or 'convex')")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization: unknown value {normalization!r} (use 'minmax' or 'zscore')")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha: {alpha} is outside [0, 1]")
        if not 0.0 <= window_weight <= 1.0:
            raise ValueError(f"window_weight: {window_weight} is outside [0, 1]")
        self.snapshot = snapshot
        self.embedder = embedder
        self.glossary = glossary
        self.candidate_k = candidate_k
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight
        self.kind_prior = DEFAULT_KIND_PRIOR if kind_prior is None else kind_prior
        self.prior_weight = prior_weight
        self.fusion = fusion
        self.alpha = alpha
        self.normalization = normalization
        self.window_weight = window_weight
        self._bm25: Any = None
        self._vectors: PassageVectors | None = None
        self._collection: Any = None
        self._idf: dict[str, float] | None = None
        self._row_of = {chunk.id: i for i, chunk in enumerate(snapshot.chunks)}
        rows: dict[str, list[int]] = {}
        for i, chunk in enumerate(snapshot.chunks):
            rows.setdefault(chunk.doc_id, []).append(i)
        self._doc_rows = {doc: np.asarray(r, dtype=np.int64) for doc, r in rows.items()}
        self._kinds = {doc_id: info.kind for doc_id, info in snapshot.meta.documents.items()}

    def warm_up(self) -> None:
        """Load the model and open the indexes now rather than on the first question."""
        self.embedder.load()
        self._lexical_index()
        self._dense_collection()
        self.idf()

    def _lexical_index(self) -> Any:
        if self._bm25 is None:
            self._bm25 = self.snapshot.bm25()
        return self._bm25

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of every indexed token, read off the BM25 index."""
        if self._idf is None:
            bm25 = self._lexical_index()
            indptr = np.asarray(bm25.scores["indptr"])
            n_docs = float(bm25.scores["num_docs"])
            df = np.diff(indptr)
            self._idf = {
                token: float(np.log(1 + (n_docs - df[i] + 0.5) / (df[i] + 0.5)))
                for token, i in bm25.vocab_dict.items()
                if i < len(df)
            }
        return self._idf

    def _dense_collection(self) -> Any:
        if self._collection is None:
            self._collection = self.snapshot.collection()
        return self._collection

    def search(self, query: str, k: int = 5, search_filter: SearchFilter | None = None) -> SearchResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        expanded = self.glossary.expand_query(query) if self.glossary is not None else query
        allowed = (search_filter or SearchFilter()).allowed_docs(self._kinds)
        timings["expand"] = _ms(started)
        if allowed is not None and not allowed:
            return SearchResult(query, expanded, [], timings)

        t = time.perf_counter()
        # The embedding model understands paraphrase by itself; the glossary's formal terms
        # help BM25, which only matches words (measured on the dev set: dense on the plain
        # question is better, lexical on the expanded one is better).
        vector = np.asarray(self.embedder.encode([query])[0], dtype=np.float32)
        dense, windows = self._with_windows(vector, self._dense(vector, allowed))
        timings["dense"] = _ms(t)
        t = time.perf_counter()
        bm25_scores = self._lexical_scores(expanded, allowed)
        lexical = self._top_lexical(bm25_scores)
        timings["lexical"] = _ms(t)

        if self.fusion == "convex":
            fused = self._fuse_convex(vector, dense, lexical, bm25_scores)
        else:
            fused = self._fuse_rrf(dense, lexical)
        for row, window in windows.items():
            if row in fused:
                fused[row].window = window
        hits = sorted(fused.values(), key=lambda h: h.score, reverse=True)[:k]
        timings["retrieve_total"] = _ms(started)
        best = dense[0][1] if dense else 0.0
        return SearchResult(query, expanded, hits, timings, best_dense=best)

    def _prior(self, hit: ScoredChunk) -> float:
        return self.kind_prior.get(self._kinds.get(hit.chunk.doc_id, ""), 0.5)

    def _fuse_rrf(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]) -> dict[int, ScoredChunk]:
        fused: dict[int, ScoredChunk] = {}
        for rank, (row, similarity) in enumerate(dense):
            hit = fused.setdefault(row, ScoredChunk(self.snapshot.chunks[row], 0.0))
            hit.dense, hit.dense_rank = similarity, rank
            hit.score += self.dense_weight / (self.rrf_k + rank + 1)
        for rank, (row, bm25) in enumerate(lexical):
            hit = fused.setdefault(row, ScoredChunk(self.snapshot.chunks[row], 0.0))
            hit.lexical, hit.lexical_rank = bm25, rank
            hit.score += self.lexical_weight / (self.rrf_k + rank + 1)
        for hit in fused.values():
            # Among equally relevant passages, the standards and policies outrank reports about them.
            hit.score += self.prior_weight * self._prior(hit) / self.rrf_k
        return fused

    def _fuse_convex(
        self,
        vector: np.ndarray,
        dense: list[tuple[int, float]],
        lexical: list[tuple[int, float]],
        bm25_scores: np.ndarray | None,
    ) -> dict[int, ScoredChunk]:
        fused: dict[int, ScoredChunk] = {}
        for rank, (row, similarity) in enumerate(dense):
            hit = fused.setdefault(row, ScoredChunk(self.snapshot.chunks[row], 0.0))
            hit.dense, hit.dense_rank = similarity, rank
        for rank, (row, bm25) in enumerate(lexical):
            hit = fused.setdefault(row, ScoredChunk(self.snapshot.chunks[row], 0.0))
            hit.lexical, hit.lexical_rank = bm25, rank
        if not fused:
            return fused
        rows = list(fused)
        lexical_only = [row for row in rows if fused[row].dense_rank is None]
        if lexical_only:
            similarities, windows = self._dense_scores(vector, lexical_only)
            for row, similarity, window in zip(lexical_only, similarities, windows, strict=True):
                fused[row].dense, fused[row].window = float(similarity), window
        if bm25_scores is not None:
            for row in rows:
                if fused[row].lexical_rank is None:
                    fused[row].lexical = max(float(bm25_scores[row]), 0.0)
        dense_norm = _normalise(np.asarray([fused[r].dense for r in rows]), self.normalization)
        lexical_norm = _normalise(np.asarray([fused[r].lexical for r in rows]), self.normalization)
        for row, d, lex in zip(rows, dense_norm, lexical_norm, strict=True):
            hit = fused[row]
            # The prior on the normalised scale: 0.2 moves a passage a fifth of the score range at most.
            hit.score = self.alpha * float(d) + (1 - self.alpha) * float(lex) + self.prior_weight * self._prior(hit)
        return fused

    def _passage_vectors(self) -> PassageVectors:
        if self._vectors is None:
            self._vectors = self.snapshot.passage_vectors()
            if self.window_weight and not self.snapshot.has_windows:
                log.warning("the index has no window vectors (built before they existed): run `handbook ingest`")
        return self._vectors

    def _dense_scores(self, vector: np.ndarray, rows: list[int]) -> tuple[np.ndarray, list[int | None]]:
        """The dense score of chunks: their cosine, mixed with the best cosine of one of their windows.

        Also returns which window scored best (None for a chunk without windows). Measured on the dev
        set (hit@1 0.548 -> 0.591, MRR@10 0.676 -> 0.704 at weight 0.5; SciFact train and test
        unchanged): a passage whose two sentences answer the question outranks one that only
        shares its topic.
        """
        stored = self._passage_vectors()
        scores = stored.vectors[rows] @ vector
        best_windows: list[int | None] = [None] * len(rows)
        if not self.window_weight:
            return scores, best_windows
        for k, row in enumerate(rows):
            windows = stored.windows_of(row)
            if len(windows):
                similarities = np.asarray(windows, dtype=np.float32) @ vector
                best_windows[k] = int(similarities.argmax())
                best = float(similarities[best_windows[k]])
                scores[k] = (1 - self.window_weight) * scores[k] + self.window_weight * best
        return scores, best_windows

    def _with_windows(
        self, vector: np.ndarray, dense: list[tuple[int, float]]
    ) -> tuple[list[tuple[int, float]], dict[int, int]]:
        """Dense candidates rescored with their windows, best first, and each one's best window."""
        if not dense or not self.window_weight:
            return dense, {}
        rows = [row for row, _ in dense]
        scores, windows = self._dense_scores(vector, rows)
        rescored = sorted(zip(rows, (float(x) for x in scores), strict=True), key=lambda pair: -pair[1])
        return rescored, {row: w for row, w in zip(rows, windows, strict=True) if w is not None}

    def _dense(self, vector: np.ndarray, allowed: set[str] | None) -> list[tuple[int, float]]:
        where: dict[str, Any] | None = None
        if allowed is not None:
            where = {"doc_id": {"$in": sorted(allowed)}}
        n = min(self.candidate_k, len(self.snapshot.chunks))
        if n == 0:
            return []
        result = self._dense_collection().query(
            query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances", "metadatas"]
        )
        out: list[tuple[int, float]] = []
        for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            row = self._row_of.get(chunk_id)
            if row is not None:
                out.append((row, 1.0 - float(distance)))
        return out

    def _lexical_scores(self, text: str, allowed: set[str] | None) -> np.ndarray | None:
        """BM25 score of every chunk (-1 outside the filter); None when the text has no searchable word."""
        tokens = lexical_tokens(text)
        bm25 = self._lexical_index()
        if not tokens:
            return None
        scores = np.asarray(bm25.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            mask = np.full(scores.shape, -1.0, dtype=np.float32)
            for doc in allowed:
                rows = self._doc_rows.get(doc)
                if rows is not None:
                    mask[rows] = 0.0
            scores = np.where(mask == 0.0, scores, -1.0)
        return scores

    def _top_lexical(self, scores: np.ndarray | None) -> list[tuple[int, float]]:
        if scores is None:
            return []
        n = min(self.candidate_k, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(int(row), float(scores[row])) for row in top if scores[row] > 0]


def _normalise(values: np.ndarray, how: str) -> np.ndarray:
    """Per-query rescaling so cosine and BM25 can be added: min-max to [0, 1], or z-scores."""
    if how == "zscore":
        spread = float(values.std())
        return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.ones_like(values)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
