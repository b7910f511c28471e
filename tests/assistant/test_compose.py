"""The extractive composer's choice of sentences to quote."""

from __future__ import annotations

import pytest

from assistant.compose import ExtractiveComposer

pytestmark = pytest.mark.unit

TEXT = (
    "Visits are held in the visits hall every afternoon. "
    "Each visit lasts at least one hour. "
    "Children may visit with an adult. "
    "Legal advisers see prisoners out of the hearing of staff. "
    "Such meetings may be seen but not heard. "
    "The hall closes at six."
)
IDF = {"visit": 2.0, "hall": 1.0}


def _quoted(seed: int | None) -> str:
    spans = ExtractiveComposer()._select(TEXT, {"visit", "hall"}, IDF, budget=20, boundaries=[], seed=seed)
    return " ".join(TEXT[a:b] for a, b in spans)


def test_without_a_window_the_quote_starts_from_the_sentence_sharing_most_words() -> None:
    assert _quoted(None).startswith("Visits are held in the visits hall")


def test_the_quote_starts_from_the_retrievers_best_window() -> None:
    quoted = _quoted(3)
    assert quoted.startswith("Legal advisers see prisoners out of the hearing of staff.")
    assert "Such meetings may be seen but not heard." in quoted
    assert "Visits are held" not in quoted


def test_a_window_past_the_last_sentence_is_ignored() -> None:
    assert _quoted(40) == _quoted(None)
