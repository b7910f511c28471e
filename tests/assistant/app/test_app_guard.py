"""The live app against bad requests: login guessing, oversize bodies, uploads, rate limits, temp files, a new index.

A small generated index with the fake embedder: these tests start real gradio servers but no model.
"""

from __future__ import annotations

import contextlib
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from app_testing import free_port
from pdf_factory import make_pdf, sample_rules_pages

pytestmark = pytest.mark.integration

PASSWORD = "pa:ss"
LOCKERS_PAGES = [
    [
        "Section 1",
        "1.1 Every zebrafish aquarium in the wing must be cleaned by the orderly each Tuesday morning.",
        "1.2 The zebrafish aquarium key is kept by the senior officer of the wing at all times.",
    ]
]
KITES_PAGES = [
    [
        "Section 1",
        "1.1 A prisoner may fly a paper kite in the exercise yard only with the written consent of the governor.",
        "1.2 Kite strings longer than ten metres are confiscated and recorded in the wing log.",
    ]
]


def _ingest(index: Path, corpus: Path) -> Any:
    from fakes import FakeEmbedder

    from ingest.pipeline import Ingestor

    return Ingestor(index, FakeEmbedder(), progress=False).run([corpus])  # type: ignore[arg-type]


def _loader(index: Path) -> Callable[[], Any]:
    def load() -> Any:
        from fakes import FakeEmbedder

        from assistant.answer.decision import AnswerabilityPolicy
        from assistant.chain import Assistant
        from assistant.retrieval import HybridRetriever
        from ingest.index_store import IndexSnapshot

        retriever = HybridRetriever.build(IndexSnapshot.open(index), FakeEmbedder())  # type: ignore[arg-type]
        return Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))

    return load


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("guard")
    corpus = root / "pdf"
    make_pdf(corpus / "rules.pdf", sample_rules_pages())
    index = root / "index"
    _ingest(index, corpus)
    return corpus, index


@pytest.fixture(scope="module")
def app(corpus: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from assistant.app.server import launch
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    _, index = corpus
    work = tmp_path_factory.mktemp("guard-app")
    settings = Settings(
        ingest=IngestSettings(index_dir=index),
        app=AppSettings(
            feedback_db=work / "fb.sqlite3",
            auth=f"trainer:{PASSWORD},indexer:{PASSWORD}",  # limits count per user: one each for two tests
            auth_file=None,
            max_request_bytes=8192,
            questions_per_minute=4,
            feedback_per_minute=2,
        ),
    )
    running = launch(settings, "127.0.0.1", free_port(), load=_loader(index), warm=False, follow_index_s=0.0)
    try:
        yield running
    finally:
        running.close()


@contextlib.contextmanager
def _session(app: Any) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=app.url, timeout=60) as client:
        assert client.post("/login", data={"username": "trainer", "password": PASSWORD}).status_code == 200
        yield client


def test_custom_routes_need_the_gradio_session(app: Any) -> None:
    """Fails if gradio changes how it keeps the login (`assistant.app.server.is_logged_in`)."""
    import httpx

    with httpx.Client(base_url=app.url, timeout=60) as anonymous:
        assert anonymous.get("/pdf/rules").status_code == 401
        anonymous.cookies.set("access-token-unsecure-forged", "forged")
        assert anonymous.get("/pdf/rules").status_code == 401
    with _session(app) as user:
        response = user.get("/pdf/rules")
        assert response.status_code == 200 and response.content[:5] == b"%PDF-"
        assert user.get("/gradio_api/upload_progress").status_code == 403


def test_oversize_bodies_are_refused_before_they_are_read(app: Any) -> None:
    address = urlparse(app.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as raw:
        # Claims 100 MB and sends none of it: answered from the header alone.
        raw.sendall(
            b"POST /gradio_api/call/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n"
        )
        head = raw.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head
    assert "request body too large: 104857600 bytes (the limit is 8192 bytes)" in head

    def chunks() -> Iterator[bytes]:
        for _ in range(80):  # 5 MB, chunked, with no Content-Length
            yield b'{"data": ["' + b"x" * 65536

    with _session(app) as user:
        streamed = user.post("/gradio_api/call/ask", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413 and "too large" in streamed.json()["detail"]
        assert user.get("/gradio_api/info").status_code == 200  # still answering


def test_the_upload_route_is_refused_with_or_without_login(app: Any) -> None:
    import httpx

    with httpx.Client(base_url=app.url, timeout=60) as anonymous:
        refused = anonymous.post("/gradio_api/upload", files={"files": ("a.txt", b"hello")})
        assert refused.status_code == 403 and refused.json()["detail"].startswith("uploads are disabled")
    with _session(app) as user:
        assert user.post("/gradio_api/upload", files={"files": ("a.txt", b"hello")}).status_code == 403


def test_questions_and_feedback_per_session_are_limited(app: Any) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app.url, auth=("trainer", PASSWORD), verbose=False)
    client.predict("How shall prisoners be treated?", [], api_name="/chat")
    for _ in range(3):
        client.predict("How shall prisoners be treated?", api_name="/ask")
    with pytest.raises(AppError, match=r"too many questions: at most 4 a minute; try again in \d+ s"):
        client.predict("How shall prisoners be treated?", api_name="/ask")
    with pytest.raises(AppError, match="too many questions"):  # a new session of the same user: the same client
        Client(app.url, auth=("trainer", PASSWORD), verbose=False).predict("dignity", api_name="/ask")
    statuses = [client.predict("up", "", api_name="/feedback")[0] for _ in range(3)]
    assert statuses[:2] == ["Thank you, your feedback was stored."] * 2
    assert statuses[2].startswith("Not stored: too many feedback entries: at most 2 a minute")


def test_the_server_follows_a_new_index_generation(app: Any, corpus: tuple[Path, Path]) -> None:
    from gradio_client import Client

    folder, index = corpus
    first_generation = app.warm.generation

    def ask(question: str) -> dict[str, Any]:
        return Client(app.url, auth=("indexer", PASSWORD), verbose=False).predict(question, api_name="/ask")  # type: ignore[no-any-return]

    assert all(c["doc"] == "rules" for c in ask("zebrafish aquarium cleaned on Tuesday")["citations"])
    make_pdf(folder / "lockers.pdf", LOCKERS_PAGES, header=None, footer_counter=False)
    assert _ingest(index, folder).switched
    answer = ask("zebrafish aquarium cleaned on Tuesday")
    assert answer["citations"] and answer["citations"][0]["doc"] == "lockers"
    assert app.warm.generation != first_generation
    with _session(app) as user:
        assert user.get("/pdf/lockers").status_code == 200

    make_pdf(folder / "kites.pdf", KITES_PAGES, header=None, footer_counter=False)
    assert _ingest(index, folder).switched
    assert not (index / first_generation).exists()  # the generation the server started on is gone
    assert ask("paper kite in the exercise yard")["citations"][0]["doc"] == "kites"
    assert ask("zebrafish aquarium cleaned on Tuesday")["citations"][0]["doc"] == "lockers"


def test_login_guessing_is_slowed_and_not_logged_by_name(
    corpus: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    from assistant.app.server import launch
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    _, index = corpus
    settings = Settings(
        ingest=IngestSettings(index_dir=index),
        app=AppSettings(feedback_db=tmp_path / "fb.sqlite3", auth=f"trainer:{PASSWORD}"),
    )
    running = launch(settings, "127.0.0.1", free_port(), load=_loader(index), warm=False)
    typed_password = "MyS3cretPassw0rd"
    try:
        with caplog.at_level("WARNING"), httpx.Client(base_url=running.url, timeout=60) as guesser:
            codes = [
                guesser.post("/login", data={"username": typed_password, "password": f"guess{i}"}).status_code
                for i in range(5)
            ]
            assert codes == [400] * 5
            locked = guesser.post("/login", data={"username": "trainer", "password": "guess6"})
            right = guesser.post("/login", data={"username": "trainer", "password": PASSWORD})
        assert locked.status_code == 429 and right.status_code == 429
        assert right.json()["detail"].startswith("too many failed logins; try again in ")
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "failed login from 127.0.0.1 (5 failed attempts)" in logged
        assert typed_password not in logged and "trainer" not in logged
    finally:
        running.close()


def test_temporary_files_live_in_a_private_folder_removed_on_close(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    import os

    from assistant.app.server import launch
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    _, index = corpus
    settings = Settings(
        ingest=IngestSettings(index_dir=index), app=AppSettings(feedback_db=tmp_path / "fb.sqlite3", auth="")
    )
    running = launch(settings, "127.0.0.1", free_port(), load=_loader(index), warm=False)
    try:
        work = running.work_dir
        assert work is not None and work.is_dir()
        assert stat.S_IMODE(work.stat().st_mode) == 0o700
        assert work.name.startswith("handbook-app-") and work != Path("/tmp/handbook-app")
        assert Path(os.environ["GRADIO_TEMP_DIR"]).parent == work  # gradio's copies too
    finally:
        running.close()
    assert not work.exists()


def test_tls_files_serve_https(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil
    import subprocess

    import httpx

    from assistant.app.server import launch
    from assistant.settings import AppSettings, Settings
    from ingest.settings import IngestSettings

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (makes the test certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-keyout", str(key), "-out", str(cert), "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    _, index = corpus
    settings = Settings(
        ingest=IngestSettings(index_dir=index),
        app=AppSettings(feedback_db=tmp_path / "fb.sqlite3", auth=f"trainer:{PASSWORD}"),
    )
    running = launch(
        settings, "127.0.0.1", free_port(), load=_loader(index), warm=False, ssl_certfile=cert, ssl_keyfile=key
    )
    try:
        assert running.url.startswith("https://")
        with httpx.Client(base_url=running.url, verify=str(cert), timeout=60) as client:
            assert client.get("/pdf/rules").status_code == 401
            assert client.post("/login", data={"username": "trainer", "password": PASSWORD}).status_code == 200
            assert client.get("/pdf/rules").status_code == 200
    finally:
        running.close()
