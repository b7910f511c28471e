"""The answer pipeline: question and history -> condense -> retrieve -> decide -> compose -> render.

`Assistant.run` is the one path: it yields progress (`AnswerDelta`: a stage reached, or a checked
sentence of a generated answer) and then the final `Answer`; `ask` takes that last item, and the
CLI and the app stream `run`. `decide` is the answerability policy (answered, closest, not
covered); `compose` is a `Composer` (assistant/answer/compose.py): the extractive one always, and, when a
language model is configured (HANDBOOK_LLM), the generated one, whose answer replaces the
extractive one only when it passes its citation check. The Answer is data; its text for the
reader is written by assistant/answer/render.py at the end (`Answer.answer`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from assistant.llm.generate import GeneratedAnswerer
    from assistant.llm.lead import GeneratedLead, GeneratedLeadWriter

from assistant.answer.compose import Composer, ComposeRequest, Composition, ExtractiveComposer
from assistant.answer.decision import AnswerabilityPolicy, Decision
from assistant.answer.lead import default_selector
from assistant.answer.names import NameIndex
from assistant.answer.records import Answer, AnswerDelta, Passage, Turn, location_fields
from assistant.answer.render import answer_text, language_note
from assistant.answer.verify import QuoteVerifier
from assistant.condense import ModelCondenser, QueryCondenser
from assistant.glossary import Glossary
from assistant.retrieval import HybridRetriever, SearchFilter, SearchResult
from assistant.settings import Settings
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
    started: float = field(default_factory=time.perf_counter)


class Assistant:
    """Answers a staff question from the indexed documents, with verified quotes."""

    def __init__(
        self,
        retriever: HybridRetriever,
        composer: Composer | None = None,
        condenser: QueryCondenser | ModelCondenser | None = None,
        answerability: AnswerabilityPolicy | None = None,
        top_k: int = 8,
        generator: GeneratedAnswerer | None = None,
        glossary: Glossary | None = None,
        vocabulary: frozenset[str] | None = None,
        names: NameIndex | None = None,
        sentence_model: str | None = None,
    ) -> None:
        self.retriever = retriever
        self.snapshot = retriever.snapshot
        self.composer: Composer = composer or ExtractiveComposer(lead=default_selector())
        self.condenser: QueryCondenser | ModelCondenser = condenser or QueryCondenser()
        self.generator = generator  # a second Composer: a language model's answer, shown when it passes its check
        # A language model's lead above the extractive answer (HANDBOOK_LLM_LEAD), shown when a sentence passes.
        self.lead_writer: GeneratedLeadWriter | None = None
        self.answerability = answerability or AnswerabilityPolicy()
        self.glossary = glossary  # synonyms of the question's focus terms for the answerability checks
        self.vocabulary = vocabulary  # general English words, for the rare-term check
        # Names of what the documents are about (profiles, corpus/aliases.toml), for the name checks.
        self.names = names
        self.verifier = QuoteVerifier(self.snapshot)
        self.top_k = top_k
        # The dense model that embeds the top passages' sentences at query time for the lead (None: none does).
        self.sentence_model = sentence_model
        self.settings_hash = ""  # Settings.settings_hash() when built from settings: the answers' audit trail
        self.titles = {d.id: d.short_title or d.title for d in self.snapshot.meta.documents.values()}
        self.kinds = {d.id: d.kind for d in self.snapshot.meta.documents.values()}

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        encoders: Mapping[str, TextEncoder] | None = None,
    ) -> Assistant:
        """The assistant the settings describe; `embedder` (MiniLM) or `encoders` (by model id) reuse loaded models."""
        from assistant.answer.lead_weights import LEAD_SENTENCE_MODEL

        settings = settings or Settings()
        snapshot = IndexSnapshot.open(settings.ingest.index_dir)
        glossary_path = settings.ingest.glossary_path
        glossary = Glossary.load(glossary_path) if glossary_path.exists() else None
        names = NameIndex.load(snapshot.profiles(), settings.ingest.aliases_path)
        retriever = build_retriever(settings, snapshot, glossary, embedder, encoders)
        answerability = (
            AnswerabilityPolicy()
            if settings.answer.answer_threshold is None
            else AnswerabilityPolicy(answer_threshold=settings.answer.answer_threshold)
        )
        if settings.answer.decision == "learned":
            from assistant.answer.decision_model import load_decision_model

            answerability = replace(answerability, model=load_decision_model())
        assistant = cls(
            retriever,
            answerability=answerability,
            top_k=settings.answer.top_k,
            glossary=glossary,
            vocabulary=_general_vocabulary(),
            names=names,
            sentence_model=LEAD_SENTENCE_MODEL,
        )
        assistant.settings_hash = settings.settings_hash()
        if settings.llm.backend:
            assistant.use_language_model(settings)
        return assistant

    def use_language_model(self, settings: Settings) -> None:
        """Adds generated answers (and model condensing) from the backend named by HANDBOOK_LLM."""
        from assistant.llm.backends import LLMSpec, build_chat_model, options_from
        from assistant.llm.citation_check import DEFAULT_SUPPORT_THRESHOLD, CitationChecker
        from assistant.llm.generate import GeneratedAnswerer

        spec = LLMSpec.parse(settings.llm.backend)
        if settings.llm.lead:
            self.use_generated_lead(settings)
            return
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

    def use_generated_lead(self, settings: Settings, chat_model: Any = None) -> None:
        """A generated lead in the question's language above the extractive answer (HANDBOOK_LLM_LEAD=true),
        instead of a generated answer; `chat_model` replaces the one HANDBOOK_LLM names (tests)."""
        from dataclasses import replace

        from assistant.llm.backends import LLMSpec, build_chat_model, options_from
        from assistant.llm.citation_check import DEFAULT_SUPPORT_THRESHOLD, CitationChecker
        from assistant.llm.lead import GeneratedLeadWriter
        from assistant.llm.lead_check import DEFAULT_E5_THRESHOLD, LeadSentenceChecker

        label = "chat model"
        if chat_model is None:
            spec = LLMSpec.parse(settings.llm.backend)
            options = replace(options_from(settings.llm), max_tokens=settings.llm.lead_max_tokens)
            chat_model = build_chat_model(spec, options)
            label = spec.label()
        configured = settings.answer.support_threshold
        support = CitationChecker(
            self.retriever.embedder.encode,
            self.retriever.idf(),
            threshold=configured if configured is not None else DEFAULT_SUPPORT_THRESHOLD,
        )
        e5 = self.retriever.encoders().get("e5")
        e5_threshold = settings.llm.lead_e5_threshold
        checker = LeadSentenceChecker(
            support,
            e5.encode if e5 is not None else None,
            DEFAULT_E5_THRESHOLD if e5_threshold is None else e5_threshold,
            translate=self.glossary.expand if self.glossary is not None else None,
        )
        self.lead_writer = GeneratedLeadWriter(
            chat_model,
            checker,
            default_selector(),
            label,
            timeout_s=settings.llm.timeout_s,
            max_retries=settings.llm.max_retries,
        )

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
        """The final Answer of `run`."""
        answer: Answer | None = None
        for event in self.run(question, history, doc_ids, kinds, k):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def run(
        self,
        question: str,
        history: Sequence[Turn | str] = (),
        doc_ids: Sequence[str] = (),
        kinds: Sequence[str] = (),
        k: int | None = None,
    ) -> Iterator[AnswerDelta | Answer]:
        """The pipeline, step by step: progress deltas, then the Answer (always the last item).

        A generated answer's checked sentences come as deltas while the model writes; when the
        generated answer then fails its check, the final Answer is the extractive one with a
        note saying why, and the sentences passed on are to be replaced by it.
        """
        state = self._state(question, history, doc_ids, kinds, k)
        self._condense(state)
        self._retrieve(state)
        yield AnswerDelta(stage="retrieved")
        result = state.result
        assert result is not None
        t = time.perf_counter()
        idf = self.retriever.idf()
        evidence = self.answerability.evidence(
            state.standalone, result, idf, self.glossary, self.vocabulary, self.names
        )
        decision = self.answerability.decide(evidence)
        composition = Composition([])
        if decision.state != "not_covered":
            request = self._request(state, idf)
            composition = _last(self.composer.stream(request))
            decision = self.answerability.settle(decision, quoted=bool(composition.citations))
        state.timings["compose"] = _ms(t)
        yield AnswerDelta(stage="composed")
        note, model = "", ""
        if self.lead_writer is not None and decision.state != "not_covered" and composition.citations:
            # The extractive answer is shown at once; the generated lead replaces its lead when a sentence passes.
            yield AnswerDelta(stage="extractive", answer=self._answer(state, evidence, decision, composition, "", ""))
            t = time.perf_counter()
            lead: GeneratedLead | None = None
            for event in self.lead_writer.stream(self._request(state, idf), composition):
                if isinstance(event, AnswerDelta):
                    yield event
                else:
                    lead = event
            assert lead is not None
            state.timings["generate"] = _ms(t)
            yield self._answer(state, evidence, decision, composition, "", self.lead_writer.label, lead)
            return
        if self.generator is not None and decision.state != "not_covered":
            t = time.perf_counter()
            generated = Composition([], mode="generated", ok=False, note="the language model returned nothing")
            for item in self.generator.stream(self._request(state, idf)):
                if isinstance(item, Composition):
                    generated = item
                else:
                    yield item
            model = self.generator.label
            if generated.ok:
                composition, note = generated, generated.note
            else:
                note = f"Generated answer not shown: {generated.note}. The quoted passages are shown instead."
            state.timings["generate"] = _ms(t)
        yield self._answer(state, evidence, decision, composition, note, model)

    stream = run  # the name the CLI, the app and earlier callers use

    def compose_request(self, question: str, history: Sequence[Turn | str] = ()) -> ComposeRequest:
        """What the composers would answer `question` from (retrieval done): for evaluations of a composer."""
        state = self._state(question, history, (), (), None)
        self._condense(state)
        self._retrieve(state)
        return self._request(state, self.retriever.idf())

    def runnable(self) -> Any:
        """The pipeline as a LangChain runnable ({"question", "history"?, "doc_ids"?, "kinds"?, "k"?} -> Answer)."""
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(lambda inputs: self.ask(**inputs))

    def _state(
        self, question: str, history: Sequence[Turn | str], doc_ids: Sequence[str], kinds: Sequence[str], k: int | None
    ) -> _State:
        text = check_question(question)
        turns = [t if isinstance(t, Turn) else Turn(question=t) for t in history]
        return _State(text, turns, SearchFilter(tuple(doc_ids), tuple(kinds)), k or self.top_k)

    def _condense(self, state: _State) -> None:
        t = time.perf_counter()
        state.standalone = self.condenser.condense(state.question, state.history)
        state.timings["condense"] = _ms(t)

    def _retrieve(self, state: _State) -> None:
        state.result = self.retriever.search(state.standalone, k=state.k, search_filter=state.search_filter)
        state.timings.update(state.result.timings_ms)

    def _request(self, state: _State, idf: dict[str, float]) -> ComposeRequest:
        """What the composers answer from: the first top_k passages (asking for more lists more, quotes the same)."""
        result = state.result
        assert result is not None
        model = self.sentence_model

        def texts(sentences: Sequence[str]) -> Any:
            return self.retriever.text_similarities(result, sentences, model) if model else None

        return ComposeRequest(
            question=state.standalone,
            lang=result.lang,
            terms=lexical_tokens(result.expanded_query),
            hits=result.hits[: self.top_k],
            idf=idf,
            verifier=self.verifier,
            titles=self.titles,
            kinds=self.kinds,
            windows=lambda hit: self.retriever.window_similarities(result, hit),
            texts=texts if model else None,
        )

    def _answer(
        self,
        state: _State,
        evidence: Any,
        decision: Decision,
        composition: Composition,
        note: str,
        model: str,
        lead: GeneratedLead | None = None,
    ) -> Answer:
        """The Answer; with `lead`, a generated lead's outcome: its sentences replace the extractive lead when
        one passed its check, else the extractive lead stands and the note says why."""
        result = state.result
        assert result is not None
        lead_kind: Literal["extractive", "generated"] = "extractive"
        if lead is not None:
            if lead.ok:
                composition = replace(composition, lead=lead.lead, citations=lead.citations)
                lead_kind = "generated"
            else:
                note = f"Generated lead not shown: {lead.note}. The extractive lead is shown instead."
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
        answer = Answer(
            question=state.question,
            standalone_question=state.standalone,
            refused=decision.refused,
            state=decision.state,
            reasons=[r.message for r in decision.reasons],
            applies_in=evidence.applies_in if evidence is not None and not decision.refused else [],
            lead=composition.lead,
            citations=composition.citations,
            passages=passages,
            documents_searched=searched,
            searched_titles=[self.titles.get(d, d) for d in searched],
            confidence=decision.confidence,
            timings_ms=state.timings,
            mode=composition.mode,
            generated=composition.generated,
            note=note,
            model=model,
            lang=result.lang,
            index_generation=self.snapshot.meta.generation,
            settings_hash=self.settings_hash,
            evidence=evidence,
            lead_candidates=composition.candidates,
            lead_kind=lead_kind,
            lead_dropped=lead.dropped if lead is not None else [],
        )
        answer.language_note = language_note(answer)
        answer.answer = answer_text(answer)
        answer.timings_ms["total"] = _ms(state.started)
        return answer

    def _searched(self, search_filter: SearchFilter) -> list[str]:
        kinds = {d: info.kind for d, info in self.snapshot.meta.documents.items()}
        allowed = search_filter.allowed_docs(kinds)
        return sorted(kinds if allowed is None else allowed)


def _last(events: Iterator[AnswerDelta | Composition]) -> Composition:
    composition = Composition([])
    for event in events:
        if isinstance(event, Composition):
            composition = event
    return composition


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
    from assistant.answer.decision import load_vocabulary
    from ingest.settings import default_model_path

    try:
        return load_vocabulary(Path(default_model_path()) / "vocab.txt")
    except (OSError, ImportError) as exc:
        log.warning("no general English vocabulary (%s): the rare-term check is off", exc)
        return None


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
