"""Learning the lead's scorer (evals/lead_models.py, evals/lead_training.py) on small made-up candidates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.answer.lead import FEATURES, LeadCandidate, LeadModel
from evals.golden import ExpectedPassage, GoldenQuestion
from evals.lead_models import (
    Comparison,
    Pipeline,
    QuestionSentences,
    compare,
    facts_in,
    fit_logistic,
    fold_models,
    linear_scorer,
    simulate,
)
from evals.lead_training import (
    CandidatesFileError,
    LeadReport,
    candidates_key,
    collect,
    folds_by_source,
    load_candidates,
    save_candidates,
    weights_module,
)

pytestmark = pytest.mark.unit


def _question(qid: str, facts: list[str], lang: str = "en") -> GoldenQuestion:
    expected = [ExpectedPassage(doc="rules", pages=[1 + int(qid.strip("qruk") or 0)])]
    return GoldenQuestion.model_validate(
        {"id": qid, "question": "q", "answerable": True, "expected": expected, "key_facts": facts}
        | {"kind": "fact", "persona": "staff", "lang": lang}
    )


def _candidate(text: str, e5: float, overlap: float, hit: int = 0) -> LeadCandidate:
    values = dict.fromkeys(FEATURES, 0.0)
    values.update({"e5": e5, "overlap": overlap, "minilm": overlap, "rank": 1 / (1 + hit)})
    return LeadCandidate(hit, 0, len(text), text, tuple(values[name] for name in FEATURES))


def _row(qid: str, fold: int, lang: str = "en") -> QuestionSentences:
    """The answer sentence has the best e5 and overlap; three others do not answer."""
    answer = f"The limit for {qid} is fifteen consecutive days."
    found = [
        _candidate(f"Visits for {qid} happen on weekdays in the hall.", 0.80, 0.1, hit=1),
        _candidate(answer, 0.90, 0.6),
        _candidate(f"Staff for {qid} must wear uniform at all times.", 0.78, 0.2, hit=2),
        _candidate(f"Records of {qid} are kept in the office.", 0.75, 0.0, hit=3),
    ]
    labels = np.asarray([bool(any(facts_in(c.text, ["fifteen consecutive days"]))) for c in found])
    return QuestionSentences(_question(qid, ["fifteen consecutive days"], lang), fold, found, labels)


def test_logistic_regression_ranks_the_answering_sentence_first() -> None:
    rows = [_row(f"q{i}", i % 5) for i in range(20)]
    x = np.vstack([r.matrix() for r in rows])
    y = np.concatenate([r.labels for r in rows]).astype(float)
    model = fit_logistic(x, y)
    assert model.logistic and model.weights["e5"] > 0 and model.weights["overlap"] > 0
    score = linear_scorer(model)
    for row in rows:
        assert int(np.argmax(score(row.matrix()))) == 1
    # The shipped model scores as the trainer does.
    assert model.chance(rows[0].candidates[1]) == pytest.approx(float(score(rows[0].matrix())[1]))
    without = fit_logistic(x, y, drop=("e5",))
    assert "e5" not in without.weights


def test_simulate_chooses_as_the_selector_and_counts_key_facts() -> None:
    row = _row("q1", 0)
    model = LeadModel(weights={"e5": 10.0}, bias=-8.5, threshold=0.9)
    assert simulate(row, Pipeline(linear_scorer(model), 0.9)) == (1, 1)
    worst_first = LeadModel(weights={"e5": -10.0}, bias=8.0)
    assert simulate(row, Pipeline(linear_scorer(worst_first), 0.99)) == (0, 1)  # one sentence, the wrong one


@pytest.fixture(scope="module")
def compared() -> tuple[list[QuestionSentences], Comparison]:
    """25 English and 25 Russian questions and the scorers compared on them (trees included: seconds)."""
    rows = [_row(f"q{i}", i % 5) for i in range(25)] + [_row(f"ru{i}", i % 5, "ru") for i in range(25)]
    return rows, compare(rows)


def test_compare_and_fold_models_out_of_fold(compared: tuple[list[QuestionSentences], Comparison]) -> None:
    rows, comparison = compared
    assert comparison.shares["logistic"]["en"] == 1.0 and comparison.shares["logistic"]["cyrillic"] == 1.0
    assert set(comparison.shares) >= {"hand", "logistic", "logistic-no-e5", "logistic-e5-on-all"}
    per_fold, final = fold_models(rows, "logistic")
    assert len(per_fold) == 5 and set(final.models) == {"en", "ru", "kk"}
    assert final.shortlist == {"en": 6, "ru": 12, "kk": 12}
    assert all(name not in final.shortlists["en"].weights for name in ("e5", "e5_gap", "e5_passage_best"))
    selector = final.selector(passages=8)
    assert selector.model("kk") is final.models["kk"] and selector.passages == 8


def test_a_translation_takes_the_fold_of_the_question_it_translates() -> None:
    from evals.calibrate import fold_of

    english = _question("q7", ["fifteen consecutive days"])
    russian = _question("ru1", ["fifteen consecutive days"], "ru").model_copy(update={"expected": english.expected})
    other = _question("ru2", ["another fact"], "ru")
    folds = folds_by_source([english, russian, other])
    assert folds["ru1"] == folds["q7"] == fold_of("q7")
    assert folds["ru2"] == fold_of("ru2")  # no English source: its own id


def test_the_weights_module_is_python_the_selector_loads(compared: tuple[list[QuestionSentences], Comparison]) -> None:
    rows, comparison = compared
    _, final = fold_models(rows, "logistic")
    from evals.records import Metrics

    report = LeadReport(comparison, "logistic", {"en": Metrics(lead_key_fact_share=0.5)}, final, 50, 200)
    namespace: dict[str, object] = {}
    exec(compile(weights_module(report, 8), "lead_weights.py", "exec"), namespace)
    assert namespace["LEAD_PASSAGES"] == 8 and namespace["LEAD_SENTENCE_MODEL"] == "e5"
    models = namespace["LEAD_MODELS"]
    assert isinstance(models, dict)
    assert LeadModel.from_dict(models["en"]) == final.models["en"]
    assert namespace["LEAD_SHORTLIST"] == final.shortlist


def test_collected_candidates_are_kept_and_only_new_questions_are_asked(tmp_path: Path) -> None:
    rows = [_row("q1", 0), _row("q2", 1)]
    for row in rows:
        row.question = row.question.model_copy(update={"question": f"question {row.question.id}"})
    path = tmp_path / "candidates.jsonl"
    save_candidates(rows, path)
    known = load_candidates(path)
    assert set(known) == {candidates_key(r.question) for r in rows}
    assert known[candidates_key(rows[0].question)] == rows[0].candidates  # texts, offsets and features

    asked: list[str] = []

    class _Assistant:
        def ask(self, question: str) -> object:
            asked.append(question)
            return type("A", (), {"lead_candidates": list(rows[0].candidates)})()

    edited = rows[1].question.model_copy(update={"question": "an edited question"})
    questions = [rows[0].question, edited]
    collected = collect(_Assistant(), questions, {"q1": 0, "q2": 1}, known=known)  # type: ignore[arg-type]
    assert asked == ["an edited question"]  # the edited one is asked again, the known one is not
    assert [r.labels.tolist() for r in collected] == [rows[0].labels.tolist()] * 2
    assert load_candidates(tmp_path / "missing.jsonl") == {}


def test_a_damaged_candidates_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "candidates.jsonl"
    save_candidates([_row("q1", 0)], path)
    path.write_text(path.read_text() + '{"key": "x"}\n')
    with pytest.raises(CandidatesFileError, match=r"candidates.jsonl:2: not a line of collected lead candidates"):
        load_candidates(path)
