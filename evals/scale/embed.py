"""Embedding the synthetic corpora's chunk texts, e.g. on a GPU machine (no typer, no app):
`python -m evals.scale texts ...` writes the texts, `python -m evals.scale embed ...` the vectors."""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.scale.records import parse_sizes
from evals.scale.vectors import VectorTable, text_key
from ingest.embedding import Embedder


@dataclass
class TextGroup:
    """The distinct embedding texts of one corpus size."""

    size: int
    texts: dict[bytes, str]  # text_key -> text
    seconds: float  # to generate and chunk them (0 when read from a file)


def corpus_texts(sizes: Sequence[int], seed: int = 7, via_pdf: bool = False) -> Iterator[TextGroup]:
    """The embedding texts `handbook ingest` computes for each synthetic corpus (needs the ingest package)."""
    from evals.synthetic_corpus import document_chunks, plan_corpus
    from evals.synthetic_document import build_document

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


def embed_main(argv: Sequence[str]) -> int:
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


def texts_main(argv: Sequence[str]) -> int:
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
