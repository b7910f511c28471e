"""With HANDBOOK_AUTH set, the page, the API and the /pdf route all need a login; a taken port is one clear error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_testing import REPO_ROOT, free_port

pytestmark = pytest.mark.integration


class _NoAssistant:
    """The login tests never ask a question: no model is loaded."""


@pytest.fixture(scope="module")
def locked_app(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from assistant.app.server import launch
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    work = tmp_path_factory.mktemp("locked")
    settings = Settings(
        ingest=IngestSettings(index_dir=built_index),
        app=AppSettings(feedback_db=work / "fb.sqlite3", auth="trainer:pa:ss, staff:x", auth_file=None),
    )
    running = launch(settings, "127.0.0.1", free_port(), load=_NoAssistant, warm=False, work_dir=work)  # type: ignore[arg-type]
    try:
        yield running
    finally:
        running.close()


def test_everything_needs_a_login(locked_app: Any, built_index: Path) -> None:
    import httpx
    from gradio_client import Client

    from assistant.app.server import read_documents

    assert locked_app.login
    doc_id = next(iter(read_documents(built_index).documents))
    with httpx.Client(base_url=locked_app.url, timeout=60) as anonymous:
        assert anonymous.get("/config").status_code == 401
        assert anonymous.get(f"/pdf/{doc_id}").status_code == 401
    with pytest.raises(Exception, match=r"(?i)login|auth|401"):
        Client(locked_app.url, verbose=False)
    with httpx.Client(base_url=locked_app.url, timeout=60) as user:
        assert user.post("/login", data={"username": "trainer", "password": "wrong"}).status_code == 400
        assert user.get(f"/pdf/{doc_id}").status_code == 401
        assert user.post("/login", data={"username": "trainer", "password": "pa:ss"}).status_code == 200
        response = user.get(f"/pdf/{doc_id}")
        assert response.status_code == 200 and response.content[:5] == b"%PDF-"
        assert user.get("/pdf/not-indexed").status_code == 404
    Client(locked_app.url, auth=("staff", "x"), verbose=False)  # the API with the same accounts


@pytest.mark.unit
def test_the_port_check_refuses_a_port_another_socket_listens_on() -> None:
    from assistant.app.server import check_port

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            check_port("127.0.0.1", busy.getsockname()[1])
    check_port("127.0.0.1", free_port())
    with pytest.raises(OSError):
        check_port("no-such-host.invalid", free_port())


@pytest.mark.parametrize("ingest", [False, True], ids=["serve", "serve --ingest"])
def test_serve_on_a_taken_port_fails_with_one_line(built_index: Path, tmp_path: Path, ingest: bool) -> None:
    """Before the app starts; with `--ingest`, before an ingest of the (here missing) corpus folder is tried."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            **os.environ,
            "HANDBOOK_FEEDBACK_DB": str(tmp_path / "fb.sqlite3"),
            "HANDBOOK_AUTH": "",
            "HANDBOOK_CORPUS_DIR": str(tmp_path / "no-corpus"),
        }
        result = subprocess.run(
            [str(Path(sys.executable).parent / "handbook"), "serve", "--port", str(port)]
            # An ingest, were one tried, would write to a folder of its own, never to the session's index.
            + (["--index", str(tmp_path / "index"), "--ingest"] if ingest else ["--index", str(built_index)]),
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_auth_setting_stops_serve_before_starting(built_index: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HANDBOOK_AUTH": "trainer-without-password",
        "HANDBOOK_FEEDBACK_DB": str(tmp_path / "fb.sqlite3"),
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "handbook"),
            "serve",
            "--port",
            str(free_port()),
            "--index",
            str(built_index),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: HANDBOOK_AUTH: entry 1 has no ':' (expected user:password)"
