"""The vocabulary of the synthetic handbooks: synthetic_vocabulary.toml read into typed records."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from evals.synthetic_vocabulary import (
    LIST_ITEMS,
    LIST_LEADS,
    NEEDLES,
    TEMPLATES,
    TOPICS,
    VOCABULARY_FILE,
    Prose,
    load_vocabulary,
)

pytestmark = pytest.mark.unit


def test_topics_are_typed_and_complete() -> None:
    assert len({t.name for t in TOPICS}) == len(TOPICS) >= 10
    for topic in TOPICS:
        assert topic.chapters and topic.nouns and topic.roles and topic.facts and topic.questions
        assert all(isinstance(v, tuple) and len(v) == 3 for v in topic.verbs), topic.name


def test_every_template_slot_is_filled_for_every_topic() -> None:
    """A slot the prose does not know would fail only when the seed happens to draw its template."""
    prose = Prose(random.Random(1))
    for topic in TOPICS:
        for template in (*TEMPLATES, *LIST_LEADS, *LIST_ITEMS):
            text = prose._fill(template, topic)
            assert "{" not in text and "}" not in text, template
    slots = {name for t in TEMPLATES for _, name, _, _ in string.Formatter().parse(t) if name}
    assert "Role" in slots and "noun" in slots


def test_needles_quote_their_own_phrase() -> None:
    assert len({n.key for n in NEEDLES}) == len(NEEDLES) == 6
    for needle in NEEDLES:
        assert needle.phrase.lower() in needle.sentence.lower()
        assert needle.text.startswith(needle.sentence)


def test_a_broken_vocabulary_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "vocabulary.toml"
    bad.write_text('[phrases]\nroles = ["unterminated\n')
    with pytest.raises(ValueError, match=r"vocabulary\.toml: "):
        load_vocabulary(bad)
    bad.write_text("[phrases]\nroles = []\n")
    with pytest.raises(ValueError, match=r"vocabulary\.toml: no \[topic\] table"):
        load_vocabulary(bad)
    assert load_vocabulary(VOCABULARY_FILE)["phrases"]["months"][0] == "January"
