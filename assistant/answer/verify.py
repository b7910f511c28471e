"""Checks that a quote occurs, word for word, at the locations it is cited to.

A location is a page of a PDF or a paragraph of a flow document (DOCX, HTML, Markdown): the index
stores the text of each under its number (`IndexSnapshot.page_text`), so both are checked alike.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from ingest.index_store import IndexSnapshot
from ingest.records import DocumentFormat
from ingest.textnorm import normalize_for_match

log = logging.getLogger(__name__)


class QuoteVerifier:
    """Compares white-space-normalised text of the quote and of the cited pages."""

    def __init__(self, snapshot: IndexSnapshot) -> None:
        self.snapshot = snapshot
        self._normalized = lru_cache(maxsize=4096)(self._page_normalized)

    def _page_normalized(self, doc_id: str, page: int) -> str:
        return normalize_for_match(self.snapshot.page_text(doc_id, page) or "")

    def document_format(self, doc_id: str) -> DocumentFormat:
        """The format of the document ("pdf" for one the index does not know): what its locations are."""
        info = self.snapshot.document(doc_id)
        return info.format if info is not None else "pdf"

    def verify(self, doc_id: str, pages: list[int], quote: str) -> bool:
        needle = normalize_for_match(quote)
        if not needle or not pages:
            return False
        haystack = " ".join(self._normalized(doc_id, p) for p in range(min(pages), max(pages) + 1))
        if needle in haystack:
            return True
        log.error("quote not found at %s locations %s; dropped: %.80r", doc_id, pages, quote)
        return False
