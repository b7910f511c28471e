"""Shared fixtures: the shared corpus, a fake and a real embedder, and one real-corpus index per session."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
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

FAKE_DIMENSION = 384
_TOKEN = re.compile(r"\w+")


class FakeEmbedder:
    """Stands in for `ingest.embedding.Embedder` without loading a model.

    Each text becomes the normalised sum of one pseudo-random signed basis vector per
    token (hashed with sha256, so the same text gives the same vector in every process).
    `calls` and `embedded` count how often `encode` ran and how many texts it embedded.
    """

    def __init__(self, model_path: str = "/fake/models/fake-hash-embedder", dimension: int = FAKE_DIMENSION) -> None:
        self.model_path = model_path
        self.device = "cpu"
        self.batch_size = 32
        self.backend = "fake"
        self.dimension_ = dimension
        self.calls = 0
        self.embedded = 0
        self.texts: list[str] = []

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name or self.model_path

    def load(self) -> None:
        return None

    def dimension(self) -> int:
        return self.dimension_

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.calls += 1
        self.embedded += len(texts)
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dimension_), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()) or ["<empty>"]:
                digest = hashlib.sha256(token.encode("utf-8")).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimension_
                out[row, index] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        if progress is not None and len(texts):
            progress(len(texts))
        return out

    def reset_counts(self) -> None:
        self.calls = 0
        self.embedded = 0
        self.texts = []


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
    """Ingests ../shared/corpus into a temporary index (takes a few minutes; done once)."""
    from ingest.corpus_manifest import Manifest
    from ingest.pipeline import Ingestor

    manifest_path = REPO_ROOT / "corpus" / "manifest.toml"
    manifest = Manifest.load(manifest_path) if manifest_path.exists() else None
    index_dir = tmp_path_factory.mktemp("corpus-index") / "index"
    report = Ingestor(index_dir, real_embedder, manifest=manifest, progress=False).run([shared_corpus])
    yield CorpusIndex(
        index_dir=index_dir, report=report, corpus=shared_corpus, embedder=real_embedder, manifest=manifest
    )
