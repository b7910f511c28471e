"""A generated lead: a short answer in the question's language, written by a language model above the quotes.

The extractive answer is made first and shown at once; then `GeneratedLeadWriter.stream` asks the model
for at most 60 words in the question's language (English, Russian or Kazakh), from the few passage
sentences the extractive lead's scorer ranks highest (`lead_sources`), with a worked example in that
language (small models copy an example far better than they follow rules). Each sentence is checked as
soon as it is complete (`LeadSentenceChecker`, assistant/llm/lead_check.py); one that fails is dropped
with its reason, one that passes is passed on with its markers renumbered to the answer's citations: each
cited passage's sentence that backs it becomes (or already is) a verified quote. When no sentence passes,
or the model fails or times out, the extractive lead stands and the note says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.answer.compose import ComposeRequest, Composition, _cut_marks, verified_citation
from assistant.answer.injection import looks_injected
from assistant.answer.lead import LeadCandidate, LeadRequest, LeadSelector, candidates, relative, with_e5
from assistant.answer.records import AnswerDelta, Citation, DroppedSentence, LeadSentence
from assistant.answer.render import with_markers
from assistant.llm.backends import stream_text
from assistant.llm.citation_check import split_generated, strip_markers
from assistant.llm.lead_check import CitedSource, LeadSentenceChecker, SentenceVerdict
from assistant.llm.prompt import NOT_COVERED, sanitize_passage

log = logging.getLogger(__name__)

MAX_WORDS = 60

_LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "kk": "Kazakh"}

LEAD_SYSTEM = """You answer questions from prison staff in {language}, using ONLY the numbered English passages.
State what the passages say; do not repeat the question. Write one or two short sentences, at most 50 words,
each ending with the number of its passage in square brackets, like [1]. Copy every number exactly as the
passage gives it. If no passage answers the question, reply exactly: {not_covered}"""

# The worked example, one per language: an invented rule, so that it cannot leak into a real answer.
_EXAMPLE_PASSAGES = (
    "[1] (Example Rules, Rule 9) Every prisoner shall be allowed to write to his or her family at least once a "
    "week. Letters shall not be delayed for more than two days.\n"
    "[2] (Example Rules, Rule 12) Visits shall take place in a room with natural light."
)
_EXAMPLE_QUESTION = {
    "en": "How often can a lad write home, and can we hold his letters?",
    "ru": "Как часто осуждённый может писать домой и можно ли задерживать его письма?",
    "kk": "Сотталған үйіне қаншалықты жиі хат жаза алады және оның хаттарын ұстап қалуға бола ма?",
}
_EXAMPLE_ANSWER = {
    "en": "A prisoner may write to his or her family at least once a week [1]. "
    "Letters may not be delayed for more than two days [1].",
    "ru": "Осуждённому разрешается писать семье не реже одного раза в неделю [1]. "
    "Письма нельзя задерживать более чем на два дня [1].",
    "kk": "Сотталғанға отбасына аптасына кемінде бір рет хат жазуға рұқсат етіледі [1]. "
    "Хаттарды екі күннен артық кешіктіруге болмайды [1].",
}


def lead_messages(question: str, lang: str, sources: Sequence[CitedSource]) -> list[tuple[str, str]]:
    """(role, content) pairs: the rules, one worked example in the question's language, then the real task.

    The question comes first and the instruction last; passages are numbered "[n]" as the answer cites them.
    Both small models copied the question back when it came last (measured on dev questions), and copy the
    "[n]" form more reliably than they map a tag's attribute to a marker."""
    language = _LANGUAGE_NAMES.get(lang, "English")
    example_lang = lang if lang in _EXAMPLE_ANSWER else "en"
    system = LEAD_SYSTEM.format(language=language, not_covered=NOT_COVERED)
    blocks = "\n".join(
        f"[{s.n}] ({_attr(s.title)}{', ' + _attr(s.ref) if s.ref else ''}) {sanitize_passage(s.text)}"
        for s in sources
    )
    ask = f"Answer in {language}. State the rule from the passages, with [n] after each sentence."
    return [
        ("system", system),
        ("human", f"Question: {_EXAMPLE_QUESTION[example_lang]}\n\nPassages:\n{_EXAMPLE_PASSAGES}\n\n{ask}"),
        ("ai", _EXAMPLE_ANSWER[example_lang]),
        ("human", f"Question: {question}\n\nPassages:\n{blocks}\n\n{ask}"),
    ]


def lead_sources(
    request: ComposeRequest,
    selector: LeadSelector,
    max_sentences: int = 5,
    max_passages: int = 4,
    max_sentence_words: int = 45,
) -> list[CitedSource]:
    """The passages the model answers from: the `max_sentences` sentences the extractive lead's scorer ranks
    highest (text addressed to an AI system left out), grouped by passage, best passage first, each passage's
    sentences in text order. Small models read a short prompt faster and stray from it less."""
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
    wide = replace(selector, shortlist={lang: max(max_sentences * 2, n) for lang, n in selector.shortlist.items()})
    found = relative(with_e5(wide.short(candidates(lead_request, selector.passages), request.lang), request.texts))
    model = selector.model(request.lang)
    ranked = sorted(found, key=lambda c: (-model.score(c), c.hit, c.start))
    chosen: list[LeadCandidate] = []
    for candidate in ranked:
        if len(chosen) >= max_sentences:
            break
        if not 4 <= candidate.words <= max_sentence_words or looks_injected(candidate.text):
            continue
        if candidate.hit not in {c.hit for c in chosen} and len({c.hit for c in chosen}) >= max_passages:
            continue
        chosen.append(candidate)
    order: list[int] = []
    for candidate in chosen:
        if candidate.hit not in order:
            order.append(candidate.hit)
    sources = []
    for n, hit_index in enumerate(order, start=1):
        mine = sorted((c for c in chosen if c.hit == hit_index), key=lambda c: c.start)
        chunk = request.hits[hit_index].chunk
        sources.append(
            CitedSource(
                n=n,
                hit=hit_index,
                spans=tuple((c.start, c.end) for c in mine),
                sentences=tuple(c.text.strip() for c in mine),
                ref=chunk.ref_at(mine[0].start),
                title=request.titles.get(chunk.doc_id, chunk.title),
            )
        )
    return sources


@dataclass
class GeneratedLead:
    """The writer's result: the lead to show (empty when none passed), the answer's citations with the quotes it
    added, and the sentences dropped with their reasons."""

    ok: bool
    lead: list[LeadSentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dropped: list[DroppedSentence] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0
    raw: str = ""  # the model's text as written (for the evaluation)
    verdicts: list[SentenceVerdict] = field(default_factory=list)
    sources: list[CitedSource] = field(default_factory=list)


class GeneratedLeadWriter:
    """Writes the lead with a chat model and shows only checked sentences (module docstring)."""

    def __init__(
        self,
        chat_model: Any,
        checker: LeadSentenceChecker,
        selector: LeadSelector,
        label: str,
        timeout_s: float = 60.0,
        max_retries: int = 1,
        max_words: int = MAX_WORDS,
    ) -> None:
        self.chat_model = chat_model
        self.checker = checker
        self.selector = selector
        self.label = label
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_words = max_words

    def stream(self, request: ComposeRequest, extractive: Composition) -> Iterator[AnswerDelta | GeneratedLead]:
        """Each checked sentence as an `AnswerDelta(stage="lead")` (markers as the answer's citation numbers),
        then one `GeneratedLead`."""
        started = time.monotonic()
        sources = lead_sources(request, self.selector)
        result = GeneratedLead(ok=False, citations=list(extractive.citations), sources=sources)
        if not sources:
            result.note = "no passage sentence to answer from"
            yield result
            return
        by_n = {s.n: s for s in sources}
        buffer, done, words = "", 0, 0
        try:
            for piece in self._tokens(lead_messages(request.question, request.lang, sources)):
                buffer += piece
                sentences = split_generated(buffer)
                # The last sentence may still be growing: check only those followed by another.
                for sentence in sentences[done : max(done, len(sentences) - 1)]:
                    shown = self._take(sentence, request, by_n, result, words)
                    if shown is not None:
                        words += len(strip_markers(shown).split())
                        yield AnswerDelta(stage="lead", text=shown)
                done = max(done, len(sentences) - 1)
                if words >= self.max_words or len(strip_markers(buffer).split()) > 2 * self.max_words:
                    break  # the budget is spent: stop the model rather than wait for its end
            result.raw = buffer
            if strip_markers(buffer).upper().lstrip(" \"'*").startswith(NOT_COVERED):
                result.note = "the language model found that the passages do not answer the question"
            else:
                for sentence in split_generated(buffer)[done:]:
                    shown = self._take(sentence, request, by_n, result, words)
                    if shown is not None:
                        words += len(strip_markers(shown).split())
                        yield AnswerDelta(stage="lead", text=shown)
        except Exception as exc:  # the server, the network or the model library: the extractive lead stands
            log.warning("language model %s failed on the lead: %s: %s", self.label, type(exc).__name__, exc)
            timed_out = time.monotonic() - started >= self.timeout_s or isinstance(exc, TimeoutError)
            result.raw = buffer
            result.lead = []
            message = " ".join(str(exc).split())[:160]
            result.note = (
                f"the language model ({self.label}) did not answer within {self.timeout_s:g} s"
                if timed_out
                else f"the language model ({self.label}) failed: {type(exc).__name__}: {message}"
            )
        result.seconds = round(time.monotonic() - started, 2)
        if result.lead and not result.note:
            result.ok = True
        elif not result.note:
            result.note = (
                "no sentence of it passed the citation check"
                if result.dropped
                else "the language model wrote no sentence"
            )
        if not result.ok:
            result.citations = list(extractive.citations)  # quotes added for dropped text are not kept
        yield result

    def _tokens(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        return stream_text(self.chat_model, messages, self.label, self.timeout_s, self.max_retries, "lead")

    def _take(
        self,
        sentence: str,
        request: ComposeRequest,
        sources: Mapping[int, CitedSource],
        result: GeneratedLead,
        words: int,
    ) -> str | None:
        """The sentence as shown (markers renumbered to citations), or None when it is dropped (with its reason)."""
        verdict = self.checker.check(sentence, request.lang, sources)
        result.verdicts.append(verdict)
        if verdict.ok and words + len(verdict.claim.split()) > self.max_words:
            verdict = replace(verdict, ok=False, reason=f"over the {self.max_words}-word limit")
            result.verdicts[-1] = verdict
        if not verdict.ok:
            result.dropped.append(DroppedSentence(text=sentence.strip(), reason=verdict.reason))
            log.info("generated lead sentence dropped (%s): %.80r", verdict.reason, sentence)
            return None
        numbers = []
        for marker in verdict.markers:
            n = self._cite(sources[marker], verdict.best.get(marker, 0), request, result)
            if n is None:
                result.dropped.append(DroppedSentence(text=sentence.strip(), reason="its quote failed the page check"))
                return None
            if n not in numbers:
                numbers.append(n)
        claim = verdict.claim
        result.lead.append(
            LeadSentence(text=claim, n=numbers[0], passage=sources[verdict.markers[0]].hit, also=numbers[1:])
        )
        return with_markers(claim, numbers)

    def _cite(self, source: CitedSource, index: int, request: ComposeRequest, result: GeneratedLead) -> int | None:
        """The citation number whose quote holds the source's sentence `index`; a verified citation is added
        when no quote of the extractive answer holds it."""
        start, end = source.spans[min(index, len(source.spans) - 1)]
        chunk = request.hits[source.hit].chunk
        for existing in result.citations:
            if existing.passage != source.hit:
                continue
            at = chunk.text.find(existing.quote)
            if at >= 0 and at <= start and end <= at + len(existing.quote) + 1:
                return existing.n
        n = len(result.citations) + 1
        added = verified_citation(chunk, start, end, n, dict(request.titles), request.verifier)
        if added is None:
            return None
        before, after = _cut_marks(chunk.text, start, end, [r.offset for r in chunk.refs])
        update = {"cut_before": bool(before), "cut_after": bool(after), "passage": source.hit}
        result.citations.append(added.model_copy(update=update))
        return added.n


def _attr(text: str) -> str:
    return text.replace('"', "'").replace("<", "(").replace(">", ")")
