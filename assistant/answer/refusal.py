"""Lexical evidence measures used by the answerability decision (assistant/answer/decision.py)."""

from __future__ import annotations

import re

from ingest.lexical import lexical_tokens


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
