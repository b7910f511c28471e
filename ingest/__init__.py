"""Documents (PDF, DOCX, HTML, Markdown) -> structured chunks -> indexes (Chroma vectors + bm25s lexical index)."""

from ingest.env import apply_offline_env

apply_offline_env()
