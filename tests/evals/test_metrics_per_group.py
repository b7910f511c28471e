"""Metrics per overlap band and per language (evals/metrics.py), worked out by hand."""

from __future__ import annotations

import pytest

from evals.golden import ExpectedPassage
from evals.metrics import DOCUMENT_BAND, STAFF_BAND, metrics_per_lang, metrics_per_overlap, overlap_band
from evals.records import QuestionRecord, RetrievedPassage

MR = "un-nelson-mandela-rules-A-RES-70-175-2015"


def _record(
    qid: str, hit: bool = True, answerable: bool = True, refused: bool = False, **fields: object
) -> QuestionRecord:
    return QuestionRecord(
        id=qid,
        question="how long down the block?",
        kind="fact" if answerable else "unanswerable",
        answerable=answerable,
        expected=[ExpectedPassage(doc=MR, pages=[17], ref="Rule 44")] if answerable else [],
        key_facts=["15 consecutive days"] if answerable else [],
        retrieved=[RetrievedPassage(doc=MR, pages=[17 if hit else 3])],
        answer="" if refused else "15 consecutive days",
        refused=refused,
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.unit
def test_overlap_band_boundaries() -> None:
    assert STAFF_BAND == "≤0.30" and DOCUMENT_BAND == ">0.30"
    assert overlap_band(0.0) == STAFF_BAND
    assert overlap_band(0.30) == STAFF_BAND  # the limit itself is staff wording
    assert overlap_band(0.301) == DOCUMENT_BAND
    assert overlap_band(1.0) == DOCUMENT_BAND
    assert overlap_band(None) is None


@pytest.mark.unit
def test_metrics_per_overlap_splits_answerable_questions_by_band() -> None:
    records = [
        _record("s1", hit=True, overlap=0.1),
        _record("s2", hit=False, overlap=0.3, refused=True),
        _record("d1", hit=True, overlap=0.6),
        _record("x", hit=True),  # overlap not computed: in no band
        _record("u", answerable=False, refused=True),  # unanswerable: no overlap
    ]
    bands = metrics_per_overlap(records)
    assert list(bands) == [STAFF_BAND, DOCUMENT_BAND]
    staff, document = bands[STAFF_BAND], bands[DOCUMENT_BAND]
    assert (staff.n, staff.n_answerable, staff.n_unanswerable) == (2, 2, 0)
    assert staff.hit_1 == 0.5
    assert staff.false_refusal_rate == 0.5
    assert staff.key_fact_coverage == 0.5  # the refused one has no answer
    assert staff.refusal_recall is None
    assert (document.n, document.hit_1, document.false_refusal_rate) == (1, 1.0, 0.0)
    assert set(staff.to_json_dict()) == set(bands[DOCUMENT_BAND].to_json_dict())


@pytest.mark.unit
def test_metrics_per_overlap_leaves_out_empty_bands() -> None:
    assert list(metrics_per_overlap([_record("d", overlap=0.9)])) == [DOCUMENT_BAND]
    assert metrics_per_overlap([_record("x")]) == {}


@pytest.mark.unit
def test_metrics_per_lang_orders_en_ru_kk_and_keeps_unanswerable() -> None:
    records = [
        _record("k1", lang="kk", hit=False),
        _record("r1", lang="ru"),
        _record("e1", lang="en"),
        _record("e2", hit=False),  # default language: en
        _record("u", answerable=False, refused=True, lang="ru"),
    ]
    langs = metrics_per_lang(records)
    assert list(langs) == ["en", "ru", "kk"]
    assert (langs["en"].n, langs["en"].hit_1) == (2, 0.5)
    assert (langs["ru"].n, langs["ru"].hit_1, langs["ru"].refusal_recall) == (2, 1.0, 1.0)
    assert (langs["kk"].n, langs["kk"].hit_1, langs["kk"].refusal_recall) == (1, 0.0, None)
    retrieval_only = metrics_per_lang(records, answers=False)
    assert retrieval_only["en"].key_fact_coverage is None
