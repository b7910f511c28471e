"""The cache of the real-corpus test index (tests/index_cache.py): built once, copied after; never a half entry."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from index_cache import cached_corpus_index, index_cache_key, index_cache_root

from ingest.pipeline import FileOutcome, IngestReport

pytestmark = pytest.mark.unit


class Builds:
    """A stand-in for the real ingest: writes a file into the index folder and counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, index: Path) -> IngestReport:
        self.calls += 1
        index.mkdir(parents=True)
        (index / "CURRENT").write_text("gen-1")
        if self.fail:
            raise KeyboardInterrupt  # as a Ctrl-C in the middle of the ingest
        report = IngestReport(embedded=3, total_chunks=3, switched=True, embedded_by_model={"minilm": 3, "e5": 3})
        report.files.append(FileOutcome(Path("/corpus/rules.pdf"), "rules", "new", pages=2, chunks=3))
        return report


def test_the_index_is_built_once_then_copied_from_the_cache(tmp_path: Path) -> None:
    root, build = tmp_path / "cache", Builds()
    report, hit = cached_corpus_index(root, "k1", tmp_path / "a" / "index", build)
    assert (build.calls, hit) == (1, False)
    again, hit = cached_corpus_index(root, "k1", tmp_path / "b" / "index", build)
    assert (build.calls, hit) == (1, True)
    assert (tmp_path / "b" / "index" / "CURRENT").read_text() == "gen-1"
    assert again == report and again.files[0].path == Path("/corpus/rules.pdf")


def test_an_interrupted_build_leaves_no_entry(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        cached_corpus_index(root, "k1", tmp_path / "a" / "index", Builds(fail=True))
    assert list(root.iterdir()) == []  # neither the key nor the folder it was built in
    build = Builds()
    _, hit = cached_corpus_index(root, "k1", tmp_path / "b" / "index", build)
    assert (build.calls, hit) == (1, False)


def test_only_the_newest_keys_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    for n, key in enumerate(["k1", "k2", "k3"]):
        if key == "k3":
            os.utime(root / "k1", (1, 1))  # the least recently used
        cached_corpus_index(root, key, tmp_path / str(n) / "index", Builds())
    assert sorted(p.name for p in root.iterdir()) == ["k2", "k3"]


def test_the_key_follows_the_corpus_bytes_and_the_models(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.pdf").write_bytes(b"%PDF-1.4 one")
    manifest = tmp_path / "manifest.toml"
    models = {"minilm": FakeEmbedder(), "e5": FakeEmbedder("/fake/e5")}
    key = index_cache_key(corpus, manifest, models)
    assert index_cache_key(corpus, manifest, models) == key
    assert index_cache_key(corpus, manifest, {**models, "e5": FakeEmbedder("/fake/e5-v2")}) != key
    # The same model files in another clone's venv: the same key; other files at that path: another key.
    here, there = FakeEmbedder("/clone-a/.venv/model"), FakeEmbedder("/clone-b/.venv/model")
    here.identity = there.identity = "digest-of-the-files"  # type: ignore[attr-defined]
    assert index_cache_key(corpus, manifest, {"minilm": here}) == index_cache_key(corpus, manifest, {"minilm": there})
    there.identity = "digest-of-other-files"  # type: ignore[attr-defined]
    assert index_cache_key(corpus, manifest, {"minilm": here}) != index_cache_key(corpus, manifest, {"minilm": there})
    (corpus / "a.pdf").write_bytes(b"%PDF-1.4 two")
    assert index_cache_key(corpus, manifest, models) != key


def test_a_copy_of_the_corpus_elsewhere_gets_its_own_key(tmp_path: Path) -> None:
    """The index records each file's path: another clone's ../shared/corpus (same bytes, while the first copy
    still exists) would be re-ingested as duplicates of the cached entry's files."""
    first, second = tmp_path / "a" / "corpus", tmp_path / "b" / "corpus"
    for corpus in (first, second):
        corpus.mkdir(parents=True)
        (corpus / "a.pdf").write_bytes(b"%PDF-1.4 one")
    manifest, models = tmp_path / "manifest.toml", {"minilm": FakeEmbedder()}
    assert index_cache_key(first, manifest, models) != index_cache_key(second, manifest, models)
    (tmp_path / "link").symlink_to(first)  # the same folder by another name: the same entry
    assert index_cache_key(tmp_path / "link", manifest, models) == index_cache_key(first, manifest, models)


def test_the_cache_folder_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HANDBOOK_TEST_INDEX_CACHE", str(tmp_path / "c"))
    assert index_cache_root() == tmp_path / "c"
    monkeypatch.setenv("HANDBOOK_TEST_INDEX_CACHE", "off")
    assert index_cache_root() is None
    monkeypatch.delenv("HANDBOOK_TEST_INDEX_CACHE")
    assert index_cache_root() == Path.home() / ".cache" / "handbook-test-index"


def test_a_second_worker_missing_the_same_key_waits_for_the_first_build(tmp_path: Path) -> None:
    """pytest-xdist workers start their sessions together on a cold cache: one builds, the others copy."""
    root, building, release = tmp_path / "cache", threading.Event(), threading.Event()
    first, second = Builds(), Builds()

    def slow_build(index: Path) -> IngestReport:
        building.set()
        assert release.wait(60)
        return first(index)

    results: dict[str, tuple[IngestReport, bool]] = {}
    a = threading.Thread(target=lambda: results.update(a=cached_corpus_index(root, "k1", tmp_path / "a", slow_build)))
    a.start()
    assert building.wait(60)  # the first worker is building
    b = threading.Thread(target=lambda: results.update(b=cached_corpus_index(root, "k1", tmp_path / "b", second)))
    b.start()
    b.join(1.0)
    waited = b.is_alive()  # waiting for the first build, not building a second index
    release.set()
    a.join(60)
    b.join(60)
    assert waited
    assert (first.calls, second.calls) == (1, 0)
    assert results["a"][1] is False and results["b"][1] is True
    assert (tmp_path / "b" / "CURRENT").read_text() == "gen-1"
