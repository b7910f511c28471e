"""Runs a golden set through the assistant (and optional baselines) and scores every answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from evals.calibrate import CrossValidation, Row, ask_quoting, cross_validate, row_of
from evals.golden import ExpectedPassage, GoldenQuestion
from evals.metrics import (
    MISS_K,
    RANK_K,
    all_key_facts,
    check_citations,
    compute_metrics,
    hit_rank,
    key_facts_found,
    metrics_per_kind,
    metrics_per_lang,
    metrics_per_overlap,
    ndcg,
    ref_correct,
)
from evals.placement import lead_text
from evals.progress import progress_bar
from evals.records import CitedQuote, Metrics, QuestionRecord, RetrievedPassage

if TYPE_CHECKING:
    from assistant.answer.records import Answer
    from assistant.chain import Assistant
    from evals.baselines import Baseline

log = logging.getLogger(__name__)

SYSTEM = "ours"  # the name of the assistant's row in comparisons with baselines


class QuestionResult(QuestionRecord):
    """A scored question: the record plus the judgements derived from it (recomputed on load)."""

    hit_rank: int | None = None
    ndcg: float = 0.0
    ref_correct: bool | None = None
    key_facts_found: list[bool] = Field(default_factory=list)

    @classmethod
    def score(cls, record: QuestionRecord) -> QuestionResult:
        return cls(
            **record.model_dump(include=set(QuestionRecord.model_fields)),
            hit_rank=hit_rank(record),
            ndcg=round(ndcg(record), 4),
            ref_correct=ref_correct(record),
            key_facts_found=key_facts_found(record),
        )


class Failure(BaseModel):
    """A question that went wrong, with what was retrieved, for the report."""

    id: str
    question: str
    kind: str
    reasons: list[str]  # "retrieval miss", "missing key facts", "false refusal", "not refused"
    expected: list[ExpectedPassage]
    missing_facts: list[str] = Field(default_factory=list)
    retrieved: list[RetrievedPassage] = Field(default_factory=list)  # the top MISS_K


class BaselineQuestion(BaseModel):
    id: str
    hit_rank: int | None
    latency_ms: float
    retrieved: list[RetrievedPassage]


class BaselineReport(BaseModel):
    name: str
    description: str
    build_seconds: float | None
    cached: bool
    metrics: Metrics
    per_kind: dict[str, Metrics] = Field(default_factory=dict)
    per_overlap: dict[str, Metrics] = Field(default_factory=dict)
    per_lang: dict[str, Metrics] = Field(default_factory=dict)
    questions: list[BaselineQuestion] = Field(default_factory=list)


class RunInfo(BaseModel):
    golden: str = ""
    index: str = ""
    generation: str = ""
    created: str = ""
    k: int = RANK_K
    answer_threshold: float | None = None
    missing_focus: float | None = None
    quantity_check: bool | None = None
    counted_check: str | None = None
    lexical_weight: float | None = None
    seconds: float = 0.0


class EvalReport(BaseModel):
    """Everything one evaluation measured; `to_json_dict()` is the documented JSON (evals/README.md)."""

    metrics: Metrics
    per_kind: dict[str, Metrics]
    failures: list[Failure]
    per_overlap: dict[str, Metrics] = Field(default_factory=dict)
    per_lang: dict[str, Metrics] = Field(default_factory=dict)
    questions: list[QuestionResult]
    baselines: dict[str, BaselineReport] = Field(default_factory=dict)
    run: RunInfo = Field(default_factory=RunInfo)
    out_of_fold: CrossValidation | None = None  # the answerability decision, cross-validated (evals/calibrate.py)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            **self.metrics.to_json_dict(),
            "per_kind": {kind: m.to_json_dict() for kind, m in self.per_kind.items()},
            "per_overlap": {band: m.to_json_dict() for band, m in self.per_overlap.items()},
            "per_lang": {lang: m.to_json_dict() for lang, m in self.per_lang.items()},
            "baselines": {
                name: {
                    **b.metrics.to_json_dict(),
                    "description": b.description,
                    "build_seconds": b.build_seconds,
                    "cached": b.cached,
                    "per_kind": {kind: m.to_json_dict() for kind, m in b.per_kind.items()},
                    "per_overlap": {band: m.to_json_dict() for band, m in b.per_overlap.items()},
                    "per_lang": {lang: m.to_json_dict() for lang, m in b.per_lang.items()},
                    "questions": [q.model_dump() for q in b.questions],
                }
                for name, b in self.baselines.items()
            },
            "out_of_fold": self.out_of_fold.to_json_dict() if self.out_of_fold else None,
            "failures": [f.model_dump() for f in self.failures],
            "questions": [q.model_dump() for q in self.questions],
            "run": self.run.model_dump(),
        }

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> EvalReport:
        """Reads back what `to_json_dict` wrote (e.g. for `handbook eval compare`)."""
        baselines = {}
        for name, raw in (data.get("baselines") or {}).items():
            baselines[name] = BaselineReport(
                name=name,
                description=raw.get("description", ""),
                build_seconds=raw.get("build_seconds"),
                cached=bool(raw.get("cached", False)),
                metrics=Metrics.model_validate(raw),
                per_kind={k: Metrics.model_validate(m) for k, m in (raw.get("per_kind") or {}).items()},
                per_overlap={k: Metrics.model_validate(m) for k, m in (raw.get("per_overlap") or {}).items()},
                per_lang={k: Metrics.model_validate(m) for k, m in (raw.get("per_lang") or {}).items()},
                questions=[BaselineQuestion.model_validate(q) for q in raw.get("questions") or []],
            )
        return cls(
            metrics=Metrics.model_validate(data),
            per_kind={k: Metrics.model_validate(m) for k, m in (data.get("per_kind") or {}).items()},
            per_overlap={k: Metrics.model_validate(m) for k, m in (data.get("per_overlap") or {}).items()},
            per_lang={k: Metrics.model_validate(m) for k, m in (data.get("per_lang") or {}).items()},
            failures=[Failure.model_validate(f) for f in data.get("failures") or []],
            questions=[QuestionResult.score(QuestionRecord.model_validate(q)) for q in data.get("questions") or []],
            baselines=baselines,
            run=RunInfo.model_validate(data.get("run") or {}),
            out_of_fold=CrossValidation.model_validate(data["out_of_fold"]) if data.get("out_of_fold") else None,
        )


def failures_of(results: Sequence[QuestionResult]) -> list[Failure]:
    out = []
    for r in results:
        reasons: list[str] = []
        missing: list[str] = []
        if r.answerable:
            if r.hit_rank is None or r.hit_rank > MISS_K:
                reasons.append("retrieval miss")
            if r.refused:
                reasons.append("false refusal")
            if all_key_facts(r) is False:
                reasons.append("missing key facts")
                missing = [f for f, ok in zip(r.key_facts, r.key_facts_found, strict=True) if not ok]
        elif not r.refused:
            reasons.append("not refused")
        if r.error:
            reasons.append(f"error: {r.error}")
        if reasons:
            out.append(
                Failure(
                    id=r.id,
                    question=r.question,
                    kind=r.kind,
                    reasons=reasons,
                    expected=r.expected,
                    missing_facts=missing,
                    retrieved=r.retrieved[:MISS_K],
                )
            )
    return out


class EvalRunner:
    """Asks every golden question (retrieving k passages), scores the answers, runs the baselines.

    Retrieving k=10 rather than the assistant's top_k (8) leaves the answer unchanged: the
    fused ranking is cut after sorting, so the first passages are the same, the composer
    quotes from the first top_k only, and the refusal policy looks at the first five.
    """

    def __init__(
        self,
        assistant: Assistant,
        questions: Sequence[GoldenQuestion],
        baselines: Sequence[Baseline] = (),
        k: int = RANK_K,
        progress: bool = False,
        golden_path: str = "",
    ) -> None:
        self.assistant = assistant
        self.questions = list(questions)
        self.baselines = list(baselines)
        self.k = k
        self.progress = progress
        self.golden_path = golden_path

    def run(self) -> EvalReport:
        started = time.perf_counter()
        # Load the model and open the indexes first, so the first question's latency is not the start-up's.
        warm_up = getattr(self.assistant, "warm_up", None)
        if callable(warm_up):
            warm_up()
        results: list[QuestionResult] = []
        rows: list[Row] = []
        with progress_bar(self.progress, "evaluating", len(self.questions)) as advance:
            for q in self.questions:
                record, row = self._ask(q)
                results.append(QuestionResult.score(record))
                if row is not None:
                    rows.append(row)
                advance()
        baselines = {b.name: self._run_baseline(b) for b in self.baselines}
        snapshot = self.assistant.snapshot
        policy = getattr(self.assistant, "answerability", None)
        run = RunInfo(
            golden=self.golden_path,
            index=str(snapshot.root),
            generation=snapshot.meta.generation,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            k=self.k,
            answer_threshold=getattr(policy, "answer_threshold", None),
            missing_focus=getattr(policy, "missing_focus", None),
            quantity_check=getattr(policy, "quantity_check", None),
            counted_check=getattr(policy, "counted_check", None),
            lexical_weight=getattr(policy, "lexical_weight", None),
            seconds=round(time.perf_counter() - started, 2),
        )
        return EvalReport(
            metrics=compute_metrics(results),
            per_kind=metrics_per_kind(results),
            per_overlap=metrics_per_overlap(results),
            per_lang=metrics_per_lang(results),
            failures=failures_of(results),
            questions=results,
            baselines=baselines,
            run=run,
            out_of_fold=self._cross_validate(rows),
        )

    def _ask(self, q: GoldenQuestion) -> tuple[QuestionRecord, Row | None]:
        """The scored record, and the question's answerability row for the cross-validation."""
        from assistant.chain import QuestionError

        base = QuestionRecord.of_question(q)
        try:
            answer = self.assistant.ask(q.question, k=self.k)
        except QuestionError as exc:
            log.warning("%s: the assistant rejected the question: %s", q.id, exc)
            return base.model_copy(update={"refused": True, "state": "not_covered", "error": str(exc)}), None
        record = base.model_copy(update=_from_answer(answer))
        row = None
        if answer.evidence is not None:
            # What a "not covered" answer would have quoted: needed when another fold's thresholds answer it.
            quoted = ask_quoting(self.assistant, q.question, self.k) if answer.state == "not_covered" else None
            row = row_of(q, answer, quoted, base)
        return check_citations(record, self.assistant.snapshot.page_text), row

    def _cross_validate(self, rows: list[Row]) -> CrossValidation | None:
        if not rows or all(r.answerable for r in rows) or not any(r.answerable for r in rows):
            return None  # thresholds need both answerable and unanswerable questions
        policy = getattr(self.assistant, "answerability", None)
        return cross_validate(rows, lexical_weight=getattr(policy, "lexical_weight", None))

    def _run_baseline(self, baseline: Baseline) -> BaselineReport:
        records: list[QuestionRecord] = []
        questions: list[BaselineQuestion] = []
        baseline.search("warm-up question about visits", self.k)  # first-query set-up is not latency
        with progress_bar(self.progress, f"baseline {baseline.name}", len(self.questions)) as advance:
            for q in self.questions:
                t = time.perf_counter()
                retrieved = baseline.search(q.question, self.k)
                elapsed = round((time.perf_counter() - t) * 1000, 2)
                # What a reader of the tutorial's pipeline meets first: the first 60 words of its top passage.
                reading = lead_text(retrieved[0].text) if retrieved else ""
                record = QuestionRecord.of_question(q).model_copy(
                    update={"retrieved": retrieved, "latency_ms": elapsed, "answer": reading}
                )
                records.append(record)
                questions.append(
                    BaselineQuestion(id=q.id, hit_rank=hit_rank(record), latency_ms=elapsed, retrieved=retrieved)
                )
                advance()
        return BaselineReport(
            name=baseline.name,
            description=baseline.description,
            build_seconds=baseline.build_seconds,
            cached=baseline.cached,
            metrics=compute_metrics(records, answers=False),
            per_kind=metrics_per_kind(records, answers=False),
            per_overlap=metrics_per_overlap(records, answers=False),
            per_lang=metrics_per_lang(records, answers=False),
            questions=questions,
        )


def _from_answer(answer: Answer) -> dict[str, Any]:
    return {
        "retrieved": [
            RetrievedPassage(doc=p.doc, pages=p.locations, ref=p.ref, score=round(p.score, 6)) for p in answer.passages
        ],
        "answer": answer.answer,
        "refused": answer.refused,
        "state": answer.state,
        "reasons": answer.reasons,
        "citations": [CitedQuote(doc=c.doc, ref=c.ref, pages=c.locations, quote=c.quote) for c in answer.citations],
        "confidence": round(answer.confidence, 4),
        "latency_ms": answer.timings_ms.get("total"),
    }
