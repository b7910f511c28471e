"""Generated answers from a language model, shown only where every sentence is backed by a cited passage.

The model's output streams in; each sentence is checked as soon as it is complete
(`CitationChecker`) and only checked sentences are passed on. A sentence citing a
passage that does not back it, or a passage that was not given, rejects the whole
answer; a sentence without any citation is removed. Each cited passage is shown with
the sentence of it that backs the answer, verified on its page like every quote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answer.compose import ComposeRequest, Composition, verified_citation
from assistant.answer.records import AnswerDelta
from assistant.answer.render import citation_label
from assistant.answer.verify import QuoteVerifier
from assistant.llm.backends import stream_text
from assistant.llm.citation_check import MARKER, CitationChecker, SentenceCheck, Verdict, split_generated, strip_markers
from assistant.llm.prompt import NOT_COVERED, PromptPassage, answer_messages, looks_like_instruction, sanitize_passage
from assistant.retrieval import ScoredChunk

log = logging.getLogger(__name__)

MAX_QUOTE_WORDS = 120  # one citation's quote; longer runs fall back to the single best sentence


class GenerationFailed(Exception):
    """The generated answer cannot be shown; the message (one line) tells the user why."""


@dataclass
class _Progress:
    kept: list[SentenceCheck] = field(default_factory=list)
    uncited: int = 0
    renumber: dict[int, int] = field(default_factory=dict)  # prompt passage number -> shown number

    def render(self, check: SentenceCheck) -> str:
        for n in check.markers:
            self.renumber.setdefault(n, len(self.renumber) + 1)
        return MARKER.sub(lambda m: f"[{self.renumber.get(int(m.group(1)), int(m.group(1)))}]", check.text)


class GeneratedAnswerer:
    """Asks the chat model with numbered passages and passes on only checked sentences (a `Composer`)."""

    def __init__(
        self,
        chat_model: Any,
        checker: CitationChecker,
        verifier: QuoteVerifier,
        label: str,
        timeout_s: float = 60.0,
        max_retries: int = 1,
        max_passages: int = 5,
    ) -> None:
        self.chat_model = chat_model
        self.checker = checker
        self.verifier = verifier
        self.label = label
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_passages = max_passages

    def stream(self, request: ComposeRequest) -> Iterator[AnswerDelta | Composition]:
        """Yields each checked sentence (markers renumbered) as it completes, then one Composition:
        `ok` with the generated sentences and their verified quotes, or not, with a note saying why."""
        for item in self._generate(request.question, request.hits, dict(request.titles)):
            yield AnswerDelta(text=item) if isinstance(item, str) else item

    def _generate(
        self, question: str, hits: Sequence[ScoredChunk], titles: dict[str, str]
    ) -> Iterator[str | Composition]:
        given = list(hits[: self.max_passages])
        # The model sees the sanitised text, so only that can back a sentence.
        prompt = [
            PromptPassage(i + 1, self._source(h, titles), sanitize_passage(h.chunk.text)) for i, h in enumerate(given)
        ]
        backing = {p.n: p.text for p in prompt}
        progress = _Progress()
        started = time.monotonic()
        buffer = ""
        done = 0  # sentences of the buffer already checked
        try:
            for piece in self._tokens(answer_messages(question, prompt)):
                buffer += piece
                sentences = split_generated(buffer)
                if _not_covered(buffer) and not progress.kept:
                    continue  # wait for the end: "NOT COVERED" is the whole answer
                # The last sentence may still be growing: check only those followed by another.
                for sentence in sentences[done : max(done, len(sentences) - 1)]:
                    shown = self._take(sentence, backing, progress)
                    if shown:
                        yield shown
                done = max(done, len(sentences) - 1)
            sentences = split_generated(buffer)
            if _not_covered(buffer) and not progress.kept:
                yield Composition(
                    [],
                    mode="generated",
                    ok=False,
                    not_covered=True,
                    note="the language model found that the passages do not answer the question",
                )
                return
            for sentence in sentences[done:]:
                shown = self._take(sentence, backing, progress)
                if shown:
                    yield shown
            yield self._finish(progress, given, titles)
        except GenerationFailed as exc:
            yield Composition([], mode="generated", ok=False, note=str(exc))
        except Exception as exc:  # the server, the network or the model library: always fall back
            log.warning("language model %s failed: %s: %s", self.label, type(exc).__name__, exc)
            timed_out = time.monotonic() - started >= self.timeout_s
            note = _describe_failure(exc, self.label, self.timeout_s, timed_out)
            yield Composition([], mode="generated", ok=False, note=note)

    def _tokens(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        return stream_text(self.chat_model, messages, self.label, self.timeout_s, self.max_retries, "answer")

    def _take(self, sentence: str, backing: dict[int, str], progress: _Progress) -> str:
        check = self.checker.check(sentence, backing)
        if check.verdict is Verdict.UNCITED:
            progress.uncited += 1
            log.info("generated sentence without a citation removed: %.80r", sentence)
            return ""
        if check.verdict is Verdict.INVALID_MARKER:
            raise GenerationFailed(f"the model cited a passage it was not given ({sentence[:80]!r})")
        if check.verdict is Verdict.UNSUPPORTED:
            raise GenerationFailed(
                f"a sentence is not supported by the passage it cites "
                f"(support {check.support:.2f} < {self.checker.threshold:.2f}: {check.claim[:80]!r})"
            )
        progress.kept.append(check)
        return progress.render(check)

    def _finish(self, progress: _Progress, given: list[ScoredChunk], titles: dict[str, str]) -> Composition:
        if not progress.kept:
            raise GenerationFailed("no sentence of the model's answer cited a passage")
        if progress.uncited > len(progress.kept):
            raise GenerationFailed(
                f"most of the model's answer had no citation ({progress.uncited} of "
                f"{progress.uncited + len(progress.kept)} sentences)"
            )
        citations = []
        for prompt_n, shown_n in sorted(progress.renumber.items(), key=lambda kv: kv[1]):
            chunk = given[prompt_n - 1].chunk
            claims = [s.claim for s in progress.kept if prompt_n in s.markers]
            start, end = self._quote_span(chunk, claims, prompt_n)
            citation = verified_citation(chunk, start, end, shown_n, titles, self.verifier)
            if citation is None:
                raise GenerationFailed("a supporting quote failed its page check")
            citations.append(citation.model_copy(update={"passage": prompt_n - 1}))
        body = " ".join(progress.render(s) for s in progress.kept)
        note = ""
        if progress.uncited:
            note = f"{progress.uncited} sentence(s) of the generated answer had no citation and were removed."
        return Composition(citations, mode="generated", generated=body, note=note)

    def _source(self, hit: ScoredChunk, titles: dict[str, str]) -> str:
        """How the prompt names a passage: its label, with the pages (or paragraphs) the whole passage spans."""
        chunk = hit.chunk
        return citation_label(
            titles.get(chunk.doc_id, chunk.title),
            chunk.ref,
            list(range(chunk.page_start, chunk.page_end + 1)),
            paged=self.verifier.document_format(chunk.doc_id) == "pdf",
            section=chunk.headings[-1] if chunk.headings else "",
        )

    def _quote_span(self, chunk: Any, claims: list[str], prompt_n: int) -> tuple[int, int]:
        """The passage's sentences that back the claims: one run when they sit close together in one unit."""
        spans = [self.checker.best_sentence([claim], chunk.text, looks_like_instruction) for claim in claims]
        found = sorted({_within_unit(chunk, *span) for span in spans if span is not None})
        if not found:
            raise GenerationFailed(f"passage [{prompt_n}] has no sentence to quote")
        start, end = found[0][0], found[-1][1]
        run = chunk.text[start:end]
        if len(found) > 1 and (
            _within_unit(chunk, start, end) != (start, end)
            or len(run.split()) > MAX_QUOTE_WORDS
            or looks_like_instruction(run)
        ):
            best = self.checker.best_sentence(claims, chunk.text, looks_like_instruction)
            assert best is not None
            return _within_unit(chunk, *best)
        return start, end


def _within_unit(chunk: Any, start: int, end: int) -> tuple[int, int]:
    """Clips a sentence span to one numbered unit: the page prints the unit's heading between two units."""
    for ref in chunk.refs:
        if start < ref.offset < end:
            if ref.offset - start >= end - ref.offset:
                return start, ref.offset
            return ref.offset, end
    return start, end


def _not_covered(text: str) -> bool:
    return strip_markers(text).upper().lstrip(" \"'*").startswith(NOT_COVERED)


def _describe_failure(exc: Exception, label: str, timeout_s: float, timed_out: bool) -> str:
    name = type(exc).__name__
    if timed_out or "Timeout" in name or isinstance(exc, TimeoutError):
        return f"the language model ({label}) did not answer within {timeout_s:g} s"
    if "Connect" in name or isinstance(exc, ConnectionError):
        return f"the language model server ({label}) could not be reached"
    message = " ".join(str(exc).split())[:160]
    return f"the language model ({label}) failed: {name}: {message}"
