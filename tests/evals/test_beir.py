"""The BEIR loader, the metric arithmetic, and `handbook beir` on a tiny generated dataset."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import evals.beir as beir
from assistant.cli import app
from evals.beir import (
    BeirFormatError,
    FusionVariant,
    index_dir_for,
    load_beir,
    model_fingerprint,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    run_beir,
)

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


# ---------------------------------------------------------------- loading


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
def test_missing_field_is_named(dataset_dir: Path) -> None:
    _write_jsonl(dataset_dir / "queries.jsonl", [QUERIES[0], {"_id": "q2"}])
    with pytest.raises(BeirFormatError, match=r"queries\.jsonl:2: field 'text' missing"):
        load_beir(dataset_dir, "test")


@pytest.mark.unit
def test_duplicate_document_id(dataset_dir: Path) -> None:
    _write_jsonl(dataset_dir / "corpus.jsonl", [*DOCS, DOCS[0]])
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


# ---------------------------------------------------------------- metrics


@pytest.mark.unit
def test_ndcg_graded_by_hand() -> None:
    judged = {"a": 2, "b": 1, "c": 1, "z": 0}
    # relevant at ranks 2 (grade 2) and 4 (grade 1); the ideal order is a, b, c
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(["x", "a", "z", "b"], judged, 10) == pytest.approx(dcg / idcg)
    assert dcg / idcg == pytest.approx(0.540586, abs=1e-6)
    assert ndcg_at_k(["a", "b", "c"], judged, 10) == pytest.approx(1.0)
    # the cut-off: "b" at rank 4 no longer counts at k=3, and the ideal is cut at 3 too
    assert ndcg_at_k(["x", "a", "z", "b"], judged, 3) == pytest.approx((2 / math.log2(3)) / idcg)
    assert ndcg_at_k(["x", "y"], judged, 10) == 0.0
    assert ndcg_at_k(["z"], {"z": 0}, 10) == 0.0  # nothing relevant: 0, not a division by zero


@pytest.mark.unit
def test_mrr_and_recall_by_hand() -> None:
    judged = {"a": 1, "b": 1, "c": 1, "z": 0}
    assert mrr_at_k(["z", "x", "b", "a"], judged, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "a"], judged, 2) == 0.0
    assert recall_at_k(["z", "x", "b", "a"], judged, 100) == pytest.approx(2 / 3)
    assert recall_at_k(["z", "x", "b", "a"], judged, 3) == pytest.approx(1 / 3)


# ---------------------------------------------------------------- index and evaluation


@pytest.mark.unit
def test_run_on_tiny_dataset_and_reuse_cache(dataset_dir: Path, tmp_path: Path, fake_embedder: Any) -> None:
    data = load_beir(dataset_dir, "test")
    cache = tmp_path / "cache"
    [report] = run_beir(data, fake_embedder, [FusionVariant()], cache, progress=False)
    assert fake_embedder.embedded == len(DOCS) + len(data.queries)
    assert report.n_queries == 3
    # Each query shares its distinctive words with its relevant document only.
    assert report.per_query["q2"] == {"ndcg@10": 1.0, "mrr@10": 1.0, "recall@100": 1.0}
    assert report.per_query["q1"]["mrr@10"] == 1.0
    expected = sum(q["ndcg@10"] for q in report.per_query.values()) / 3
    assert report.ndcg_at_10 == pytest.approx(expected)
    assert report.config["rrf_k"] == 20 and report.config["candidate_k"] == 40  # HybridRetriever's defaults
    [index_dir] = list(cache.iterdir())
    assert index_dir.name.startswith("tiny-")

    fake_embedder.reset_counts()
    [again] = run_beir(data, fake_embedder, [FusionVariant(rrf_k=5)], cache, limit=2, progress=False)
    assert fake_embedder.embedded == 2  # the corpus came from the cache; only the two queries were embedded
    assert again.n_queries == 2 and again.config["rrf_k"] == 5


@pytest.mark.unit
def test_changed_corpus_gets_a_new_index(dataset_dir: Path, tmp_path: Path, fake_embedder: Any) -> None:
    cache = tmp_path / "cache"
    run_beir(load_beir(dataset_dir, "test"), fake_embedder, [FusionVariant()], cache, progress=False)
    _write_jsonl(dataset_dir / "corpus.jsonl", [*DOCS, {"_id": "d6", "title": "", "text": "Another rule."}])
    fake_embedder.reset_counts()
    run_beir(load_beir(dataset_dir, "test"), fake_embedder, [FusionVariant()], cache, progress=False)
    assert fake_embedder.embedded == len(DOCS) + 1 + 3
    assert len(list(cache.iterdir())) == 2


@pytest.mark.unit
def test_cache_folder_is_keyed_by_corpus_and_model_weights(dataset_dir: Path, tmp_path: Path) -> None:
    data = load_beir(dataset_dir, "test")
    model_a, model_b = tmp_path / "a" / "model", tmp_path / "b" / "model"
    for folder, weights in ((model_a, b"weights one"), (model_b, b"weights two")):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(weights)
    first = index_dir_for(data, str(model_a), tmp_path)
    assert first == index_dir_for(data, str(model_a), tmp_path)
    assert first.parent == tmp_path and first.name.startswith("tiny-")
    # Same folder name "model", different weights: a different index.
    assert index_dir_for(data, str(model_b), tmp_path) != first
    (model_b / "model.safetensors").write_bytes(b"weights one")
    model_fingerprint.cache_clear()
    assert index_dir_for(data, str(model_b), tmp_path) == first


# ---------------------------------------------------------------- CLI


@pytest.mark.unit
def test_cli_json(dataset_dir: Path, tmp_path: Path, fake_embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(beir, "make_encoders", lambda backend, models: {"minilm": fake_embedder})
    args = ["beir", str(dataset_dir), "--json", "--cache", str(tmp_path / "cache"), "--rrf-k", "7"]
    args += ["--candidate-k", "3", "--limit", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"dataset", "split", "n_queries", "ndcg@10", "mrr@10", "recall@100", "latency_ms", "config"}
    assert payload["dataset"] == "tiny" and payload["split"] == "test" and payload["n_queries"] == 2
    assert set(payload["latency_ms"]) == {"p50", "p95"}
    assert payload["config"]["rrf_k"] == 7 and payload["config"]["candidate_k"] == 3
    assert payload["config"]["fusion"] == "convex"  # the HybridRetriever default
    assert 0.0 < payload["ndcg@10"] <= 1.0

    convex = CliRunner().invoke(app, [*args, "--fusion", "convex", "--weights", "minilm=0.3,bm25=0.7"])
    assert convex.exit_code == 0, convex.output
    config = json.loads(convex.stdout)["config"]
    assert (config["fusion"], config["weights"], config["normalization"]) == (
        "convex",
        {"minilm": 0.3, "bm25": 0.7},
        "minmax",
    )
    bad = CliRunner().invoke(app, [*args, "--weights", "minilm:0.3"])
    assert bad.exit_code != 0 and "SOURCE=NUMBER" in bad.output


@pytest.mark.unit
def test_cli_grid_prints_one_object_per_combination(
    dataset_dir: Path, tmp_path: Path, fake_embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(beir, "make_encoders", lambda backend, models: {"minilm": fake_embedder})
    args = ["beir", str(dataset_dir), "--json", "--cache", str(tmp_path / "cache"), "--rrf-k", "5", "--rrf-k", "60"]
    args += ["--weights", "minilm=1,bm25=0.5", "--weights", "minilm=0.5,bm25=0.5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(p["config"]["rrf_k"], p["config"]["weights"]["minilm"]) for p in payload] == [
        (5, 1.0),
        (5, 0.5),
        (60, 1.0),
        (60, 0.5),
    ]
    # The grid embeds each query once, not once per combination.
    assert fake_embedder.embedded == len(DOCS) + 3


@pytest.mark.unit
def test_cli_errors(dataset_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["beir", str(tmp_path / "nowhere"), "--json"])
    assert missing.exit_code == 1
    assert "nowhere: not a folder" in missing.stderr
    split = runner.invoke(app, ["beir", str(dataset_dir), "--split", "train"])
    assert split.exit_code == 1
    assert "train.tsv: file not found" in split.stderr
    backend = runner.invoke(app, ["beir", str(dataset_dir), "--backend", "cuda"])
    assert backend.exit_code == 2
    assert "'cuda' is not one of 'torch', 'onnx', 'onnx-int8'" in backend.output
    fusion = runner.invoke(app, ["beir", str(dataset_dir), "--fusion", "sum"])
    assert fusion.exit_code == 2
    assert "'sum' is not one of 'rrf', 'convex'" in fusion.output
