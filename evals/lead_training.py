"""Learns the lead's sentence scorer from the dev sets' key facts (`handbook eval lead`), out of fold.

The lead (assistant/answer/lead.py) ranks the sentences of the top passages by a linear score of their
features. Here each answerable dev question is asked once with every sentence competing and e5
embedding each (`collect`); every candidate is labelled by whether it holds one of the question's
key facts (both sides through `normalize_for_match`), and the scorers of evals/lead_models.py are
compared by **5-fold cross-validation**, folds fixed by question id as in calibration
(`evals.calibrate.fold_of`; a Russian or Kazakh question takes the fold of the English question it
translates, found by its identical key facts and expected passages, so that no translation of a
test question is trained on):

- `hand`: the hand-weighted sum shipped before learning (`HAND_MODEL`);
- `logistic`: two stages, each an L2-regularised logistic regression in numpy on standardised
  features, per question language group (English; Russian and Kazakh together): the first, without
  e5, keeps a shortlist (6 English sentences, 12 Russian or Kazakh), e5 embeds those, the second
  chooses; its threshold (the chance a second or third sentence needs) is chosen on the training folds;
- `logistic-e5-on-all`: one stage, e5 on every sentence (what the shortlist gives up);
- `logistic-no-e5`: one stage without e5 (no sentence embedded at query time);
- `trees`: scikit-learn's gradient-boosted trees as the second stage, where scikit-learn is
  installed, only to see whether a non-linear model would be worth a dependency.

The held-out questions' leads are chosen as `LeadSelector` chooses them (`simulate`, every sentence
taken as verifiable) and scored as key facts within the lead. For the best scorer that can ship
(linear, e5 on a shortlist at most) the command then asks every held-out question again with its
fold's models in the real pipeline and reports the evaluation's own figures (`lead_key_fact_share`
within the first 60 words of the rendered answer, key-fact coverage, words before the supporting
passages) per language and overlap band: out of fold only. Finally it fits that scorer on all
questions and, with `--write`, writes `assistant/answer/lead_weights.py`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.answer.lead import FEATURES, LeadCandidate, LeadModel, LeadSelector
from evals.calibrate import FOLDS, fold_of
from evals.golden import GoldenQuestion
from evals.lead_models import HAND_MODEL, Comparison, Models, QuestionSentences, compare, facts_in, fold_models
from evals.progress import progress_bar

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from evals.records import Metrics, QuestionRecord


def folds_by_source(questions: Sequence[GoldenQuestion], folds: int = FOLDS) -> dict[str, int]:
    """Each question's fold: an English question's by its id; a translation's by the English question it translates."""
    english = {(tuple(q.key_facts), _expected_key(q)): q.id for q in questions if q.lang == "en"}
    out = {}
    for q in questions:
        source = english.get((tuple(q.key_facts), _expected_key(q)), q.id) if q.lang != "en" else q.id
        out[q.id] = fold_of(source, folds)
    return out


def _expected_key(q: GoldenQuestion) -> tuple[tuple[str, tuple[int, ...], str], ...]:
    return tuple((e.doc, tuple(e.pages), e.ref) for e in q.expected)


def collect(
    assistant: Assistant,
    questions: Sequence[GoldenQuestion],
    folds: dict[str, int],
    progress: bool = False,
    known: Mapping[str, list[LeadCandidate]] | None = None,
) -> list[QuestionSentences]:
    """Asks every answerable question once and labels the sentences its lead chose from.

    `known`: candidates collected before (`load_candidates`), by `candidates_key`; those questions are not asked.
    """
    rows = []
    known = known or {}
    with progress_bar(progress, "lead: collecting", len(questions)) as advance:
        for q in questions:
            if q.answerable and q.key_facts:
                found = known.get(candidates_key(q))
                if found is None:
                    found = list(assistant.ask(q.question).lead_candidates)
                labels = np.asarray([any(facts_in(c.text, q.key_facts)) for c in found], dtype=bool)
                rows.append(QuestionSentences(q, folds[q.id], found, labels))
            advance()
    return rows


# --- the collected candidates, kept between runs ----------------------------------------------
#
# Collecting asks every question with e5 on every sentence (minutes); the candidates depend on the
# question, the index and the feature code, not on the scorer. `--candidates FILE` keeps them so
# that a second run (another scorer, a grown golden set) asks only the questions it has not seen.
# A question is known by its text and the features' names: an edited question or a changed
# feature list is collected again. Pass a new file after re-ingesting.


class CandidatesFileError(ValueError):
    """A --candidates file that is not what `save_candidates` writes."""


def candidates_key(q: GoldenQuestion) -> str:
    return json.dumps([q.question, list(FEATURES)], ensure_ascii=False)


def save_candidates(rows: Sequence[QuestionSentences], path: Path) -> None:
    """One JSON line per question: its key (`candidates_key`), its candidates with their features."""
    lines = []
    for row in rows:
        found = [
            {"hit": c.hit, "start": c.start, "end": c.end, "text": c.text, "features": list(c.features)}
            for c in row.candidates
        ]
        lines.append(json.dumps({"key": candidates_key(row.question), "candidates": found}, ensure_ascii=False))
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def load_candidates(path: Path) -> dict[str, list[LeadCandidate]]:
    """The candidates `save_candidates` wrote, by key; {} when the file does not exist."""
    if not path.exists():
        return {}
    out: dict[str, list[LeadCandidate]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            out[data["key"]] = [
                LeadCandidate(int(c["hit"]), int(c["start"]), int(c["end"]), str(c["text"]), tuple(c["features"]))
                for c in data["candidates"]
                if len(c["features"]) == len(FEATURES)
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise CandidatesFileError(f"{path}:{number}: not a line of collected lead candidates ({exc})") from None
    return out


def out_of_fold_records(
    assistant: Assistant,
    questions: Sequence[GoldenQuestion],
    folds: dict[str, int],
    per_fold: list[Models],
    passages: int,
    progress: bool = False,
) -> list[QuestionRecord]:
    """Every question asked again through the real pipeline with the lead of its fold's models."""
    from evals.records import QuestionRecord
    from evals.runner import _from_answer

    original = assistant.composer
    records = []
    try:
        with progress_bar(progress, "lead: out of fold", len(questions)) as advance:
            for q in questions:
                assistant.composer = _with_lead(original, per_fold[folds[q.id]].selector(passages))
                answer = assistant.ask(q.question)
                records.append(QuestionRecord.of_question(q).model_copy(update=_from_answer(answer)))
                advance()
    finally:
        assistant.composer = original
    return records


def _with_lead(composer: Any, selector: LeadSelector) -> Any:
    return replace(composer, lead=selector)


@dataclass
class LeadReport:
    comparison: Comparison
    chosen: str
    metrics: dict[str, Metrics]  # "all", "en", "ru", "kk", and the English overlap bands: out of fold
    models: Models
    positives: int
    candidates: int

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "comparison": {"shares": self.comparison.shares, "thresholds": self.comparison.thresholds},
            "chosen": self.chosen,
            "out_of_fold": {name: m.to_json_dict() for name, m in self.metrics.items()},
            "models": {lang: m.to_dict() for lang, m in self.models.models.items()},
            "shortlists": {lang: m.to_dict() for lang, m in self.models.shortlists.items()},
            "shortlist": self.models.shortlist,
            "positives": self.positives,
            "candidates": self.candidates,
        }


def train_lead(
    assistant: Assistant,
    questions: Sequence[GoldenQuestion],
    chosen: str | None = None,
    progress: bool = False,
    candidates: Path | None = None,
) -> LeadReport:
    """Collects, compares the scorers out of fold, re-asks with the best linear one; see the module docstring.

    `candidates`: a file of collected candidates (`save_candidates`), read first and written afterwards.
    """
    from evals.metrics import compute_metrics, metrics_per_lang, metrics_per_overlap

    folds = folds_by_source(questions)
    selector = getattr(assistant.composer, "lead", None)
    passages = selector.passages if selector is not None else 8
    original, model = assistant.composer, assistant.sentence_model
    try:
        # Every sentence competes and e5 embeds each: what any first stage might keep.
        everything = LeadSelector({"en": LeadModel.from_dict(HAND_MODEL)}, passages=passages)
        assistant.composer = _with_lead(original, everything)
        assistant.sentence_model = "e5"
        known = load_candidates(candidates) if candidates is not None else {}
        rows = collect(assistant, questions, folds, progress, known)
    finally:
        assistant.composer, assistant.sentence_model = original, model
    if candidates is not None:
        save_candidates(rows, candidates)
    comparison = compare(rows)
    # What can ship: linear, and e5 on a shortlist only (e5 on every sentence costs too much time).
    shippable = {k: v for k, v in comparison.shares.items() if k in ("hand", "logistic", "logistic-no-e5")}
    name = chosen or max(shippable, key=lambda k: shippable[k]["all"])
    per_fold, final = fold_models(rows, name)
    try:
        assistant.sentence_model = None if name == "logistic-no-e5" else "e5"
        records = out_of_fold_records(assistant, questions, folds, per_fold, passages, progress)
    finally:
        assistant.sentence_model = model
    metrics = {"all": compute_metrics(records)}
    metrics.update(metrics_per_lang(records))
    metrics.update({f"overlap {band}": m for band, m in metrics_per_overlap(records).items()})
    return LeadReport(
        comparison,
        name,
        metrics,
        final,
        positives=int(sum(r.labels.sum() for r in rows)),
        candidates=sum(len(r.candidates) for r in rows),
    )


def weights_module(report: LeadReport, passages: int) -> str:
    """The source of assistant/answer/lead_weights.py for the models trained on every question."""
    sentence_model = "None" if report.chosen.endswith("no-e5") else '"e5"'
    lines = [
        '"""The lead scorer\'s weights (assistant/answer/lead.py), written by `handbook eval lead --write`.',
        "",
        f"Scorer `{report.chosen}`, trained on the key facts of the dev sets' answerable questions",
        f"({report.positives} of {report.candidates} candidate sentences hold one). Out of fold, key facts",
        f"in the first 60 words of the answer: {_figures_line(report)}.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"LEAD_PASSAGES = {passages}",
        "# The dense model that embeds the shortlisted sentences at query time (None: MiniLM's windows only).",
        f"LEAD_SENTENCE_MODEL: str | None = {sentence_model}",
        f"LEAD_SHORTLIST: dict[str, int] = {_literal(report.models.shortlist)}",
        "# The first stage: which sentences e5 embeds, from the features without e5.",
        "LEAD_SHORTLISTS: dict[str, dict[str, object]] = " + _literal(_dicts(report.models.shortlists)),
        "# The second stage: the lead among the shortlisted sentences.",
        "LEAD_MODELS: dict[str, dict[str, object]] = " + _literal(_dicts(report.models.models)),
    ]
    return "\n".join(lines) + "\n"


def _dicts(models: dict[str, LeadModel]) -> dict[str, Any]:
    return {lang: {k: _rounded(v) for k, v in m.to_dict().items()} for lang, m in models.items()}


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else 0.0
    return value


def _literal(value: Any) -> str:
    """A Python literal of `value`, wrapped to fit 120 columns."""
    import pprint

    return pprint.pformat(_rounded(value), width=116, sort_dicts=False)


def _figures_line(report: LeadReport) -> str:
    parts = []
    for name in ("en", "ru", "kk"):
        m = report.metrics.get(name)
        if m is not None and m.lead_key_fact_share is not None:
            parts.append(f"{name} {m.lead_key_fact_share:.3f}")
    return ", ".join(parts)


def write_weights(report: LeadReport, passages: int, path: Path) -> None:
    path.write_text(weights_module(report, passages), encoding="utf-8")
