"""BEIR-format retrieval benchmark of our own engine (`handbook beir DIR`).

A BEIR dataset folder holds `corpus.jsonl` ({"_id", "title", "text"}), `queries.jsonl`
({"_id", "text"}) and `qrels/<split>.tsv` (header `query-id corpus-id score`). Every
document becomes one `Chunk`, is embedded with our `Embedder` and written with our
`IndexWriter` (embedded Chroma + BM25) into a cache folder keyed by the corpus sha256
and the model, so a corpus is embedded once; queries then go through `HybridRetriever`.

Metrics follow BEIR (pytrec_eval): nDCG@10 with the qrels' graded gains (gain = grade,
discount log2(rank + 1), ideal ranking from all judged relevant documents), MRR@10 and
recall@100; judgments with grade <= 0 count as not relevant. Runs are ranked in the
order our retriever returns them (pytrec_eval would re-sort ties by document id).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evals.stats import percentile

if TYPE_CHECKING:
    from assistant.retrieval import HybridRetriever
    from ingest.embedding import PassageVectors
    from ingest.index_store import IndexSnapshot
    from ingest.records import Chunk
    from ingest.settings import RetrievalConfig

log = logging.getLogger(__name__)

# Bump when the way documents become chunks changes: older cached indexes are then ignored.
INDEX_FORMAT = 2  # 2: with late-pooled window vectors (further models are added to an index as needed)
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / ".cache" / "beir"
RETRIEVE_K = 100
QRELS_HEADER = ("query-id", "corpus-id", "score")


class BeirFormatError(ValueError):
    """A dataset that cannot be used; the message is one line naming the file (and line)."""


@dataclass(frozen=True)
class BeirDocument:
    id: str
    title: str
    text: str


@dataclass
class BeirDataset:
    """One split of a BEIR dataset: the whole corpus, and the judged queries of the split."""

    name: str
    root: Path
    split: str
    corpus: list[BeirDocument]
    corpus_sha256: str
    queries: dict[str, str]  # query id -> text, judged queries only, in qrels order
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: grade}


# ---------------------------------------------------------------- loading


def _sha256(path: Path) -> str:
    from ingest.fetch import sha256_file  # lazy: the CLI imports this module just to register `beir`

    return sha256_file(path)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise BeirFormatError(f"{path}: file not found")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def _json_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BeirFormatError(f"{path}:{number}: bad JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise BeirFormatError(f"{path}:{number}: expected a JSON object")
        yield number, record


def _field(path: Path, number: int, record: dict[str, Any], name: str, required: bool = True) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if name == "_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # some BEIR exports write numeric ids
    if not isinstance(value, str) or (name == "_id" and not value):
        problem = "missing" if value is None else "must be a non-empty string" if name == "_id" else "must be a string"
        raise BeirFormatError(f"{path}:{number}: field {name!r} {problem}")
    return value


def load_corpus(path: Path) -> list[BeirDocument]:
    documents: list[BeirDocument] = []
    seen: set[str] = set()
    for number, record in _json_records(path):
        doc_id = _field(path, number, record, "_id")
        if doc_id in seen:
            raise BeirFormatError(f"{path}:{number}: duplicate _id {doc_id!r}")
        seen.add(doc_id)
        title = _field(path, number, record, "title", required=False)
        documents.append(BeirDocument(doc_id, title, _field(path, number, record, "text")))
    if not documents:
        raise BeirFormatError(f"{path}: no documents")
    return documents


def load_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, record in _json_records(path):
        query_id = _field(path, number, record, "_id")
        if query_id in queries:
            raise BeirFormatError(f"{path}:{number}: duplicate _id {query_id!r}")
        queries[query_id] = _field(path, number, record, "text")
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    header_seen = False
    for number, line in _lines(path):
        parts = line.rstrip("\n").split("\t")
        if not header_seen:
            header_seen = True
            if tuple(p.strip() for p in parts) != QRELS_HEADER:
                raise BeirFormatError(f"{path}:{number}: expected the header 'query-id<TAB>corpus-id<TAB>score'")
            continue
        if len(parts) != 3 or not parts[0].strip() or not parts[1].strip():
            raise BeirFormatError(f"{path}:{number}: expected 3 tab-separated fields: query-id, corpus-id, score")
        try:
            grade = int(parts[2].strip())
        except ValueError:
            raise BeirFormatError(f"{path}:{number}: score {parts[2].strip()!r} is not an integer") from None
        qrels.setdefault(parts[0].strip(), {})[parts[1].strip()] = grade
    if not qrels:
        raise BeirFormatError(f"{path}: no judgments")
    return qrels


def load_beir(root: Path, split: str = "test") -> BeirDataset:
    """Read and cross-check one split: every judged query and document must exist."""
    if not root.is_dir():
        raise BeirFormatError(f"{root}: not a folder (expected corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise BeirFormatError(f"{qrels_path}: file not found (splits here: {', '.join(available) or 'none'})")
    corpus_path = root / "corpus.jsonl"
    corpus = load_corpus(corpus_path)
    all_queries = load_queries(root / "queries.jsonl")
    qrels = load_qrels(qrels_path)
    doc_ids = {d.id for d in corpus}
    for query_id, judged in qrels.items():
        if query_id not in all_queries:
            raise BeirFormatError(f"{qrels_path}: query-id {query_id!r} is not in queries.jsonl")
        missing = next((d for d in judged if d not in doc_ids), None)
        if missing is not None:
            raise BeirFormatError(f"{qrels_path}: corpus-id {missing!r} (query {query_id!r}) is not in corpus.jsonl")
    queries = {q: all_queries[q] for q in qrels}
    return BeirDataset(root.resolve().name, root, split, corpus, _sha256(corpus_path), queries, qrels)


# ---------------------------------------------------------------- metrics


def _gain(judged: Mapping[str, int], doc_id: str) -> int:
    return max(judged.get(doc_id, 0), 0)


def ndcg_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(_gain(judged, d) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    for i, doc_id in enumerate(ranking[:k]):
        if _gain(judged, doc_id) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 100) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant & set(ranking[:k])) / len(relevant) if relevant else 0.0


# ---------------------------------------------------------------- index


def document_chunks(dataset: BeirDataset) -> list[Chunk]:
    from ingest.records import Chunk, chunk_id

    return [
        Chunk(
            id=chunk_id(d.id, d.title, "", [], d.text),
            doc_id=d.id,
            title=d.title,
            ref="",
            headings=[],
            page_start=1,
            page_end=1,
            text=d.text,
        )
        for d in dataset.corpus
    ]


@lru_cache(maxsize=8)
def model_fingerprint(model_path: str) -> str:
    """The model's identity for the cache key: the sha256 of its weights where they are on disk.

    The packaged model's folder is just called "model", so the name alone says nothing.
    """
    weights = Path(model_path) / "model.safetensors"
    return _sha256(weights) if weights.is_file() else model_path


def index_dir_for(dataset: BeirDataset, model_path: str, cache_root: Path) -> Path:
    fingerprint = model_fingerprint(model_path)
    key = hashlib.sha256(f"{dataset.corpus_sha256}\x1f{fingerprint}\x1f{INDEX_FORMAT}".encode()).hexdigest()[:12]
    return cache_root / f"{dataset.name}-{key}"


class BeirIndexBuilder:
    """Writes (once) and opens the index of a dataset's corpus in its cache folder.

    `encoders` maps model ids to encoders; "minilm" is the primary one. A cached index that
    lacks a further model's vectors gets them added (the MiniLM vectors are kept).
    """

    def __init__(self, encoders: Mapping[str, Any], progress: bool = True) -> None:
        self.encoders = dict(encoders)
        self.progress = progress

    @property
    def primary(self) -> Any:
        return self.encoders["minilm"]

    def _stamp(self, dataset: BeirDataset) -> dict[str, Any]:
        return {
            "kind": "beir",
            "dataset": dataset.name,
            "corpus_sha256": dataset.corpus_sha256,
            "model": model_fingerprint(self.primary.model_path),
            "format": INDEX_FORMAT,
        }

    def _usable(self, directory: Path, dataset: BeirDataset) -> IndexSnapshot | None:
        from ingest.index_store import IndexSnapshot, has_index

        if not has_index(directory):
            return None
        snapshot = IndexSnapshot.open(directory)
        return snapshot if snapshot.meta.chunker == self._stamp(dataset) else None

    def ensure(self, dataset: BeirDataset, directory: Path) -> IndexSnapshot:
        from ingest.index_store import ChromaConfig, IndexSnapshot, IndexWriter, ModelVectors, ingest_lock
        from ingest.records import DocumentInfo, PageText

        # The lock makes a second run wait for the first one's index instead of embedding again.
        with ingest_lock(directory):
            cached = self._usable(directory, dataset)
            extra_ids = [m for m in self.encoders if m != "minilm"]
            missing = [
                m
                for m in extra_ids
                if cached is None
                or m not in cached.meta.extra_vectors
                or cached.meta.extra_vectors[m].model_path != self.encoders[m].model_path
            ]
            if cached is None or missing:
                chunks = cached.chunks if cached is not None else document_chunks(dataset)
                log.info("embedding %d documents of %s into %s", len(chunks), dataset.name, directory)
                embeddings = (
                    cached.passage_vectors() if cached is not None else self._embed("minilm", chunks, dataset.name)
                )
                extra: dict[str, ModelVectors] = {}
                for model_id in extra_ids:
                    encoder = self.encoders[model_id]
                    stored = cached.extra_vectors(model_id) if cached is not None and model_id not in missing else None
                    vectors = stored if stored is not None else self._embed(model_id, chunks, dataset.name).vectors
                    extra[model_id] = ModelVectors(encoder.model_name, encoder.model_path, vectors)
                documents = {
                    c.doc_id: DocumentInfo(
                        id=c.doc_id,
                        title=c.title,
                        sha256=hashlib.sha256(c.text.encode("utf-8")).hexdigest(),
                        pages=1,
                        chunks=1,
                    )
                    for c in chunks
                }
                pages = [PageText(doc_id=c.doc_id, page=1, text=c.text) for c in chunks]
                IndexWriter(directory, ChromaConfig(collection_prefix="beir")).write(
                    chunks,
                    embeddings,
                    pages,
                    documents,
                    model=self.primary.model_name,
                    model_path=self.primary.model_path,
                    chunker=self._stamp(dataset),
                    extra=extra,
                )
        return IndexSnapshot.open(directory)

    def _embed(self, model_id: str, chunks: list[Chunk], name: str) -> PassageVectors:
        spans = [c.window_spans() if model_id == "minilm" else [] for c in chunks]
        with _progress_bar(self.progress, f"Embedding {name} ({model_id})", len(chunks)) as advance:
            return self.encoders[model_id].encode_passages(  # type: ignore[no-any-return]
                [c.embedding_text() for c in chunks], spans, progress=advance
            )


@contextmanager
def _progress_bar(enabled: bool, label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class FusionVariant:
    """One retrieval configuration to score: overrides of `RetrievalConfig`; None keeps its default.

    `weights` is a source=weight list ("minilm=0.4,e5=0.3,bm25=0.3"), the English weights.
    """

    candidate_k: int | None = None
    rrf_k: int | None = None
    fusion: str | None = None
    normalization: str | None = None
    window_weight: float | None = None
    weights: str | None = None

    def config(self) -> RetrievalConfig:
        from ingest.settings import RetrievalConfig

        updates: dict[str, Any] = {
            name: value for name, value in asdict(self).items() if value is not None and name != "weights"
        }
        if self.weights is not None:
            updates["weights"] = {"en": parse_weights(self.weights)}
        # BEIR documents have no kind: no kind prior (and no glossary: it is the handbook's).
        return RetrievalConfig(**{"kind_prior": {}, "prior_weight": 0.0, **updates})

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
        with _progress_bar(self.progress, f"Searching {dataset.name}/{dataset.split}", len(query_ids)) as advance:
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


def make_encoders(backend: str | None, models: set[str]) -> dict[str, Any]:
    """The configured embedding models that `models` name, by model id (tests replace this function)."""
    from ingest.encoders import build_encoders
    from ingest.settings import Settings

    names = ",".join(["minilm", *sorted(models - {"minilm"})])
    settings = Settings(embedding_models=names)
    if backend:
        settings.embedding_backend = backend
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
            "index": str(directory),
            # After the first configuration, query vectors come from memory: latency excludes embedding.
            "cached_query_embeddings": shared is not encoders,
        }
        evaluator = BeirEvaluator(retriever, RETRIEVE_K, progress=progress)
        reports.append(evaluator.evaluate(dataset, limit=limit, config=described))
    return reports


# ---------------------------------------------------------------- CLI

_FUSION_HELP = "Repeat to evaluate a grid (every combination); default: HybridRetriever's."


def beir_command(
    dataset_dir: Annotated[
        Path, typer.Argument(help="BEIR dataset folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")
    ],
    split: Annotated[str, typer.Option("--split", help="Which qrels/<split>.tsv to score.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list when a grid is given).")] = False,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Folder for cached indexes, one per corpus and model (default: .cache/beir)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N judged queries.")] = None,
    rrf_k: Annotated[list[int] | None, typer.Option("--rrf-k", min=1, help=f"RRF constant. {_FUSION_HELP}")] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(
            "--weights",
            help=f"Source weights, e.g. minilm=0.4,e5=0.3,bm25=0.3 (sources: minilm, e5, bm25). {_FUSION_HELP}",
        ),
    ] = None,
    candidate_k: Annotated[
        list[int] | None, typer.Option("--candidate-k", min=1, help=f"Candidates per source. {_FUSION_HELP}")
    ] = None,
    fusion: Annotated[list[str] | None, typer.Option("--fusion", help=f"rrf or convex. {_FUSION_HELP}")] = None,
    normalization: Annotated[
        list[str] | None, typer.Option("--normalization", help=f"Convex fusion: minmax or zscore. {_FUSION_HELP}")
    ] = None,
    window_weight: Annotated[
        list[float] | None,
        typer.Option(
            "--window-weight", min=0.0, max=1.0, help=f"Share of the best window in the dense score. {_FUSION_HELP}"
        ),
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Embedding backend: torch, onnx or onnx-int8 (default: settings).")
    ] = None,
) -> None:
    """Score our retriever on a BEIR dataset: nDCG@10, MRR@10, recall@100 (indexes the corpus once, cached)."""
    from pydantic import ValidationError

    _check_choice("--backend", [backend] if backend else [], ("torch", "onnx", "onnx-int8"))
    _check_choice("--fusion", fusion or [], ("rrf", "convex"))
    _check_choice("--normalization", normalization or [], ("minmax", "zscore"))
    try:
        dataset = load_beir(dataset_dir, split)
    except BeirFormatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    knobs: list[Sequence[Any] | None] = [candidate_k, rrf_k, fusion, normalization, window_weight, weights]
    # An option not given is one value, None: the retriever's default.
    grid = itertools.product(*(values or [None] for values in knobs))
    variants = [FusionVariant(*values) for values in grid]
    try:
        models = set().union(*(variant.models() for variant in variants))
    except (ValueError, ValidationError) as exc:
        raise typer.BadParameter(str(exc).splitlines()[-1] if isinstance(exc, ValidationError) else str(exc)) from None
    try:
        encoders = make_encoders(backend, models)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    reports = run_beir(dataset, encoders, variants, cache or DEFAULT_CACHE, limit)
    if as_json:
        payload: Any = [r.to_json_dict() for r in reports] if len(reports) > 1 else reports[0].to_json_dict()
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_table(reports)


def _check_choice(option: str, values: Sequence[str], allowed: Sequence[str]) -> None:
    for value in values:
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise typer.BadParameter(f"{value!r} is not one of {choices}", param_hint=option)


def _describe_config(config: Mapping[str, Any]) -> str:
    weights = ",".join(f"{s}={w:g}" for s, w in (config.get("weights") or {}).items())
    if config.get("fusion") == "convex":
        fusion = f"convex {weights} {config.get('normalization')}"
    else:
        fusion = f"rrf k={config.get('rrf_k')} {weights}"
    return f"{fusion} cand={config.get('candidate_k')} windows={config.get('window_weight')}"


def _print_table(reports: Sequence[BeirReport]) -> None:
    from rich.console import Console
    from rich.table import Table

    first = reports[0]
    title = f"{first.dataset} / {first.split}: {first.n_queries} queries, {first.config.get('backend')} embeddings"
    table = Table("retriever", "nDCG@10", "MRR@10", "R@100", "p50 ms", "p95 ms", title=title)
    for r in reports:
        metrics = [f"{r.ndcg_at_10:.4f}", f"{r.mrr_at_10:.4f}", f"{r.recall_at_100:.4f}"]
        table.add_row(_describe_config(r.config), *metrics, f"{r.latency_p50:.1f}", f"{r.latency_p95:.1f}")
    Console().print(table)
