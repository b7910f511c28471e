"""The retrieval pipeline: query -> candidate sources -> fuser -> rankers -> top k.

    sources   DenseSource per embedding model (minilm, e5), LexicalSource (bm25)
    fuser     ConvexFuser (default) or RrfFuser, with weights per question language
    rankers   KindPrior

`HybridRetriever.build(snapshot, encoders, config)` is the one place the stages are assembled
from a `RetrievalSettings` (assistant/settings.py); the chain, the brief, the LangChain retriever,
BEIR, calibration and the benchmarks all build through it. A new stage is one class here and one
entry in `RetrievalSettings`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from assistant.glossary import Glossary
from assistant.language import detect_language
from assistant.retrieval.fusion import ConvexFuser, Fuser, RrfFuser
from assistant.retrieval.rankers import KindPrior, Ranker
from assistant.retrieval.records import Query, ScoredChunk, SearchFilter, SearchResult, SourceRun
from assistant.retrieval.sources import CandidateSource, DenseSource, LexicalSource
from assistant.settings import RetrievalSettings
from ingest.checkpoints import read_progress
from ingest.embedding import PassageVectors
from ingest.encoders import EMBEDDING_SPECS, PRIMARY_MODEL, TextEncoder
from ingest.index_store import IndexSnapshot
from ingest.lexical import lexical_tokens

log = logging.getLogger(__name__)

TEXT_CACHE = 4096  # texts whose vectors `text_similarities` keeps


class HybridRetriever:
    """Searches one index snapshot through its stages; see the module docstring."""

    def __init__(
        self,
        snapshot: IndexSnapshot,
        sources: Mapping[str, CandidateSource],
        fuser: Fuser,
        rankers: Sequence[Ranker] = (),
        config: RetrievalSettings | None = None,
        glossary: Glossary | None = None,
        language_of: Callable[[str], str] = detect_language,
        missing_models: Sequence[str] = (),
    ) -> None:
        self.snapshot = snapshot
        self.sources = dict(sources)
        self.fuser = fuser
        self.rankers = list(rankers)
        self.config = config or RetrievalSettings()
        self.glossary = glossary
        self.language_of = language_of
        self._idf: dict[str, float] | None = None
        self._text_vectors: dict[str, OrderedDict[str, np.ndarray]] = {}  # model -> text -> vector
        self._text_lock = threading.Lock()
        rows: dict[str, list[int]] = {}
        for i, chunk in enumerate(snapshot.chunks):
            rows.setdefault(chunk.doc_id, []).append(i)
        self._doc_rows = {doc: np.asarray(r, dtype=np.int64) for doc, r in rows.items()}
        self._kinds = {doc_id: info.kind for doc_id, info in snapshot.meta.documents.items()}
        # Models configured (an encoder was given) whose vectors this index lacks.
        self.missing_models = list(missing_models)
        if self.missing_models:
            # While an ingest embeds them (`serve --ingest`'s background e5) this is expected, not a warning.
            embedding = read_progress(snapshot.root) is not None
            (log.info if embedding else log.warning)(
                "the index has no %s vectors (built without them): answering with %s until the next `handbook ingest`",
                ", ".join(self.missing_models),
                ", ".join(self.sources),
            )

    @classmethod
    def build(
        cls,
        snapshot: IndexSnapshot,
        encoders: Mapping[str, TextEncoder] | TextEncoder,
        config: RetrievalSettings | None = None,
        glossary: Glossary | None = None,
        **options: Any,
    ) -> HybridRetriever:
        """The stages from `config`: one dense source per model that has both an encoder and stored vectors.

        What each dense source does follows the model's registry entry (ingest/encoders.py): window
        vectors where the model stores them, Chroma's approximate search for the primary model.
        """
        config = config or RetrievalSettings()
        encoders = {PRIMARY_MODEL: encoders} if not isinstance(encoders, Mapping) else dict(encoders)
        sources: dict[str, CandidateSource] = {}
        missing: list[str] = []
        for model_id, encoder in encoders.items():
            vectors = _vector_loader(snapshot, model_id)
            if vectors is None:
                missing.append(model_id)
                continue
            sources[model_id] = DenseSource(
                model_id,
                encoder,
                vectors,
                candidate_k=config.candidate_k,
                window_weight=config.window_weight if _has_window_vectors(model_id) else 0.0,
                exact_search_limit=config.exact_search_limit,
                expanded_for=config.expand_dense.get(model_id, ()),
                ann=_chroma_search(snapshot) if model_id == PRIMARY_MODEL else None,
            )
        sources["bm25"] = LexicalSource(snapshot.bm25, candidate_k=config.candidate_k)
        fuser: Fuser = ConvexFuser(config.normalization) if config.fusion == "convex" else RrfFuser(config.rrf_k)
        kinds = {doc_id: info.kind for doc_id, info in snapshot.meta.documents.items()}
        rankers = [KindPrior(kinds, config.kind_prior, config.prior_weight, fuser.prior_scale)]
        return cls(snapshot, sources, fuser, rankers, config, glossary, missing_models=missing, **options)

    @property
    def embedder(self) -> TextEncoder:
        """The primary (MiniLM) encoder: English sentence similarity for the citation check."""
        source = self.sources.get(PRIMARY_MODEL)
        if not isinstance(source, DenseSource):
            raise RuntimeError("the retriever has no MiniLM source")
        return source.encoder

    def encoders(self) -> dict[str, TextEncoder]:
        """The dense sources' encoders by model id (to reuse the loaded models in another retriever)."""
        return {name: s.encoder for name, s in self.sources.items() if isinstance(s, DenseSource)}

    def warm_up(self) -> None:
        """Load the models and open the indexes now rather than on the first question."""
        for source in self.sources.values():
            if isinstance(source, DenseSource):
                source.encoder.load()
                source.vectors()
            elif isinstance(source, LexicalSource):
                source.index()
        self.idf()

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of every indexed token, read off the BM25 index."""
        if self._idf is None:
            lexical = self.sources.get("bm25")
            bm25 = lexical.index() if isinstance(lexical, LexicalSource) else self.snapshot.bm25()
            indptr = np.asarray(bm25.scores["indptr"])
            n_docs = float(bm25.scores["num_docs"])
            df = np.diff(indptr)
            self._idf = {
                token: float(np.log(1 + (n_docs - df[i] + 0.5) / (df[i] + 0.5)))
                for token, i in bm25.vocab_dict.items()
                if i < len(df)
            }
        return self._idf

    def weights(self, lang: str) -> dict[str, float]:
        """The fusion weights for a question language, over the sources this index has.

        When none of the language's weighted sources exist (an index built without e5 asked in
        Russian), the English weights stand in: an answer from what there is beats none.
        """
        weights = {s: w for s, w in self.config.weights_for(lang).items() if w > 0 and s in self.sources}
        if not weights:
            weights = {s: w for s, w in self.config.weights_for("en").items() if w > 0 and s in self.sources}
        return weights

    def search(
        self, query: str, k: int = 5, search_filter: SearchFilter | None = None, lang: str | None = None
    ) -> SearchResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        lang = lang or self.language_of(query)
        expanded = self.glossary.expand_query(query) if self.glossary is not None else query
        allowed_docs = (search_filter or SearchFilter()).allowed_docs(self._kinds)
        timings["expand"] = _ms(started)
        if allowed_docs is not None and not allowed_docs:
            return SearchResult(query, expanded, [], timings, lang=lang)
        request = Query(query, expanded, lang, self._mask(allowed_docs))

        weights = self.weights(lang)
        if lang != "en" and not lexical_tokens(expanded):
            readable = {s: w for s, w in weights.items() if s not in self.config.english_only}
            weights = readable or weights
        evidence = self.config.evidence_source.get(lang, PRIMARY_MODEL)
        runs: list[SourceRun] = []
        for name in self.sources:
            # The evidence model runs even at weight 0: answerability reads its best score.
            if name in weights or name == evidence:
                t = time.perf_counter()
                runs.append(self.sources[name].run(request))
                timings["lexical" if name == "bm25" else f"dense_{name}"] = _ms(t)
        fused_runs = [run for run in runs if run.name in weights]
        hits = self.fuser.fuse(fused_runs, weights, self.snapshot.chunks)
        for ranker in self.rankers:
            hits = ranker.rank(hits, request)
        hits = sorted(hits, key=lambda h: (-h.score, h.row))[:k]
        best_scores = {run.name: run.best for run in runs if run.name != "bm25"}
        evidence_run = next((r for r in runs if r.name == evidence), None)
        if evidence_run is None:
            evidence_run = next((r for r in runs if r.name != "bm25"), None)
        self._describe(hits, runs, evidence_run)
        timings["dense"] = round(sum(v for key, v in timings.items() if key.startswith("dense_")), 2)
        timings["retrieve_total"] = _ms(started)
        return SearchResult(
            query,
            expanded,
            hits,
            timings,
            best_dense=evidence_run.best if evidence_run is not None else 0.0,
            lang=lang,
            best_scores=best_scores,
            sources=tuple(run.name for run in fused_runs),
            query_vectors={run.name: run.vector for run in runs if run.vector is not None},
        )

    def window_similarities(self, result: SearchResult, hit: ScoredChunk, model: str = PRIMARY_MODEL) -> np.ndarray:
        """The question's cosine with each two-sentence window of a hit (window i: sentences i and i + 1).

        Empty where the model did not read the question or stores no windows for the chunk.
        """
        vector = result.query_vectors.get(model)
        source = self.sources.get(model)
        if vector is None or not isinstance(source, DenseSource):
            return np.zeros(0, dtype=np.float32)
        windows = source.vectors().windows_of(hit.row)
        return np.asarray(windows, dtype=np.float32) @ vector if len(windows) else np.zeros(0, dtype=np.float32)

    def text_similarities(self, result: SearchResult, texts: Sequence[str], model: str) -> np.ndarray | None:
        """The question's cosine with each text, embedded by `model`; None where it did not read the question.

        A sentence costs e5 about 12 ms on one core, and the same rules answer many questions: the
        vectors of the last TEXT_CACHE texts are kept (1.5 KB each).
        """
        vector = result.query_vectors.get(model)
        source = self.sources.get(model)
        if vector is None or not isinstance(source, DenseSource) or not texts:
            return None
        with self._text_lock:  # the app answers several questions at once
            cache = self._text_vectors.setdefault(model, OrderedDict())
            known = {t: cache[t] for t in texts if t in cache}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known.update(zip(missing, np.asarray(source.encoder.encode(missing), dtype=np.float32), strict=True))
        with self._text_lock:
            for text in texts:
                cache[text] = known[text]
                cache.move_to_end(text)
            while len(cache) > TEXT_CACHE:
                cache.popitem(last=False)
        return np.stack([known[t] for t in texts]) @ vector

    def _describe(self, hits: list[ScoredChunk], runs: list[SourceRun], evidence: SourceRun | None) -> None:
        """Fill each hit's evidence-model score and the ranks the answer records and the evals read."""
        ranks = {run.name: {row: rank for rank, (row, _) in enumerate(run.candidates)} for run in runs}
        lexical = next((run for run in runs if run.name == "bm25"), None)
        for hit in hits:
            if evidence is not None:
                if evidence.name not in hit.scores:
                    scores, windows = evidence.score_rows([hit.row])
                    hit.scores[evidence.name] = float(scores[0])
                    if hit.window is None and windows[0] is not None:
                        hit.window = windows[0]
                hit.dense = hit.scores[evidence.name]
                hit.dense_rank = ranks[evidence.name].get(hit.row)
            if lexical is not None:
                if "bm25" not in hit.scores:
                    hit.scores["bm25"] = float(lexical.score_rows([hit.row])[0][0])
                hit.lexical = hit.scores["bm25"]
                hit.lexical_rank = ranks["bm25"].get(hit.row)

    def _mask(self, allowed_docs: set[str] | None) -> np.ndarray | None:
        if allowed_docs is None:
            return None
        mask = np.zeros(len(self.snapshot.chunks), dtype=bool)
        for doc in allowed_docs:
            rows = self._doc_rows.get(doc)
            if rows is not None:
                mask[rows] = True
        return mask


def _has_window_vectors(model_id: str) -> bool:
    entry = EMBEDDING_SPECS.get(model_id)
    return entry is not None and entry.window_vectors


def _vector_loader(snapshot: IndexSnapshot, model_id: str) -> Callable[[], PassageVectors] | None:
    """A loader of one model's stored vectors, or None when the snapshot has none for that model."""
    if model_id == PRIMARY_MODEL:

        def load_primary() -> PassageVectors:
            vectors = snapshot.passage_vectors()
            if not snapshot.has_windows:
                log.warning("the index has no window vectors (built before they existed): run `handbook ingest`")
            return vectors

        return load_primary
    if model_id not in snapshot.meta.extra_vectors:
        return None

    def load_extra() -> PassageVectors:
        array = snapshot.extra_vectors(model_id)
        assert array is not None
        return PassageVectors(array, np.zeros((0, array.shape[1]), np.float32), np.zeros(len(array) + 1, np.int64))

    return load_extra


def _chroma_search(snapshot: IndexSnapshot) -> Callable[[np.ndarray, int, Query], list[tuple[int, float]]]:
    """Approximate search in the generation's Chroma collection (the primary model's vectors)."""
    state: dict[str, Any] = {}
    row_of = {chunk.id: i for i, chunk in enumerate(snapshot.chunks)}
    doc_of = [chunk.doc_id for chunk in snapshot.chunks]

    def search(vector: np.ndarray, n: int, query: Query) -> list[tuple[int, float]]:
        if "collection" not in state:
            state["collection"] = snapshot.collection()
        where: dict[str, Any] | None = None
        if query.allowed is not None:
            docs = sorted({doc_of[row] for row in np.flatnonzero(query.allowed)})
            where = {"doc_id": {"$in": docs}}
        result = state["collection"].query(
            query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances"]
        )
        out = []
        for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            row = row_of.get(chunk_id)
            if row is not None:
                out.append((row, 1.0 - float(distance)))
        return out

    return search


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
