"""Reference retrievers to compare the assistant with, over the same PDFs.

`naive`: the LangChain RAG tutorial pipeline: PyPDFLoader per PDF,
RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200), HuggingFaceEmbeddings
with the packaged all-MiniLM-L6-v2, an embedded Chroma store, similarity_search.
`bm25`: plain BM25 (bm25s; lower-cased word tokens, no stemming, no stop words) over the
same tutorial chunks.

Embedding the tutorial chunks takes minutes, so the built Chroma store is cached under
`<cache>/<key>/naive`, keyed by the PDFs' sha256 and the pipeline settings; the measured
build time is stored with it and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from evals.records import RetrievedPassage
from ingest.fetch import sha256_file
from ingest.lexical import bm25s_module

log = logging.getLogger(__name__)

BASELINES = ("naive", "bm25")
CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
EMBED_BATCH = 64
CACHE_VERSION = 1  # bump when the cached layout or the pipeline changes
_WORD = re.compile(r"\w+")


class BaselineError(RuntimeError):
    """A baseline that cannot be built; the message is one line for the user."""


class Baseline(Protocol):
    """What the evaluation runner needs from a reference retriever."""

    name: str
    description: str
    build_seconds: float | None  # measured time to build its index (also when loaded from cache)
    cached: bool

    def search(self, query: str, k: int) -> list[RetrievedPassage]: ...

    def close(self) -> None: ...


class TutorialChunk(BaseModel):
    doc: str  # document id: the PDF file name without .pdf
    page: int  # 1-based (PyPDFLoader's `page` metadata is 0-based)
    text: str


def index_pdfs(documents: Sequence[Any], corpus_dir: Path | None = None) -> list[Path]:
    """The PDFs of the indexed documents (`DocumentInfo.source_path`), or `<corpus_dir>/<doc id>.pdf`."""
    paths: list[Path] = []
    for info in documents:
        path = corpus_dir / f"{info.id}.pdf" if corpus_dir is not None else Path(info.source_path or "")
        if not info.source_path and corpus_dir is None:
            raise BaselineError(f"index document {info.id}: no source_path recorded; pass --corpus DIR")
        if not path.is_file():
            raise BaselineError(f"{path}: PDF of index document {info.id} not found (pass --corpus DIR)")
        paths.append(path)
    return sorted(paths)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, no stemming, no stop-word removal (the plain BM25 baseline)."""
    return _WORD.findall(text.lower())


class TutorialCorpus:
    """The tutorial's chunks of the PDFs, computed once and cached by the PDFs' sha256."""

    def __init__(
        self, pdfs: Sequence[Path], cache_dir: Path, chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP
    ) -> None:
        if not pdfs:
            raise BaselineError("no PDFs to build the baselines from")
        self.pdfs = sorted(pdfs)
        self.cache_dir = cache_dir
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._chunks: list[TutorialChunk] | None = None
        self.split_seconds: float | None = None
        self.from_cache = False
        self._key: str | None = None

    @property
    def key(self) -> str:
        if self._key is None:
            parts = [f"v{CACHE_VERSION}", f"split={self.chunk_size}/{self.chunk_overlap}"]
            parts += [f"{p.name}:{sha256_file(p)}" for p in self.pdfs]
            self._key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
        return self._key

    @property
    def directory(self) -> Path:
        return self.cache_dir / self.key

    def chunks(self) -> list[TutorialChunk]:
        if self._chunks is None:
            path = self.directory / "chunks.jsonl"
            meta_path = self.directory / "chunks.meta.json"
            if path.is_file() and meta_path.is_file():
                self._chunks = [
                    TutorialChunk.model_validate_json(line) for line in path.read_text().splitlines() if line
                ]
                self.split_seconds = float(json.loads(meta_path.read_text())["split_seconds"])
                self.from_cache = True
            else:
                started = time.perf_counter()
                self._chunks = self._split()
                self.split_seconds = round(time.perf_counter() - started, 2)
                self.directory.mkdir(parents=True, exist_ok=True)
                _write_atomic(path, "".join(c.model_dump_json() + "\n" for c in self._chunks))
                _write_atomic(meta_path, json.dumps({"split_seconds": self.split_seconds, "chunks": len(self._chunks)}))
            log.info("tutorial chunks: %d from %d PDFs", len(self._chunks), len(self.pdfs))
        return self._chunks

    def _split(self) -> list[TutorialChunk]:
        from langchain_community.document_loaders import PyPDFLoader
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
        chunks: list[TutorialChunk] = []
        for pdf in self.pdfs:
            pages = PyPDFLoader(str(pdf)).load()
            for split in splitter.split_documents(pages):
                page = int(split.metadata.get("page", 0)) + 1
                chunks.append(TutorialChunk(doc=pdf.stem, page=page, text=split.page_content))
        return chunks


class NaiveRagBaseline:
    """The LangChain tutorial's retriever: MiniLM embeddings in an embedded Chroma store."""

    name = "naive"
    description = (
        "LangChain tutorial: PyPDFLoader, RecursiveCharacterTextSplitter(1000, 200), "
        "HuggingFaceEmbeddings(all-MiniLM-L6-v2), Chroma similarity_search"
    )

    def __init__(self, corpus: TutorialCorpus, model_path: str, progress: bool = False) -> None:
        self.corpus = corpus
        self.model_path = model_path
        self.progress = progress
        self.build_seconds: float | None = None
        self.cached = False
        self._store: Any = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def store_dir(self) -> Path:
        model = hashlib.sha256(Path(self.model_path).name.encode()).hexdigest()[:8]
        return self.corpus.directory / f"naive-{model}"

    def prepare(self) -> None:
        """Load the cached store, or build and cache it (minutes: every chunk is embedded)."""
        if self._store is not None:
            return
        chunks = self.corpus.chunks()
        embeddings = self._embeddings()
        meta_path = self.store_dir / "meta.json"
        if not meta_path.is_file():
            self._build(chunks, embeddings)
        else:
            self.cached = True
        meta = json.loads(meta_path.read_text())
        self.build_seconds = float(meta["build_seconds"])
        # Work on a copy: Chroma writes to its folder even when only queried, and the cache stays pristine.
        self._workdir = tempfile.TemporaryDirectory(prefix="naive-baseline-")
        shutil.copytree(self.store_dir / "chroma", Path(self._workdir.name) / "chroma")
        self._store = self._open(Path(self._workdir.name) / "chroma", embeddings)

    def _embeddings(self) -> Any:
        from langchain_huggingface import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(model_name=self.model_path, model_kwargs={"device": "cpu"})

    @staticmethod
    def _open(path: Path, embeddings: Any) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        # Our embedding function is passed in, so Chroma never loads its default one.
        return Chroma(collection_name="tutorial", embedding_function=embeddings, client=client)

    def _build(self, chunks: list[TutorialChunk], embeddings: Any) -> None:
        from langchain_core.documents import Document

        self.store_dir.parent.mkdir(parents=True, exist_ok=True)
        # Built beside its final place and renamed into it, so an interrupted build leaves no half store.
        tmp = Path(tempfile.mkdtemp(prefix=".naive-build-", dir=self.store_dir.parent))
        try:
            started = time.perf_counter()
            store = self._open(tmp / "chroma", embeddings)
            documents = [Document(page_content=c.text, metadata={"doc": c.doc, "page": c.page}) for c in chunks]
            with _progress(self.progress, "embedding tutorial chunks", len(documents)) as advance:
                for start in range(0, len(documents), EMBED_BATCH):
                    batch = documents[start : start + EMBED_BATCH]
                    store.add_documents(batch, ids=[str(start + i) for i in range(len(batch))])
                    advance(len(batch))
            embed_seconds = time.perf_counter() - started
            split_seconds = self.corpus.split_seconds or 0.0
            meta = {
                "build_seconds": round(split_seconds + embed_seconds, 2),
                "split_seconds": split_seconds,
                "embed_seconds": round(embed_seconds, 2),
                "chunks": len(chunks),
                "model": self.model_path,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
            shutil.rmtree(self.store_dir, ignore_errors=True)
            tmp.rename(self.store_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("naive baseline built in %.1f s (%d chunks)", meta["build_seconds"], len(chunks))

    def search(self, query: str, k: int) -> list[RetrievedPassage]:
        self.prepare()
        results = self._store.similarity_search_with_score(query, k=k)
        # Chroma's default space is squared L2; for unit vectors cosine = 1 - d / 2.
        return [
            RetrievedPassage(
                doc=str(d.metadata["doc"]),
                pages=[int(d.metadata["page"])],
                score=round(1 - dist / 2, 6),
                text=d.page_content,
            )
            for d, dist in results
        ]

    def close(self) -> None:
        self._store = None
        if self._workdir is not None:
            with contextlib.suppress(OSError):
                self._workdir.cleanup()
            self._workdir = None


class Bm25Baseline:
    """Plain BM25 over the tutorial chunks (no stemming, no stop words, no glossary)."""

    name = "bm25"
    description = "bm25s over the tutorial chunks (lower-cased word tokens, no stemming)"

    def __init__(self, corpus: TutorialCorpus) -> None:
        self.corpus = corpus
        self.build_seconds: float | None = None
        self.cached = False
        self._index: Any = None
        self._chunks: list[TutorialChunk] = []

    def prepare(self) -> None:
        if self._index is not None:
            return
        bm25s = bm25s_module()
        self._chunks = self.corpus.chunks()
        self.cached = self.corpus.from_cache  # the chunks; the BM25 index itself takes a second to build
        started = time.perf_counter()
        index = bm25s.BM25()
        index.index([tokenize(c.text) or ["_empty_"] for c in self._chunks], show_progress=False)
        self._index = index
        self.build_seconds = round((self.corpus.split_seconds or 0.0) + time.perf_counter() - started, 2)

    def search(self, query: str, k: int) -> list[RetrievedPassage]:
        import numpy as np

        self.prepare()
        tokens = [t for t in tokenize(query) if t in self._index.vocab_dict]
        if not tokens:
            return []
        scores = np.asarray(self._index.get_scores(tokens), dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return [
            RetrievedPassage(doc=self._chunks[i].doc, pages=[self._chunks[i].page], score=round(float(scores[i]), 6))
            for i in top
            if scores[i] > 0
        ]

    def close(self) -> None:
        self._index = None


def make_baselines(
    names: Sequence[str], pdfs: Sequence[Path], cache_dir: Path, model_path: str, progress: bool = False
) -> list[Baseline]:
    """The named baselines, prepared (built or loaded from the cache)."""
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise BaselineError(f"--baseline: unknown {', '.join(unknown)} (choose from {', '.join(BASELINES)})")
    corpus = TutorialCorpus(pdfs, cache_dir)
    made: list[Baseline] = []
    for name in names:
        baseline: NaiveRagBaseline | Bm25Baseline
        baseline = NaiveRagBaseline(corpus, model_path, progress) if name == "naive" else Bm25Baseline(corpus)
        baseline.prepare()
        made.append(baseline)
    return made


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


@contextlib.contextmanager
def _progress(enabled: bool, label: str, total: int) -> Any:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        advance: Callable[[int], None] = lambda n: bar.advance(task, n)  # noqa: E731
        yield advance
