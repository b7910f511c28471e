"""Tokens for the BM25 index: the same function at index and query time."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

import Stemmer

# Bump whenever a change here (words, clitics, stop words, stemmer, BM25 parameters) changes the tokens of a
# text or their scores: the BM25 index is built with these and queried with them, so an index of another
# version is rebuilt on the next ingest (`IndexMeta.lexical_version`) instead of answering with stale scores.
# Version 2: k1 0.7, b 0.4 instead of bm25s's 1.5 / 0.75.
LEXICAL_VERSION = 2

# BM25 saturation and length normalisation. Chosen on BEIR SciFact train (fused nDCG@10: 0.7468 at
# bm25s's 1.5 / 0.75, 0.7531 at 0.7 / 0.4; 0.9 / 0.4, Anserini's, 0.7514) and the dev set (hit@5 / MRR@10
# 0.754 / 0.602 -> 0.761 / 0.614); the optimum is flat for k1 0.6-0.9 and b 0.3-0.5 (docs/retrieval.md).
BM25_K1 = 0.7
BM25_B = 0.4

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Possessives and contractions ("prisoner's", "we've", "she'll") reduce to the bare word.
_CLITIC = re.compile(r"'(?:s|ve|ll|re|d|m|t)$")
# Short English stop list: function words only, so that "no", "not", "without" survive
# (they change the meaning of a rule).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "by",
        "for",
        "from",
        "has",
        "have",
        "had",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "she",
        "so",
        "such",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "will",
        "with",
        "would",
        "you",
        "your",
        "shall",
        "may",
        "should",
        "must",
        "can",
        "could",
        "do",
        "does",
        "did",
        "any",
        "all",
        "each",
        "other",
        "than",
        "also",
        "we",
        "our",
        "us",
        "me",
        "my",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def lexical_tokens(text: str) -> list[str]:
    words = [_CLITIC.sub("", w) for w in _WORD.findall(text.lower().replace("\u2019", "'"))]
    words = [w for w in words if w and w not in STOPWORDS]
    return _stemmer().stemWords(words)


def bm25s_module() -> Any:
    """The bm25s package, imported on first use and kept quiet.

    bm25s sets its own logger to DEBUG when imported, which would print "Building index from tokens"
    under every `handbook ingest`; the level set in ingest/env.py is restored here, after that import.
    """
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s
