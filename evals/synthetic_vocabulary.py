"""Vocabulary of the synthetic handbooks (evals/synthetic_corpus.py): topics, sentence templates,
names and the planted needles, and `Prose`, which fills the templates.

The words are data, in synthetic_vocabulary.toml beside this module (read once, at import);
this module gives them types. Sentences are grammatical by construction: every template slot
takes one kind of phrase (a role, a noun phrase of the topic, a verb in the form the template
needs, a time limit...).
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VOCABULARY_FILE = Path(__file__).with_suffix(".toml")


@dataclass(frozen=True)
class Topic:
    name: str
    chapters: tuple[str, ...]
    subheadings: tuple[str, ...]
    nouns: tuple[str, ...]  # plural or mass noun phrases, used as objects and subjects
    verbs: tuple[tuple[str, str, str], ...]  # base, past participle, gerund
    roles: tuple[str, ...]
    facts: tuple[str, ...]  # whole sentences specific to the topic
    questions: tuple[str, ...]  # generic staff questions about it (latency benchmark)


@dataclass(frozen=True)
class NeedleTemplate:
    key: str
    sentence: str  # the planted rule, quoted by a correct answer
    details: str  # two more sentences on the same subject: a needle rule is about one thing, as real rules are
    question: str
    phrase: str  # distinctive words of `sentence` that a correct answer quotes

    @property
    def text(self) -> str:
        return f"{self.sentence} {self.details}"


def load_vocabulary(path: Path = VOCABULARY_FILE) -> dict[str, Any]:
    """The TOML file as read; a missing or malformed table fails with one line naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    for table in ("phrases", "topic", "needle"):
        if table not in data:
            raise ValueError(f"{path}: no [{table}] table")
    return data


def _topic(entry: dict[str, Any]) -> Topic:
    def words(name: str) -> tuple[str, ...]:
        return tuple(entry[name])

    verbs = tuple((base, participle, gerund) for base, participle, gerund in entry["verbs"])
    return Topic(
        entry["name"], words("chapters"), words("subheadings"), words("nouns"), verbs, words("roles"),
        words("facts"), words("questions"),
    )  # fmt: skip


_DATA = load_vocabulary()
_PHRASES: dict[str, list[str]] = _DATA["phrases"]

TOPICS: tuple[Topic, ...] = tuple(_topic(entry) for entry in _DATA["topic"])
NEEDLES: tuple[NeedleTemplate, ...] = tuple(NeedleTemplate(**entry) for entry in _DATA["needle"])

ROLES = tuple(_PHRASES["roles"])
TIMES = tuple(_PHRASES["times"])
FREQUENCIES = tuple(_PHRASES["frequencies"])
EXCEPTIONS = tuple(_PHRASES["exceptions"])
NEEDS = tuple(_PHRASES["needs"])
BOARDS = tuple(_PHRASES["boards"])
RECORDS = tuple(_PHRASES["records"])
CONSIDERATIONS = tuple(_PHRASES["considerations"])
PROHIBITED = tuple(_PHRASES["prohibited"])
PRISONER_CONDITIONS = tuple(_PHRASES["prisoner_conditions"])
PARTICIPLE_OPENERS = tuple(_PHRASES["participle_openers"])
TEMPLATES = tuple(_PHRASES["templates"])
LIST_LEADS = tuple(_PHRASES["list_leads"])
LIST_ITEMS = tuple(_PHRASES["list_items"])
PLACES = tuple(_PHRASES["places"])
PLACE_SUFFIXES = tuple(_PHRASES["place_suffixes"])
MONTHS = tuple(_PHRASES["months"])


class Prose:
    """Sentences from the templates with the slots filled from one topic and the shared lists."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _fill(self, template: str, topic: Topic) -> str:
        rng = self.rng
        verb = rng.choice(topic.verbs)
        roles = topic.roles + ROLES
        role, role2 = rng.sample(roles, 2)
        values = {
            "role": role,
            "role2": role2,
            "noun": rng.choice(topic.nouns),
            "verb": verb[0],
            "pp": verb[1],
            "ing": verb[2],
            "time": rng.choice(TIMES),
            "freq": rng.choice(FREQUENCIES),
            "exception": rng.choice(EXCEPTIONS),
            "need": rng.choice(NEEDS),
            "board": rng.choice(BOARDS),
            "record": rng.choice(RECORDS),
            "consideration": rng.choice(CONSIDERATIONS),
            "prohibited": rng.choice(PROHIBITED),
            "pcond": rng.choice(PRISONER_CONDITIONS),
            "opener": rng.choice(PARTICIPLE_OPENERS),
        }
        capitalised = {key.capitalize(): _cap(value) for key, value in values.items()}
        return template.format(**values, **capitalised)

    def sentence(self, topic: Topic) -> str:
        if self.rng.random() < 0.12:
            return self.rng.choice(topic.facts)
        return self._fill(self.rng.choice(TEMPLATES), topic)

    def sentences(self, topic: Topic, words: int) -> list[str]:
        out: list[str] = []
        count = 0
        while count < words:
            sentence = self.sentence(topic)
            if out and sentence == out[-1]:
                continue
            out.append(sentence)
            count += len(sentence.split())
        return out

    def list_block(self, topic: Topic) -> tuple[str, list[str]]:
        lead = self._fill(self.rng.choice(LIST_LEADS), topic)
        items = [self._fill(t, topic) for t in self.rng.sample(LIST_ITEMS, self.rng.randint(2, 4))]
        letters = "abcdefgh"
        out = []
        for i, item in enumerate(items):
            end = "." if i == len(items) - 1 else (";" if i < len(items) - 2 else "; and")
            out.append(f"({letters[i]}) {item}{end}")
        return lead, out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
