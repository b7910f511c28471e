"""The typed records of an evaluation: what one question asked and what the system returned for it
(`QuestionRecord` and its passages and citations), and the aggregate `Metrics` computed from many
(evals/metrics.py). The keys of the report JSON are the aliases here (evals/README.md, "The JSON report")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evals.golden import ExpectedPassage, GoldenQuestion


class RetrievedPassage(BaseModel):
    """One retrieved passage, in rank order."""

    doc: str
    pages: list[int]  # page numbers; for Word, HTML and Markdown documents paragraph numbers
    ref: str = ""
    score: float = 0.0
    text: str = Field(default="", exclude=True)  # a baseline's chunk text (for its first 60 words); not reported


class CitedQuote(BaseModel):
    """One citation of an answer; `valid` is the independent re-check of the quote against the cited pages."""

    doc: str
    ref: str = ""
    pages: list[int]  # page numbers; for Word, HTML and Markdown documents paragraph numbers
    quote: str
    valid: bool | None = None  # None: not checked


class QuestionRecord(BaseModel):
    """What one question asked and what the system under test returned for it."""

    id: str
    question: str
    kind: str
    persona: str = ""
    answerable: bool
    expected: list[ExpectedPassage] = Field(default_factory=list)
    key_facts: list[str] = Field(default_factory=list)
    lang: str = "en"
    overlap: float | None = None  # word overlap with the expected pages (golden field); None: not computed
    retrieved: list[RetrievedPassage] = Field(default_factory=list)
    answer: str = ""
    refused: bool = False  # the "not_covered" state only
    state: str = ""  # "answered", "closest" or "not_covered" ("" for systems without states)
    reasons: list[str] = Field(default_factory=list)
    citations: list[CitedQuote] = Field(default_factory=list)
    confidence: float | None = None
    latency_ms: float | None = None
    error: str = ""  # the system raised instead of answering (counted as a refusal)

    @classmethod
    def of_question(cls, q: GoldenQuestion) -> QuestionRecord:
        """The golden question's own fields; a run adds what was retrieved and answered."""
        return cls(
            id=q.id,
            question=q.question,
            kind=q.kind,
            persona=q.persona,
            answerable=q.answerable,
            expected=q.expected,
            key_facts=q.key_facts,
            lang=q.lang,
            overlap=q.overlap,
        )


class Latency(BaseModel):
    p50: float | None = None
    p95: float | None = None
    mean: float | None = None


class Metrics(BaseModel):
    """Aggregate metrics; the aliases are the keys of the report JSON."""

    model_config = ConfigDict(populate_by_name=True)

    n: int = 0
    n_answerable: int = 0
    n_unanswerable: int = 0
    hit_1: float | None = Field(default=None, alias="hit@1")
    hit_3: float | None = Field(default=None, alias="hit@3")
    hit_5: float | None = Field(default=None, alias="hit@5")
    hit_10: float | None = Field(default=None, alias="hit@10")
    mrr_10: float | None = Field(default=None, alias="mrr@10")
    ndcg_10: float | None = Field(default=None, alias="ndcg@10")
    ref_accuracy: float | None = None
    ref_questions: int = 0  # denominator of ref_accuracy
    key_fact_coverage: float | None = None
    key_fact_share: float | None = None  # per fact rather than per question
    lead_key_fact_share: float | None = None  # key facts within the first 60 words of the answer
    words_before_key_fact: float | None = None  # median words before the answer's first key fact
    words_before_passages: float | None = None  # median words before the supporting passages
    citation_validity: float | None = None
    citations: int = 0  # denominator of citation_validity
    refusal_recall: float | None = None
    false_refusal_rate: float | None = None
    answered_share: float | None = None  # share of all questions in each answer state
    closest_share: float | None = None
    not_covered_share: float | None = None
    latency_ms: Latency = Field(default_factory=Latency)

    def hit_at(self, k: int) -> float | None:
        return {1: self.hit_1, 3: self.hit_3, 5: self.hit_5, 10: self.hit_10}[k]

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def value(self, key: str) -> float | None:
        """A metric by its report key; `latency_ms.p95` reaches into the nested object."""
        data: Any = self.to_json_dict()
        for part in key.split("."):
            data = data.get(part) if isinstance(data, dict) else None
        return float(data) if isinstance(data, int | float) else None
