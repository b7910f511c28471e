"""Composers turn the retrieved passages into an answer's lead and cited quotes.

`Composer` is what the pipeline (assistant/chain.py) calls: `stream(request)` yields progress
(`AnswerDelta`) and then one `Composition`. Two implement it: `ExtractiveComposer` here, the
default and model-free one (the lead, then the sentences of each passage that answer, verbatim,
with [n] citations), and `GeneratedAnswerer` (assistant/llm/generate.py), a language model's answer
whose every sentence is checked against the passage it cites. Neither writes text for the
reader: that is assistant/answer/render.py's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from assistant.answer.injection import looks_injected
from assistant.answer.lead import LeadCandidate, LeadRequest, LeadSelector, TextScores, WindowScores
from assistant.answer.records import AnswerDelta, Citation, LeadSentence, location_fields
from assistant.answer.verify import QuoteVerifier
from assistant.retrieval import ScoredChunk
from ingest.lexical import lexical_tokens
from ingest.records import Chunk
from ingest.sentences import sentence_spans

log = logging.getLogger(__name__)

_LIST_INTRO = re.compile(r"[:;]\s*$|\b(?:and|or)\s*$")


def verified_citation(
    chunk: Chunk, start: int, end: int, n: int, titles: dict[str, str], verifier: QuoteVerifier
) -> Citation | None:
    """A citation quoting chunk.text[start:end], or None when the quote is not at its cited location.

    The location is the pages of a PDF, or the paragraphs of a flow document (which the index
    stores where a PDF's page numbers are); the section is the chunk's innermost heading.
    """
    quote = chunk.text[start:end].strip()
    numbers = sorted({chunk.page_at(start), chunk.page_at(max(start, end - 1))})
    numbers = list(range(numbers[0], numbers[-1] + 1))
    if not verifier.verify(chunk.doc_id, numbers, quote):
        return None
    return Citation(
        n=n,
        doc=chunk.doc_id,
        title=titles.get(chunk.doc_id, chunk.title),
        ref=chunk.ref_at(start),
        quote=quote,
        suspicious=looks_injected(quote),
        section=chunk.headings[-1] if chunk.headings else "",
        **location_fields(verifier.document_format(chunk.doc_id), numbers),
    )


def _cut_marks(text: str, start: int, end: int, boundaries: list[int]) -> tuple[str, str]:
    """ "… " / " …" where the quote leaves out words of its numbered unit before / after it.

    The marks stand outside the verbatim quote (Citation.quote never holds them).
    """
    unit_start = max((b for b in boundaries if b <= start), default=0)
    unit_end = min((b for b in boundaries if b > start), default=len(text))
    before = "\u2026 " if text[unit_start:start].strip() else ""
    after = " \u2026" if text[end:unit_end].strip() else ""
    return before, after


def _other_units(text: str, chosen: list[tuple[int, int]], boundaries: list[int], budget: int) -> list[tuple[int, int]]:
    """Whole numbered units of the passage outside the chosen spans, in text order, while they fit the budget."""
    spans = sentence_spans(text)
    units: dict[int, list[tuple[int, int]]] = {}
    for a, b in spans:
        units.setdefault(sum(1 for x in boundaries if x <= a), []).append((a, b))
    out = []
    for members in units.values():
        start, end = members[0][0], members[-1][1]
        words = len(text[start:end].split())
        if any(a < end and start < b for a, b in chosen) or words > budget:
            continue
        out.append((start, end))
        budget -= words
    return out


@dataclass
class ComposeRequest:
    """What a composer works from: the question as searched and its passages."""

    question: str  # the standalone question
    lang: str
    terms: Sequence[str]  # the glossary-expanded question's lexical tokens
    hits: Sequence[ScoredChunk]  # the passages to answer from, best first (their index is the answer's passage index)
    idf: Mapping[str, float]
    verifier: QuoteVerifier
    titles: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)  # document id -> kind (binding-standard, report, ...)
    windows: WindowScores | None = None  # MiniLM window cosines of a hit (the lead's features)
    texts: TextScores | None = None  # e5 cosines of texts embedded at query time (the lead's features)


@dataclass
class Composition:
    """A composer's result: data only (assistant/answer/render.py writes it for the reader)."""

    citations: list[Citation]
    lead: list[LeadSentence] = field(default_factory=list)
    mode: Literal["extractive", "generated"] = "extractive"
    generated: str = ""  # a generated answer's sentences with their [n] markers
    ok: bool = True  # False: a generated answer that cannot be shown (`note` says why)
    note: str = ""
    not_covered: bool = False  # the model found that the passages do not answer
    candidates: list[LeadCandidate] = field(default_factory=list)  # what the lead chose from


class Composer(Protocol):
    """Makes an answer's content from the passages: progress deltas, then one Composition."""

    def stream(self, request: ComposeRequest) -> Iterator[AnswerDelta | Composition]: ...


@dataclass(frozen=True)
class ExtractiveComposer:
    """Selects passages and the sentences in them that answer, and quotes them verbatim.

    Sentences are scored by the IDF-weighted question terms they contain; a sentence
    that introduces a list (ends with ':') brings its list items along, because the
    items are the substance ("(a) By corresponding in writing ... (b) By receiving visits").
    """

    # Measured on the dev set: quoting four passages rather than three, with larger
    # budgets, raised key-fact coverage from 0.42 to about 0.48. With window retrieval, quoting
    # the best passage whole (200 words: a chunk is at most ~170) raised it from 0.530 to 0.548
    # for 15 more words in the median answer; whole later passages cost far more words per fact.
    # With two models and the grown dev set (244 answerable questions, 2026-11-30): quoting from up to
    # eight passages rather than five, within the same 440-word total, raised key-fact coverage from
    # 0.484 to 0.529 (staff wording 0.403 -> 0.458); ten passages gave no more (0.529), since the
    # total budget then binds. The median answer grew from 345 to 438 quoted words.
    max_passages: int = 8
    max_words_first: int = 200  # quote budget for the best passage
    max_words_other: int = 80
    # All quotes together stay within the budget of the best passage plus three later ones (measured
    # on the dev set: a fifth passage quoted when the earlier quotes left room raised key-fact
    # coverage from 0.565 to about 0.6; whole fifth passages would cost ~85 more words per answer).
    max_words_total: int = 440
    min_relative_score: float = 0.3  # later passages must score at least this share of the first
    min_passage_words: int = 12  # fragments (a stray list line) are listed as passages, not quoted
    # Start the quote from the two sentences MiniLM matched best rather than from the sentence sharing
    # the most (IDF-weighted) words with the question. It helped with MiniLM-only retrieval; with the
    # fused retrieval and the grown dev set it costs key facts (264 answerable questions, 8 passages:
    # 0.564 with windows, 0.580 without; staff wording 0.462 / 0.476), so it is off.
    use_windows: bool = False
    lead: LeadSelector | None = None  # None: no lead, the quotes alone

    def stream(self, request: ComposeRequest) -> Iterator[AnswerDelta | Composition]:
        yield self.compose(request)

    def compose(self, request: ComposeRequest) -> Composition:
        citations, spans = self._quotes(request)
        if not citations or self.lead is None:
            return Composition(citations)
        lead_request = LeadRequest(
            request.question,
            request.lang,
            request.terms,
            request.idf,
            request.hits,
            request.kinds,
            request.windows,
            request.texts,
        )
        chosen, found = self.lead.choose(lead_request, lambda c: self._verifies(request, c))
        lead, citations = _attach_lead(chosen, citations, spans, request)
        return Composition(citations, lead=lead, candidates=found)

    @staticmethod
    def _verifies(request: ComposeRequest, candidate: LeadCandidate) -> bool:
        hit = request.hits[candidate.hit]
        citation = verified_citation(
            hit.chunk, candidate.start, candidate.end, 0, dict(request.titles), request.verifier
        )
        return citation is not None

    def _quotes(self, request: ComposeRequest) -> tuple[list[Citation], list[tuple[int, int, int]]]:
        """The cited quotes, and where each is: (passage index, start, end) in its chunk's text."""
        hits, idf, verifier, titles = list(request.hits), dict(request.idf), request.verifier, dict(request.titles)
        terms = set(request.terms)
        citations: list[Citation] = []
        where: list[tuple[int, int, int]] = []
        top_score = hits[0].score if hits else 0.0
        used = 0  # words quoted so far
        quoted = 0  # passages quoted so far
        # A passage with text addressed to an AI system is never quoted first (stable: the rest keep their order).
        order = sorted(range(len(hits)), key=lambda i: looks_injected(hits[i].chunk.text))
        for index in order:
            hit = hits[index]
            if quoted >= self.max_passages:
                break
            if citations and hit.score < self.min_relative_score * top_score:
                break
            if len(hit.chunk.text.split()) < self.min_passage_words:
                continue
            first = not citations
            budget = self.max_words_first if first else min(self.max_words_other, self.max_words_total - used)
            if budget < self.min_passage_words:
                break
            boundaries = [r.offset for r in hit.chunk.refs]
            seed = hit.window if self.use_windows else None
            spans = self._select(hit.chunk.text, terms, idf, budget, boundaries, seed)
            if first:
                # The best passage fits its budget whole more often than not: its other numbered
                # units ("5.38" after "5.37") are quoted too, each with its own ref.
                left = budget - sum(len(hit.chunk.text[a:b].split()) for a, b in spans)
                spans += _other_units(hit.chunk.text, spans, boundaries, left)
            added = False
            for start, end in spans:
                n = len(citations) + 1
                citation = verified_citation(hit.chunk, start, end, n, titles, verifier)
                if citation is None:
                    continue  # a failed check is a bug, logged by the verifier; never shown
                if citation.suspicious and not citations:
                    continue  # text addressed to an AI system is never the first quote
                used += len(citation.quote.split())
                added = True
                before, after = _cut_marks(hit.chunk.text, start, end, boundaries)
                update = {"cut_before": bool(before), "cut_after": bool(after), "passage": index}
                citations.append(citation.model_copy(update=update))
                where.append((index, start, end))
            quoted += added
        return citations, where

    def _select(
        self,
        text: str,
        terms: set[str],
        idf: dict[str, float],
        budget: int,
        boundaries: list[int],
        seed: int | None = None,
    ) -> list[tuple[int, int]]:
        """A contiguous run of sentences to quote, within one numbered unit and a word budget.

        A run never crosses a unit boundary: between two units the page prints a
        heading ("Rule 45") that the passage text leaves out, so such a quote would
        not be verbatim, and its ref would be ambiguous.
        """
        spans = sentence_spans(text)
        if not spans:
            return []
        unit = [sum(1 for b in boundaries if b <= a) for a, _ in spans]
        scores = []
        for a, b in spans:
            tokens = set(lexical_tokens(text[a:b]))
            scores.append(sum(idf.get(t, 0.0) for t in tokens & terms))
        words = [len(text[a:b].split()) for a, b in spans]
        best = max(range(len(spans)), key=lambda i: (scores[i], -i))
        window = [] if seed is None else [i for i in (seed, seed + 1) if i < len(spans)]
        if window:
            # The window the embedding matched: its two sentences are the answer more often than
            # the sentence sharing most words with the question.
            best = max(window, key=lambda i: (scores[i], -i))
        same_unit = [i for i in range(len(spans)) if unit[i] == unit[best]]
        if sum(words[i] for i in same_unit) <= budget:
            return [(spans[same_unit[0]][0], spans[same_unit[-1]][1])]  # the whole unit fits: quote it all
        chosen = [i for i in window if unit[i] == unit[best]] or [best]
        if sum(words[i] for i in chosen) > budget:
            chosen = [best]
        used = sum(words[i] for i in chosen)
        # Grow the run: a list introduction pulls in its items; otherwise add the better neighbour.
        while True:
            lo, hi = chosen[0], chosen[-1]
            options = []
            if hi + 1 < len(spans) and unit[hi + 1] == unit[best] and used + words[hi + 1] <= budget:
                pull = 2.0 if _LIST_INTRO.search(text[spans[hi][0] : spans[hi][1]]) else 0.0
                options.append((scores[hi + 1] + pull, hi + 1))
            if lo - 1 >= 0 and unit[lo - 1] == unit[best] and used + words[lo - 1] <= budget:
                options.append((scores[lo - 1], lo - 1))
            if not options:
                break
            gain, pick = max(options)
            if gain <= 0 and used >= budget // 2:
                break
            chosen = sorted([*chosen, pick])
            used += words[pick]
        return [(spans[chosen[0]][0], spans[chosen[-1]][1])]


def _attach_lead(
    chosen: Sequence[LeadCandidate],
    citations: list[Citation],
    spans: list[tuple[int, int, int]],
    request: ComposeRequest,
) -> tuple[list[LeadSentence], list[Citation]]:
    """Cites each lead sentence by the quote that holds it, or by a citation of its own added after the others."""
    citations = list(citations)
    spans = list(spans)
    lead: list[LeadSentence] = []
    for candidate in chosen:
        hit = request.hits[candidate.hit]
        n = next(
            (
                citations[k].n
                for k, (index, start, end) in enumerate(spans)
                if index == candidate.hit and start <= candidate.start and candidate.end <= end
            ),
            None,
        )
        if n is None:
            citation = verified_citation(
                hit.chunk, candidate.start, candidate.end, len(citations) + 1, dict(request.titles), request.verifier
            )
            if citation is None:
                continue  # checked when chosen; a failure here is a bug the verifier logged
            boundaries = [r.offset for r in hit.chunk.refs]
            before, after = _cut_marks(hit.chunk.text, candidate.start, candidate.end, boundaries)
            update = {"cut_before": bool(before), "cut_after": bool(after), "passage": candidate.hit}
            citations.append(citation.model_copy(update=update))
            spans.append((candidate.hit, candidate.start, candidate.end))
            n = citation.n
        text = hit.chunk.text[candidate.start : candidate.end].strip()
        lead.append(LeadSentence(text=text, n=n, passage=candidate.hit))
    return lead, citations
