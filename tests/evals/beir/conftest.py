"""The tiny BEIR dataset of the beir tests: five documents, four queries (one without judgments)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DOCS = [
    {
        "_id": "d1",
        "title": "Solitary confinement",
        "text": "Prolonged solitary confinement beyond fifteen days is prohibited.",
    },
    {
        "_id": "d2",
        "title": "Body searches",
        "text": "Intrusive body searches are conducted in private by trained staff.",
    },
    {
        "_id": "d3",
        "title": "Family contact",
        "text": "Prisoners may receive visits from family and friends at regular intervals.",
    },
    {"_id": "d4", "title": "Medical care", "text": "Health care is provided free of charge without discrimination."},
    {
        "_id": "d5",
        "title": "Complaints",
        "text": "Every prisoner may make a complaint to the director without censorship.",
    },
]
QUERIES = [
    {"_id": "q1", "text": "prolonged solitary confinement fifteen days"},
    {"_id": "q2", "text": "visits from family and friends"},
    {"_id": "q3", "text": "free health care without discrimination"},
    {"_id": "q9", "text": "a query without judgments in this split"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td5\t1\nq2\td3\t1\nq3\td4\t1\nq3\td2\t0\n"


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    _write_jsonl(root / "corpus.jsonl", DOCS)
    _write_jsonl(root / "queries.jsonl", QUERIES)
    (root / "qrels" / "test.tsv").write_text(QRELS, encoding="utf-8")
    return root


@pytest.fixture
def tiny_docs() -> list[dict[str, Any]]:
    return [dict(d) for d in DOCS]


@pytest.fixture
def tiny_queries() -> list[dict[str, Any]]:
    return [dict(q) for q in QUERIES]


@pytest.fixture
def write_jsonl() -> Callable[[Path, list[dict[str, Any]]], None]:
    """Writes records as JSON lines (test modules never import conftest)."""
    return _write_jsonl
