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

if TYPE_CHECKING:

    from assistant.retrieval import HybridRetriever
    from ingest.embedding import PassageVectors
    from ingest.index_store import IndexSnapshot
    from ingest.records import Chunk

log = logging.getLogger(__name__)

# Bump when the way documents become chunks changes: older cached indexes are then ignored.
INDEX_FORMAT = 2  # 2: with late-pooled window vectors
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


def _percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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
    """Writes (once) and opens the index of a dataset's corpus in its cache folder."""

    def __init__(self, embedder: Any, progress: bool = True) -> None:
        self.embedder = embedder
        self.progress = progress

    def _stamp(self, dataset: BeirDataset) -> dict[str, Any]:
        return {
            "kind": "beir",
            "dataset": dataset.name,
            "corpus_sha256": dataset.corpus_sha256,
            "model": model_fingerprint(self.embedder.model_path),
            "format": INDEX_FORMAT,
        }

    def _usable(self, directory: Path, dataset: BeirDataset) -> bool:
        from ingest.index_store import IndexMeta, current_generation_dir, has_index

        if not has_index(directory):
            return False
        meta = IndexMeta.model_validate_json((current_generation_dir(directory) / "meta.json").read_text())
        return meta.chunker == self._stamp(dataset)

    def ensure(self, dataset: BeirDataset, directory: Path) -> IndexSnapshot:
        from ingest.index_store import ChromaConfig, IndexSnapshot, IndexWriter, ingest_lock
        from ingest.records import DocumentInfo, PageText

        # The lock makes a second run wait for the first one's index instead of embedding again.
        with ingest_lock(directory):
            if not self._usable(directory, dataset):
                chunks = document_chunks(dataset)
                log.info("embedding %d documents of %s into %s", len(chunks), dataset.name, directory)
                embeddings = self._embed(chunks, dataset.name)
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
                    model=self.embedder.model_name,
                    model_path=self.embedder.model_path,
                    chunker=self._stamp(dataset),
                )
        return IndexSnapshot.open(directory)

    def _embed(self, chunks: list[Chunk], name: str) -> PassageVectors:
        with _progress_bar(self.progress, f"Embedding {name}", len(chunks)) as advance:
            return self.embedder.encode_passages(  # type: ignore[no-any-return]
                [c.embedding_text() for c in chunks], [c.window_spans() for c in chunks], progress=advance
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
class RetrievalConfig:
    """HybridRetriever knobs; None means the retriever's own default."""

    candidate_k: int | None = None
    rrf_k: int | None = None
    dense_weight: float | None = None
    lexical_weight: float | None = None
    fusion: str | None = None
    alpha: float | None = None
    normalization: str | None = None
    window_weight: float | None = None

    def retriever(self, snapshot: IndexSnapshot, embedder: Any) -> HybridRetriever:
        from assistant.retrieval import HybridRetriever

        knobs = {name: value for name, value in asdict(self).items() if value is not None}
        # BEIR documents have no kind: no kind prior, no glossary (it is the handbook's).
        return HybridRetriever(snapshot, embedder, glossary=None, kind_prior={}, prior_weight=0.0, **knobs)

    @staticmethod
    def describe(retriever: HybridRetriever) -> dict[str, Any]:
        """The knobs as the retriever actually uses them (defaults resolved)."""
        return {name: getattr(retriever, name) for name in RetrievalConfig.__dataclass_fields__}


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
    """Wraps an embedder and remembers query vectors, so a grid over fusion knobs embeds each query once."""

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

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self._vectors[text] = vector
        if progress is not None:
            progress(len(texts))
        return np.stack([self._vectors[t] for t in texts]) if texts else self.inner.encode([])


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
            latency_p50=_percentile(latencies, 50),
            latency_p95=_percentile(latencies, 95),
            config=config if config is not None else {},
            per_query=per_query,
        )


def make_embedder(backend: str | None) -> Any:
    """The configured embedding model (tests replace this function with a fake)."""
    from ingest.embedding import Embedder
    from ingest.settings import Settings

    settings = Settings()
    return Embedder(
        settings.resolved_model(),
        settings.embedding_device,
        settings.embedding_batch_size,
        backend or settings.embedding_backend,
    )


def run_beir(
    dataset: BeirDataset,
    embedder: Any,
    configs: Sequence[RetrievalConfig],
    cache_root: Path = DEFAULT_CACHE,
    limit: int | None = None,
    progress: bool = True,
) -> list[BeirReport]:
    """Evaluates each configuration on one index; query vectors are shared between configurations."""
    directory = index_dir_for(dataset, embedder.model_path, cache_root)
    snapshot = BeirIndexBuilder(embedder, progress=progress).ensure(dataset, directory)
    shared = CachedQueryEmbedder(embedder) if len(configs) > 1 else embedder
    reports = []
    for config in configs:
        retriever = config.retriever(snapshot, shared)
        retriever.warm_up()
        described = {
            **RetrievalConfig.describe(retriever),
            "k": RETRIEVE_K,
            "model": embedder.model_name,
            "model_path": embedder.model_path,
            "backend": getattr(embedder, "backend", ""),
            "index": str(directory),
            # After the first configuration, query vectors come from memory: latency excludes embedding.
            "cached_query_embeddings": shared is not embedder,
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
    dense_weight: Annotated[
        list[float] | None, typer.Option("--dense-weight", min=0.0, help=f"Weight of the dense ranking. {_FUSION_HELP}")
    ] = None,
    lexical_weight: Annotated[
        list[float] | None,
        typer.Option("--lexical-weight", min=0.0, help=f"Weight of the BM25 ranking. {_FUSION_HELP}"),
    ] = None,
    candidate_k: Annotated[
        list[int] | None, typer.Option("--candidate-k", min=1, help=f"Candidates per retriever. {_FUSION_HELP}")
    ] = None,
    fusion: Annotated[list[str] | None, typer.Option("--fusion", help=f"rrf or convex. {_FUSION_HELP}")] = None,
    alpha: Annotated[
        list[float] | None,
        typer.Option("--alpha", min=0.0, max=1.0, help=f"Dense share of a convex fusion. {_FUSION_HELP}"),
    ] = None,
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
    from assistant.retrieval import FUSIONS, NORMALIZATIONS

    _check_choice("--backend", [backend] if backend else [], ("torch", "onnx", "onnx-int8"))
    _check_choice("--fusion", fusion or [], FUSIONS)
    _check_choice("--normalization", normalization or [], NORMALIZATIONS)
    try:
        dataset = load_beir(dataset_dir, split)
    except BeirFormatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    knobs: list[Sequence[Any] | None] = [
        candidate_k,
        rrf_k,
        dense_weight,
        lexical_weight,
        fusion,
        alpha,
        normalization,
        window_weight,
    ]
    # An option not given is one value, None: the retriever's default.
    grid = itertools.product(*(values or [None] for values in knobs))
    configs = [RetrievalConfig(*values) for values in grid]
    reports = run_beir(dataset, make_embedder(backend), configs, cache or DEFAULT_CACHE, limit)
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
    if config.get("fusion") == "convex":
        fusion = f"convex alpha={config.get('alpha')} {config.get('normalization')}"
    else:
        fusion = f"rrf k={config.get('rrf_k')} w={config.get('dense_weight')}/{config.get('lexical_weight')}"
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
