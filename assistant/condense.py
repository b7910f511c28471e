"""Turns a follow-up ("and for young prisoners?") into a standalone query: by rule, or with a language model."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answer.records import Turn
from ingest.lexical import lexical_tokens

log = logging.getLogger(__name__)

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


class ModelCondenser:
    """Condenses follow-ups with the language model; the rule-based condenser is the fallback.

    The model's rewrite is used only when it looks like a question about the conversation:
    one short line whose words mostly occur in the documents or the conversation. Anything
    else (an error, a timeout, noise) falls back to carrying the topic over by rule.
    """

    def __init__(
        self, chat_model: Any, idf: Mapping[str, float], fallback: QueryCondenser | None = None, max_words: int = 60
    ) -> None:
        self.chat_model = chat_model
        self.idf = idf
        self.fallback = fallback or QueryCondenser()
        self.max_words = max_words

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        if not history:
            return question
        from assistant.llm.prompt import condense_messages

        try:
            reply = self.chat_model.invoke(condense_messages(question, history))
            text = reply.content if isinstance(reply.content, str) else ""
        except Exception as exc:  # any backend failure: the rule-based condenser answers
            log.warning("follow-up condensing by the language model failed (%s); using the rule", exc)
            return self.fallback.condense(question, history)
        rewritten = self._clean(text)
        if rewritten and self._plausible(rewritten, question, history):
            return rewritten
        log.info("language model's rewrite rejected: %.80r", text)
        return self.fallback.condense(question, history)

    def _clean(self, text: str) -> str:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) != 1:
            return ""
        line = re.sub(r"^(?:rewritten question|question)\s*:\s*", "", lines[0], flags=re.IGNORECASE)
        line = line.strip(" \"'\u201c\u201d")
        return line if 2 < len(line.split()) <= self.max_words else ""

    def _plausible(self, rewritten: str, question: str, history: Sequence[Turn]) -> bool:
        terms = lexical_tokens(rewritten)
        context = set(lexical_tokens(question))
        for turn in history:
            context.update(lexical_tokens(turn.standalone or turn.question))
        if not terms or not context.intersection(terms):
            return False
        known = sum(1 for t in terms if t in self.idf or t in context)
        return known / len(terms) >= 0.8
