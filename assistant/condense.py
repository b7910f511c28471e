"""Turns a follow-up ("and for young prisoners?") into a standalone query, without a language model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer import Turn
from ingest.lexical import lexical_tokens

_FOLLOW_UP_OPENERS = re.compile(
    r"^\s*(?:and|but|also|or|so|then|what about|how about|what if|and if|if so|in that case|same for|"
    r"does that|does this|is that|is this|can they|can he|can she|can we still|why|how often|how long|who)\b",
    re.IGNORECASE,
)
_PRONOUNS = re.compile(r"\b(?:he|she|it|they|him|her|them|his|their|this|that|these|those|there|such)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QueryCondenser:
    """Carries the topic of earlier turns into a follow-up question.

    A question counts as a follow-up when it opens like one ("and ...", "what if ...")
    or is short and leans on a pronoun; it is then searched together with the previous
    standalone question, whose content words name the topic.
    """

    max_follow_up_terms: int = 8

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        if not history:
            return question
        previous = history[-1].standalone or history[-1].question
        if not self.is_follow_up(question):
            return question
        return f"{previous} {question}".strip()

    def is_follow_up(self, question: str) -> bool:
        terms = lexical_tokens(question)
        if _FOLLOW_UP_OPENERS.match(question) and len(terms) <= self.max_follow_up_terms:
            return True
        return len(terms) <= 4 and bool(_PRONOUNS.search(question))
