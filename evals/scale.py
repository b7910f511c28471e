"""`handbook scale`: answer latency and memory against corpus size, on a Chroma server.

For each size (chunks of our chunker, e.g. 1000, 10000, 100000) the command

1. writes a synthetic handbook corpus (evals/synthetic_corpus.py; reused when already there);
2. ingests it into a Chroma server (started here with `chroma run`, or `--chroma-host/--chroma-port`);
3. starts a fresh app-like process (the assistant, plus gradio imported as the web app does) that
   asks the planted needle questions and generic staff questions, and reports answer latency
   p50/p95, its resident memory, and whether each needle answer cites the needle rule;
4. starts two such processes at once against the same server and index: both must cite every needle.

It writes scale.json, scale.md and scale.png (latency and memory against corpus size) to `--out`.

Embeddings: on this project's CPU machines the model embeds ~15 chunks/s, so 100k chunks take
about two hours. `handbook scale embed --sizes 100000 --device cuda --model DIR --out vectors.npz`
(or `python -m evals.scale embed ...`, which needs neither typer nor the app) embeds the chunk
texts of the same corpora on a GPU and prints the throughput. Where the GPU machine lacks the
ingest package's dependencies (pydantic), write the texts here with
`python -m evals.scale texts --sizes 1000,10000,100000 --out texts.jsonl.gz` and embed them
there with `python -m evals.scale embed --texts texts.jsonl.gz ...` (numpy and
sentence-transformers only). `--vectors vectors.npz` then looks vectors up by the sha256 of the
chunk's embedding text (int8 with a per-vector scale) and embeds only misses.
`--fake-vectors` uses token-hash vectors instead (latency and memory only: the dense half of
retrieval then finds nothing meaningful, and weak evidence makes the assistant refuse).

The measured processes answer extractively (HANDBOOK_LLM is removed from their environment).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.stats import percentile
from ingest.embedding import Embedder, PassageVectors

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
LATENCY_TARGET_MS = 150.0
MEMORY_TARGET_MB = 2048.0
CPU_EMBED_WARNING = 20000  # chunks; above this, embedding on the CPU takes more than ~20 minutes
STARTUP_TIMEOUT_S = 60
KEY_BYTES = 16
LOCAL_PORT = 8765  # the server started here: a fixed port where free, so that indexes of earlier runs stay valid

# --- vectors looked up by text hash -----------------------------------------------------------


def text_key(text: str) -> bytes:
    """The lookup key of an embedding text: the first 16 bytes of its sha256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


@dataclass
class VectorTable:
    """Unit vectors stored as int8 with one float32 scale per vector (a quarter of float32's size)."""

    keys: np.ndarray  # (n, 16) uint8
    q: np.ndarray  # (n, d) int8
    scale: np.ndarray  # (n,) float32
    meta: dict[str, Any] = field(default_factory=dict)
    _rows: dict[bytes, int] | None = None

    @classmethod
    def from_vectors(
        cls, keys: Sequence[bytes], vectors: np.ndarray, meta: dict[str, Any] | None = None
    ) -> VectorTable:
        vectors = np.asarray(vectors, dtype=np.float32)
        peak = np.abs(vectors).max(axis=1)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
        raw = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)
        return cls(raw.copy(), q, scale, dict(meta or {}))

    @classmethod
    def load(cls, path: Path) -> VectorTable:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
            return cls(data["keys"], data["q"], data["scale"], meta)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, keys=self.keys, q=self.q, scale=self.scale, meta=np.array(json.dumps(self.meta)))
        tmp.replace(path)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def dimension(self) -> int:
        return int(self.q.shape[1])

    def get(self, key: bytes) -> np.ndarray | None:
        if self._rows is None:
            self._rows = {row.tobytes(): i for i, row in enumerate(self.keys)}
        i = self._rows.get(key)
        if i is None:
            return None
        vector = self.q[i].astype(np.float32) * self.scale[i]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def merged(self, other: VectorTable) -> VectorTable:
        seen = {row.tobytes() for row in self.keys}
        extra = np.asarray([i for i, row in enumerate(other.keys) if row.tobytes() not in seen], dtype=np.int64)
        if not len(extra):
            return self
        return VectorTable(
            np.vstack([self.keys, other.keys[extra]]),
            np.vstack([self.q, other.q[extra]]),
            np.concatenate([self.scale, other.scale[extra]]),
            {**other.meta, **self.meta},
        )


def hash_vectors(texts: Sequence[str], dimension: int = 384) -> np.ndarray:
    """Token-hash unit vectors (as tests/fakes.py): cheap stand-ins for latency and memory runs."""
    import re

    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for row, text in enumerate(texts):
        for token in re.findall(r"\w+", text.lower()) or ["<empty>"]:
            digest = hashlib.sha256(token.encode("utf-8")).digest()
            out[row, int.from_bytes(digest[:4], "little") % dimension] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(out[row]))
        out[row] = out[row] / norm if norm else np.eye(1, dimension, dtype=np.float32)[0]
    return out


class TableEmbedder(Embedder):
    """An Embedder that takes vectors from a VectorTable by text hash and embeds only the misses.

    With `hash_misses`, misses get token-hash vectors instead of the model's (no model is loaded).
    `model_path` stays the real model's, so the index records the model that answers queries.
    """

    def __init__(
        self,
        model_path: str,
        table: VectorTable | None,
        hash_misses: bool = False,
        device: str = "cpu",
        batch_size: int = 32,
        backend: str = "torch",
    ) -> None:
        super().__init__(model_path, device, batch_size, backend)
        self.table = table
        self.hash_misses = hash_misses
        self.hits = 0
        self.misses = 0

    def load(self) -> None:
        if not self.hash_misses:
            super().load()

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> PassageVectors:
        """The table's passage vectors, without windows: a table holds one vector per text."""
        return PassageVectors.assemble(self.encode(texts, progress), [np.zeros((0, 1))] * len(texts))

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.table.dimension if self.table else 384), dtype=np.float32)
        found: dict[int, np.ndarray] = {}
        if self.table is not None:
            for i, text in enumerate(texts):
                vector = self.table.get(text_key(text))
                if vector is not None:
                    found[i] = vector
        missing = [i for i in range(len(texts)) if i not in found]
        self.hits += len(found)
        self.misses += len(missing)
        if progress and found:
            progress(len(found))
        fresh = np.zeros((0, 0), dtype=np.float32)
        if missing:
            batch = [texts[i] for i in missing]
            if self.hash_misses:
                fresh = hash_vectors(batch)
                if progress:
                    progress(len(batch))
            else:
                fresh = super().encode(batch, progress=progress)
        dimension = fresh.shape[1] if missing else next(iter(found.values())).shape[0]
        out = np.zeros((len(texts), dimension), dtype=np.float32)
        for i, vector in found.items():
            out[i] = vector
        for row, i in enumerate(missing):
            out[i] = fresh[row]
        return out


# --- a Chroma server -------------------------------------------------------------------------


@dataclass
class ChromaServer:
    host: str
    port: int
    process: subprocess.Popen[bytes] | None = None  # None: a server we did not start

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a server that just stopped leaves TIME_WAIT
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def heartbeat(host: str, port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(f"http://{host}:{port}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def chroma_server(data_dir: Path, host: str | None = None, port: int | None = None) -> Iterator[ChromaServer]:
    """Uses the server at host:port when given, else starts `chroma run` on a free port for the duration."""
    if host:
        if not heartbeat(host, port or 8000):
            raise RuntimeError(f"no Chroma server answers at http://{host}:{port or 8000}/api/v2/heartbeat")
        yield ChromaServer(host, port or 8000)
        return
    binary = Path(sys.executable).parent / "chroma"
    if not binary.exists():
        found = shutil.which("chroma")
        if found is None:
            raise RuntimeError(f"chroma server binary not found at {binary} nor on PATH")
        binary = Path(found)
    host = "127.0.0.1"
    port = port or (LOCAL_PORT if _port_free(LOCAL_PORT) else free_port())
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / "chroma-server.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [str(binary), "run", "--host", host, "--port", str(port), "--path", str(data_dir)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=_no_proxy_env(),
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not heartbeat(host, port):
                if process.poll() is not None:
                    raise RuntimeError(f"chroma server exited with {process.returncode}; see {log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma server not answering after {STARTUP_TIMEOUT_S} s; see {log_path}")
                time.sleep(0.2)
            yield ChromaServer(host, port, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def _no_proxy_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def rss_mb(pid: int | None = None) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc (0, 0 where unavailable)."""
    status = Path(f"/proc/{pid or 'self'}/status")
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    with contextlib.suppress(OSError):
        for line in status.read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = float(rest.split()[0]) / 1024
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


# --- the measured app-like process -----------------------------------------------------------


@dataclass
class MeasureSpec:
    index_dir: str
    needles: list[dict[str, Any]]
    questions: list[str]
    rounds: int = 3
    app_imports: bool = True
    barrier: str = ""  # a folder: processes started together wait there until all `parties` are ready
    parties: int = 1


def needle_cited(answer: Any, needle: dict[str, Any]) -> tuple[bool, bool]:
    """(cited anywhere, cited first): a citation of the needle's document and ref that quotes its phrase."""
    phrase = needle["phrase"].lower()

    def match(citation: Any) -> bool:
        quote = " ".join(citation.quote.split()).lower()
        return bool(citation.doc == needle["doc_id"] and citation.ref == needle["ref"] and phrase in quote)

    cited = [match(c) for c in answer.citations]
    return any(cited), bool(cited and cited[0])


def needle_rank(answer: Any, needle: dict[str, Any]) -> int | None:
    """1-based rank of the needle's passage among the answer's passages; None when not among them."""
    phrase = needle["phrase"].lower()
    for rank, passage in enumerate(answer.passages, start=1):
        if passage.doc == needle["doc_id"] and phrase in " ".join(passage.text.split()).lower():
            return rank
    return None


def measure(spec: MeasureSpec) -> dict[str, Any]:
    """Runs in a fresh process: load the assistant as the app does, ask, time, and read our memory."""
    started = time.perf_counter()
    if spec.app_imports:
        import gradio  # noqa: F401  (the web app's process carries it)
    from assistant.chain import Assistant
    from ingest.settings import Settings

    assistant = Assistant.from_settings(Settings(index_dir=Path(spec.index_dir)))
    assistant.warm_up()
    startup = time.perf_counter() - started
    if spec.barrier:
        _wait_for_peers(Path(spec.barrier), spec.parties)
    latencies: list[float] = []
    stages: dict[str, list[float]] = {}
    results: dict[str, dict[str, Any]] = {}
    questions = [n["question"] for n in spec.needles] + list(spec.questions)
    for _ in range(spec.rounds):
        for question in questions:
            t = time.perf_counter()
            answer = assistant.ask(question)
            latencies.append((time.perf_counter() - t) * 1000)
            for stage, ms in answer.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
            for needle in spec.needles:
                if needle["question"] == question and needle["key"] not in results:
                    cited, first = needle_cited(answer, needle)
                    results[needle["key"]] = {
                        "cited": cited,
                        "cited_first": first,
                        "retrieved_rank": needle_rank(answer, needle),
                        "refused": answer.refused,
                        "confidence": round(answer.confidence, 3),
                        "citations": [f"{c.doc} {c.ref}" for c in answer.citations[:3]],
                    }
    # The "dense" stage includes embedding the question; time that alone to tell it from the Chroma query.
    encode_ms = []
    for question in questions:
        t = time.perf_counter()
        assistant.retriever.embedder.encode([question])
        encode_ms.append((time.perf_counter() - t) * 1000)
    current, peak = rss_mb()
    return {
        "chunks": len(assistant.snapshot.chunks),
        "startup_s": round(startup, 2),
        "asked": len(latencies),
        "latency_ms": _summary(latencies),
        "stage_ms_p50": {k: round(percentile(v, 50), 2) for k, v in sorted(stages.items())},
        "query_embedding_ms_p50": round(percentile(encode_ms, 50), 2) if encode_ms else 0.0,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch_loaded": "torch" in sys.modules,
        "rss_mb": current,
        "peak_rss_mb": peak,
        "needles": results,
        "needles_cited": sum(r["cited"] for r in results.values()),
        "needles_retrieved_first": sum(r["retrieved_rank"] == 1 for r in results.values()),
        "needles_total": len(spec.needles),
    }


def _wait_for_peers(folder: Path, parties: int, timeout_s: float = 300.0) -> None:
    """Start asking only when every process of the group has loaded (so that they really overlap)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + timeout_s
    while len(list(folder.glob("ready-*"))) < parties and time.monotonic() < deadline:
        time.sleep(0.05)


def _settings_backend() -> str:
    from ingest.settings import Settings

    return Settings().embedding_backend


def _summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "mean": round(sum(values) / len(values), 1),
        "max": round(max(values), 1),
    }


def _measure_main(argv: Sequence[str]) -> int:
    spec = MeasureSpec(**json.loads(Path(argv[0]).read_text()))
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(measure(spec)))
    return 0


def start_measure(spec: MeasureSpec, spec_path: Path) -> subprocess.Popen[str]:
    spec_path.write_text(json.dumps(asdict(spec)))
    return subprocess.Popen(
        [sys.executable, "-m", "evals.scale", "_measure", str(spec_path)],
        cwd=str(REPO_ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in _no_proxy_env().items() if k != "HANDBOOK_LLM"},  # extractive answers: the app's default
    )


def finish_measure(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"measured process failed ({process.returncode}): {err.strip()[-2000:]}")
    return dict(json.loads(out.strip().splitlines()[-1]))


# --- one size --------------------------------------------------------------------------------


@dataclass
class SizeResult:
    target: int
    documents: int
    pages: int
    chunks: int
    generate_s: float
    ingest_s: float
    embedded: int
    vectors: str  # "model", "table" or "fake"
    table_hits: int
    table_misses: int
    app: dict[str, Any]
    two_processes: list[dict[str, Any]]
    chroma_rss_mb: float | None
    two_processes_correct: bool | None = None  # both cite every needle
    two_processes_agree: bool | None = None  # both cite what the single process cited (sharing changes nothing)
    index_reused: bool = False  # the index of an earlier run was up to date: ingest_s is only the check

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScaleOptions:
    """How each corpus size is built and measured (the `handbook scale` options)."""

    fake_vectors: bool = False  # hash vectors: latency and memory only, answers are meaningless
    seed: int = 7
    rounds: int = 3  # passes over the questions per measurement
    workers: int = 1  # processes generating the PDFs
    two_processes: bool = True  # also two app processes against the same server at once
    app_imports: bool = True  # import gradio in the measured process, as the app does
    progress: bool = True


def run_size(
    target: int,
    work: Path,
    server: ChromaServer,
    vectors: VectorTable | None,
    options: ScaleOptions,
    echo: Callable[[str], None],
) -> SizeResult:
    from evals.synthetic_corpus import generate_corpus
    from ingest.chunking import Chunker
    from ingest.corpus_manifest import Manifest
    from ingest.index_store import ChromaConfig, IndexSnapshot
    from ingest.pipeline import Ingestor
    from ingest.settings import Settings

    settings = Settings()
    mode = "fake" if options.fake_vectors else "table" if vectors is not None else "model"
    corpus_dir = work / f"corpus-{target}-seed{options.seed}"
    echo(f"[{target}] generating the corpus in {corpus_dir} ...")
    t = time.perf_counter()
    info = generate_corpus(corpus_dir, target, options.seed, workers=options.workers)
    generate_s = time.perf_counter() - t
    echo(
        f"[{target}] {len(info.documents)} documents, {info.pages} pages "
        f"({generate_s:.1f} s; generated in {info.seconds} s)"
    )

    if mode == "model" and target > CPU_EMBED_WARNING and settings.embedding_device == "cpu":
        echo(
            f"[{target}] note: embedding ~{target} chunks with the model on the CPU takes about "
            f"{target / 15 / 60:.0f} minutes; `--vectors` or `--fake-vectors` avoid it"
        )
    embedder = TableEmbedder(
        settings.resolved_model(),
        vectors,
        hash_misses=options.fake_vectors,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
        backend=settings.embedding_backend,
    )
    index_dir = work / f"index-{target}-seed{options.seed}-{mode}-{server.host}-{server.port}"
    chroma = ChromaConfig(server.host, server.port, f"scale-{target}-{mode}")
    ingestor = Ingestor(
        index_dir,
        embedder,
        Chunker(settings.chunk_max_words, settings.chunk_min_words),
        Manifest.load(Path(info.manifest)),
        chroma,
        progress=options.progress,
    )
    echo(f"[{target}] ingesting into the Chroma server at {server.host}:{server.port} ({mode} vectors) ...")
    t = time.perf_counter()
    report = ingestor.run([Path(info.pdf_dir)])
    if report.failed:
        raise RuntimeError(f"ingest failed for {len(report.failed)} files: {report.failed[0].message}")
    snapshot = IndexSnapshot.open(index_dir)
    try:
        complete = snapshot.collection().count() == len(snapshot.chunks)
    except Exception:  # the server no longer holds the collection (e.g. a fresh server data folder)
        complete = False
    if not complete:
        echo(f"[{target}] the server does not hold this index's vectors; ingesting again")
        shutil.rmtree(index_dir)
        report = ingestor.run([Path(info.pdf_dir)])
        snapshot = IndexSnapshot.open(index_dir)
    ingest_s = time.perf_counter() - t
    chunks = len(snapshot.chunks)
    del snapshot
    echo(f"[{target}] {chunks} chunks, {report.embedded} embedded ({ingest_s:.1f} s)")

    needles = [asdict(n) for n in info.needles]
    spec = MeasureSpec(str(index_dir), needles, info.questions, options.rounds, options.app_imports)
    echo(
        f"[{target}] measuring in a fresh process "
        f"({options.rounds} rounds of {len(needles) + len(info.questions)} questions) ..."
    )
    app = finish_measure(start_measure(spec, work / f"measure-{target}.json"))
    chroma_rss = rss_mb(server.pid)[0] if server.pid else None
    pair: list[dict[str, Any]] = []
    correct: bool | None = None
    agree: bool | None = None
    if options.two_processes:
        echo(f"[{target}] two processes sharing the server ...")
        barrier = work / f"barrier-{target}"
        shutil.rmtree(barrier, ignore_errors=True)
        # Both ask the needle and generic questions at the same time, once both have loaded.
        both = MeasureSpec(
            str(index_dir), needles, info.questions, max(1, options.rounds - 1), options.app_imports, str(barrier), 2
        )
        processes = [start_measure(both, work / f"measure-{target}-{i}.json") for i in (1, 2)]
        pair = [finish_measure(p) for p in processes]
        correct = all(r["needles_cited"] == r["needles_total"] for r in pair)
        single = {key: r["cited"] for key, r in app["needles"].items()}
        agree = all({key: r["cited"] for key, r in p["needles"].items()} == single for p in pair)
    return SizeResult(
        target=target,
        documents=len(info.documents),
        pages=info.pages,
        chunks=chunks,
        generate_s=round(info.seconds, 2),  # as first generated (a later run reuses the files)
        ingest_s=round(ingest_s, 2),
        embedded=report.embedded,
        vectors=mode,
        table_hits=embedder.hits,
        table_misses=embedder.misses,
        app=app,
        two_processes=pair,
        chroma_rss_mb=chroma_rss,
        two_processes_correct=correct,
        two_processes_agree=agree,
        index_reused=not report.switched,
    )


# --- report ----------------------------------------------------------------------------------


def markdown_table(results: Sequence[SizeResult]) -> str:
    head = (
        "| target | documents | pages | chunks | vectors | generate s | ingest s | p50 ms | p95 ms "
        "| question embedding ms | app RSS MB (peak) | Chroma RSS MB | needles cited "
        "| two processes at once: needles cited, latency |\n"
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = []
    for r in results:
        app = r.app
        pair = ", ".join(f"{p['needles_cited']}/{p['needles_total']}" for p in r.two_processes) or "–"
        if r.two_processes_agree is not None:
            pair += "; same as one process" if r.two_processes_agree else "; DIFFERENT from one process"
        if r.two_processes:
            pair += "; p50 " + "/".join(f"{p['latency_ms']['p50']:.0f}" for p in r.two_processes) + " ms"
        rows.append(
            f"| {r.target} | {r.documents} | {r.pages} | {r.chunks} | {r.vectors} | {r.generate_s:.1f} "
            f"| {r.ingest_s:.1f}{' (reused)' if r.index_reused else ''} "
            f"| {app['latency_ms']['p50']:.0f} | {app['latency_ms']['p95']:.0f} "
            f"| {app.get('query_embedding_ms_p50', 0):.0f} "
            f"| {app['rss_mb']:.0f} ({app['peak_rss_mb']:.0f}) "
            f"| {'–' if r.chroma_rss_mb is None else f'{r.chroma_rss_mb:.0f}'} "
            f"| {app['needles_cited']}/{app['needles_total']} ({app.get('needles_retrieved_first', '–')} ranked first) "
            f"| {pair} |"
        )
    return head + "\n".join(rows) + "\n"


def plot(results: Sequence[SizeResult], path: Path, note: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(results, key=lambda r: r.chunks)
    x = [r.chunks for r in ordered]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(x, [r.app["latency_ms"]["p50"] for r in ordered], "o-", label="p50")
    left.plot(x, [r.app["latency_ms"]["p95"] for r in ordered], "s--", label="p95")
    left.axhline(
        LATENCY_TARGET_MS, color="red", linewidth=0.8, linestyle=":", label=f"target p50 {LATENCY_TARGET_MS:.0f} ms"
    )
    left.set(xscale="log", xlabel="chunks", ylabel="answer latency (ms)", title="Answer latency")
    left.set_ylim(bottom=0)
    left.legend()
    right.plot(x, [r.app["peak_rss_mb"] for r in ordered], "o-", label="app process, peak RSS")
    right.plot(x, [r.app["rss_mb"] for r in ordered], "^-", label="app process, RSS after questions")
    if all(r.chroma_rss_mb is not None for r in ordered):
        right.plot(x, [r.chroma_rss_mb for r in ordered], "s--", label="Chroma server RSS")
    right.axhline(MEMORY_TARGET_MB, color="red", linewidth=0.8, linestyle=":", label="target 2 GB")
    right.set(xscale="log", xlabel="chunks", ylabel="MB", title="Memory")
    right.set_ylim(bottom=0)
    right.legend(fontsize=8)
    modes = sorted({r.vectors for r in ordered})
    fig.suptitle(f"Handbook assistant at scale ({os.cpu_count()} CPU cores; vectors: {', '.join(modes)}{note})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(results: Sequence[SizeResult], out: Path, extra: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = {**extra, "results": [r.to_json() for r in results]}
    paths = [out / "scale.json", out / "scale.md", out / "scale.png"]
    paths[0].write_text(json.dumps(data, indent=2))
    paths[1].write_text(markdown_table(results))
    backend = extra.get("embedding_backend")
    plot(results, paths[2], f"; question embedding: {backend}" if backend else "")
    return paths


def parse_sizes(text: str) -> list[int]:
    sizes: list[int] = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        factor = 1000 if part.endswith("k") else 1
        try:
            value = int(part.rstrip("k")) * factor
        except ValueError:
            raise ValueError(f"--sizes: {part!r} is not a number of chunks") from None
        if value < 50:
            raise ValueError(f"--sizes: {value} is too small (at least 50 chunks)")
        sizes.append(value)
    if not sizes:
        raise ValueError("--sizes: give at least one size, e.g. 1000,10000")
    return sizes


def run_scale(
    sizes: Sequence[int],
    out: Path,
    work: Path,
    chroma_host: str | None,
    chroma_port: int | None,
    vectors_path: Path | None,
    options: ScaleOptions,
    echo: Callable[[str], None],
) -> tuple[list[SizeResult], list[Path]]:
    table = VectorTable.load(vectors_path) if vectors_path is not None else None
    if table is not None:
        echo(f"{len(table)} vectors from {vectors_path} ({table.meta.get('model', 'model unknown')})")
    results: list[SizeResult] = []
    extra = {
        "sizes": list(sizes),
        "seed": options.seed,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "vectors_file": str(vectors_path) if vectors_path else None,
        "fake_vectors": options.fake_vectors,
        "embedding_backend": _settings_backend(),
        "latency_target_ms": LATENCY_TARGET_MS,
        "memory_target_mb": MEMORY_TARGET_MB,
    }
    paths: list[Path] = []
    with chroma_server(work / "chroma-data", chroma_host, chroma_port) as server:
        for size in sizes:
            results.append(run_size(size, work, server, table, options, echo))
            paths = write_outputs(results, out, extra)  # after every size: a partial run still leaves results
    return results, paths


# --- embedding on a GPU (no typer, no app) -----------------------------------------------------


@dataclass
class TextGroup:
    """The distinct embedding texts of one corpus size."""

    size: int
    texts: dict[bytes, str]  # text_key -> text
    seconds: float  # to generate and chunk them (0 when read from a file)


def corpus_texts(sizes: Sequence[int], seed: int = 7, via_pdf: bool = False) -> Iterator[TextGroup]:
    """The embedding texts `handbook ingest` computes for each synthetic corpus (needs the ingest package)."""
    from evals.synthetic_corpus import build_document, document_chunks, plan_corpus

    for size in sizes:
        t = time.perf_counter()
        texts: dict[bytes, str] = {}
        for spec in plan_corpus(size, seed):
            doc = build_document(spec)
            for chunk in _chunks_via_pdf(doc) if via_pdf else document_chunks(doc):
                text = chunk.embedding_text()
                texts.setdefault(text_key(text), text)
        yield TextGroup(size, texts, time.perf_counter() - t)


def write_texts(path: Path, groups: Iterable[TextGroup], meta: dict[str, Any]) -> int:
    """A gzipped JSON-lines file: a header object, then {"size": n, "text": "..."} per distinct text."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"meta": meta}) + "\n")
        for group in groups:
            for text in group.texts.values():
                fh.write(json.dumps({"size": group.size, "text": text}) + "\n")
                count += 1
    return count


def read_texts(path: Path) -> tuple[dict[str, Any], list[TextGroup]]:
    groups: dict[int, TextGroup] = {}
    meta: dict[str, Any] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if "meta" in record:
                meta = record["meta"]
                continue
            group = groups.setdefault(record["size"], TextGroup(record["size"], {}, 0.0))
            group.texts.setdefault(text_key(record["text"]), record["text"])
    return meta, list(groups.values())


def embed_vectors(
    groups: Iterable[TextGroup],
    model: str,
    out: Path,
    device: str = "cpu",
    batch_size: int = 128,
    meta: dict[str, Any] | None = None,
    echo: Callable[[str], None] = print,
) -> VectorTable:
    """Embeds each group's texts not yet in `out` and saves the merged VectorTable; prints throughput."""
    embedder = Embedder(model, device=device, batch_size=batch_size, backend="torch")  # sentence-transformers
    t = time.perf_counter()
    embedder.load()
    embedder.encode(["warm-up sentence for the embedding model"] * 8)
    echo(f"model {model} loaded on {device} ({time.perf_counter() - t:.1f} s)")
    table = VectorTable.load(out) if out.exists() else None
    for group in groups:
        keys = [k for k in group.texts if table is None or table.get(k) is None]
        made = f" ({group.seconds:.1f} s to generate and chunk)" if group.seconds else ""
        echo(f"size {group.size}: {len(group.texts)} distinct chunk texts{made}; {len(keys)} to embed")
        if not keys:
            continue
        t = time.perf_counter()
        vectors = embedder.encode([group.texts[k] for k in keys])
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        seconds = time.perf_counter() - t
        echo(
            f"size {group.size}: embedded {len(keys)} chunks in {seconds:.1f} s = {len(keys) / seconds:.0f} chunks/s "
            f"on {device} (batch {batch_size})"
        )
        info = {
            **(meta or {}),
            "model": Path(model).name,
            "device": device,
            "batch_size": batch_size,
            f"throughput_{group.size}": round(len(keys) / seconds, 1),
        }
        fresh = VectorTable.from_vectors(keys, vectors, info)
        table = fresh if table is None else table.merged(fresh)
        table.meta.update(info)
        table.save(out)
        echo(f"{len(table)} vectors in {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if table is None:
        raise ValueError("nothing to embed: no sizes given")
    return table


def corpus_meta(seed: int) -> dict[str, Any]:
    from evals.synthetic_corpus import GENERATOR_VERSION

    return {"seed": seed, "generator_version": GENERATOR_VERSION}


def _chunks_via_pdf(doc: Any) -> list[Any]:
    """The chunks of the written PDF (fpdf2 + pypdfium2), as `handbook ingest` would see them."""
    import tempfile

    from evals.synthetic_corpus import pdf_page_texts, render_pdf
    from ingest.chunking import Chunker
    from ingest.page_cleaning import PageCleaner
    from ingest.structure import StructureParser

    with tempfile.TemporaryDirectory(prefix="handbook-scale-") as folder:
        path = Path(folder) / f"{doc.spec.id}.pdf"
        render_pdf(doc, path)
        lines = PageCleaner().run(pdf_page_texts(path))
    return Chunker().run(doc.spec.id, doc.spec.short_title or doc.spec.title, StructureParser().run(lines))


def _embed_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.scale embed",
        description="Embed the chunk texts of the synthetic corpora (for `handbook scale --vectors FILE`).",
    )
    parser.add_argument("--sizes", help="comma-separated chunk counts, e.g. 1000,10000,100000 (default 100000)")
    parser.add_argument("--texts", type=Path, help="texts from `python -m evals.scale texts` (--sizes: only those)")
    parser.add_argument("--model", required=True, help="sentence-transformers model folder (all-MiniLM-L6-v2)")
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write (merged when it exists)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--via-pdf", action="store_true", help="write and read each PDF (needs fpdf2, pypdfium2)")
    args = parser.parse_args(list(argv))
    try:
        sizes = parse_sizes(args.sizes) if args.sizes else None
    except ValueError as exc:
        parser.error(str(exc))
    if args.texts is not None:
        meta, groups = read_texts(args.texts)
        chosen = [g for g in groups if sizes is None or g.size in sizes]
        embed_vectors(chosen, args.model, args.out, args.device, args.batch_size, meta)
        return 0
    sizes = sizes or [100000]
    groups_made = corpus_texts(sizes, args.seed, args.via_pdf)
    embed_vectors(groups_made, args.model, args.out, args.device, args.batch_size, corpus_meta(args.seed))
    return 0


def _texts_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.scale texts",
        description="Write the chunk texts of the synthetic corpora (gzipped JSON lines) for `embed --texts`.",
    )
    parser.add_argument("--sizes", default="100000", help="comma-separated chunk counts")
    parser.add_argument("--out", type=Path, required=True, help="the .jsonl.gz to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--via-pdf", action="store_true", help="write and read each PDF (slower; same texts)")
    args = parser.parse_args(list(argv))
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as exc:
        parser.error(str(exc))
    t = time.perf_counter()
    count = write_texts(args.out, corpus_texts(sizes, args.seed, args.via_pdf), corpus_meta(args.seed))
    size_mb = args.out.stat().st_size / 1e6
    print(f"{count} texts in {args.out} ({size_mb:.1f} MB, {time.perf_counter() - t:.1f} s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "embed":
        return _embed_main(args[1:])
    if args and args[0] == "texts":
        return _texts_main(args[1:])
    if args and args[0] == "_measure":
        return _measure_main(args[1:])
    from evals.scale_cli import build_scale_app

    build_scale_app()(args, prog_name="python -m evals.scale")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
