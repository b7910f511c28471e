"""Decides when the evidence is too weak to answer: then the assistant says so."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.retrieval import SearchResult
from ingest.lexical import lexical_tokens

# Calibrated on evals/golden/dev.jsonl with `handbook eval calibrate` (see evals/README.md).
DEFAULT_THRESHOLD = 0.55
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


@dataclass(frozen=True)
class RefusalPolicy:
    """confidence = best cosine similarity + weight x term coverage of the top passages."""

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

    def refuse(self, confidence: float) -> bool:
        return confidence < self.threshold
