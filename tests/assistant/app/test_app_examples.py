"""The web app's example questions cite the passages they are there to show."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.app.ui import EXAMPLES

# Example question -> (document, refs of which at least one must be cited).
INTENDED = {
    "Can we read a prisoner's letters to his lawyer?": ("un-nelson-mandela-rules-A-RES-70-175-2015", {"Rule 61"}),
    "How long can someone be kept in segregation?": (
        "un-nelson-mandela-rules-A-RES-70-175-2015",
        {"Rule 43", "Rule 44", "Rule 45"},
    ),
    "A visitor refuses to be searched — what now?": (
        "hmpps-management-of-security-at-visits-policy-framework-closed-estate-2023",
        set(),
    ),
    "What do we have to record when a prisoner is admitted?": (
        "un-nelson-mandela-rules-A-RES-70-175-2015",
        {"Rule 6", "Rule 7", "Rule 8", "Rule 9"},
    ),
}


@pytest.mark.unit
def test_every_example_has_an_intended_passage() -> None:
    from assistant.app.i18n import examples

    assert set(EXAMPLES) == set(INTENDED) == set(examples("en"))


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("question", list(INTENDED))
def test_example_question_cites_its_passage(question: str, corpus_settings: Any) -> None:
    from assistant.chain import Assistant

    answer = Assistant.from_settings(corpus_settings).ask(question)
    doc, refs = INTENDED[question]
    cited = [(c.doc, c.ref) for c in answer.citations]
    assert not answer.refused, answer.answer
    assert any(d == doc and (not refs or ref in refs) for d, ref in cited), cited
