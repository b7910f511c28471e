"""Loading a BEIR dataset folder: records, and one line naming the file (and line) for bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evals.beir.dataset import BeirFormatError, load_beir


@pytest.mark.unit
def test_load_split(dataset_dir: Path) -> None:
    data = load_beir(dataset_dir, "test")
    assert data.name == "tiny"
    assert [d.id for d in data.corpus] == ["d1", "d2", "d3", "d4", "d5"]
    assert data.corpus[1].title == "Body searches"
    assert list(data.queries) == ["q1", "q2", "q3"]  # judged queries only, in qrels order
    assert data.qrels["q1"] == {"d1": 2, "d5": 1}
    assert data.qrels["q3"] == {"d4": 1, "d2": 0}
    assert len(data.corpus_sha256) == 64


@pytest.mark.unit
def test_missing_split_names_available_ones(dataset_dir: Path) -> None:
    with pytest.raises(BeirFormatError, match=r"qrels/dev\.tsv: file not found \(splits here: test\)"):
        load_beir(dataset_dir, "dev")


@pytest.mark.unit
def test_missing_corpus_file(dataset_dir: Path) -> None:
    (dataset_dir / "corpus.jsonl").unlink()
    with pytest.raises(BeirFormatError, match=r"corpus\.jsonl: file not found"):
        load_beir(dataset_dir, "test")


@pytest.mark.unit
def test_bad_json_line_is_named(dataset_dir: Path) -> None:
    lines = (dataset_dir / "corpus.jsonl").read_text().splitlines()
    lines[2] = '{"_id": "d3", "title": "x", "text": '
    (dataset_dir / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(BeirFormatError, match=r"corpus\.jsonl:3: bad JSON"):
        load_beir(dataset_dir, "test")


@pytest.mark.unit
def test_missing_field_is_named(
    dataset_dir: Path, tiny_queries: list[dict[str, Any]], write_jsonl: Callable[[Path, list[dict[str, Any]]], None]
) -> None:
    write_jsonl(dataset_dir / "queries.jsonl", [tiny_queries[0], {"_id": "q2"}])
    with pytest.raises(BeirFormatError, match=r"queries\.jsonl:2: field 'text' missing"):
        load_beir(dataset_dir, "test")


@pytest.mark.unit
def test_duplicate_document_id(
    dataset_dir: Path, tiny_docs: list[dict[str, Any]], write_jsonl: Callable[[Path, list[dict[str, Any]]], None]
) -> None:
    write_jsonl(dataset_dir / "corpus.jsonl", [*tiny_docs, tiny_docs[0]])
    with pytest.raises(BeirFormatError, match=r"corpus\.jsonl:6: duplicate _id 'd1'"):
        load_beir(dataset_dir, "test")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("qid\tdid\tscore\nq1\td1\t1\n", r"test\.tsv:1: expected the header"),
        ("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2 d3 1\n", r"test\.tsv:3: expected 3 tab-separated fields"),
        ("query-id\tcorpus-id\tscore\nq1\td1\thigh\n", r"test\.tsv:2: score 'high' is not an integer"),
        ("query-id\tcorpus-id\tscore\nq7\td1\t1\n", r"test\.tsv: query-id 'q7' is not in queries\.jsonl"),
        (
            "query-id\tcorpus-id\tscore\nq1\td8\t1\n",
            r"test\.tsv: corpus-id 'd8' \(query 'q1'\) is not in corpus\.jsonl",
        ),
    ],
)
def test_bad_qrels(dataset_dir: Path, content: str, message: str) -> None:
    (dataset_dir / "qrels" / "test.tsv").write_text(content)
    with pytest.raises(BeirFormatError, match=message):
        load_beir(dataset_dir, "test")
