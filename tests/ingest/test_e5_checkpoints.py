"""The slow model's vectors are saved in checkpoints: an ingest interrupted while e5 embeds resumes where it stopped.

Issue 26, row 14: a kill -9 during the e5 phase lost every e5 vector of the interim generation, and the
next ingest embedded all chunks again (520 s) instead of the rest. Fake encoders: no model is loaded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from ingest.checkpoints import FOLDER, read_progress
from ingest.embedding import PassageVectors
from ingest.index_store import IndexSnapshot
from ingest.pipeline import Ingestor

pytestmark = pytest.mark.unit

E5_PATH = "/fake/models/e5-like"
SLICE = 128  # Ingestor's default checkpoint_chunks
TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent


def make_long_markdown(path: Path, sections: int = 300) -> Path:
    """One Markdown document of `sections` rules, each long enough to be a chunk of its own."""
    words = ("officer", "record", "visit", "search", "cell", "yard", "meal", "letter", "lawyer", "shift", "key")
    parts = ["# Standing orders\n"]
    for n in range(1, sections + 1):
        body = " ".join(f"{words[(n * 7 + i) % len(words)]}{n}x{i}" for i in range(60))
        parts.append(f"## Rule {n}\n\nRule {n} says: {body}.\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


class Interrupted(RuntimeError):
    pass


class FailingEncoder(FakeEmbedder):
    """An e5 stand-in that stops after embedding `limit` texts: raises, or (with `kill`) dies of SIGKILL."""

    def __init__(self, limit: int, kill: bool = False) -> None:
        super().__init__(E5_PATH)
        self.limit = limit
        self.kill = kill
        self.done: list[str] = []  # texts whose vectors were returned

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors:
        if len(self.done) + len(texts) > self.limit:
            if self.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            raise Interrupted("stopped while embedding")
        vectors = super().encode_passages(texts, spans, progress)
        self.done.extend(texts)
        return vectors


class ProgressWatcher(FakeEmbedder):
    """Records, at each call, the progress an observer (the web app) reads from the index folder."""

    def __init__(self, index: Path) -> None:
        super().__init__(E5_PATH)
        self.index = index
        self.seen: list[tuple[int, int] | None] = []

    def encode_passages(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        found = read_progress(self.index)
        self.seen.append(None if found is None else (found.done, found.total))
        return super().encode_passages(texts, spans, progress)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    make_long_markdown(folder / "orders.md")
    return folder


def _ingestor(index: Path, e5: FakeEmbedder, **options: object) -> Ingestor:
    return Ingestor(index, FakeEmbedder(), progress=False, extra_encoders={"e5": e5}, **options)  # type: ignore[arg-type, dict-item]


def _expected_e5(snapshot: IndexSnapshot) -> np.ndarray:
    return FakeEmbedder(E5_PATH).encode([c.embedding_text() for c in snapshot.chunks])


def test_an_ingest_interrupted_while_e5_embeds_resumes_where_it_stopped(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    first = FailingEncoder(limit=200)  # one slice of 128 saved, the second interrupted
    with pytest.raises(Interrupted):
        _ingestor(index, first).run([corpus])
    live = IndexSnapshot.open(index)  # the MiniLM and BM25 generation serves meanwhile
    total = len(live.chunks)
    assert total > 2 * SLICE and "e5" not in live.meta.extra_vectors
    assert len(first.done) == SLICE

    resumed = FakeEmbedder(E5_PATH)
    report = _ingestor(index, resumed).run([corpus])
    assert report.embedded_by_model["e5"] == resumed.embedded == total - SLICE
    assert not set(resumed.texts) & set(first.done)  # nothing embedded twice
    snapshot = IndexSnapshot.open(index)
    stored = snapshot.extra_vectors("e5")
    assert stored is not None and np.allclose(stored, _expected_e5(snapshot), atol=1e-6)
    assert not (index / FOLDER / "e5").exists()  # the checkpoint goes once the vectors are live


def test_kill_9_while_e5_embeds_loses_one_slice_at_most(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(REPO_ROOT)!r}, {str(TESTS_DIR)!r}, {str(Path(__file__).parent)!r}]
        from pathlib import Path
        from fakes import FakeEmbedder
        from test_e5_checkpoints import FailingEncoder
        from ingest.pipeline import Ingestor
        e5 = FailingEncoder(limit={2 * SLICE + 10}, kill=True)
        Ingestor(Path({str(index)!r}), FakeEmbedder(), progress=False, extra_encoders={{"e5": e5}}).run(
            [Path({str(corpus)!r})]
        )
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    total = len(IndexSnapshot.open(index).chunks)
    assert read_progress(index) is None  # the killed process's progress is not shown as running

    resumed = FakeEmbedder(E5_PATH)
    report = _ingestor(index, resumed).run([corpus])
    assert report.embedded_by_model["e5"] == total - 2 * SLICE  # two slices were saved before the kill
    snapshot = IndexSnapshot.open(index)
    stored = snapshot.extra_vectors("e5")
    assert stored is not None and np.allclose(stored, _expected_e5(snapshot), atol=1e-6)


def test_adding_a_document_after_an_interruption_embeds_only_its_chunks(tmp_path: Path, corpus: Path) -> None:
    """The interim generation has no e5 vectors: those of the indexed documents must survive in the checkpoint."""
    index = tmp_path / "index"
    _ingestor(index, FakeEmbedder(E5_PATH)).run([corpus])  # a complete index
    indexed = len(IndexSnapshot.open(index).chunks)
    make_long_markdown(corpus / "more.md", sections=270)
    with pytest.raises(Interrupted):
        _ingestor(index, FailingEncoder(limit=0)).run([corpus])  # interrupted right after the interim switch
    assert "e5" not in IndexSnapshot.open(index).meta.extra_vectors

    resumed = FakeEmbedder(E5_PATH)
    _ingestor(index, resumed).run([corpus])
    snapshot = IndexSnapshot.open(index)
    assert resumed.embedded == len(snapshot.chunks) - indexed  # the new document's chunks only
    stored = snapshot.extra_vectors("e5")
    assert stored is not None and np.allclose(stored, _expected_e5(snapshot), atol=1e-6)


def test_the_progress_is_read_from_the_checkpoint_while_e5_embeds(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    watcher = ProgressWatcher(index)
    _ingestor(index, watcher).run([corpus])
    total = len(IndexSnapshot.open(index).chunks)
    assert watcher.seen == [(0, total), (SLICE, total), (2 * SLICE, total)]
    assert read_progress(index) is None  # finished: nothing runs


def test_checkpoints_of_another_e5_model_are_not_used(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    with pytest.raises(Interrupted):
        _ingestor(index, FailingEncoder(limit=200)).run([corpus])
    other = FakeEmbedder("/fake/models/another-e5")
    _ingestor(index, other).run([corpus])
    assert other.embedded == len(IndexSnapshot.open(index).chunks)


def test_defer_extra_serves_minilm_and_leaves_e5_to_the_next_run(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    e5 = FakeEmbedder(E5_PATH)
    report = _ingestor(index, e5, defer_extra=True).run([corpus])
    snapshot = IndexSnapshot.open(index)
    assert report.switched and report.deferred == {"e5": len(snapshot.chunks)}
    assert e5.embedded == 0 and "e5" not in snapshot.meta.extra_vectors
    generation = snapshot.meta.generation

    again = _ingestor(index, e5, defer_extra=True).run([corpus])  # nothing changed: no new MiniLM generation
    assert not again.switched and IndexSnapshot.open(index).meta.generation == generation

    finished = _ingestor(index, e5).run([corpus])
    assert finished.switched and not finished.early_switch  # the MiniLM generation was already live
    assert "e5" in IndexSnapshot.open(index).meta.extra_vectors
