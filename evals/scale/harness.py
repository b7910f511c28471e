"""One corpus size end to end (generate, ingest into the Chroma server, measure one and two processes),
and the run over every size."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evals.scale.chroma import ChromaServer, chroma_server
from evals.scale.measure import MeasureSpec, finish_measure, rss_mb, start_measure
from evals.scale.records import LATENCY_TARGET_MS, MEMORY_TARGET_MB, ScaleOptions, SizeResult
from evals.scale.report import write_outputs
from evals.scale.vectors import TableEmbedder, VectorTable

CPU_EMBED_WARNING = 20000  # chunks; above this, embedding on the CPU takes more than ~20 minutes


def _settings_backend() -> str:
    from ingest.settings import IngestSettings

    return IngestSettings().embedding_backend


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
    from ingest.settings import IngestSettings

    settings = IngestSettings()
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
