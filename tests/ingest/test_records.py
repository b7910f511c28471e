"""Chunk records: what the embedding model sees, and the windows scored on their own."""

from __future__ import annotations

import pytest

from ingest.records import Chunk

pytestmark = pytest.mark.unit


def _chunk(text: str) -> Chunk:
    return Chunk(
        id="c1",
        doc_id="rules",
        title="Mandela Rules",
        ref="Rule 44",
        headings=["Restrictions"],
        page_start=17,
        page_end=17,
        text=text,
    )


def test_windows_are_every_two_consecutive_sentences_of_the_passage() -> None:
    chunk = _chunk("Solitary means 22 hours a day. Prolonged means over 15 days. It is prohibited.")
    text = chunk.embedding_text()
    assert text.startswith("Mandela Rules | Restrictions | Rule 44\n")
    assert [text[a:b] for a, b in chunk.window_spans()] == [
        "Solitary means 22 hours a day. Prolonged means over 15 days.",
        "Prolonged means over 15 days. It is prohibited.",
    ]


def test_a_one_sentence_passage_has_no_windows() -> None:
    assert _chunk("Instruments of restraint shall never be applied as a sanction.").window_spans() == []
