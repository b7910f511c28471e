"""`handbook ingest` on a folder of a PDF, a DOCX, an HTML page and a Markdown file, then `handbook ask` answering
from each with a verified quote and its location (section, numbered unit, paragraph or page); real MiniLM model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doc_factory import KNIFE_ISSUE
from flow_index import write_four_formats
from typer.testing import CliRunner

from assistant import cli
from ingest.index_store import IndexSnapshot
from ingest.textnorm import normalize_for_match

pytestmark = pytest.mark.integration

ISSUE_QUESTION = "How is a kitchen knife issued to a prisoner worker?"
RULES_QUESTION = "Can prisoners communicate with their family under supervision?"
# Where the knife-issue paragraph is in each flow document: section heading, numbered unit, paragraph.
ISSUE_AT = {
    "knives-word": ("1. Knife control", "1.2", [4]),
    "knives-intranet": ("3. Knife control", "3.2", [4]),
    "knives-notes": ("3. Knife control", "3.2", [4]),
}


def _environment(patch: pytest.MonkeyPatch, embedder: Any, work: Path) -> None:
    """The CLI's settings for a test: this embedder for MiniLM only, no manifest, no Chroma server."""
    patch.setattr("ingest.encoders.Embedder", lambda *args, **kwargs: embedder)
    patch.setenv("HANDBOOK_EMBEDDING_MODELS", "minilm")
    patch.setenv("HANDBOOK_MANIFEST_PATH", str(work / "no-manifest.toml"))
    for name in ("CHROMA_HOST", "HANDBOOK_CHROMA_HOST", "HANDBOOK_INDEX_DIR", "HANDBOOK_LLM"):
        patch.delenv(name, raising=False)
    patch.chdir(work)


@pytest.fixture(scope="module")
def four_formats(real_embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    work = tmp_path_factory.mktemp("formats")
    formats = write_four_formats(work / "handbooks")
    index = work / "index"
    with pytest.MonkeyPatch.context() as patch:
        _environment(patch, real_embedder, work)
        result = CliRunner().invoke(cli.app, ["ingest", str(work / "handbooks"), "--index", str(index), "-q"])
    assert result.exit_code == 0, result.output
    yield index, formats


@pytest.fixture()
def run(real_embedder: Any, four_formats: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    index, _ = four_formats
    _environment(monkeypatch, real_embedder, tmp_path)

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli.app, [*args, "--index", str(index)])
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


def test_ingest_indexed_all_four_formats(four_formats: tuple[Path, dict[str, str]]) -> None:
    index, formats = four_formats
    snapshot = IndexSnapshot.open(index)
    assert {d: info.format for d, info in snapshot.meta.documents.items()} == formats


@pytest.mark.parametrize("doc", ["rules", "knives-word", "knives-intranet", "knives-notes"])
def test_ask_answers_from_each_format_with_a_verified_quote_and_its_location(
    doc: str, run: Any, four_formats: tuple[Path, dict[str, str]]
) -> None:
    index, formats = four_formats
    question = RULES_QUESTION if doc == "rules" else ISSUE_QUESTION
    data = json.loads(run("ask", question, "--doc", doc, "--json"))
    assert data["state"] in ("answered", "closest") and data["citations"], data["answer"]
    snapshot = IndexSnapshot.open(index)
    for c in data["citations"]:
        assert c["doc"] == doc and c["format"] == formats[doc] and c["ref"]
        locations = c["pages"] if formats[doc] == "pdf" else c["paragraphs"]
        assert locations and (c["paragraphs"] if formats[doc] == "pdf" else c["pages"]) == []
        stored = " ".join(normalize_for_match(snapshot.page_text(doc, n) or "") for n in locations)
        assert normalize_for_match(c["quote"]) in stored  # verified at its location, as the assistant did
    if doc == "rules":
        rule = data["citations"][0]
        assert rule["ref"].startswith("Rule ") and f"{rule['ref']}, p. {rule['pages'][0]}" in data["answer"]
        return
    section, ref, paragraphs = ISSUE_AT[doc]
    issue = next(c for c in data["citations"] if "issued to a named prisoner worker" in c["quote"])
    assert (issue["section"], issue["ref"], issue["paragraphs"]) == (section, ref, paragraphs)
    assert normalize_for_match(KNIFE_ISSUE[:60]) in normalize_for_match(issue["quote"])
    label = f"{issue['title']}, {section}, {ref}, \u00b6 4"
    assert f"{label}:\n" in data["answer"]
    text = run("ask", ISSUE_QUESTION, "--doc", doc)
    assert f"{label}:" in text and f"[{issue['n']}] {label}" in text
