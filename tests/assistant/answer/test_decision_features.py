"""The learned decision's features on small hand-made search results, and the numpy model that reads them."""

from __future__ import annotations

import math

import pytest

from assistant.answer.decision import AnswerabilityPolicy, Evidence, asked_figure, asked_quantity, counted_thing
from assistant.answer.decision_features import FEATURE_NAMES, DecisionFeatures
from assistant.answer.decision_model import Classifier, DecisionModel, Tree
from assistant.retrieval.records import ScoredChunk, SearchResult
from ingest.records import Chunk

pytestmark = pytest.mark.unit

IDF = {"visit": 3.0, "hour": 2.5, "week": 2.5, "parcel": 6.5, "weigh": 5.0, "solitari": 5.0, "confin": 4.0}


def _hit(text: str, doc: str, scores: dict[str, float], fused: float, row: int) -> ScoredChunk:
    chunk = Chunk(id=f"{doc}-{row}", doc_id=doc, title=doc, ref="", headings=[], page_start=1, page_end=1, text=text)
    return ScoredChunk(chunk=chunk, score=fused, dense=scores.get("minilm", 0.0), scores=scores, row=row)


def _result(query: str, lang: str = "en") -> SearchResult:
    hits = [
        _hit(
            "Prisoners may receive visits of two hours each week.",
            "rules",
            {"minilm": 0.7, "e5": 0.9, "bm25": 9.0},
            0.95,
            0,
        ),
        _hit("Visits take place in the visits hall.", "rules", {"minilm": 0.5, "e5": 0.8, "bm25": 12.0}, 0.6, 1),
        _hit("Staff search every parcel.", "other", {"minilm": 0.4, "e5": 0.7, "bm25": 3.0}, 0.5, 2),
    ]
    return SearchResult(query, query, hits, best_dense=0.72, lang=lang, best_scores={"minilm": 0.72, "e5": 0.91})


def _features(question: str, lang: str = "en") -> DecisionFeatures:
    policy = AnswerabilityPolicy()
    evidence = policy.evidence(question, _result(question, lang), IDF)
    assert evidence.features is not None
    return evidence.features


def test_scores_margins_and_agreement_come_from_the_search_result() -> None:
    f = _features("How many hours a week can a prisoner have visits?")
    assert f.minilm_top == 0.7 and f.e5_top == 0.9 and f.bm25_top == pytest.approx(math.log1p(9.0))
    assert f.minilm_best == 0.72 and f.e5_best == 0.91 and f.dense_best == 0.72
    assert f.fused_top == 0.95
    assert f.fused_margin == pytest.approx(0.35) and f.fused_margin3 == pytest.approx(0.45)
    assert f.evidence_margin == pytest.approx(0.2)
    # MiniLM and e5 score the first passage highest, BM25 the second: two sources of three agree.
    assert f.agreement == pytest.approx(2 / 3)
    assert f.same_doc == pytest.approx(2 / 5)
    assert f.english == 1.0 and f.passages == 1.0


def test_answer_type_evidence_is_a_figure_of_the_asked_kind_in_the_top_passages() -> None:
    asked = _features("How many hours a week can a prisoner have visits?")
    assert asked.asks_figure == 1.0 and asked.figure_in_top == 1.0
    assert asked.quantity_asked == 1.0 and asked.quantity_missing == 0.0
    weight = _features("What is the maximum weight of a parcel?")  # no "kg" anywhere in the passages
    assert weight.asks_figure == 1.0 and weight.figure_in_top == 0.0 and weight.quantity_missing == 1.0
    assert _features("Can visitors bring food into the visits hall?").asks_figure == 0.0


def test_english_word_features_are_absent_for_russian_and_kazakh_questions() -> None:
    f = _features("Сколько часов в неделю длятся свидания?", lang="ru")
    assert f.english == 0.0
    english_only = ("coverage", "focus_missing", "unknown_name", "absent_name", "quantity_missing", "counted_missing")
    assert all(getattr(f, name) is None for name in english_only)
    # Their figure cue is read in their own language, and the passages' figures still count.
    assert f.asks_figure == 1.0 and f.figure_in_top == 1.0
    assert asked_figure("Сколько часов в неделю длятся свидания?", "ru") == "duration"
    assert asked_figure("Сотталған камерасында неше кітап ұстай алады?", "kk") == "count"
    assert asked_figure("Можно ли передавать посылки?", "ru") is None
    # Absent is read as 0 next to the indicator, never guessed.
    vector = f.vector(FEATURE_NAMES)
    assert vector[FEATURE_NAMES.index("coverage")] == 0.0


def test_no_passages_gives_no_features_and_the_decision_is_not_covered() -> None:
    result = SearchResult("q", "q", [], lang="en")
    evidence = AnswerabilityPolicy().evidence("How long are visits?", result, IDF)
    assert evidence.features is None and not evidence.has_passages


@pytest.mark.parametrize(
    "question",
    [
        "How much force can we use on a lad who won't leave his cell?",
        "How much say does he get over his sentence plan?",
        "How much of a say does a prisoner get in his own care plan?",
        "How much freedom do the lads in the cottages have?",
        "How much discretion does the governor have over visits?",
    ],
)
def test_how_much_of_something_that_is_not_a_quantity_is_not_a_figure_question(question: str) -> None:
    assert asked_quantity(question) is None
    assert counted_thing(question) is None


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much tobacco can a prisoner keep in his cell?", "count"),
        ("How much does a phone call to a mobile cost?", "money"),
        ("How much compensation did the Ombudsman recommend?", "money"),
        ("How much time outside do prisoners get a day?", "duration"),
        ("How much of the day are they locked up?", "percentage"),
    ],
)
def test_how_much_of_a_quantity_still_asks_a_figure(question: str, kind: str) -> None:
    assert asked_quantity(question) == kind


# --- the numpy model ---------------------------------------------------------------------------


def _model(thresholds: tuple[float, float] = (0.3, 0.6)) -> DecisionModel:
    names = ("quantity_missing", "fused_margin")
    # log-odds = 1 - 3 * quantity_missing + 4 * (fused_margin - 0.1) / 0.1 ... on standardised features.
    answers = Classifier("logistic", names, bias=1.0, mean=(0.0, 0.1), scale=(1.0, 0.1), weights=(-3.0, 1.0))
    # One stump: a first passage well ahead of the next is right.
    stump = Tree(
        left=(1, -1, -1), right=(2, -1, -1), feature=(1, -2, -2), threshold=(0.2, -2.0, -2.0), value=(0, -2.0, 2.0)
    )
    right = Classifier("trees", names, bias=0.0, learning_rate=1.0, trees=(stump,))
    return DecisionModel(answers, right, {"en": thresholds, "cyrillic": (0.0, 0.0)})


def _evidence(**features: float) -> Evidence:
    base = dict.fromkeys(("minilm_top", "e5_top", "bm25_top", "minilm_best", "e5_best", "fused_top"), 0.5)
    values = {
        **base,
        "english": 1.0,
        "dense_best": 0.5,
        "fused_margin": 0.1,
        "fused_margin3": 0.1,
        "evidence_margin": 0.0,
        "agreement": 1.0,
        "same_doc": 1.0,
        "passages": 1.0,
        "asks_figure": 1.0,
        "figure_in_top": 1.0,
        "quantity_missing": 0.0,
        "quantity_asked": 1.0,
    }
    values.update(features)
    return Evidence(
        dense=0.5,
        quantity_asked="count",
        quantity_missing="count",
        subject="How many books?",
        features=DecisionFeatures.model_validate(values),
    )


def test_the_model_gives_three_states_from_two_probabilities() -> None:
    policy = AnswerabilityPolicy(model=_model())
    # P(answers) = sigmoid(1) = 0.73; P(right) = sigmoid(-2) = 0.12 (margin 0.1 <= 0.2): the caution.
    closest = policy.decide(_evidence())
    assert closest.state == "closest" and closest.confidence == pytest.approx(1 / (1 + math.exp(-1)))
    assert policy.decide(_evidence(fused_margin=0.3)).state == "answered"  # P(right) = sigmoid(2)
    # The missing figure lowers P(answers) to sigmoid(-2) = 0.12 < 0.3: not covered, and says what is missing.
    refused = policy.decide(_evidence(quantity_missing=1.0))
    assert refused.state == "not_covered"
    assert [r.check for r in refused.reasons] == ["quantity"]
    assert refused.reasons[0].message.startswith("The documents give no figure in answer to")


def test_a_refusal_without_a_check_behind_it_says_the_passages_match_only_loosely() -> None:
    policy = AnswerabilityPolicy(model=_model(thresholds=(0.9, 0.95)))
    refused = policy.decide(_evidence())
    assert refused.state == "not_covered" and [r.check for r in refused.reasons] == ["weak_match"]


def test_an_answer_none_of_whose_focus_terms_the_passages_have_gets_the_caution() -> None:
    # "Can prisoners go scuba diving on weekends?" on the real corpus: P(answers) 0.96, P(right) 0.38,
    # "answered" with rules on exercise; the dev sets hold almost no such off-topic question to learn from.
    policy = AnswerabilityPolicy(model=_model())
    off_topic = _evidence(fused_margin=0.3).model_copy(
        update={"missing_focus": ["scuba", "dive", "weekend"], "missing_focus_share": 1.0}
    )
    decided = policy.decide(off_topic)
    assert decided.state == "closest" and [r.check for r in decided.reasons] == ["focus_terms"]
    assert decided.reasons[0].message == "The passages closest to the question never mention: scuba, dive, weekend."
    some = off_topic.model_copy(update={"missing_focus": ["scuba"], "missing_focus_share": 0.6})
    assert policy.decide(some).state == "answered"  # the model weighs a part missing (staff wording, synonyms)
    assert AnswerabilityPolicy(model=_model(), learned_focus_caution=1.1).decide(off_topic).state == "answered"


def test_a_focus_name_the_documents_never_mention_refuses_whatever_the_scores() -> None:
    model = _model()
    vetoed = _evidence(fused_margin=0.3, unknown_name=1.0).model_copy(update={"unknown_names": ["Texas"]})
    assert vetoed.features is not None
    assert model.probabilities(vetoed.features)[0] == 0.0  # the classifier alone gives sigmoid(3)
    assert model.answers.probability(vetoed.features) == pytest.approx(1 / (1 + math.exp(-3)))
    decided = AnswerabilityPolicy(model=model).decide(vetoed)
    assert decided.state == "not_covered" and decided.reasons[0].check == "unknown_name"
    assert decided.reasons[0].message == "The documents never mention Texas."
    assert AnswerabilityPolicy(model=model).decide(_evidence(fused_margin=0.3, unknown_name=0.0)).state == "answered"


def test_without_features_or_a_model_the_hand_rules_decide() -> None:
    rules = AnswerabilityPolicy(answer_threshold=0.2)
    evidence = _evidence(quantity_missing=1.0)
    assert rules.decide(evidence).state == "not_covered"  # the answer-type rule
    assert (
        AnswerabilityPolicy(answer_threshold=0.2, model=_model())
        .decide(evidence.model_copy(update={"features": None}))
        .state
        == "not_covered"
    )
    assert rules.permissive().model is None


def test_the_written_model_loads_or_is_absent() -> None:
    from assistant.answer.decision_model import load_decision_model
    from assistant.answer.decision_weights import DECISION_MODEL

    model = load_decision_model()
    assert (model is None) == (not DECISION_MODEL)
    if model is not None:
        assert set(model.answers.features) <= set(FEATURE_NAMES)
        assert set(model.thresholds) == {"en", "cyrillic"}


def test_the_assistant_decides_without_importing_scikit_learn() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import assistant.chain; from assistant.answer.decision_model import load_decision_model; "
        "load_decision_model(); print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_name_evidence_comes_from_the_name_checks_outputs() -> None:
    from assistant.answer.decision import decision_features

    question = "How many hours a week can a prisoner in Canberra have visits?"
    result = _result(question)
    evidence = AnswerabilityPolicy().evidence(question, result, IDF)
    assert evidence.features is not None and evidence.features.known_name == 0.0
    # A name a profile or alias knows ("Canberra" -> the AMC report), none of whose documents is in the top five.
    named = evidence.model_copy(update={"named_documents": {"Canberra": ["amc"]}, "names_elsewhere": ["Canberra"]})
    features = decision_features(question, result, named)
    assert (features.known_name, features.name_elsewhere) == (1.0, 1.0)
    here = named.model_copy(update={"named_documents": {"Canberra": ["rules"]}, "names_elsewhere": []})
    assert decision_features(question, result, here).name_elsewhere == 0.0
