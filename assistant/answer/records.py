"""Typed records of the answer chain, and the JSON shape of `handbook ask --json`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from assistant.answer.decision import Evidence
from assistant.answer.labels import citation_label
from assistant.answer.lead import LeadCandidate
from ingest.records import DocumentFormat


class Turn(BaseModel):
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""
    standalone: str = ""  # the self-contained form of the question, as the assistant searched it


class _Located:
    """Where a Citation or Passage sits: the pages of a PDF or the paragraphs of a flow document."""

    if TYPE_CHECKING:  # the fields of the models this is mixed into
        title: str
        ref: str
        pages: list[int]
        paragraphs: list[int]
        section: str
        format: DocumentFormat

    @property
    def paged(self) -> bool:
        return self.format == "pdf"

    @property
    def locations(self) -> list[int]:
        """The numbered locations its text is verified against: pages of a PDF, paragraphs otherwise."""
        return self.pages if self.paged else self.paragraphs

    def label(self) -> str:
        """`Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20` / `Knife Policy, 3. Knife control, 3.2, ¶ 14`"""
        return citation_label(self.title, self.ref, self.locations, paged=self.paged, section=self.section)


class Citation(_Located, BaseModel):
    n: int
    doc: str
    title: str
    ref: str  # the numbered unit: "Rule 58", "3.2" ("" for unnumbered prose)
    pages: list[int] = Field(default_factory=list)  # a PDF's pages; empty for a flow document
    quote: str
    suspicious: bool = False  # the quote contains text addressed to an AI system (assistant.answer.injection)
    cut_before: bool = False  # the quote leaves out words of its rule or paragraph before it ("… " when shown)
    cut_after: bool = False  # ... after it (" …")
    section: str = ""  # the innermost heading above the quote (for every format)
    paragraphs: list[int] = Field(default_factory=list)  # a flow document's paragraphs; empty for a PDF
    format: DocumentFormat = "pdf"
    passage: int | None = None  # the index of the passage (Answer.passages) the quote comes from

    def shown(self) -> str:
        """The quote as displayed: verbatim, with "…" where words of its unit were left out."""
        before = "\u2026 " if self.cut_before else ""
        after = " \u2026" if self.cut_after else ""
        return f"{before}{self.quote}{after}"


class Passage(_Located, BaseModel):
    doc: str
    title: str
    pages: list[int]  # a PDF's pages; empty for a flow document
    ref: str
    score: float
    text: str
    dense: float = 0.0
    lexical: float = 0.0
    heading: str = ""  # the heading path, outermost first, joined with " > "
    section: str = ""  # the innermost heading
    paragraphs: list[int] = Field(default_factory=list)  # a flow document's paragraphs; empty for a PDF
    format: DocumentFormat = "pdf"


def location_fields(fmt: DocumentFormat, numbers: list[int]) -> dict[str, Any]:
    """`format`, `pages` and `paragraphs` of a Citation or Passage at stored location `numbers`.

    The index keeps a flow document's paragraph numbers where a PDF's page numbers are; the
    records the assistant gives out name them for what they are.
    """
    paged = fmt == "pdf"
    return {"format": fmt, "pages": list(numbers) if paged else [], "paragraphs": [] if paged else list(numbers)}


AnswerState = Literal["answered", "closest", "not_covered"]


class LeadSentence(BaseModel):
    """One sentence of the lead: verbatim, and cited by the number of the citation whose quote holds it."""

    text: str
    n: int  # the citation ([n]) that quotes it, verified on its page
    passage: int  # the index of its passage in Answer.passages
    # A generated lead's sentence (Answer.lead_kind "generated") may rest on more citations than `n`.
    also: list[int] = Field(default_factory=list)


class DroppedSentence(BaseModel):
    """A sentence of a generated lead that was not shown, and why (assistant/llm/lead_check.py)."""

    text: str
    reason: str


class Answer(BaseModel):
    """What the assistant found, as data; `answer` is its text as the reader meets it (assistant/answer/render.py)."""

    question: str
    standalone_question: str
    answer: str = ""  # rendered by assistant.answer.render.answer_text: the note, caution, lead, passages, sources
    refused: bool  # True only in the "not_covered" state
    state: AnswerState = "answered"  # see assistant/answer/decision.py
    reasons: list[str] = Field(default_factory=list)  # the missing evidence behind "closest" / "not_covered"
    # Places the question is set in that the documents apply in but say nothing specific to (a UN member state,
    # for the UN's standards): the answer says so below its lead. Empty for a "not covered" answer.
    applies_in: list[str] = Field(default_factory=list)
    lead: list[LeadSentence] = Field(default_factory=list)  # the sentences that answer, shown first
    # "extractive": verbatim sentences of the passages; "generated": a language model's sentences in the
    # question's language, each checked against the passages it cites (assistant/llm/lead.py).
    lead_kind: Literal["extractive", "generated"] = "extractive"
    lead_dropped: list[DroppedSentence] = Field(default_factory=list)  # generated sentences not shown, and why
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    documents_searched: list[str] = Field(default_factory=list)
    searched_titles: list[str] = Field(default_factory=list, exclude=True)  # their titles, as a reader names them
    confidence: float = 0.0
    timings_ms: dict[str, float] = Field(default_factory=dict)
    mode: Literal["extractive", "generated"] = "extractive"
    note: str = ""  # why a generated answer was not shown, or what was removed from it
    model: str = ""  # the language-model backend consulted, if any
    lang: str = "en"  # the question's language: "en", "ru" or "kk"
    generated: str = ""  # a generated answer's own sentences, with their [n] markers ("" if extractive)
    language_note: str = ""  # rendered (answer/render.py): in the question's language, the quotes are in English
    # The audit trail: the index generation searched and the hash of the settings that shaped the answer.
    index_generation: str = ""
    settings_hash: str = ""
    evidence: Evidence | None = Field(default=None, exclude=True)  # what the answerability checks measured
    # Every sentence the lead chose from, with its features: what `handbook eval lead` learns from.
    lead_candidates: list[LeadCandidate] = Field(default_factory=list, exclude=True)

    def generated_text(self) -> str:
        """A generated answer's own sentences ("" if extractive)."""
        return self.generated if self.mode == "generated" else ""


    def to_json_dict(self) -> dict[str, Any]:
        """The documented JSON object (README, `handbook ask --json`, the app's /ask endpoint)."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "refused": self.refused,
            "state": self.state,
            "reasons": self.reasons,
            "applies_in": self.applies_in,
            "mode": self.mode,
            "note": self.note,
            "model": self.model,
            "lang": self.lang,
            "language_note": self.language_note,
            "confidence": round(self.confidence, 4),
            # `also` only where a generated lead's sentence cites more than one passage: the shape stays as it was.
            "lead": [s.model_dump(exclude=None if s.also else {"also"}) for s in self.lead],
            "lead_kind": self.lead_kind,
            "lead_dropped": [d.model_dump() for d in self.lead_dropped],
            "citations": [c.model_dump() for c in self.citations],
            "passages": [
                {
                    "doc": p.doc,
                    "title": p.title,
                    "pages": p.pages,
                    "ref": p.ref,
                    "section": p.section,
                    "paragraphs": p.paragraphs,
                    "format": p.format,
                    "score": round(p.score, 6),
                    "text": p.text,
                }
                for p in self.passages
            ],
            "documents_searched": self.documents_searched,
            "timings_ms": self.timings_ms,
            "index_generation": self.index_generation,
            "settings_hash": self.settings_hash,
        }


class AnswerDelta(BaseModel):
    """Progress of an answer being made: a stage reached, or a checked sentence of a generated answer.

    `Assistant.run` yields these before the final Answer; only generated sentences carry `text`:
    "sentence" for a generated answer's, "lead" for a generated lead's (its markers are the citation
    numbers of the extractive answer, which came before it as the "extractive" stage's `answer`).
    """

    stage: Literal["retrieved", "composed", "sentence", "extractive", "lead"] = "sentence"
    text: str = ""
    answer: Answer | None = None  # "extractive": the answer to show while the lead is written
