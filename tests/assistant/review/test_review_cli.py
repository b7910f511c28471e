"""`handbook ask` logs its answers with the audit trail; `handbook review` and `handbook report gaps` on the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from review_testing import RIGHT_FACT, RIGHT_QUESTION, build_rules_index, minilm_env
from typer.testing import CliRunner

from assistant.cli import app

pytestmark = pytest.mark.integration

UNCOVERED = ["Can a prisoner keep a pet budgie in his cell?", "Is there a rule on budgie cages in cells?"]


@pytest.fixture(scope="module")
def rules_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Path:
    return build_rules_index(tmp_path_factory.mktemp("rules"), real_embedder)


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rules_index: Path) -> Iterator[dict[str, str]]:
    yield minilm_env(monkeypatch, tmp_path, rules_index)


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _log_rows(path: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT source, question, index_generation, settings_hash, state FROM questions"))


def test_ask_json_and_the_log_carry_the_index_generation_and_settings_hash(env: dict[str, str]) -> None:
    from ingest.index_store import IndexSnapshot

    result = _invoke("ask", "Can Mr Smith write letters to his family?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    generation = IndexSnapshot.open(Path(env["HANDBOOK_INDEX_DIR"])).meta.generation
    assert data["index_generation"] == generation
    assert re.fullmatch(r"[0-9a-f]{12}", data["settings_hash"])
    rows = _log_rows(env["HANDBOOK_QUESTION_LOG"])
    question = "Can Mr [NAME] write letters to his family?"
    assert rows == [("cli", question, generation, data["settings_hash"], data["state"])]
    # Another setting that shapes answers, another hash.
    other = _invoke("ask", "Can he write letters?", "--json", "--k", "3")
    assert json.loads(other.stdout)["settings_hash"] == data["settings_hash"]  # --k is per question, not a setting


def test_the_settings_hash_follows_the_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    first = json.loads(_invoke("ask", "Can he write letters?", "--json").stdout)["settings_hash"]
    monkeypatch.setenv("HANDBOOK_TOP_K", "5")
    second = json.loads(_invoke("ask", "Can he write letters?", "--json").stdout)["settings_hash"]
    assert first != second


def test_with_the_log_off_nothing_is_written(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDBOOK_QUESTION_LOG", "off")
    result = _invoke("ask", "Can he write letters home?")
    assert result.exit_code == 0, result.output
    assert list(Path(env["HANDBOOK_QUESTION_LOG"]).parent.glob("*.sqlite3*")) == []
    assert not Path("off").exists()


def test_review_on_the_command_line(env: dict[str, str]) -> None:
    from evals.golden import load_golden

    for question in [RIGHT_QUESTION, *UNCOVERED]:
        assert _invoke("ask", question).exit_code == 0
    listed = _invoke("review", "--json")
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)
    by_question = {i["question"]: i["key"] for i in items}
    assert set(by_question) >= set(UNCOVERED)  # not covered or closest: waiting for review
    found = _invoke("review", "--search", "letters to family and friends")
    assert "rules:2:Rule 4" in found.stdout
    key = by_question.get(RIGHT_QUESTION) or by_question[UNCOVERED[1]]
    decided = _invoke("review", key, "--passage", "rules:2:Rule 4", "--key-fact", RIGHT_FACT)
    assert decided.exit_code == 0, decided.output
    assert f"golden record review-{key} written" in decided.stdout
    bad = _invoke("review", by_question[UNCOVERED[0]], "--passage", "rules:2", "--not-covered")
    assert (bad.exit_code, bad.stderr.strip()) == (2, "error: --passage and --not-covered: choose one decision")
    wrong_fact = _invoke("review", by_question[UNCOVERED[0]], "--passage", "rules:2", "--key-fact", "pet budgies")
    assert wrong_fact.exit_code == 2
    assert wrong_fact.stderr.strip() == (
        "error: key_facts: 'pet budgies' is not in the marked passages (copy it verbatim)"
    )
    assert _invoke("review", by_question[UNCOVERED[0]], "--not-covered", "--glossary", "budgie=animals").exit_code == 0
    again = _invoke("review", by_question[UNCOVERED[0]], "--dismiss")
    assert again.exit_code == 2 and "not in the queue" in again.stderr
    records = load_golden(Path(env["HANDBOOK_REVIEW_FILE"]))
    assert [(r.answerable, r.source, r.role) for r in records] == [
        (True, "review", "evaluator"),
        (False, "review", "evaluator"),
    ]
    assert 'phrases = ["budgie"]' in Path(env["HANDBOOK_GLOSSARY_SUGGESTIONS"]).read_text()


def test_report_gaps_on_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    for question in UNCOVERED:
        assert _invoke("ask", question).exit_code == 0
    out = tmp_path / "report"
    result = _invoke("report", "gaps", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2 of 2 questions not covered or closest, 1 topic:" in result.stdout
    assert {p.name for p in out.iterdir()} == {"gaps.md", "gaps.csv", "gaps.png"}
    assert "budgie" in (out / "gaps.md").read_text()
    later = _invoke("report", "gaps", "--out", str(out), "--since", "2999-01-01")
    assert "0 of 0 questions" in later.stdout
    bad = _invoke("report", "gaps", "--out", str(out), "--since", "last week")
    assert (bad.exit_code, bad.stderr.strip()) == (2, "error: --since 'last week': expected a date as YYYY-MM-DD")
    missing = _invoke("report", "gaps", "--out", str(out), "--log", str(tmp_path / "none.sqlite3"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_a_log_that_cannot_be_opened_warns_and_the_answer_still_comes(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    monkeypatch.setenv("HANDBOOK_QUESTION_LOG", str(folder))  # a folder, not a database file
    result = _invoke("ask", "Can he write letters home?", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["question"] == "Can he write letters home?"
    assert result.stderr.startswith("warning: question log not written:")
