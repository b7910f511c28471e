"""Calibrates the support threshold of the citation check on generated answers.

For every answerable golden question, each key fact is a claim a correct generated
sentence would make. It is paired with
- the retrieved passage of the expected document that states it (a correct citation), and
- retrieved passages of other rules that do not state it (a wrong citation: the same
  topic, so the hardest case for the check).
Each claim is scored in two forms: the fact alone, and the fact restated after the
question (as a model tends to write it). The threshold chosen is the lowest one that
accepts at most `max_false_accept` of the wrong citations: a wrong citation is the
failure that matters in this field, a rejected good answer only falls back to quotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from assistant.llm.citation_check import DEFAULT_LEXICAL_WEIGHT, CitationChecker
from evals.golden import GoldenQuestion
from evals.progress import progress_bar
from ingest.textnorm import normalize_for_match

if TYPE_CHECKING:
    from assistant.chain import Assistant

MAX_FALSE_ACCEPT = 0.05


class SupportPair(BaseModel):
    question_id: str
    claim: str
    supported: bool  # the passage states the fact
    lexical: float
    semantic: float

    def score(self, lexical_weight: float) -> float:
        return lexical_weight * self.lexical + (1 - lexical_weight) * self.semantic


class SupportCalibration(BaseModel):
    lexical_weight: float
    threshold: float
    true_accept: float  # share of correct citations accepted
    false_accept: float  # share of wrong citations accepted
    positives: int
    negatives: int
    table: list[tuple[float, float, float]]  # (threshold, true_accept, false_accept)


def collect_pairs(
    assistant: Assistant, questions: Sequence[GoldenQuestion], candidates: int = 10, progress: bool = True
) -> list[SupportPair]:
    checker = CitationChecker(assistant.retriever.embedder.encode, assistant.retriever.idf())
    pairs: list[SupportPair] = []
    usable = [q for q in questions if q.answerable and q.key_facts]
    with progress_bar(progress, "support pairs", len(usable)) as advance:
        for q in usable:
            hits = assistant.retriever.search(q.question, k=candidates).hits
            expected = {(e.doc, e.ref) for e in q.expected}
            for fact in q.key_facts:
                needle = normalize_for_match(fact)
                stating = [h for h in hits if needle in normalize_for_match(h.chunk.text)]
                wrong = [
                    h
                    for h in hits
                    if needle not in normalize_for_match(h.chunk.text) and (h.chunk.doc_id, h.chunk.ref) not in expected
                ][:3]
                for claim in (fact, f"{q.question.rstrip('?. ')}: {fact}."):
                    for hit, supported in [(h, True) for h in stating[:1]] + [(h, False) for h in wrong]:
                        pairs.append(
                            SupportPair(
                                question_id=q.id,
                                claim=claim,
                                supported=supported,
                                lexical=checker.lexical_support(claim, [hit.chunk.text]),
                                semantic=checker.semantic_support(claim, [hit.chunk.text]),
                            )
                        )
            advance()
    return pairs


def calibrate_support(
    pairs: Sequence[SupportPair],
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    max_false_accept: float = MAX_FALSE_ACCEPT,
) -> SupportCalibration:
    positives = [p.score(lexical_weight) for p in pairs if p.supported]
    negatives = [p.score(lexical_weight) for p in pairs if not p.supported]
    if not positives or not negatives:
        raise ValueError("support calibration needs both correct and wrong citations")
    table = []
    chosen: tuple[float, float, float] | None = None
    for step in range(0, 101):
        t = step / 100
        row = (
            t,
            sum(s >= t for s in positives) / len(positives),
            sum(s >= t for s in negatives) / len(negatives),
        )
        table.append(row)
        if chosen is None and row[2] <= max_false_accept:
            chosen = row
    assert chosen is not None  # at t = 1.0 nothing short of a perfect score is accepted
    return SupportCalibration(
        lexical_weight=lexical_weight,
        threshold=chosen[0],
        true_accept=round(chosen[1], 4),
        false_accept=round(chosen[2], 4),
        positives=len(positives),
        negatives=len(negatives),
        table=[(t, round(a, 4), round(f, 4)) for t, a, f in table if round(t * 100) % 5 == 0],
    )


def render_text(results: Sequence[SupportCalibration]) -> str:
    lines = ["lexical_weight  threshold  true_accept  false_accept  (positives / negatives)"]
    for r in results:
        lines.append(
            f"{r.lexical_weight:>14.2f}  {r.threshold:>9.2f}  {r.true_accept:>11.3f}  {r.false_accept:>12.3f}"
            f"  ({r.positives} / {r.negatives})"
        )
    return "\n".join(lines)
