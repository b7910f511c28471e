"""The generated lead measured (`handbook eval llm-lead`): how often it passes, what is dropped, what it costs.

For one language model (HANDBOOK_LLM or --llm) and a fixed selection of dev questions (`SELECTION`: 20
English questions in staff wording, 10 Russian, 10 Kazakh, chosen by id, evenly through the answerable
ones with key facts), each question is answered through `Assistant.run` with the generated lead on, and
the report gives:

- how many generated leads passed the check (were shown), and why the others were not;
- the sentences dropped, by reason (assistant/llm/lead_check.py);
- the key-fact share of the shown leads against the extractive lead, two ways: in the lead's own words
  (English questions: the key facts are English), and in the quotes its sentences cite (every language:
  the verbatim rules a reader checks the lead against);
- seconds per generated lead (the model's time, `timings_ms["generate"]`).

Then an independent check, written apart from the citation check (`independent_problems`,
evals/llm_lead_independent_check.py): every number, rule number and name in each *shown* sentence appears
in a passage the sentence cites, and a Russian or Kazakh shown sentence is in the question's language. It
must find nothing.

`--calibrate` chooses the e5 threshold of the Russian and Kazakh sentence check instead (`calibrate_e5`):
on the answerable Russian and Kazakh dev questions outside the selection, the e5 cosine between the
question and its lead sources' sentences: the sources of the expected rule against the sources of other
rules. A question is the adversary a weak model makes of itself (both small models echo the question);
the threshold admits at most `max_false_accept` of the wrong-rule sources.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from evals.llm_lead_independent_check import independent_problems
from evals.metrics import refs_match
from evals.progress import progress_bar
from ingest.textnorm import normalize_for_match

if TYPE_CHECKING:
    from assistant.answer.records import Answer
    from assistant.chain import Assistant
    from assistant.glossary import Glossary
    from evals.golden import GoldenQuestion

# Fixed by id: every 6th of the 125 answerable English staff-wording (overlap <= 0.3) questions with key facts
# in dev.jsonl, every 5th of the 51 Russian and every 2nd-3rd of the 23 Kazakh ones in dev_multilingual.jsonl.
SELECTION: dict[str, tuple[str, ...]] = {
    "en": (
        *("q001", "q009", "q048", "q131", "q138", "q144", "q150", "q156", "q163", "q169"),
        *("q177", "q183", "q190", "q196", "q202", "q208", "q217", "q226", "q234", "q249"),
    ),
    "ru": ("ru001", "ru006", "ru011", "ru016", "ru021", "ru026", "ru031", "ru036", "ru045", "ru050"),
    "kk": ("kk001", "kk003", "kk005", "kk007", "kk010", "kk012", "kk014", "kk017", "kk019", "kk025"),
}

_REASONS = (
    ("no [n] citation", "no citation"),
    ("cites passage", "cites a passage not given"),
    ("written in", "wrong language"),
    ("number", "number not in the passage"),
    ("name", "name not in the passage"),
    ("support", "support below the threshold"),
    ("over the", "over the word limit"),
    ("no words", "no words"),
    ("its quote", "quote failed its page check"),
    ("no multilingual", "no multilingual encoder"),
)
_NOTES = (
    ("did not answer within", "timed out"),
    ("failed:", "model error"),
    ("do not answer", "model said not covered"),
    ("no sentence of it passed", "every sentence dropped"),
    ("wrote no sentence", "no sentence written"),
    ("no passage sentence", "no passage to answer from"),
)


def reason_group(reason: str) -> str:
    return next((name for prefix, name in _REASONS if reason.startswith(prefix)), reason)


def note_group(note: str) -> str:
    return next((name for needle, name in _NOTES if needle in note), note or "model not asked (not covered)")


class QuestionOutcome(BaseModel):
    id: str
    lang: str
    question: str
    shown: bool  # the generated lead was shown
    lead: list[str] = Field(default_factory=list)  # the shown lead's sentences (generated or extractive)
    extractive_lead: list[str] = Field(default_factory=list)
    dropped: list[tuple[str, str]] = Field(default_factory=list)  # (sentence, reason)
    note: str = ""
    seconds: float = 0.0  # the model's time on this question
    facts: int = 0
    facts_in_words: int = 0  # key facts in the shown lead's own words
    facts_in_quotes: int = 0  # ... in the quotes its sentences cite
    extractive_facts_in_words: int = 0
    extractive_facts_in_quotes: int = 0
    problems: list[str] = Field(default_factory=list)  # the independent check's findings on shown sentences


class LeadReport(BaseModel):
    model: str
    questions: list[QuestionOutcome]
    load: str = ""  # `uptime` when it ran: the machine is shared

    def summary(self) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        for name, group in (("all", self.questions), *((lang, self._of(lang)) for lang in ("en", "ru", "kk"))):
            if not group:
                continue
            facts = sum(q.facts for q in group) or 1
            seconds = [q.seconds for q in group]
            rows[name] = {
                "questions": len(group),
                "leads shown": sum(q.shown for q in group),
                "sentences written": sum(len(q.dropped) + (len(q.lead) if q.shown else 0) for q in group),
                "sentences shown": sum(len(q.lead) for q in group if q.shown),
                "sentences dropped": sum(len(q.dropped) for q in group),
                "key facts (words) shown lead": round(sum(q.facts_in_words for q in group) / facts, 3),
                "key facts (words) extractive": round(sum(q.extractive_facts_in_words for q in group) / facts, 3),
                "key facts (quotes) shown lead": round(sum(q.facts_in_quotes for q in group) / facts, 3),
                "key facts (quotes) extractive": round(sum(q.extractive_facts_in_quotes for q in group) / facts, 3),
                "s per answer mean": round(statistics.fmean(seconds), 1),
                "s per answer median": round(statistics.median(seconds), 1),
                "unsupported shown (independent check)": sum(len(q.problems) for q in group),
            }
        return rows

    def dropped_reasons(self) -> dict[str, int]:
        return dict(Counter(reason_group(r) for q in self.questions for _, r in q.dropped).most_common())

    def not_shown(self) -> dict[str, int]:
        return dict(Counter(note_group(q.note) for q in self.questions if not q.shown).most_common())

    def _of(self, lang: str) -> list[QuestionOutcome]:
        return [q for q in self.questions if q.lang == lang]


def selected(questions: Sequence[GoldenQuestion]) -> list[GoldenQuestion]:
    """The questions of `SELECTION`, the languages interleaved (en, ru, en, kk, ...) so that a run cut short
    still covers all three; a missing id is an error (the selection is fixed)."""
    by_id = {q.id: q for q in questions}
    others = [i for pair in zip(SELECTION["ru"], SELECTION["kk"], strict=True) for i in pair]
    english = list(SELECTION["en"])
    wanted = [i for pair in itertools.zip_longest(english, others) for i in pair if i is not None]
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise ValueError(f"the golden sets lack the selected question(s) {', '.join(missing[:5])}")
    return [by_id[i] for i in wanted]


def run_leads(
    assistant: Assistant,
    questions: Sequence[GoldenQuestion],
    progress: bool = True,
    partial: Path | None = None,
) -> list[QuestionOutcome]:
    """Each question's outcome; with `partial`, each is appended there as one JSON line when done, and the
    questions already there are not asked again (a long run on a busy machine resumes)."""
    from assistant.answer.records import Answer, AnswerDelta

    done: dict[str, QuestionOutcome] = {}
    if partial is not None and partial.exists():
        for line in partial.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = QuestionOutcome.model_validate_json(line)
                done[row.id] = row
    out = []
    with progress_bar(progress, "generated leads", len(questions)) as advance:
        for q in questions:
            if q.id in done:
                out.append(done[q.id])
                advance()
                continue
            draft: Answer | None = None
            final: Answer | None = None
            for event in assistant.run(q.question):
                if isinstance(event, Answer):
                    final = event
                elif isinstance(event, AnswerDelta) and event.stage == "extractive":
                    draft = event.answer
            assert final is not None
            out.append(outcome(q, draft or final, final, assistant.glossary))
            if partial is not None:
                with partial.open("a", encoding="utf-8") as f:
                    f.write(out[-1].model_dump_json() + "\n")
            advance()
    return out


def outcome(q: GoldenQuestion, draft: Answer, final: Answer, glossary: Glossary | None = None) -> QuestionOutcome:
    shown = final.lead_kind == "generated"
    facts = [normalize_for_match(f) for f in q.key_facts if normalize_for_match(f)]

    def found(text: str) -> int:
        norm = normalize_for_match(text)
        return sum(f in norm for f in facts)

    def cited_quotes(answer: Answer) -> str:
        numbers = {n for s in answer.lead for n in [s.n, *s.also]}
        return " ".join(c.quote for c in answer.citations if c.n in numbers)

    return QuestionOutcome(
        id=q.id,
        lang=q.lang,
        question=q.question,
        shown=shown,
        lead=[s.text for s in final.lead],
        extractive_lead=[s.text for s in draft.lead],
        dropped=[(d.text, d.reason) for d in final.lead_dropped],
        note=final.note,
        seconds=round(final.timings_ms.get("generate", 0.0) / 1000, 2),
        facts=len(facts),
        facts_in_words=found(" ".join(s.text for s in final.lead)),
        facts_in_quotes=found(cited_quotes(final)),
        extractive_facts_in_words=found(" ".join(s.text for s in draft.lead)),
        extractive_facts_in_quotes=found(cited_quotes(draft)),
        problems=independent_problems(final, glossary) if shown else [],
    )


# --- the e5 threshold -----------------------------------------------------------------------


class E5Calibration(BaseModel):
    questions: int
    right: int  # (question, source of the expected rule) pairs
    wrong: int  # (question, source of another rule) pairs
    threshold: float
    false_accept: float
    true_accept: float
    quantiles_wrong: dict[str, float]
    quantiles_right: dict[str, float]


def calibrate_e5(
    assistant: Assistant, questions: Sequence[GoldenQuestion], max_false_accept: float = 0.05, progress: bool = True
) -> E5Calibration:
    """The e5 threshold of the Russian and Kazakh sentence check (module docstring)."""
    import numpy as np

    from assistant.answer.lead import default_selector
    from assistant.llm.lead import lead_sources

    e5 = assistant.retriever.encoders().get("e5")
    if e5 is None:
        raise ValueError("the index has no e5 vectors: the Russian and Kazakh check needs them")
    held_out = set(SELECTION["ru"]) | set(SELECTION["kk"])
    pool = [q for q in questions if q.lang in ("ru", "kk") and q.answerable and q.id not in held_out]
    right: list[float] = []
    wrong: list[float] = []
    selector = default_selector()
    with progress_bar(progress, "e5 calibration", len(pool)) as advance:
        for q in pool:
            request = assistant.compose_request(q.question)
            for source in lead_sources(request, selector):
                vectors = e5.encode([q.question, *source.sentences])
                best = float(np.max(vectors[1:] @ vectors[0]))
                hit = request.hits[source.hit].chunk
                expected = any(e.doc == hit.doc_id and e.ref and refs_match(source.ref, e.ref) for e in q.expected)
                if expected:
                    right.append(best)
                elif not any(e.doc == hit.doc_id and not e.ref for e in q.expected):
                    wrong.append(best)
            advance()
    if not wrong or not right:
        raise ValueError("calibration needs sources of the expected rules and of other rules")
    ordered = sorted(wrong)
    cut = int(np.ceil(len(ordered) * (1 - max_false_accept)))
    threshold = round(ordered[min(cut, len(ordered) - 1)] + 1e-4, 3)
    quantiles = (0.5, 0.9, 0.95, 0.99)
    return E5Calibration(
        questions=len(pool),
        right=len(right),
        wrong=len(wrong),
        threshold=threshold,
        false_accept=round(sum(v >= threshold for v in wrong) / len(wrong), 3),
        true_accept=round(sum(v >= threshold for v in right) / len(right), 3),
        quantiles_wrong={str(p): round(float(np.quantile(wrong, p)), 3) for p in quantiles},
        quantiles_right={str(p): round(float(np.quantile(right, p)), 3) for p in quantiles},
    )


def render_text(report: LeadReport) -> str:
    lines = [f"Generated lead with {report.model} ({report.load})", ""]
    summary = report.summary()
    keys = list(next(iter(summary.values())).keys())
    header = ["", *summary.keys()]
    lines.append(" | ".join(header))
    lines.append(" | ".join("---" for _ in header))
    for key in keys:
        lines.append(" | ".join([key, *(str(summary[g][key]) for g in summary)]))
    lines += ["", f"sentences dropped, by reason: {report.dropped_reasons() or 'none'}"]
    lines.append(f"leads not shown, by cause: {report.not_shown() or 'none'}")
    problems = [p for q in report.questions for p in q.problems]
    lines.append(f"independent check: {len(problems)} unsupported shown sentence(s)")
    lines += [f"  {q_id}: {p}" for q_id, p in ((q.id, p) for q in report.questions for p in q.problems)]
    return "\n".join(lines)
