"""A BEIR dataset folder read into typed records; bad input stops with one line naming the file (and line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QRELS_HEADER = ("query-id", "corpus-id", "score")


class BeirFormatError(ValueError):
    """A dataset that cannot be used; the message is one line naming the file (and line)."""


@dataclass(frozen=True)
class BeirDocument:
    id: str
    title: str
    text: str


@dataclass
class BeirDataset:
    """One split of a BEIR dataset: the whole corpus, and the judged queries of the split."""

    name: str
    root: Path
    split: str
    corpus: list[BeirDocument]
    corpus_sha256: str
    queries: dict[str, str]  # query id -> text, judged queries only, in qrels order
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: grade}


def file_sha256(path: Path) -> str:
    from ingest.fetch import sha256_file  # lazy: only typer and the standard library at import

    return sha256_file(path)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise BeirFormatError(f"{path}: file not found")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def _json_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BeirFormatError(f"{path}:{number}: bad JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise BeirFormatError(f"{path}:{number}: expected a JSON object")
        yield number, record


def _field(path: Path, number: int, record: dict[str, Any], name: str, required: bool = True) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if name == "_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # some BEIR exports write numeric ids
    if not isinstance(value, str) or (name == "_id" and not value):
        problem = "missing" if value is None else "must be a non-empty string" if name == "_id" else "must be a string"
        raise BeirFormatError(f"{path}:{number}: field {name!r} {problem}")
    return value


def load_corpus(path: Path) -> list[BeirDocument]:
    documents: list[BeirDocument] = []
    seen: set[str] = set()
    for number, record in _json_records(path):
        doc_id = _field(path, number, record, "_id")
        if doc_id in seen:
            raise BeirFormatError(f"{path}:{number}: duplicate _id {doc_id!r}")
        seen.add(doc_id)
        title = _field(path, number, record, "title", required=False)
        documents.append(BeirDocument(doc_id, title, _field(path, number, record, "text")))
    if not documents:
        raise BeirFormatError(f"{path}: no documents")
    return documents


def load_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, record in _json_records(path):
        query_id = _field(path, number, record, "_id")
        if query_id in queries:
            raise BeirFormatError(f"{path}:{number}: duplicate _id {query_id!r}")
        queries[query_id] = _field(path, number, record, "text")
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    header_seen = False
    for number, line in _lines(path):
        parts = line.rstrip("\n").split("\t")
        if not header_seen:
            header_seen = True
            if tuple(p.strip() for p in parts) != QRELS_HEADER:
                raise BeirFormatError(f"{path}:{number}: expected the header 'query-id<TAB>corpus-id<TAB>score'")
            continue
        if len(parts) != 3 or not parts[0].strip() or not parts[1].strip():
            raise BeirFormatError(f"{path}:{number}: expected 3 tab-separated fields: query-id, corpus-id, score")
        try:
            grade = int(parts[2].strip())
        except ValueError:
            raise BeirFormatError(f"{path}:{number}: score {parts[2].strip()!r} is not an integer") from None
        qrels.setdefault(parts[0].strip(), {})[parts[1].strip()] = grade
    if not qrels:
        raise BeirFormatError(f"{path}: no judgments")
    return qrels


def load_beir(root: Path, split: str = "test") -> BeirDataset:
    """Read and cross-check one split: every judged query and document must exist."""
    if not root.is_dir():
        raise BeirFormatError(f"{root}: not a folder (expected corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise BeirFormatError(f"{qrels_path}: file not found (splits here: {', '.join(available) or 'none'})")
    corpus_path = root / "corpus.jsonl"
    corpus = load_corpus(corpus_path)
    all_queries = load_queries(root / "queries.jsonl")
    qrels = load_qrels(qrels_path)
    doc_ids = {d.id for d in corpus}
    for query_id, judged in qrels.items():
        if query_id not in all_queries:
            raise BeirFormatError(f"{qrels_path}: query-id {query_id!r} is not in queries.jsonl")
        missing = next((d for d in judged if d not in doc_ids), None)
        if missing is not None:
            raise BeirFormatError(f"{qrels_path}: corpus-id {missing!r} (query {query_id!r}) is not in corpus.jsonl")
    queries = {q: all_queries[q] for q in qrels}
    return BeirDataset(root.resolve().name, root, split, corpus, file_sha256(corpus_path), queries, qrels)
