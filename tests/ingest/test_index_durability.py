"""The index store under a missing CURRENT, a read-only or full file system: the index is never lost (issue 26)."""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import chromadb.errors as chromadb_errors
import numpy as np
import pytest
from pdf_factory import make_pdf, sample_rules_pages
from typer.testing import CliRunner

from ingest import index_store
from ingest.index_store import CURRENT, IndexSnapshot, IndexWriter
from ingest.pipeline import Ingestor, IngestReport

if TYPE_CHECKING:
    from fakes import FakeEmbedder

pytestmark = pytest.mark.unit


def _document(folder: Path, n: int) -> Path:
    return make_pdf(folder / f"handbook-{n}.pdf", sample_rules_pages(f" Handbook number {n} of the series."))


def _ingest(index: Path, embedder: FakeEmbedder, paths: list[Path]) -> IngestReport:
    return Ingestor(index, embedder, progress=False).run(paths)


def _gen_dirs(index: Path) -> set[str]:
    return {p.name for p in index.glob("gen-*")}


def _current(index: Path) -> str:
    return (index / CURRENT).read_text().strip()


def _tree(root: Path) -> dict[str, str]:
    """Every file under `root` with a hash of its bytes: equal trees mean nothing stored changed."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def three_generations(tmp_path: Path, index_dir: Path, fake_embedder: FakeEmbedder) -> tuple[Path, list[str]]:
    """An index of three documents written in three ingests: the folder of PDFs and the generations, oldest first."""
    folder = tmp_path / "pdfs"
    generations = []
    for n in range(3):
        _document(folder, n)
        _ingest(index_dir, fake_embedder, [folder])
        generations.append(_current(index_dir))
    return folder, generations


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_embedder: FakeEmbedder) -> FakeEmbedder:
    """The CLI with the fake embedder and no manifest, Chroma server or .env from the environment."""
    monkeypatch.setattr("ingest.encoders.Embedder", lambda *args, **kwargs: fake_embedder)
    monkeypatch.setenv("HANDBOOK_EMBEDDING_MODELS", "minilm")
    monkeypatch.chdir(tmp_path)
    for name in ("CHROMA_HOST", "HANDBOOK_CHROMA_HOST", "CHROMA_PORT", "HANDBOOK_CHROMA_PORT", "HANDBOOK_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HANDBOOK_MANIFEST_PATH", str(tmp_path / "no-manifest.toml"))
    return fake_embedder


def _cli_ingest(index: Path, *paths: Path) -> Any:
    from assistant.cli import app

    return CliRunner().invoke(app, ["ingest", *map(str, paths), "--index", str(index), "-q"])


# -- row 5: a missing CURRENT ---------------------------------------------------------------------------


def _break_current(index: Path, how: str) -> None:
    if how == "deleted":
        (index / CURRENT).unlink()
    elif how == "empty":
        (index / CURRENT).write_text("")
    else:  # names a generation that is gone
        (index / CURRENT).write_text("gen-20000101-000000-gone00")


@pytest.mark.parametrize("how", ["deleted", "empty", "names a missing generation"])
def test_missing_current_is_recovered_not_lost(
    how: str,
    tmp_path: Path,
    index_dir: Path,
    three_generations: tuple[Path, list[str]],
    cli_env: FakeEmbedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from assistant.app.warm import WarmAssistant

    _, generations = three_generations
    live = IndexSnapshot.open(index_dir)
    # A running server follows CURRENT.
    server = WarmAssistant(
        lambda: SimpleNamespace(snapshot=IndexSnapshot.open(index_dir)),  # type: ignore[arg-type, return-value]
        warm=False,
        index_dir=index_dir,
        check_interval_s=0,
    )
    assert server.get(timeout=30).snapshot.meta.generation == live.meta.generation
    # Leftovers of killed ingests, newer than every complete generation: never made current.
    (index_dir / "gen-99991231-235959-dead01").mkdir()
    (index_dir / "gen-99991231-235959-dead01" / "chunks.jsonl").write_text("")
    (index_dir / "gen-99991231-235959-dead02").mkdir()
    (index_dir / "gen-99991231-235959-dead02" / "meta.json").write_text('{"generation": "gen-99991231')

    _break_current(index_dir, how)
    if how == "deleted":
        assert server.get(timeout=30).snapshot.meta.generation == live.meta.generation  # keeps serving
    one = _document(tmp_path / "new", 9)
    with caplog.at_level(logging.WARNING, logger="ingest.index_store"):
        result = _cli_ingest(index_dir, one)
    assert result.exit_code == 0, result.output

    after = IndexSnapshot.open(index_dir)
    assert sorted(after.meta.documents) == sorted([*live.meta.documents, "handbook-9"])
    assert len(after.chunks) > len(live.chunks)
    recovered = [r.getMessage() for r in caplog.records if "current again" in r.getMessage()]
    assert len(recovered) == 1 and generations[-1] in recovered[0] and "3 documents" in recovered[0]
    # The generation that was live is kept (the one the new generation replaced); leftovers are gone.
    assert generations[-1] in _gen_dirs(index_dir)
    assert not {"gen-99991231-235959-dead01", "gen-99991231-235959-dead02"} & _gen_dirs(index_dir)
    # The server switches to the larger index, never to a one-document one.
    assert sorted(server.get(timeout=30).snapshot.meta.documents) == sorted(after.meta.documents)


def test_missing_current_reader_names_the_fix(
    index_dir: Path, three_generations: tuple[Path, list[str]], cli_env: FakeEmbedder
) -> None:
    from assistant.cli import app

    _, generations = three_generations
    (index_dir / CURRENT).unlink()
    result = CliRunner().invoke(app, ["index", "stats", "--index", str(index_dir)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {index_dir / CURRENT} is missing, but {generations[-1]} is a complete index: the next "
        f"`handbook ingest` makes it current again (or write its name into {index_dir / CURRENT})"
    ]
    assert not (index_dir / CURRENT).exists()  # a reader changes nothing


def test_old_generations_kept_until_new_is_current(
    index_dir: Path,
    three_generations: tuple[Path, list[str]],
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, (_, middle, newest) = three_generations
    assert _gen_dirs(index_dir) == {middle, newest}  # after a switch: the new one and the one it replaced

    # While the new generation is written and until CURRENT names it, every older one is there.
    seen: list[tuple[set[str], str]] = []
    switch = IndexWriter._switch

    def watching(self: IndexWriter, generation: str) -> list[str]:
        seen.append((_gen_dirs(index_dir), _current(index_dir)))
        return switch(self, generation)

    monkeypatch.setattr(IndexWriter, "_switch", watching)
    _document(folder, 3)
    _ingest(index_dir, fake_embedder, [folder])
    ((before, live),) = seen
    assert {middle, newest} < before and live == newest
    fourth = _current(index_dir)
    assert _gen_dirs(index_dir) == {newest, fourth}

    # CURRENT set back by hand to the older generation: the newer one is not the ingest's to delete.
    (index_dir / CURRENT).write_text(newest)
    make_pdf(folder / "handbook-3.pdf", sample_rules_pages(" Handbook number 3, revised."))
    _ingest(index_dir, fake_embedder, [folder])
    fifth = _current(index_dir)
    assert _gen_dirs(index_dir) == {newest, fourth, fifth}

    # A switch that fails leaves CURRENT and every generation as they were.
    def no_switch(self: IndexWriter, generation: str) -> list[str]:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(IndexWriter, "_switch", no_switch)
    _document(folder, 5)
    with pytest.raises(OSError, match="input/output error"):
        _ingest(index_dir, fake_embedder, [folder])
    assert _current(index_dir) == fifth and _gen_dirs(index_dir) == {newest, fourth, fifth}


# -- rows 11 and 12: the file system refuses ----------------------------------------------------------------


@pytest.fixture
def refuse_writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, int], None]:
    """Makes every write under a folder fail with the given errno, as a read-only mount or a folder of
    another user would (the tests run as root, which file modes do not stop)."""

    def install(root: Path, code: int) -> None:
        def refused(path: object) -> OSError:
            return OSError(code, os.strerror(code), os.fspath(path))  # type: ignore[arg-type]

        def under(path: object) -> bool:
            try:
                return Path(os.fspath(path)).resolve().is_relative_to(root.resolve())  # type: ignore[arg-type]
            except TypeError:  # a file descriptor
                return False

        real_open = io.open

        def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if under(file) and any(c in mode for c in "wax+"):
                raise refused(file)
            return real_open(file, mode, *args, **kwargs)

        write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        real_os_open = os.open

        def guarded_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & write_flags and under(path):
                raise refused(path)
            return real_os_open(path, flags, *args, **kwargs)

        def guard(real: Callable[..., Any]) -> Callable[..., Any]:
            def guarded(path: Any, *args: Any, **kwargs: Any) -> Any:
                if under(path):
                    raise refused(path)
                return real(path, *args, **kwargs)

            return guarded

        monkeypatch.setattr(io, "open", guarded_open)
        monkeypatch.setattr(builtins, "open", guarded_open)
        monkeypatch.setattr(os, "open", guarded_os_open)
        for name in ("mkdir", "replace", "rename", "unlink", "rmdir", "remove"):
            monkeypatch.setattr(os, name, guard(getattr(os, name)))

    return install


def test_read_only_index_one_line_error(
    tmp_path: Path,
    index_dir: Path,
    three_generations: tuple[Path, list[str]],
    cli_env: FakeEmbedder,
    refuse_writes: Callable[[Path, int], None],
) -> None:
    folder, _ = three_generations
    _document(folder, 7)  # something to store
    stored = _tree(index_dir)
    refuse_writes(index_dir, errno.EROFS)
    result = _cli_ingest(index_dir, folder)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {index_dir / 'ingest.lock'}: cannot write to the index folder: read-only file system; "
        "nothing was changed"
    ]
    assert result.stdout == ""
    assert _tree(index_dir) == stored


def test_permission_denied_index_one_line_error(
    tmp_path: Path,
    index_dir: Path,
    three_generations: tuple[Path, list[str]],
    cli_env: FakeEmbedder,
    refuse_writes: Callable[[Path, int], None],
) -> None:
    folder, _ = three_generations
    _document(folder, 7)
    stored = _tree(index_dir)
    refuse_writes(index_dir, errno.EACCES)
    result = _cli_ingest(index_dir, folder)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {index_dir / 'ingest.lock'}: cannot write to the index folder: permission denied; nothing was changed"
    ]
    assert _tree(index_dir) == stored
    # A new index under a folder this user cannot write: the folder is named, nothing is created.
    refuse_writes(tmp_path / "locked", errno.EACCES)
    result = _cli_ingest(tmp_path / "locked" / "index", folder)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'locked' / 'index'}: cannot write to the index folder: permission denied; "
        "nothing was changed"
    ]
    assert not (tmp_path / "locked").exists()


def _disk_fills_while_saving(monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
    """np.save writes part of embeddings.npy, then the disk is full."""
    real_save = np.save

    def save(file: Any, array: Any, *args: Any, **kwargs: Any) -> None:
        if Path(file).name == "embeddings.npy":
            Path(file).write_bytes(b"\x93NUMPY" + b"\0" * 1000)
            raise error
        real_save(file, array, *args, **kwargs)

    monkeypatch.setattr(index_store.np, "save", save)


def _disk_fills_at_the_switch(monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
    """Everything of the new generation is written; CURRENT's replacement cannot be."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(f"{CURRENT}."):
            raise error
        real_fsync(fd)

    monkeypatch.setattr(index_store.os, "fsync", fsync)


def _disk_fills_in_bm25(monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
    def write_bm25(directory: Path, chunks: object) -> None:
        (directory / "bm25").mkdir()
        (directory / "bm25" / "vocab.index.json").write_text("{")
        raise error

    monkeypatch.setattr(IndexWriter, "_write_bm25", staticmethod(write_bm25))


def _disk_fills_in_chroma(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Chroma (SQLite) reports a full disk in its own exception, not an OSError."""

    def write_chroma(location: object, directory: Path, *args: object) -> None:
        (directory / "chroma").mkdir()
        (directory / "chroma" / "chroma.sqlite3").write_bytes(b"SQLite format 3\0")
        raise error

    monkeypatch.setattr(IndexWriter, "_write_chroma", staticmethod(write_chroma))


def _disk_nearly_full_in_chroma(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Chroma fails with a message that does not say why, on a device with 300 KiB left."""
    _disk_fills_in_chroma(monkeypatch, error)
    usage = shutil.disk_usage("/")
    monkeypatch.setattr(index_store.shutil, "disk_usage", lambda path: usage._replace(free=300 * 1024))


@pytest.mark.parametrize(
    ("where", "error", "cause"),
    [
        (_disk_fills_while_saving, OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
        # numpy's own words for a short write on a full disk, without an errno
        (
            _disk_fills_while_saving,
            OSError("742272 requested and 193504 written"),
            "no space left on device (193504 of 742272 bytes written)",
        ),
        (_disk_fills_in_bm25, OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
        (_disk_fills_at_the_switch, OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
        (_disk_fills_while_saving, OSError(errno.EDQUOT, "Disk quota exceeded"), "disk quota exceeded"),
        # what chromadb 1.x raised on a 6 MiB tmpfs filled to two different levels
        (
            _disk_fills_in_chroma,
            chromadb_errors.InternalError("error returned from database: (code: 13) database or disk is full"),
            "no space left on device",
        ),
        (
            _disk_nearly_full_in_chroma,
            chromadb_errors.InternalError("Error in compaction: Failed to apply logs to the metadata segment"),
            "no space left on device (300 KiB free)",
        ),
    ],
    ids=["enospc", "numpy-short-write", "bm25", "switch", "quota", "chroma-disk-full", "chroma-low-space"],
)
def test_full_disk_one_line_error_index_whole(
    where: Callable[[pytest.MonkeyPatch, Exception], None],
    error: Exception,
    cause: str,
    index_dir: Path,
    three_generations: tuple[Path, list[str]],
    cli_env: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, generations = three_generations
    before = IndexSnapshot.open(index_dir)
    generation_dirs = _gen_dirs(index_dir)
    _document(folder, 7)
    with monkeypatch.context() as patch:
        where(patch, error)
        result = _cli_ingest(index_dir, folder)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {index_dir}: cannot write a new index generation: {cause}; the partial generation was "
        f"removed and the previous index ({generations[-1]}) is unchanged"
    ]
    # The partial generation is gone; the previous index is whole and current.
    assert _gen_dirs(index_dir) == generation_dirs
    assert not list(index_dir.glob(f"{CURRENT}.*"))
    snap = IndexSnapshot.open(index_dir)
    assert snap.meta.generation == before.meta.generation
    assert [c.id for c in snap.chunks] == [c.id for c in before.chunks]
    assert snap.collection().count() == len(before.chunks)
    # Space again: the next ingest goes through (the lock was released).
    assert _cli_ingest(index_dir, folder).exit_code == 0
    assert "handbook-7" in IndexSnapshot.open(index_dir).meta.documents


def test_full_disk_on_the_first_ingest_leaves_no_index(
    tmp_path: Path, index_dir: Path, cli_env: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pdfs"
    _document(folder, 1)
    _disk_fills_while_saving(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    result = _cli_ingest(index_dir, folder)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {index_dir}: cannot write a new index generation: no space left on device; the partial "
        "generation was removed and no index was written"
    ]
    assert not _gen_dirs(index_dir) and not (index_dir / CURRENT).exists()
