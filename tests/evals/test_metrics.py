"""Evaluation metrics on handcrafted records: every number is worked out by hand in the test."""

from __future__ import annotations

import math
from typing import Any

import pytest

from evals.golden import ExpectedPassage
from evals.metrics import (
    check_citations,
    citation_validity,
    compute_metrics,
    false_refusal_rate,
    hit_at_k,
    hit_rank,
    key_fact_coverage,
    key_fact_share,
    key_facts_found,
    latency,
    metrics_per_kind,
    mrr_at_k,
    ndcg,
    ndcg_at_k,
    parse_ref,
    quote_on_pages,
    ref_accuracy,
    ref_correct,
    refs_match,
    refusal_recall,
)
from evals.records import CitedQuote, Latency, QuestionRecord, RetrievedPassage

MR = "un-nelson-mandela-rules-A-RES-70-175-2015"
CAT = "un-convention-against-torture-1984"


def _p(doc: str, *pages: int, ref: str = "") -> RetrievedPassage:
    return RetrievedPassage(doc=doc, pages=list(pages), ref=ref)


def _record(
    qid: str = "q1",
    expected: list[ExpectedPassage] | None = None,
    retrieved: list[RetrievedPassage] | None = None,
    answerable: bool = True,
    kind: str = "fact",
    **fields: Any,
) -> QuestionRecord:
    if expected is None:
        expected = [ExpectedPassage(doc=MR, pages=[17], ref="Rule 44")] if answerable else []
    return QuestionRecord(
        id=qid,
        question="how long in the seg?",
        kind=kind if answerable else "unanswerable",
        answerable=answerable,
        expected=expected,
        retrieved=retrieved or [],
        **fields,
    )


# --- retrieval ------------------------------------------------------------------------------


@pytest.mark.unit
def test_hit_needs_same_document_and_overlapping_pages() -> None:
    record = _record(retrieved=[_p(CAT, 17), _p(MR, 16), _p(MR, 16, 17), _p(MR, 17)])
    assert hit_rank(record) == 3  # the wrong document and the wrong page do not count; a page range does
    assert hit_rank(record, k=2) is None
    assert hit_at_k([record], 1) == 0.0
    assert hit_at_k([record], 3) == 1.0


@pytest.mark.unit
def test_multi_expected_question_hits_on_any_entry() -> None:
    expected = [ExpectedPassage(doc=MR, pages=[17]), ExpectedPassage(doc=CAT, pages=[4, 5])]
    record = _record(expected=expected, retrieved=[_p(MR, 30), _p(CAT, 5)])
    assert hit_rank(record) == 2


@pytest.mark.unit
def test_mrr_averages_reciprocal_ranks_and_counts_misses_as_zero() -> None:
    first = _record("a", retrieved=[_p(MR, 17)])
    second = _record("b", retrieved=[_p(CAT, 1), _p(MR, 17)])
    missed = _record("c", retrieved=[_p(CAT, 1)])
    assert mrr_at_k([first, second, missed]) == pytest.approx((1 + 0.5 + 0) / 3)
    beyond = _record("d", retrieved=[_p(CAT, 1)] * 10 + [_p(MR, 17)])
    assert mrr_at_k([beyond]) == 0.0  # rank 11 is outside MRR@10


@pytest.mark.unit
def test_retrieval_metrics_ignore_unanswerable_questions() -> None:
    hit = _record("a", retrieved=[_p(MR, 17)])
    unanswerable = _record("u", answerable=False, retrieved=[_p(CAT, 1)])
    assert hit_at_k([hit, unanswerable], 1) == 1.0
    assert mrr_at_k([hit, unanswerable]) == 1.0
    assert hit_at_k([unanswerable], 5) is None  # nothing to measure is not a score of 0


@pytest.mark.unit
def test_ndcg_binary_gains_each_expected_entry_found_once() -> None:
    expected = [ExpectedPassage(doc=MR, pages=[17]), ExpectedPassage(doc=CAT, pages=[4])]
    # rank 1: entry 0; rank 2: entry 0 again (no gain); rank 3: entry 1
    record = _record(expected=expected, retrieved=[_p(MR, 17), _p(MR, 17), _p(CAT, 4)])
    dcg = 1.0 + 1.0 / math.log2(4)
    ideal = 1.0 + 1.0 / math.log2(3)
    assert ndcg(record) == pytest.approx(dcg / ideal)
    perfect = _record(expected=expected, retrieved=[_p(CAT, 4), _p(MR, 17)])
    assert ndcg(perfect) == pytest.approx(1.0)
    assert ndcg_at_k([record, perfect]) == pytest.approx((dcg / ideal + 1.0) / 2)


@pytest.mark.unit
def test_ndcg_ideal_is_capped_at_k() -> None:
    expected = [ExpectedPassage(doc=MR, pages=[p]) for p in range(1, 13)]  # 12 entries, k = 10
    record = _record(expected=expected, retrieved=[_p(MR, p) for p in range(1, 11)])
    assert ndcg(record) == pytest.approx(1.0)
    one = _record(expected=expected, retrieved=[_p(MR, 1)])
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, 11))
    assert ndcg(one) == pytest.approx(1.0 / ideal)


# --- references -----------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("cited", "expected", "match"),
    [
        ("Rules 59–60", "Rule 59", True),
        ("Rules 59–60", "Rule 60", True),
        ("Rules 59-60", "Rule 61", False),
        ("rule 44", "Rule 44", True),
        ("RULE  44", "Rule 44", True),
        ("Rule 59(2)", "Rule 59", True),
        ("4.2", "4.2", True),
        ("4.2", "4.20", False),
        ("4.2.11", "4.2", False),
        ("5.1–5.3", "5.2", True),
        ("6–6.1.5", "6.1.2", True),
        ("Article 4", "Rule 4", False),
        ("Articles 2 and 16", "Article 16", True),
        ("Rule 4", "", False),
        ("", "Rule 4", False),
    ],
)
def test_refs_match(cited: str, expected: str, match: bool) -> None:
    assert refs_match(cited, expected) is match


@pytest.mark.unit
def test_parse_ref_label_and_range() -> None:
    assert parse_ref("Rules 59–60") == ("rule", [((59,), (60,))])
    assert parse_ref("4.2") == ("", [((4, 2), (4, 2))])


@pytest.mark.unit
def test_ref_accuracy_needs_the_same_document_and_skips_empty_expected_refs() -> None:
    expected = [ExpectedPassage(doc=MR, pages=[17], ref="Rule 44")]
    right = _record("a", expected=expected, citations=[CitedQuote(doc=MR, ref="Rules 43–44", pages=[17], quote="x")])
    other_doc = _record("b", expected=expected, citations=[CitedQuote(doc=CAT, ref="Rule 44", pages=[17], quote="x")])
    no_ref = _record(
        "c",
        expected=[ExpectedPassage(doc=MR, pages=[3], ref="")],
        citations=[CitedQuote(doc=MR, ref="Rule 1", pages=[3], quote="x")],
    )
    assert ref_correct(right) is True
    assert ref_correct(other_doc) is False
    assert ref_correct(no_ref) is None
    assert ref_accuracy([right, other_doc, no_ref]) == (0.5, 2)


# --- key facts ------------------------------------------------------------------------------


@pytest.mark.unit
def test_key_facts_match_across_case_spacing_quotes_and_line_breaks() -> None:
    answer = "Solitary for more than 15\nconsecutive   DAYS; it ‘shall not’ in-\nclude family contact."
    record = _record(answer=answer, key_facts=["15 consecutive days", "shall not' include", "22 hours"])
    assert key_facts_found(record) == [True, True, False]
    assert key_fact_coverage([record]) == 0.0  # not all facts


@pytest.mark.unit
def test_key_fact_coverage_per_question_and_share_per_fact() -> None:
    full = _record("a", answer="at least once a week", key_facts=["once a week"])
    half = _record("b", answer="15 consecutive days", key_facts=["15 consecutive days", "22 hours or more"])
    unanswerable = _record("u", answerable=False, answer="no idea")
    assert key_fact_coverage([full, half, unanswerable]) == 0.5
    assert key_fact_share([full, half, unanswerable]) == pytest.approx(2 / 3)


# --- citations ------------------------------------------------------------------------------


@pytest.mark.unit
def test_quote_on_pages_normalises_and_joins_pages() -> None:
    pages = ["... for a time period of more\nthan 15 consecutive", "days. Rule 45 ..."]
    assert quote_on_pages("more than 15 consecutive days", pages)
    assert not quote_on_pages("more than 16 consecutive days", pages)
    assert not quote_on_pages("", pages)


@pytest.mark.unit
def test_check_citations_and_validity_share() -> None:
    text = {(MR, 17): "Prolonged solitary confinement shall refer to 15 consecutive days.", (MR, 18): "Rule 48"}
    record = _record(
        citations=[
            CitedQuote(doc=MR, pages=[17], quote="PROLONGED solitary   confinement"),
            CitedQuote(doc=MR, pages=[17, 18], quote="15 consecutive days. Rule 48"),
            CitedQuote(doc=MR, pages=[18], quote="15 consecutive days"),  # wrong page
            CitedQuote(doc=MR, pages=[99], quote="anything"),  # page not in the index
        ]
    )
    checked = check_citations(record, lambda doc, page: text.get((doc, page)))
    assert [c.valid for c in checked.citations] == [True, True, False, False]
    assert citation_validity([checked]) == (0.5, 4)
    assert citation_validity([record]) == (None, 0)  # unchecked citations are not counted


# --- refusals and latency -------------------------------------------------------------------


@pytest.mark.unit
def test_refusal_recall_and_false_refusal_rate() -> None:
    records = [
        _record("u1", answerable=False, refused=True),
        _record("u2", answerable=False, refused=True),
        _record("u3", answerable=False, refused=False),
        _record("a1", refused=True),
        _record("a2"),
        _record("a3"),
        _record("a4"),
    ]
    assert refusal_recall(records) == pytest.approx(2 / 3)
    assert false_refusal_rate(records) == 0.25
    assert refusal_recall(records[3:]) is None


@pytest.mark.unit
def test_latency_uses_the_one_percentile_and_is_empty_without_timings() -> None:
    def rec(ms: float | None) -> QuestionRecord:
        return QuestionRecord(id="q", question="?", kind="fact", answerable=True, latency_ms=ms)

    summary = latency([rec(10.0), rec(None), rec(20.0), rec(30.0), rec(40.0), rec(50.0)])
    assert (summary.p50, summary.p95, summary.mean) == (30.0, 48.0, 30.0)  # interpolated: 40 + 0.8 * 10
    assert latency([rec(None)]) == Latency()


# --- aggregation ----------------------------------------------------------------------------


@pytest.mark.unit
def test_compute_metrics_json_keys_and_retrieval_only_mode() -> None:
    records = [
        _record("a", retrieved=[_p(MR, 17)], latency_ms=100.0, answer="x", key_facts=["x"]),
        _record("u", answerable=False, refused=True, latency_ms=300.0),
    ]
    data = compute_metrics(records).to_json_dict()
    for key in ("n", "hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "ref_accuracy", "key_fact_coverage"):
        assert key in data
    assert data["hit@1"] == 1.0
    assert data["refusal_recall"] == 1.0
    assert data["latency_ms"]["p50"] == 200.0
    retrieval_only = compute_metrics(records, answers=False)
    assert retrieval_only.hit_1 == 1.0
    assert retrieval_only.key_fact_coverage is None
    assert retrieval_only.refusal_recall is None


@pytest.mark.unit
def test_metrics_per_kind() -> None:
    records = [
        _record("a", kind="fact", retrieved=[_p(MR, 17)]),
        _record("b", kind="procedure", retrieved=[_p(CAT, 1)]),
        _record("u", answerable=False, refused=True),
    ]
    per_kind = metrics_per_kind(records)
    assert list(per_kind) == ["fact", "procedure", "unanswerable"]
    assert per_kind["fact"].hit_1 == 1.0
    assert per_kind["procedure"].hit_1 == 0.0
    assert per_kind["unanswerable"].hit_1 is None
    assert per_kind["unanswerable"].refusal_recall == 1.0


# --- where the key facts sit ----------------------------------------------------------------


@pytest.mark.unit
def test_key_facts_within_the_first_60_words() -> None:
    from evals.placement import lead_facts_found, lead_key_fact_share, lead_text

    filler = " ".join(f"w{i}" for i in range(58))
    answer = f"{filler} fifteen consecutive days and then 22 hours"
    record = _record(answer=answer, key_facts=["fifteen consecutive", "22 hours"])
    assert lead_text(record.answer).split()[-1] == "consecutive"  # word 60
    assert lead_facts_found(record) == [True, False]
    refused = _record("r", answer="", key_facts=["x"], refused=True)
    unanswerable = _record("u", answerable=False, answer="fifteen consecutive")
    assert lead_key_fact_share([record, refused, unanswerable]) == pytest.approx(1 / 3)


@pytest.mark.unit
def test_words_before_the_first_key_fact_and_before_the_passages() -> None:
    from evals.placement import passages_start, placement_metrics, words_before_key_fact, words_before_passages

    lead = "\u201cProlonged means more than 15 consecutive days.\u201d [1]"
    new = f"A note in Russian.\n\n{lead}\n\nSupporting passages (2):\n\nRules, Rule 44, p. 17:\n\u201cText.\u201d [1]"
    record = _record(answer=new, key_facts=["15 consecutive days", "absent fact"])
    assert words_before_key_fact(record) == 4 + 4  # the note, then "“Prolonged means more than"
    assert words_before_passages(record, ["Supporting passages ("]) == 4 + 8
    # An answer written before the lead: its passages start at the first quote's label line.
    old = "These passages are the closest.\n\nRules, Rule 44, p. 17:\n\u201cText 15 consecutive days.\u201d [1]"
    assert passages_start(old) == old.index("Rules, Rule 44")
    assert words_before_passages(_record(answer=old, key_facts=["x"])) == 5
    assert words_before_passages(_record(answer="No passage.", key_facts=["x"])) is None
    assert words_before_key_fact(_record(answer="nothing here", key_facts=["x"])) is None
    figures = placement_metrics([record, _record("b", answer=old, key_facts=["15 consecutive days"])])
    assert figures["words_before_key_fact"] == pytest.approx((8 + 11) / 2)  # the old one: 5 + 5 + "“Text"
    assert figures["words_before_passages"] == pytest.approx((12 + 5) / 2)
    assert figures["lead_key_fact_share"] == pytest.approx(2 / 3, abs=1e-4)


@pytest.mark.unit
def test_a_baseline_with_a_reading_text_gets_the_placement_figures() -> None:
    reading = "fifteen consecutive days"  # the tutorial's top passage, its first 60 words
    records = [_record("a", retrieved=[_p(MR, 17)], answer=reading, key_facts=["fifteen consecutive"])]
    retrieval_only = compute_metrics(records, answers=False)
    assert retrieval_only.lead_key_fact_share == 1.0 and retrieval_only.key_fact_coverage is None
    assert compute_metrics([_record("b", retrieved=[_p(MR, 17)])], answers=False).lead_key_fact_share is None
