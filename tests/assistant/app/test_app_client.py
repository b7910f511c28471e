"""The live app through gradio_client: /ask, a multi-turn chat, feedback, source pages, /pdf, `handbook serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from app_testing import REPO_ROOT, LiveApp, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(live_app: LiveApp) -> Any:
    from gradio_client import Client

    return Client(live_app.url, verbose=False)


def _file_of(update: Any) -> Path:
    """The file an update of a file component carries, as gradio_client hands it over (a path or a file dict)."""
    value = update["value"] if isinstance(update, dict) and "value" in update else update
    return Path(value["path"] if isinstance(value, dict) else value)


def _last_answer(chat: list[dict[str, Any]]) -> str:
    content = chat[-1]["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def test_ask_endpoint_returns_the_cli_json_with_citations(client: Any) -> None:
    result = client.predict("Can we read a prisoner's letters to his lawyer?", api_name="/ask")
    assert set(result) >= {
        "question",
        "standalone_question",
        "answer",
        "refused",
        "citations",
        "passages",
        "documents_searched",
    }
    assert result["refused"] is False
    assert result["citations"], result["answer"]
    first = result["citations"][0]
    assert first["quote"] and first["pages"] and first["doc"]
    assert f"[{first['n']}]" in result["answer"]
    assert any("legal" in c["quote"].lower() or "lawyer" in c["quote"].lower() for c in result["citations"])


def test_ask_endpoint_rejects_empty_input_with_the_reason(client: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="question: empty"):
        client.predict("   ", api_name="/ask")


def test_follow_up_carries_the_topic_and_feedback_is_stored(live_app: LiveApp) -> None:
    from gradio_client import Client

    from assistant.app.feedback import FeedbackStore

    chat_client = Client(live_app.url, verbose=False)  # its own session: its own conversation
    chat, cards, picker, box, export = chat_client.predict(
        "Can we read a prisoner's letters to his lawyer?", [], api_name="/chat"
    )
    assert box == ""
    assert "[1]" in _last_answer(chat)
    assert "<mark>" in cards and "p. " in cards
    assert picker["value"] == "0:c1"
    assert _file_of(export).name.endswith(".md")

    chat, cards, picker, _, _ = chat_client.predict("what about phone calls?", [], api_name="/chat")
    answer = _last_answer(chat)
    assert len(chat) == 4
    assert "Searched as: Can we read a prisoner's letters to his lawyer? what about phone calls?" in answer
    assert picker["value"].startswith("1:")

    image, page_html = chat_client.predict(picker["value"], api_name="/show_page")
    assert image["visible"] is True  # a PDF's page image (a section of a flow document hides the box)
    assert _file_of(image).is_file() and _file_of(image).stat().st_size > 10_000
    assert "<mark>" in page_html and "#page=" in page_html

    status, _ = chat_client.predict("down", "quote 2 is about visits, not phone calls", api_name="/feedback")
    assert status.startswith("Thank you")
    rows = FeedbackStore(live_app.feedback_db).rows()
    mine = [r for r in rows if r["comment"] == "quote 2 is about visits, not phone calls"]
    assert len(mine) == 1
    assert mine[0]["rating"] == "down"
    assert mine[0]["question"] == "what about phone calls?"
    assert mine[0]["standalone_question"].startswith("Can we read a prisoner's letters")
    assert '"quote"' in mine[0]["citations"]


def test_pdf_route_serves_indexed_documents_only(live_app: LiveApp, built_index: Path) -> None:
    from assistant.app.server import read_documents

    doc_id = next(iter(read_documents(built_index).documents))
    with urllib.request.urlopen(f"{live_app.url}pdf/{doc_id}") as response:
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.read(5) == b"%PDF-"
    for bad in ("pdf/not-indexed", "pdf/..%2F..%2F..%2Fetc%2Fpasswd", "pdf/%2Fetc%2Fpasswd"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(live_app.url + bad)
        assert info.value.code == 404, bad


@pytest.mark.slow
def test_handbook_serve_prints_its_url_and_serves_the_page(built_index: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HANDBOOK_FEEDBACK_DB": str(tmp_path / "fb.sqlite3"),
        "HANDBOOK_AUTH": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("HANDBOOK_AUTH_FILE", None)
    handbook = Path(sys.executable).parent / "handbook"
    proc = subprocess.Popen(
        [str(handbook), "serve", "--port", str(port), "--index", str(built_index)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 300
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "running at" in line:
                break
        url = f"http://127.0.0.1:{port}/"
        assert any(f"running at {url}" in line for line in lines), "".join(lines)
        with urllib.request.urlopen(url) as response:
            assert response.status == 200
            assert "Handbook Assistant" in response.read().decode("utf-8", "replace")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_trainers_brief_and_quiz_with_downloads(live_app: LiveApp) -> None:
    from gradio_client import Client

    trainer = Client(live_app.url, verbose=False)
    brief_md, brief_md_file, brief_docx_file, quiz_md, _, _ = trainer.predict(
        "visits by children", [], api_name="/brief"
    )
    assert brief_md.startswith("# Topic brief: visits by children")
    assert "## Sources" in brief_md
    assert quiz_md == ""  # a new brief clears the previous quiz
    assert (
        Path(
            brief_md_file["value"]["path"] if isinstance(brief_md_file["value"], dict) else brief_md_file["value"]
        ).suffix
        == ".md"
    )
    docx = brief_docx_file["value"]
    assert Path(docx["path"] if isinstance(docx, dict) else docx).suffix == ".docx"

    quiz_md, quiz_md_file, quiz_docx_file = trainer.predict(4, "cloze", api_name="/quiz")
    assert "**1.**" in quiz_md and "## Answer key" in quiz_md
    assert quiz_md_file["interactive"] is True and quiz_docx_file["interactive"] is True

    empty, *_ = trainer.predict("  ", [], api_name="/brief")
    assert "topic: empty" in empty
