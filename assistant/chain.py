"""The answer chain: question and history -> condense -> retrieve -> compose -> generate, as LangChain runnables.

`generate` does something only when a language model is configured (HANDBOOK_LLM): the
extractive composition is always made first and stays the answer whenever the generated
one fails its citation check or the model fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer import Answer, AnswerDelta, Passage, Turn, location_fields
from assistant.answerability import CLOSEST_CAUTION, AnswerabilityPolicy, Decision, Reason
from assistant.compose import ExtractiveComposer
from assistant.condense import ModelCondenser, QueryCondenser
from assistant.generate import GeneratedAnswerer, GenerationOutcome
from assistant.glossary import Glossary
from assistant.language import Language, quoted_in_document_language
from assistant.retrieval import HybridRetriever, SearchFilter, SearchResult
from assistant.settings import Settings
from assistant.verify import QuoteVerifier
from ingest.embedding import Embedder
from ingest.encoders import MINILM, TextEncoder, build_encoders
from ingest.index_store import IndexSnapshot
from ingest.lexical import lexical_tokens

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class QuestionError(ValueError):
    """A question the assistant cannot take; the message is for the user."""


def check_question(question: object) -> str:
    if not isinstance(question, str):
        raise QuestionError(f"question: expected text, got {type(question).__name__}")
    text = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not text:
        raise QuestionError("question: empty; type a question about prison rules or policy")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question: too long ({len(text)} characters; the limit is {MAX_QUESTION_CHARS})")
    if not any(ch.isalpha() for ch in text):
        raise QuestionError("question: contains no words")
    return text


@dataclass
class _State:
    question: str
    history: list[Turn]
    search_filter: SearchFilter
    k: int
    timings: dict[str, float] = field(default_factory=dict)
    standalone: str = ""
    result: SearchResult | None = None
    answer: Answer | None = None
    started: float = field(default_factory=time.perf_counter)


class Assistant:
    """Answers a staff question from the indexed documents, with verified quotes."""

    def __init__(
        self,
        retriever: HybridRetriever,
        composer: ExtractiveComposer | None = None,
        condenser: QueryCondenser | ModelCondenser | None = None,
        answerability: AnswerabilityPolicy | None = None,
        top_k: int = 8,
        generator: GeneratedAnswerer | None = None,
        glossary: Glossary | None = None,
        vocabulary: frozenset[str] | None = None,
    ) -> None:
        from langchain_core.runnables import RunnableLambda

        self.retriever = retriever
        self.snapshot = retriever.snapshot
        self.composer = composer or ExtractiveComposer()
        self.condenser: QueryCondenser | ModelCondenser = condenser or QueryCondenser()
        self.generator = generator
        self.answerability = answerability or AnswerabilityPolicy()
        self.glossary = glossary  # synonyms of the question's focus terms for the answerability checks
        self.vocabulary = vocabulary  # general English words, for the rare-term check
        self.verifier = QuoteVerifier(self.snapshot)
        self.top_k = top_k
        self.titles = {d.id: d.short_title or d.title for d in self.snapshot.meta.documents.values()}
        self.chain = (
            RunnableLambda(self._condense)
            | RunnableLambda(self._retrieve)
            | RunnableLambda(self._compose)
            | RunnableLambda(self._generate)
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        encoders: Mapping[str, TextEncoder] | None = None,
    ) -> Assistant:
        """The assistant the settings describe; `embedder` (MiniLM) or `encoders` (by model id) reuse loaded models."""
        settings = settings or Settings()
        snapshot = IndexSnapshot.open(settings.ingest.index_dir)
        glossary_path = settings.ingest.glossary_path
        glossary = Glossary.load(glossary_path) if glossary_path.exists() else None
        retriever = build_retriever(settings, snapshot, glossary, embedder, encoders)
        answerability = (
            AnswerabilityPolicy()
            if settings.answer.answer_threshold is None
            else AnswerabilityPolicy(answer_threshold=settings.answer.answer_threshold)
        )
        assistant = cls(
            retriever,
            answerability=answerability,
            top_k=settings.answer.top_k,
            glossary=glossary,
            vocabulary=_general_vocabulary(),
        )
        if settings.llm.backend:
            assistant.use_language_model(settings)
        return assistant

    def use_language_model(self, settings: Settings) -> None:
        """Adds generated answers (and model condensing) from the backend named by HANDBOOK_LLM."""
        from assistant.citation_check import DEFAULT_SUPPORT_THRESHOLD, CitationChecker
        from assistant.llm import LLMSpec, build_chat_model, options_from

        spec = LLMSpec.parse(settings.llm.backend)
        chat_model = build_chat_model(spec, options_from(settings.llm))
        idf = self.retriever.idf()
        configured = settings.answer.support_threshold
        threshold = configured if configured is not None else DEFAULT_SUPPORT_THRESHOLD
        checker = CitationChecker(self.retriever.embedder.encode, idf, threshold=threshold)
        self.generator = GeneratedAnswerer(
            chat_model,
            checker,
            self.verifier,
            spec.label(),
            timeout_s=settings.llm.timeout_s,
            max_retries=settings.llm.max_retries,
        )
        if settings.llm.condense:
            self.condenser = ModelCondenser(chat_model, idf)

    def documents(self) -> list[dict[str, Any]]:
        """The indexed documents with their kind, for filters and listings."""
        return [
            {"id": d.id, "title": d.title, "short_title": d.short_title or d.title, "kind": d.kind, "pages": d.pages}
            for d in self.snapshot.meta.documents.values()
        ]

    def warm_up(self) -> None:
        self.retriever.warm_up()
        self.ask("warm-up question about visits")

    def ask(
        self,
        question: str,
        history: Sequence[Turn | str] = (),
        doc_ids: Sequence[str] = (),
        kinds: Sequence[str] = (),
        k: int | None = None,
    ) -> Answer:
        answer: Answer = self.chain.invoke(self._state(question, history, doc_ids, kinds, k))
        return answer

    def stream(
        self,
        question: str,
        history: Sequence[Turn | str] = (),
        doc_ids: Sequence[str] = (),
        kinds: Sequence[str] = (),
        k: int | None = None,
    ) -> Iterator[AnswerDelta | Answer]:
        """Like `ask`, but passes on each checked sentence of a generated answer as it is written.

        The last item is always the Answer: the generated one, or the extractive one with
        a note saying why the generated one is not shown (then the sentences passed on
        before the failure are to be replaced by it).
        """
        state = self._compose(self._retrieve(self._condense(self._state(question, history, doc_ids, kinds, k))))
        yield from self._generation_events(state)

    def _state(
        self, question: str, history: Sequence[Turn | str], doc_ids: Sequence[str], kinds: Sequence[str], k: int | None
    ) -> _State:
        text = check_question(question)
        turns = [t if isinstance(t, Turn) else Turn(question=t) for t in history]
        return _State(text, turns, SearchFilter(tuple(doc_ids), tuple(kinds)), k or self.top_k)

    def _condense(self, state: _State) -> _State:
        t = time.perf_counter()
        state.standalone = self.condenser.condense(state.question, state.history)
        state.timings["condense"] = _ms(t)
        return state

    def _retrieve(self, state: _State) -> _State:
        state.result = self.retriever.search(state.standalone, k=state.k, search_filter=state.search_filter)
        state.timings.update(state.result.timings_ms)
        return state

    def _compose(self, state: _State) -> _State:
        t = time.perf_counter()
        result = state.result
        assert result is not None
        idf = self.retriever.idf()
        evidence = self.answerability.evidence(state.standalone, result, idf, self.glossary, self.vocabulary)
        decision = self.answerability.decide(evidence)
        searched = self._searched(state.search_filter)
        passages = [
            Passage(
                doc=h.chunk.doc_id,
                title=self.titles.get(h.chunk.doc_id, h.chunk.title),
                ref=h.chunk.ref,
                score=h.score,
                text=h.chunk.text,
                dense=h.dense,
                lexical=h.lexical,
                heading=h.chunk.heading_path,
                section=h.chunk.headings[-1] if h.chunk.headings else "",
                **location_fields(
                    self.verifier.document_format(h.chunk.doc_id),
                    list(range(h.chunk.page_start, h.chunk.page_end + 1)),
                ),
            )
            for h in result.hits
        ]
        text, citations = "", []
        if decision.state != "not_covered":
            # The answer quotes from its own top_k passages: asking for more (the evals retrieve
            # 10) lists more passages but leaves the answer as it is.
            composition = self.composer.compose(
                lexical_tokens(result.expanded_query), result.hits[: self.top_k], idf, self.verifier, self.titles
            )
            text, citations = composition.text, composition.citations
            if not citations:
                # Passages were found, but none holds a verifiable quote (only fragments): list them.
                nothing = Reason(
                    check="nothing_quotable", detail="", message="No passage held a sentence that could be quoted."
                )
                reasons = [*decision.reasons, nothing]
                decision = Decision(state="closest", confidence=decision.confidence, reasons=reasons)
                text = "\n".join([CLOSEST_CAUTION, *(f"- {p.label()}" for p in passages[:3])])
            elif decision.state == "closest":
                text = f"{CLOSEST_CAUTION}\n\n{text}"
        if decision.state == "not_covered":
            text = self._not_covered_text(searched, passages, decision)
        state.timings["compose"] = _ms(t)
        state.answer = Answer(
            question=state.question,
            standalone_question=state.standalone,
            answer=text,
            refused=decision.refused,
            state=decision.state,
            reasons=[r.message for r in decision.reasons],
            citations=citations,
            passages=passages,
            documents_searched=searched,
            confidence=decision.confidence,
            timings_ms=state.timings,
            lang=result.lang,
            language_note=quoted_in_document_language(_language(result.lang)),
            evidence=evidence,
        )
        return state

    def _generate(self, state: _State) -> Answer:
        answer = None
        for event in self._generation_events(state):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def _generation_events(self, state: _State) -> Iterator[AnswerDelta | Answer]:
        answer, result = state.answer, state.result
        assert answer is not None and result is not None
        if self.generator is not None and not answer.refused:
            t = time.perf_counter()
            outcome = GenerationOutcome(ok=False, note="the language model returned nothing")
            for item in self.generator.stream(state.standalone, result.hits, self.titles):
                if isinstance(item, GenerationOutcome):
                    outcome = item
                else:
                    yield AnswerDelta(text=item)
            answer.model = self.generator.label
            if outcome.ok:
                text = f"{CLOSEST_CAUTION}\n\n{outcome.text}" if answer.state == "closest" else outcome.text
                answer.mode, answer.answer, answer.citations = "generated", text, outcome.citations
                answer.note = outcome.note
            else:
                answer.note = f"Generated answer not shown: {outcome.note}. The quoted passages are shown instead."
            answer.timings_ms["generate"] = _ms(t)
        answer.timings_ms["total"] = _ms(state.started)
        yield answer

    def _searched(self, search_filter: SearchFilter) -> list[str]:
        kinds = {d: info.kind for d, info in self.snapshot.meta.documents.items()}
        allowed = search_filter.allowed_docs(kinds)
        return sorted(kinds if allowed is None else allowed)

    def _not_covered_text(self, searched: list[str], passages: list[Passage], decision: Decision) -> str:
        names = "; ".join(self.titles.get(d, d) for d in searched) or "none (the filter matches no document)"
        lines = [r.message for r in decision.reasons] or ["The documents do not cover this question."]
        lines.append(f"Documents searched: {names}.")
        if passages:
            lines.append("Closest passages:")
            lines += [f"- {p.label()}" for p in passages[:3]]
        return "\n".join(lines)


def build_retriever(
    settings: Settings,
    snapshot: IndexSnapshot,
    glossary: Glossary | None = None,
    embedder: Embedder | None = None,
    reuse: Mapping[str, TextEncoder] | None = None,
) -> HybridRetriever:
    """The retriever the settings describe, over `snapshot`.

    `embedder` replaces the MiniLM encoder; `reuse` holds already loaded encoders by model id.
    """
    model_path = snapshot.meta.model_path if Path(snapshot.meta.model_path).exists() else None
    encoders = build_encoders(settings.ingest, model_path)
    for model_id, encoder in (reuse or {}).items():
        if model_id in encoders:
            encoders[model_id] = encoder
    if embedder is not None:
        encoders[MINILM] = embedder
    return HybridRetriever.build(snapshot, encoders, settings.retrieval, glossary)


def _general_vocabulary() -> frozenset[str] | None:
    """The English word list of the packaged all-MiniLM-L6-v2 tokenizer (whatever model embeds), if installed."""
    from assistant.answerability import load_vocabulary
    from ingest.settings import default_model_path

    try:
        return load_vocabulary(Path(default_model_path()) / "vocab.txt")
    except (OSError, ImportError) as exc:
        log.warning("no general English vocabulary (%s): the rare-term check is off", exc)
        return None


def _language(lang: str) -> Language:
    return "ru" if lang == "ru" else "kk" if lang == "kk" else "en"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
