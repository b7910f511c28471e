"""Scoring retrieval configurations on a BEIR split: each judged query through `HybridRetriever.search`,
the metrics averaged, latency summarised with evals/stats.py."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.beir.dataset import BeirDataset
from evals.beir.index import BeirIndexBuilder, index_dir_for, progress_bar
from evals.beir.scoring import mrr_at_k, ndcg_at_k, recall_at_k
from evals.stats import percentile

if TYPE_CHECKING:
    from assistant.retrieval import HybridRetriever
    from assistant.settings import RetrievalSettings
    from ingest.index_store import IndexSnapshot

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO_ROOT / ".cache" / "beir"
RETRIEVE_K = 100


@dataclass(frozen=True)
class FusionVariant:
    """One retrieval configuration to score: overrides of `RetrievalSettings`; None keeps its default.

    `weights` is a source=weight list ("minilm=0.4,e5=0.3,bm25=0.3"), the English weights.
    """

    candidate_k: int | None = None
    rrf_k: int | None = None
    fusion: str | None = None
    normalization: str | None = None
    window_weight: float | None = None
    weights: str | None = None

    def config(self) -> RetrievalSettings:
        from assistant.settings import RetrievalSettings

        updates: dict[str, Any] = {
            name: value for name, value in asdict(self).items() if value is not None and name != "weights"
        }
        if self.weights is not None:
            updates["weights"] = {"en": parse_weights(self.weights)}
        # BEIR documents have no kind: no kind prior (and no glossary: it is the handbook's).
        return RetrievalSettings(**{"kind_prior": {}, "prior_weight": 0.0, **updates})

    def models(self) -> set[str]:
        """The dense models this configuration weighs."""
        return {s for s, w in self.config().weights_for("en").items() if w > 0 and s != "bm25"}

    def retriever(self, snapshot: IndexSnapshot, encoders: Mapping[str, Any]) -> HybridRetriever:
        from assistant.retrieval import HybridRetriever

        return HybridRetriever.build(snapshot, encoders, self.config(), glossary=None, language_of=lambda _: "en")

    @staticmethod
    def describe(retriever: HybridRetriever) -> dict[str, Any]:
        """The knobs as the retriever actually uses them (defaults resolved)."""
        config = retriever.config
        return {
            "candidate_k": config.candidate_k,
            "rrf_k": config.rrf_k,
            "fusion": config.fusion,
            "normalization": config.normalization,
            "window_weight": config.window_weight,
            "weights": retriever.weights("en"),
        }


def parse_weights(spec: str) -> dict[str, float]:
    """ "minilm=0.5,bm25=0.5" -> {"minilm": 0.5, "bm25": 0.5}; a bad entry raises one line naming it."""
    weights: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--weights: {part!r} is not SOURCE=NUMBER") from None
        if not sep:
            raise ValueError(f"--weights: {part!r} is not SOURCE=NUMBER")
    return weights


@dataclass
class BeirReport:
    dataset: str
    split: str
    n_queries: int
    ndcg_at_10: float
    mrr_at_10: float
    recall_at_100: float
    latency_p50: float
    latency_p95: float
    config: dict[str, Any] = field(default_factory=dict)
    per_query: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "n_queries": self.n_queries,
            "ndcg@10": round(self.ndcg_at_10, 4),
            "mrr@10": round(self.mrr_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "latency_ms": {"p50": round(self.latency_p50, 2), "p95": round(self.latency_p95, 2)},
            "config": self.config,
        }


class CachedQueryEmbedder:
    """Wraps an encoder and remembers query vectors, so a grid over fusion knobs embeds each query once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._vectors: dict[str, Any] = {}

    @property
    def model_path(self) -> str:
        return str(self.inner.model_path)

    @property
    def model_name(self) -> str:
        return str(self.inner.model_name)

    def load(self) -> None:
        self.inner.load()

    def encode_query(self, text: str) -> Any:
        if text not in self._vectors:
            self._vectors[text] = self.inner.encode_query(text)
        return self._vectors[text]


class BeirEvaluator:
    """Runs every judged query of a split through one retriever and averages the metrics."""

    def __init__(self, retriever: HybridRetriever, k: int = RETRIEVE_K, progress: bool = False) -> None:
        self.retriever = retriever
        self.k = k
        self.progress = progress

    def evaluate(
        self, dataset: BeirDataset, limit: int | None = None, config: dict[str, Any] | None = None
    ) -> BeirReport:
        query_ids = list(dataset.queries)[:limit] if limit else list(dataset.queries)
        per_query: dict[str, dict[str, float]] = {}
        latencies: list[float] = []
        with progress_bar(self.progress, f"Searching {dataset.name}/{dataset.split}", len(query_ids)) as advance:
            for query_id in query_ids:
                started = time.perf_counter()
                result = self.retriever.search(dataset.queries[query_id], k=self.k)
                latencies.append((time.perf_counter() - started) * 1000)
                # One chunk per document here, but count a document once should it have several.
                ranking = list(dict.fromkeys(hit.chunk.doc_id for hit in result.hits))
                judged = dataset.qrels[query_id]
                per_query[query_id] = {
                    "ndcg@10": ndcg_at_k(ranking, judged, 10),
                    "mrr@10": mrr_at_k(ranking, judged, 10),
                    "recall@100": recall_at_k(ranking, judged, 100),
                }
                if advance is not None:
                    advance(1)
        n = len(query_ids)

        def mean(metric: str) -> float:
            return sum(scores[metric] for scores in per_query.values()) / n if n else 0.0

        return BeirReport(
            dataset=dataset.name,
            split=dataset.split,
            n_queries=n,
            ndcg_at_10=mean("ndcg@10"),
            mrr_at_10=mean("mrr@10"),
            recall_at_100=mean("recall@100"),
            latency_p50=percentile(latencies, 50) if latencies else 0.0,
            latency_p95=percentile(latencies, 95) if latencies else 0.0,
            config=config if config is not None else {},
            per_query=per_query,
        )


def make_encoders(backend: str | None, models: set[str], e5_backend: str | None = None) -> dict[str, Any]:
    """The configured embedding models that `models` name, by model id (tests replace this function)."""
    from ingest.encoders import build_encoders
    from ingest.settings import IngestSettings

    names = ",".join(["minilm", *sorted(models - {"minilm"})])
    settings = IngestSettings(embedding_models=names)
    if backend:
        settings.embedding_backend = backend
    if e5_backend:
        settings.e5_backend = e5_backend
    return build_encoders(settings)  # type: ignore[return-value]


def run_beir(
    dataset: BeirDataset,
    encoders: Mapping[str, Any] | Any,
    variants: Sequence[FusionVariant],
    cache_root: Path = DEFAULT_CACHE,
    limit: int | None = None,
    progress: bool = True,
) -> list[BeirReport]:
    """Evaluates each configuration on one index; query vectors are shared between configurations."""
    encoders = dict(encoders) if isinstance(encoders, Mapping) else {"minilm": encoders}
    primary = encoders["minilm"]
    directory = index_dir_for(dataset, primary.model_path, cache_root)
    snapshot = BeirIndexBuilder(encoders, progress=progress).ensure(dataset, directory)
    shared = {m: CachedQueryEmbedder(e) for m, e in encoders.items()} if len(variants) > 1 else encoders
    reports = []
    for variant in variants:
        retriever = variant.retriever(snapshot, shared)
        retriever.warm_up()
        described = {
            **FusionVariant.describe(retriever),
            "k": RETRIEVE_K,
            "model": primary.model_name,
            "model_path": primary.model_path,
            "models": {m: e.model_name for m, e in encoders.items()},
            "backend": getattr(primary, "backend", ""),
            "vector_backends": {m: entry.backend for m, entry in snapshot.meta.extra_vectors.items()},
            "index": str(directory),
            # After the first configuration, query vectors come from memory: latency excludes embedding.
            "cached_query_embeddings": shared is not encoders,
        }
        evaluator = BeirEvaluator(retriever, RETRIEVE_K, progress=progress)
        reports.append(evaluator.evaluate(dataset, limit=limit, config=described))
    return reports
