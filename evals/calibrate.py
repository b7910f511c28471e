"""Answerability calibration by k-fold cross-validation: thresholds chosen without the questions they are scored on.

Every question is asked once; its answerability evidence (`assistant.answer.decision.Evidence`)
and what its answer would quote (asked again with the permissive policy when the decision was
"not covered") are stored as a `Row`. `AnswerabilityPolicy.decide` is a pure function of the
evidence, so every threshold setting is scored from the rows without asking again.

Two choices are made, on the training folds only:

- the *answer threshold* on the confidence, separating "answered" from "closest": the one
  that best separates answerable questions with a relevant passage in the top 3 from the
  rest (accuracy; among equal ones the middle of their range);
- then the *not-covered* checks: which checks are on (answer type and its "near", rare
  terms, absent names, the counted thing and whether it needs a confidence under that
  threshold) and the share of the focus terms' weight that must be missing
  (`missing_focus`); the setting with the highest refusal recall whose false-refusal rate
  is within the limit (3%), ties to the fewer false refusals and then the more
  conservative setting.

Folds are fixed by a hash of the question id (`fold_of`), so adding questions never moves
the others. The figures reported are out-of-fold: each question is decided by thresholds
chosen on the other folds. The setting chosen on all questions is what to put in
assistant/answer/decision.py; its in-sample figures are not reported (they flatter).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from assistant.answer.decision import AnswerabilityPolicy, CountedCheck, Evidence, State
from evals.golden import GoldenQuestion
from evals.metrics import hit_rank, key_facts_found
from evals.progress import progress_bar
from evals.records import QuestionRecord

if TYPE_CHECKING:
    from assistant.answer.records import Answer
    from assistant.chain import Assistant

FOLDS = 5
# The target is 3% false refusals; the training folds get 2.5%, because the out-of-fold rate runs
# above the training folds' (334 dev questions, 2026-11-30: 0.034 out of fold at a 3% training limit,
# 0.026 at 2.5%).
MAX_FALSE_REFUSAL = 0.025
MISSING_FOCUS_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.01)  # 1.01: the focus-term check never decides
STAFF_WORDING = 0.3  # overlap band: at most this share of the question's content words in the expected passage


class Row(BaseModel):
    """One question's stored answerability evidence and what its answer quoted."""

    id: str
    answerable: bool
    evidence: Evidence
    quoted: bool = True  # the composer found something to quote
    facts_found: bool | None = None  # all key facts in the quoted answer; None: no key facts to check
    relevant_top3: bool = False  # a relevant passage among the first three
    overlap: float | None = None
    rank: int | None = None  # the first relevant passage's rank (1 = the first passage); None: not in the top k


class Setting(BaseModel):
    """The thresholds of one decision."""

    answer_threshold: float
    missing_focus: float
    quantity_check: bool
    rare_term_check: bool = True
    absent_name_check: bool = True
    quantity_near_terms: int = 1
    time_count_near_terms: int = 1
    counted_check: CountedCheck = "off"

    def policy(self, lexical_weight: float) -> AnswerabilityPolicy:
        # Every field of a Setting is a field of the policy of the same name: a new check needs no copy here.
        # The threshold under calibration applies to every language of the golden set.
        return AnswerabilityPolicy(**self.model_dump(), answer_thresholds={}, lexical_weight=lexical_weight)


class Figures(BaseModel):
    n: int = 0
    n_answerable: int = 0
    n_unanswerable: int = 0
    false_refusal_rate: float | None = None
    refusal_recall: float | None = None
    key_fact_coverage: float | None = None
    answered_share: float | None = None
    closest_share: float | None = None
    not_covered_share: float | None = None


class CrossValidation(BaseModel):
    """Out-of-fold figures of the answerability decision, and the setting chosen on all questions."""

    folds: int
    max_false_refusal: float
    lexical_weight: float
    out_of_fold: Figures
    per_band: dict[str, Figures] = Field(default_factory=dict)  # staff wording (overlap <= 0.3), other, unknown
    fold_settings: list[Setting]
    recommended: Setting | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump()


def fold_of(question_id: str, folds: int = FOLDS) -> int:
    """The fold of a question: fixed by its id alone, so the assignment is reproducible and stable."""
    return int(hashlib.sha256(question_id.encode("utf-8")).hexdigest()[:8], 16) % folds


def state_of(row: Row, setting: Setting, lexical_weight: float) -> State:
    policy = setting.policy(lexical_weight)
    # As the pipeline decides: the evidence, then whether the composer found anything to quote.
    return policy.settle(policy.decide(row.evidence), quoted=row.quoted).state


def figures(rows: Sequence[Row], states: Sequence[State]) -> Figures:
    def mean(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    pairs = list(zip(rows, states, strict=True))
    answerable = [(r, s) for r, s in pairs if r.answerable]
    return Figures(
        n=len(pairs),
        n_answerable=len(answerable),
        n_unanswerable=len(pairs) - len(answerable),
        false_refusal_rate=mean([s == "not_covered" for _, s in answerable]),
        refusal_recall=mean([s == "not_covered" for r, s in pairs if not r.answerable]),
        key_fact_coverage=mean(
            [bool(r.facts_found) and s != "not_covered" for r, s in answerable if r.facts_found is not None]
        ),
        answered_share=mean([s == "answered" for s in states]),
        closest_share=mean([s == "closest" for s in states]),
        not_covered_share=mean([s == "not_covered" for s in states]),
    )


class RefusalTable:
    """Whether a setting refuses each row ("not covered"), decided once per row and setting.

    A cross-validation's folds choose among the same settings on mostly the same rows: without
    the table, each row was decided once per fold and once more for the final choice (334 dev
    questions: 640,000 decisions, 15 s). The answer threshold is part of a setting's key only
    where it can refuse (the counted-thing check's "weak" mode); `settle` never refuses.
    """

    def __init__(self, lexical_weight: float) -> None:
        self.lexical_weight = lexical_weight
        self._refused: dict[tuple[Any, ...], dict[str, bool]] = {}

    def refused(self, rows: Sequence[Row], setting: Setting) -> list[bool]:
        fields = setting.model_dump()
        if setting.counted_check != "weak":
            fields.pop("answer_threshold")
        known = self._refused.setdefault(tuple(sorted(fields.items())), {})
        policy: AnswerabilityPolicy | None = None
        for r in rows:
            if r.id not in known:
                policy = policy or setting.policy(self.lexical_weight)
                known[r.id] = policy.decide(r.evidence).state == "not_covered"
        return [known[r.id] for r in rows]


def _refusal_rates(rows: Sequence[Row], setting: Setting, table: RefusalTable) -> tuple[float, float]:
    refused = table.refused(rows, setting)
    answerable = [x for x, r in zip(refused, rows, strict=True) if r.answerable]
    unanswerable = [x for x, r in zip(refused, rows, strict=True) if not r.answerable]
    false = sum(answerable) / len(answerable) if answerable else 0.0
    recall = sum(unanswerable) / len(unanswerable) if unanswerable else 0.0
    return false, recall


def choose_not_covered(
    rows: Sequence[Row],
    lexical_weight: float,
    max_false_refusal: float = MAX_FALSE_REFUSAL,
    answer_threshold: float = 0.0,
    table: RefusalTable | None = None,
) -> Setting:
    """The not-covered checks with the best refusal recall within the false-refusal limit.

    `answer_threshold` matters only to the counted-thing check's "weak" mode, which refuses
    only under it. `table` keeps decisions for later calls on the same rows (cross-validation).
    """
    table = table or RefusalTable(lexical_weight)
    best: tuple[tuple[float, ...], Setting] | None = None
    switches = [(q, r, a) for q in (False, True) for r in (False, True) for a in (False, True)]
    counted_modes: tuple[CountedCheck, ...] = ("off", "weak", "on")
    grid = itertools.product(MISSING_FOCUS_GRID, switches, (1, 2), (1, 2), counted_modes)
    for missing, (quantity, rare, absent), near, time_near, counted in grid:
        if (near == 2 or time_near == 2) and not quantity:
            continue  # the same decisions as near == 1
        if near == 2 and time_near == 1:
            continue  # the same decisions as time_near == 2
        setting = Setting(
            answer_threshold=answer_threshold,
            missing_focus=missing,
            quantity_check=quantity,
            rare_term_check=rare,
            absent_name_check=absent,
            quantity_near_terms=near,
            time_count_near_terms=time_near,
            counted_check=counted,
        )
        false, recall = _refusal_rates(rows, setting, table)
        if false > max_false_refusal + 1e-12:
            continue
        # Ties: fewer false refusals, then a check that cost no false refusal stays on (with 12
        # unanswerable questions most folds cannot tell checks apart), the focus-term share highest.
        # The looser "near" (one focus term) refuses less; it wins ties.
        # "weak" refuses a subset of what "on" refuses: on a tie it is the more conservative choice.
        checks = int(quantity) + int(rare) + int(absent) + int(counted != "off")
        key = (recall, -false, checks, missing, -near, -time_near, -counted_modes.index(counted))
        if best is None or key > best[0]:
            best = (key, setting)
    if best is None:
        return Setting(
            answer_threshold=0.0,
            missing_focus=MISSING_FOCUS_GRID[-1],
            quantity_check=False,
            rare_term_check=False,
            absent_name_check=False,
        )
    return best[1]


def choose_answer_threshold(rows: Sequence[Row], lexical_weight: float) -> float:
    """The confidence threshold that best separates well-supported answerable questions from the rest."""
    points = [(r.evidence.confidence(lexical_weight), r.answerable and r.relevant_top3) for r in rows]
    if not points:
        return AnswerabilityPolicy().answer_threshold
    values = sorted({round(c, 6) for c, _ in points})
    candidates = [values[0] - 0.01] + [(a + b) / 2 for a, b in itertools.pairwise(values)] + [values[-1] + 0.01]

    def accuracy(t: float) -> int:
        return sum((c >= t) == good for c, good in points)

    scores = [accuracy(t) for t in candidates]
    top = max(scores)
    tied = [t for t, s in zip(candidates, scores, strict=True) if s == top]
    return round((min(tied) + max(tied)) / 2, 3)


def choose(
    rows: Sequence[Row],
    lexical_weight: float,
    max_false_refusal: float = MAX_FALSE_REFUSAL,
    table: RefusalTable | None = None,
) -> Setting:
    threshold = choose_answer_threshold(rows, lexical_weight)
    return choose_not_covered(rows, lexical_weight, max_false_refusal, threshold, table)


def cross_validate(
    rows: Sequence[Row],
    folds: int = FOLDS,
    max_false_refusal: float = MAX_FALSE_REFUSAL,
    lexical_weight: float | None = None,
    chooser: Callable[[Sequence[Row], float, float], Setting] | None = None,
) -> CrossValidation:
    """Decides each fold's questions with the setting chosen on the other folds; reports those decisions.

    `chooser` (default: `choose`, its decisions kept across the folds) picks a setting from training rows.
    """
    weight = AnswerabilityPolicy().lexical_weight if lexical_weight is None else lexical_weight
    if chooser is None:
        chooser = functools.partial(choose, table=RefusalTable(weight))
    states: dict[str, State] = {}
    settings: list[Setting] = []
    for f in range(folds):
        train = [r for r in rows if fold_of(r.id, folds) != f]
        test = [r for r in rows if fold_of(r.id, folds) == f]
        setting = chooser(train, weight, max_false_refusal)
        settings.append(setting)
        for r in test:
            states[r.id] = state_of(r, setting, weight)
    ordered = [states[r.id] for r in rows]
    bands: dict[str, tuple[list[Row], list[State]]] = {}
    for r, s in zip(rows, ordered, strict=True):
        band = "unknown" if r.overlap is None else ("staff wording" if r.overlap <= STAFF_WORDING else "other")
        if not r.answerable:
            band = "unanswerable"
        bands.setdefault(band, ([], []))
        bands[band][0].append(r)
        bands[band][1].append(s)
    return CrossValidation(
        folds=folds,
        max_false_refusal=max_false_refusal,
        lexical_weight=weight,
        out_of_fold=figures(rows, ordered),
        per_band={name: figures(rs, ss) for name, (rs, ss) in sorted(bands.items())},
        fold_settings=settings,
        recommended=chooser(rows, weight, max_false_refusal) if rows else None,
    )


def row_of(
    question: GoldenQuestion, answer: Answer, quoted_answer: Answer | None = None, record: QuestionRecord | None = None
) -> Row:
    """A question's row: its evidence from `answer`, its quotes from `quoted_answer` (default: the answer itself)."""
    from evals.records import RetrievedPassage

    quoted = quoted_answer or answer
    base = record or QuestionRecord.of_question(question)
    scored = base.model_copy(
        update={
            "answer": quoted.answer,
            "retrieved": [RetrievedPassage(doc=p.doc, pages=p.pages, ref=p.ref) for p in answer.passages],
        }
    )
    rank = hit_rank(scored)
    return Row(
        id=question.id,
        answerable=question.answerable,
        evidence=answer.evidence or Evidence(has_passages=bool(answer.passages)),
        quoted=bool(quoted.citations),
        facts_found=all(key_facts_found(scored)) if question.answerable and question.key_facts else None,
        relevant_top3=rank is not None and rank <= 3,
        overlap=question.overlap,
        rank=rank,
    )


def ask_quoting(assistant: Assistant, question: str, k: int | None = None) -> Answer:
    """The answer with every "not covered" check and the caution off: what the composer would quote."""
    original = assistant.answerability
    assistant.answerability = original.permissive()
    try:
        return assistant.ask(question, k=k)
    finally:
        assistant.answerability = original


def collect_rows(assistant: Assistant, questions: Sequence[GoldenQuestion], progress: bool = False) -> list[Row]:
    """Asks every question once (twice when it ends "not covered", to see what would have been quoted)."""
    rows = []
    with progress_bar(progress, "calibrating", len(questions)) as advance:
        for q in questions:
            answer = assistant.ask(q.question)
            quoted = ask_quoting(assistant, q.question) if answer.state == "not_covered" else None
            rows.append(row_of(q, answer, quoted))
            advance()
    return rows


def render_text(cv: CrossValidation, current: AnswerabilityPolicy | None = None) -> str:
    f = cv.out_of_fold

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    lines = [
        f"{f.n} questions ({f.n_answerable} answerable, {f.n_unanswerable} unanswerable); {cv.folds}-fold "
        f"cross-validation, false-refusal limit {cv.max_false_refusal:.1%} on the training folds",
        "",
        "Out-of-fold (each question decided by thresholds chosen without it):",
        f"  false-refusal rate {num(f.false_refusal_rate)}, refusal recall {num(f.refusal_recall)}, "
        f"key-fact coverage {num(f.key_fact_coverage)}",
        f"  states: answered {num(f.answered_share)}, closest {num(f.closest_share)}, "
        f"not covered {num(f.not_covered_share)}",
    ]
    for band, b in cv.per_band.items():
        lines.append(
            f"  {band} (n={b.n}): false refusals {num(b.false_refusal_rate)}, refusal recall {num(b.refusal_recall)}, "
            f"key facts {num(b.key_fact_coverage)}"
        )
    lines += ["", "Per fold (chosen on the other folds):"]
    for i, s in enumerate(cv.fold_settings):
        lines.append(f"  fold {i}: " + ", ".join(f"{name} {value}" for name, value in s.model_dump().items()))
    rec = cv.recommended
    if rec is not None:
        # Each Setting field is the policy field of that name, whose default is DEFAULT_<NAME>.
        chosen = ", ".join(f"DEFAULT_{name.upper()} = {value!r}" for name, value in rec.model_dump().items())
        lines += ["", f"Chosen on all questions: {chosen} in assistant/answer/decision.py"]
    if current is not None:
        now = ", ".join(repr(getattr(current, name)) for name in Setting.model_fields)
        lines.append(f"  (now: {now}; HANDBOOK_ANSWER_THRESHOLD overrides the first)")
    return "\n".join(lines)
