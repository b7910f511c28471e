"""`handbook serve --ingest` (what `make run` runs): the app answers from the MiniLM and BM25 generation while e5
embeds in the background, the page says how far e5 is, and the fused generation is answered from once written,
without a restart. Fake encoders (e5's blocks until the test releases it); a real gradio server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from app_testing import free_port
from fakes import FakeEmbedder
from pdf_factory import make_pdf, sample_rules_pages

E5_PATH = "/fake/models/e5-like"
QUESTION = "How shall prisoners be treated?"


class BlockingE5(FakeEmbedder):
    """e5 that embeds only once the test lets it: the background ingest is caught in the middle of its work."""

    def __init__(self) -> None:
        super().__init__(E5_PATH)
        self.started = threading.Event()
        self.release = threading.Event()

    def encode_passages(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        self.started.set()
        if not self.release.wait(120):
            raise TimeoutError("the test never released e5")
        return super().encode_passages(texts, spans, progress)


def _loader(index: Path) -> Callable[[], Any]:
    """The app's assistant on the live generation, with a dense source per model that has vectors there."""

    def load() -> Any:
        from assistant.answer.decision import AnswerabilityPolicy
        from assistant.chain import Assistant
        from assistant.retrieval import HybridRetriever
        from ingest.index_store import IndexSnapshot

        encoders = {"minilm": FakeEmbedder(), "e5": FakeEmbedder(E5_PATH)}
        retriever = HybridRetriever.build(IndexSnapshot.open(index), encoders)  # type: ignore[arg-type]
        return Assistant(retriever, answerability=AnswerabilityPolicy(answer_threshold=0.2))

    return load


@pytest.mark.integration
def test_serve_ingest_answers_before_e5_is_done_and_switches_to_it_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradio_client import Client

    from assistant import cli
    from assistant.app.feedback import FeedbackStore
    from assistant.app.pdf_pages import PageRenderer, SourceDocuments
    from assistant.app.server import launch
    from assistant.app.ui import HandbookApp
    from assistant.settings import AppSettings, Settings
    from ingest.index_store import IndexSnapshot
    from ingest.pipeline import Ingestor
    from ingest.settings import IngestSettings

    corpus, index = tmp_path / "pdf", tmp_path / "index"
    make_pdf(corpus / "rules.pdf", sample_rules_pages())
    e5 = BlockingE5()

    def fake_ingestor(settings: Any, quiet: bool, *args: Any, **kwargs: Any) -> Ingestor:
        return Ingestor(settings.index_dir, FakeEmbedder(), progress=False, extra_encoders={"e5": e5})  # type: ignore[arg-type, dict-item]

    monkeypatch.setattr(cli, "_ingestor", fake_ingestor)
    settings = Settings(
        ingest=IngestSettings(index_dir=index, corpus_dir=corpus),
        app=AppSettings(feedback_db=tmp_path / "fb.sqlite3", auth="", auth_file=None),
    )
    background = cli._ingest_for_serve(settings, quiet=True)
    assert background is not None and e5.started.wait(60)  # e5 is embedding in the background
    interim = IndexSnapshot.open(index)
    assert "e5" not in interim.meta.extra_vectors
    total = len(interim.chunks)
    assert f"Improving search in the background: {total} passages for e5" in capsys.readouterr().out

    running = launch(settings, "127.0.0.1", free_port(), load=_loader(index), warm=False, follow_index_s=0.0)
    try:
        client = Client(running.url, verbose=False)
        assert client.predict(QUESTION, api_name="/ask")["citations"]  # answered while e5 embeds
        assert background.running
        progress = running.warm.improving()
        assert progress is not None and (progress.model_id, progress.done, progress.total) == ("e5", 0, total)
        page = HandbookApp(
            running.warm,
            [],
            FeedbackStore(tmp_path / "page-fb.sqlite3"),
            SourceDocuments({}),
            PageRenderer(tmp_path / "pages"),
            tmp_path / "exports",
        )
        page.build()
        status = page.status()
        assert status[page.page.status.text] == f"0 documents indexed. Ready. Improving search: 0 of {total} passages."
        assert page.page.status.timer not in status  # keeps polling

        e5.release.set()
        assert background.join(120) and background.error is None and background.report is not None
        assert background.report.switched and background.report.embedded_by_model["e5"] == total
        assert client.predict(QUESTION, api_name="/ask")["citations"]
        assert running.warm.generation != interim.meta.generation  # the fused generation, no restart
        assert "e5" in running.warm.get().retriever.sources
        assert running.warm.improving() is None
        assert page.page.status.timer in page.status()  # done: the page stops polling
    finally:
        running.close()

    # A second `make run` with nothing changed serves at once: nothing to ingest, nothing in the background.
    fused = IndexSnapshot.open(index).meta.generation
    assert cli._ingest_for_serve(settings, quiet=True) is None
    assert IndexSnapshot.open(index).meta.generation == fused


@pytest.mark.unit
def test_the_improving_line_is_in_the_browsers_language() -> None:
    from assistant.app.i18n import browser_language, count, message

    assert browser_language("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert browser_language("de-DE,de;q=0.9,kk;q=0.5") == "kk"
    assert browser_language(None) == browser_language("de") == "en"
    english = message("en", "status_improving", done=count("en", 1240), total=count("en", 1931))
    assert english == "Improving search: 1,240 of 1,931 passages."
    russian = message("ru", "status_improving", done=count("ru", 1240), total=count("ru", 1931))
    assert russian == "Поиск улучшается: обработано 1\u00a0240 из 1\u00a0931 фрагментов."
