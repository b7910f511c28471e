"""Checks a generated answer sentence by sentence: a valid [n] marker, and support in passage n.

support = lexical_weight x (IDF-weighted share of the sentence's terms found in the passage)
        + (1 - lexical_weight) x (best cosine similarity between the sentence and a passage sentence)

The threshold is calibrated on the dev golden set (`handbook eval calibrate-support`):
key facts paired with the passage that states them against the same facts paired with
nearby passages of other rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from ingest.lexical import lexical_tokens
from ingest.sentences import sentence_spans

# Calibrated with `handbook eval calibrate-support` on evals/golden/dev.jsonl (see evals/README.md):
# at weight 0.5 and 0.57, 77% of correct citations and 4.9% of wrong ones (same topic) are accepted;
# weights 0, 0.25, 0.75 and 1 accepted 35%, 62%, 71% and 65% at the same false-accept limit.
DEFAULT_SUPPORT_THRESHOLD = 0.57
DEFAULT_LEXICAL_WEIGHT = 0.5

MARKER = re.compile(r"\[(\d{1,2})\]")
_LEADING_MARKERS = re.compile(r"^\s*(?:\[\d{1,2}\]\s*)+")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")

Encode = Callable[[list[str]], np.ndarray]


class Verdict(StrEnum):
    SUPPORTED = "supported"
    UNCITED = "uncited"  # no marker: removed from the answer
    INVALID_MARKER = "invalid_marker"  # cites a passage that was not given: the answer is rejected
    UNSUPPORTED = "unsupported"  # the cited passage does not back it: the answer is rejected


@dataclass(frozen=True)
class SentenceCheck:
    text: str  # the sentence as the model wrote it, markers included
    markers: tuple[int, ...]
    verdict: Verdict
    support: float = 0.0

    @property
    def claim(self) -> str:
        return strip_markers(self.text)


@dataclass
class CheckReport:
    sentences: list[SentenceCheck] = field(default_factory=list)

    @property
    def kept(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.verdict is Verdict.SUPPORTED]

    @property
    def rejected(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.verdict in (Verdict.INVALID_MARKER, Verdict.UNSUPPORTED)]

    @property
    def uncited(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.verdict is Verdict.UNCITED]


def strip_markers(text: str) -> str:
    text = re.sub(r"\s+", " ", MARKER.sub("", text))
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()


def split_generated(text: str) -> list[str]:
    """Sentences of a generated answer; a marker written after the full stop stays with its sentence."""
    out: list[str] = []
    for raw_line in text.splitlines():
        line = _BULLET.sub("", raw_line).strip()
        if not line:
            continue
        for a, b in sentence_spans(line):
            piece = line[a:b].strip()
            lead = _LEADING_MARKERS.match(piece)
            if lead and out:
                out[-1] = f"{out[-1]} {lead.group(0).strip()}"
                piece = piece[lead.end() :].strip()
            if piece:
                out.append(piece)
    return out


class CitationChecker:
    """Gives each generated sentence a verdict against the numbered passages it was given."""

    def __init__(
        self,
        encode: Encode,
        idf: Mapping[str, float],
        threshold: float = DEFAULT_SUPPORT_THRESHOLD,
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    ) -> None:
        self.encode = encode
        self.idf = idf
        self.threshold = threshold
        self.lexical_weight = lexical_weight
        self._unknown_weight = max(idf.values(), default=1.0)
        self._sentence_vectors: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}

    def check(self, sentence: str, passages: Mapping[int, str]) -> SentenceCheck:
        markers = tuple(dict.fromkeys(int(m) for m in MARKER.findall(sentence)))
        claim = strip_markers(sentence)
        if not markers:
            return SentenceCheck(sentence, markers, Verdict.UNCITED)
        if any(n not in passages for n in markers):
            return SentenceCheck(sentence, markers, Verdict.INVALID_MARKER)
        # A sentence citing several passages is backed when their union supports it.
        support = self.support(claim, [passages[n] for n in markers])
        verdict = Verdict.SUPPORTED if support >= self.threshold else Verdict.UNSUPPORTED
        return SentenceCheck(sentence, markers, verdict, support)

    def check_all(self, text: str, passages: Mapping[int, str]) -> CheckReport:
        return CheckReport([self.check(s, passages) for s in split_generated(text)])

    def support(self, claim: str, passage_texts: Sequence[str]) -> float:
        return self.lexical_weight * self.lexical_support(claim, passage_texts) + (
            1 - self.lexical_weight
        ) * self.semantic_support(claim, passage_texts)

    def lexical_support(self, claim: str, passage_texts: Sequence[str]) -> float:
        terms = set(lexical_tokens(claim))
        if not terms:
            return 0.0
        present: set[str] = set()
        for text in passage_texts:
            present.update(lexical_tokens(text))
        total = sum(self.idf.get(t, self._unknown_weight) for t in terms)
        return sum(self.idf.get(t, self._unknown_weight) for t in terms if t in present) / total

    def semantic_support(self, claim: str, passage_texts: Sequence[str]) -> float:
        if not claim.strip():
            return 0.0
        claim_vector = self.encode([claim])[0]
        best = 0.0
        for text in passage_texts:
            _, vectors = self._sentences(text)
            if len(vectors):
                best = max(best, float(np.max(vectors @ claim_vector)))
        return best

    def best_sentence(
        self, claims: Sequence[str], passage_text: str, exclude: Callable[[str], bool] | None = None
    ) -> tuple[int, int] | None:
        """Offsets of the passage sentence that best backs the claims (the quote shown for a citation).

        `exclude` rules sentences out (those withheld from the model cannot back its answer).
        """
        spans, vectors = self._sentences(passage_text)
        if not spans or not claims:
            return None
        semantic = (vectors @ self.encode(list(claims)).T).max(axis=1)
        scores = [
            -1.0
            if exclude and exclude(passage_text[a:b])
            else self.lexical_weight * max(self.lexical_support(c, [passage_text[a:b]]) for c in claims)
            + (1 - self.lexical_weight) * float(semantic[i])
            for i, (a, b) in enumerate(spans)
        ]
        best = int(np.argmax(scores))
        return spans[best] if scores[best] >= 0 else None

    def _sentences(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        cached = self._sentence_vectors.get(text)
        if cached is None:
            spans = sentence_spans(text)
            vectors = self.encode([text[a:b] for a, b in spans]) if spans else np.zeros((0, 1), dtype=np.float32)
            cached = (spans, vectors)
            if len(self._sentence_vectors) > 256:
                self._sentence_vectors.clear()
            self._sentence_vectors[text] = cached
        return cached
