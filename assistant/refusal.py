"""Decides when the evidence is too weak to answer: then the assistant says so."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.retrieval import SearchResult
from ingest.lexical import lexical_tokens

# Calibrated on evals/golden/dev.jsonl with `handbook eval calibrate` (see evals/README.md).
DEFAULT_THRESHOLD = 0.548
DEFAULT_LEXICAL_WEIGHT = 0.25


def term_coverage(terms: list[str], texts: list[str], idf: dict[str, float]) -> float:
    """IDF-weighted share of the question's terms that occur in the passages (unknown terms weigh most)."""
    if not terms:
        return 0.0
    present: set[str] = set()
    for text in texts:
        present.update(lexical_tokens(text))
    unknown_weight = max(idf.values(), default=1.0)
    total = sum(idf.get(t, unknown_weight) for t in set(terms))
    covered = sum(idf.get(t, unknown_weight) for t in set(terms) if t in present)
    return covered / total if total else 0.0


# A capitalised word that does not open a sentence: a place, body, product or event name.
_NAME = re.compile(r"(?<![.?!:]\s)(?<!^)\b(?:[A-Z][A-Za-z-]*[a-z][A-Za-z-]*|[A-Z]{5,})")


def unknown_names(question: str, idf: dict[str, float]) -> list[str]:
    """Names in the question that occur nowhere in the indexed documents ("California", "COVID").

    A question about a jurisdiction, product or event the documents never mention
    cannot be answered from them, however similar its other words are.
    """
    names = []
    for match in _NAME.finditer(question.strip()):
        tokens = lexical_tokens(match.group(0))
        if tokens and all(t not in idf for t in tokens):
            names.append(match.group(0).strip("-"))
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class RefusalPolicy:
    """confidence = best cosine similarity + weight x term coverage of the top passages.

    A question naming something the documents never mention is refused outright.
    """

    threshold: float = DEFAULT_THRESHOLD
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT
    passages: int = 3

    def confidence(self, result: SearchResult, idf: dict[str, float]) -> float:
        texts = [hit.chunk.embedding_text() for hit in result.hits[: self.passages]]
        coverage = max(
            term_coverage(lexical_tokens(result.query), texts, idf),
            term_coverage(lexical_tokens(result.expanded_query), texts, idf),
        )
        return result.best_dense + self.lexical_weight * coverage

    def refuse(self, confidence: float, unknown: list[str] | None = None) -> bool:
        return bool(unknown) or confidence < self.threshold
