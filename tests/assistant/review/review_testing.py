"""Helpers of the review tests (imported by name): a small real-MiniLM index of the sample rules, and fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RIGHT_QUESTION = "Can a lad write letters home to his mum and dad?"
RIGHT_DOC, RIGHT_PAGE, RIGHT_REF = "rules", 2, "Rule 4"
RIGHT_FACT = "communicate with their family and friends"


def build_rules_index(root: Path, embedder: Any) -> Path:
    """tests/pdf_factory.py's three pages of sample rules, ingested with the real MiniLM model only."""
    from pdf_factory import make_pdf, sample_rules_pages

    from ingest.pipeline import Ingestor

    make_pdf(root / "pdf" / "rules.pdf", sample_rules_pages())
    report = Ingestor(root / "index", embedder, progress=False).run([root / "pdf"])
    assert not report.failed
    return root / "index"


def minilm_env(monkeypatch: Any, tmp_path: Path, index: Path) -> dict[str, str]:
    """The environment of `handbook` commands on that index, with every file in `tmp_path`."""
    env = {
        "HANDBOOK_INDEX_DIR": str(index),
        "HANDBOOK_EMBEDDING_MODELS": "minilm",
        "HANDBOOK_MANIFEST_PATH": str(tmp_path / "no-manifest.toml"),
        "HANDBOOK_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
        "HANDBOOK_QUESTION_LOG": str(tmp_path / "questions.sqlite3"),
        "HANDBOOK_REVIEW_FILE": str(tmp_path / "review.jsonl"),
        "HANDBOOK_GLOSSARY_SUGGESTIONS": str(tmp_path / "glossary-suggestions.toml"),
        # The hand rules: the learned decision was fitted on the full fused index of the real corpus, and on
        # three pages read by MiniLM alone its features (no e5, every passage of one document) are out of range.
        "HANDBOOK_DECISION": "rules",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


class FakeFeedback:
    """Rows as `FeedbackStore.rows()` gives them."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)
