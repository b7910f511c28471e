"""The measured process's pure parts: the latency summary and whether an answer cites a needle."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from evals.scale.measure import latency_summary, needle_cited, needle_rank

NEEDLE = {"doc_id": "syn-1", "ref": "Rule 7", "phrase": "blue lanyard", "question": "?", "key": "n1"}


@pytest.mark.unit
def test_latency_summary_uses_the_one_percentile() -> None:
    assert latency_summary([10.0, 20.0, 30.0, 40.0, 50.0]) == {"p50": 30.0, "p95": 48.0, "mean": 30.0, "max": 50.0}
    assert latency_summary([]) == {"p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}


@pytest.mark.unit
def test_needle_cited_and_ranked() -> None:
    cite = SimpleNamespace(doc="syn-1", ref="Rule 7", quote="Staff wear a  Blue\nlanyard at all times.")
    other = SimpleNamespace(doc="syn-2", ref="Rule 7", quote="a blue lanyard")
    passages = [SimpleNamespace(doc="syn-2", text="nothing"), SimpleNamespace(doc="syn-1", text="the blue lanyard")]
    assert needle_cited(SimpleNamespace(citations=[other, cite]), NEEDLE) == (True, False)
    assert needle_cited(SimpleNamespace(citations=[cite]), NEEDLE) == (True, True)
    assert needle_cited(SimpleNamespace(citations=[]), NEEDLE) == (False, False)
    assert needle_rank(SimpleNamespace(passages=passages), NEEDLE) == 2
    assert needle_rank(SimpleNamespace(passages=passages[:1]), NEEDLE) is None
