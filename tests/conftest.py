"""Shared fixtures: the shared corpus, a fake and a real embedder, and one real-corpus index per session.

The real-corpus index (both models over ../shared/corpus: minutes of embedding) is cached between
runs (tests/index_cache.py): each session copies it from the cache, or builds it once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

# tests/ has no __init__.py: make `import pdf_factory` work from every test folder. The repo
# root goes first, so that `assistant` is the package and not the folder tests/assistant.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))
if str(REPO_ROOT) in sys.path:
    sys.path.remove(str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT))

from fakes import FakeEmbedder  # noqa: E402  (needs the path set above)
from index_cache import cached_corpus_index, index_cache_key, index_cache_root  # noqa: E402


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def make_fake_embedder() -> type[FakeEmbedder]:
    """The FakeEmbedder class, for tests that need more than one (test modules never import conftest)."""
    return FakeEmbedder


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir() or not any(SHARED_CORPUS.glob("*.pdf")):
        pytest.skip(f"shared corpus not found at {SHARED_CORPUS} (expected beside the checkout as ../shared/corpus)")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def real_embedder() -> Any:
    from ingest.embedding import Embedder
    from ingest.settings import default_model_path

    try:
        path = default_model_path()
    except Exception as exc:  # the packaged model is missing from this environment
        pytest.skip(f"packaged embedding model unavailable: {exc}")
    embedder = Embedder(path)
    embedder.load()
    return embedder


_E5: list[Any] = []


def _e5_encoder() -> Any:
    """The real e5 encoder, made once (loaded when first used); None where its engine cannot run here
    (then tests use MiniLM only)."""
    if not _E5:
        from ingest.encoders import E5Encoder, EncoderError, check_e5_available

        try:
            check_e5_available()
            encoder = E5Encoder()
        except EncoderError:
            encoder = None
        _E5.append(encoder)
    return _E5[0]


@dataclass
class CorpusIndex:
    """The shared corpus ingested once per session with the real model."""

    index_dir: Path
    report: Any  # ingest.pipeline.IngestReport of the first ingest
    corpus: Path
    embedder: Any
    manifest: Any


@pytest.fixture(scope="session")
def corpus_index(
    shared_corpus: Path, real_embedder: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CorpusIndex]:
    """../shared/corpus ingested with the real models: from the cache of earlier runs, or built once (minutes)."""
    from ingest.corpus_manifest import Manifest
    from ingest.pipeline import Ingestor

    manifest_path = REPO_ROOT / "corpus" / "manifest.toml"
    manifest = Manifest.load(manifest_path) if manifest_path.exists() else None
    index_dir = tmp_path_factory.mktemp("corpus-index") / "index"
    # The default configuration's models: MiniLM and, where its engine runs, multilingual e5.
    extra = {"e5": _e5_encoder()} if _e5_encoder() is not None else {}

    def build(directory: Path) -> Any:
        ingestor = Ingestor(directory, real_embedder, manifest=manifest, progress=False, extra_encoders=extra)
        return ingestor.run([shared_corpus])

    key = index_cache_key(shared_corpus, manifest_path, {"minilm": real_embedder, **extra})
    report, _ = cached_corpus_index(index_cache_root(), key, index_dir, build)
    yield CorpusIndex(
        index_dir=index_dir, report=report, corpus=shared_corpus, embedder=real_embedder, manifest=manifest
    )


@pytest.fixture(scope="session")
def built_index(corpus_index: CorpusIndex) -> Path:
    """A realistic index for answer-level tests: the shared corpus, built once per session.

    Tests never rely on ./index, which a fresh clone (CI) does not have.
    """
    return corpus_index.index_dir


@pytest.fixture(scope="session")
def corpus_settings(built_index: Path) -> Any:
    """Settings pointing at the session's corpus index."""
    from assistant.settings import Settings
    from ingest.settings import IngestSettings

    return Settings(ingest=IngestSettings(index_dir=built_index))


@pytest.fixture(autouse=True, scope="session")
def _question_log_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Answers given in tests are logged to a temporary question log, never beside ./feedback.sqlite3 (the default)."""
    import os

    if "HANDBOOK_QUESTION_LOG" in os.environ:
        yield
        return
    os.environ["HANDBOOK_QUESTION_LOG"] = str(tmp_path_factory.mktemp("question-log") / "questions.sqlite3")
    try:
        yield
    finally:
        os.environ.pop("HANDBOOK_QUESTION_LOG", None)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's default order puts the files with the most tests first: the order below is kept instead.
    if getattr(config.option, "loadscopereorder", None) is not None:
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with `heavy(seconds)` tests go first, the most seconds first; the rest keep their order.

    pytest-xdist hands out whole files (--dist loadfile) in this order, so a file of minutes handed out
    last keeps one worker busy while the other has finished: in `make test` the gap report (minutes, one
    test) started at 98 %. Longest first on two workers ends both at about the same time.
    """

    def seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("heavy")
        return float(marker.args[0]) if marker is not None else 0.0

    weight: dict[Path, float] = {}
    for item in items:
        weight[item.path] = weight.get(item.path, 0.0) + seconds(item)
    items.sort(key=lambda item: -weight[item.path])  # stable: a file's tests stay together and in order
