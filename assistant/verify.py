"""Checks that a quote occurs, word for word, on the pages it is cited to."""

from __future__ import annotations

import logging
from functools import lru_cache

from ingest.index_store import IndexSnapshot
from ingest.textnorm import normalize_for_match

log = logging.getLogger(__name__)


class QuoteVerifier:
    """Compares white-space-normalised text of the quote and of the cited pages."""

    def __init__(self, snapshot: IndexSnapshot) -> None:
        self.snapshot = snapshot
        self._normalized = lru_cache(maxsize=4096)(self._page_normalized)

    def _page_normalized(self, doc_id: str, page: int) -> str:
        return normalize_for_match(self.snapshot.page_text(doc_id, page) or "")

    def verify(self, doc_id: str, pages: list[int], quote: str) -> bool:
        needle = normalize_for_match(quote)
        if not needle or not pages:
            return False
        haystack = " ".join(self._normalized(doc_id, p) for p in range(min(pages), max(pages) + 1))
        if needle in haystack:
            return True
        log.error("quote not found on %s pp. %s; dropped: %.80r", doc_id, pages, quote)
        return False
