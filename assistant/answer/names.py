"""The names a question may use for what the documents are about, and which documents they point at.

Two sources: the documents' profiles, written with each index generation (ingest/profiles.py:
the manifest's jurisdictions, institutions and places, and the names each document uses and
defines), and the corpus-level alias table, corpus/aliases.toml, for what the documents cannot
say themselves (the city a prison is in, an agency's old name, the jurisdiction it serves).

A name matches whatever its case, punctuation, possessive or plural ("the AMC's", "H.M.P.P.S.",
"Alexander Maconochie Centres"): `name_key` is the one normal form on both sides. The
answerability checks (assistant/answer/decision.py) ask `NameIndex.find` which known names a
question holds: a known name is not "never mentioned", and it is not absent from the closest
passages when one of its documents is among theirs.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ingest.corpus_manifest import DOC_ID_RULE, NAME_MAX_LENGTH, is_doc_id
from ingest.profiles import DocumentProfile, ProfileSet
from ingest.tomlfile import read_tables, single_line

log = logging.getLogger(__name__)

MAX_NAME_WORDS = 8  # the longest name looked up in a question, in words

# A word of a name: letters and digits, with inner apostrophes, dots, "&" and hyphens ("U.S", "C&R").
_WORD = re.compile(r"[^\W_](?:[\w'’.&-]*[^\W_])?")
_KEY_DROP = re.compile(r"[^\w\s]")


def name_key(name: str) -> str:
    """The normal form names are matched in: lower case, no punctuation, no possessive, no leading
    "the", each word's plural -s dropped ("the AMC's" -> "amc", "H.M. Prisons" -> "hm prison")."""
    text = unicodedata.normalize("NFKC", name).replace("’", "'").lower()
    text = re.sub(r"'s\b|s'(?=\s|$)", lambda m: "" if m.group(0) == "'s" else "s", text)
    text = re.sub(r"(?<=\w)\.(?=\w)", "", text)  # "u.s" -> "us", "h.m." -> "hm."
    words = _KEY_DROP.sub(" ", text).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(_singular(w) for w in words)


def _in_capitals(name: str) -> bool:
    """ "ACT", "U.S.", "the AMC's": every letter but a leading "the" and a possessive's s is a capital."""
    letters = [ch for ch in re.sub(r"['’]s\b|^\s*the\s+", "", name, flags=re.IGNORECASE) if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters)


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# --- the alias table ----------------------------------------------------------------------------


class AliasError(ValueError):
    """An alias table that cannot be used; the message is one line naming the file and the group."""


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH, pattern=r"^[^\n\r\t]+$")
]


class AliasGroup(BaseModel):
    """Names that mean the same thing to a reader, and the documents about it; or, with `applies_in`, places
    that the documents apply in without naming them (the UN member states, for the UN's standards)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    names: list[Name] = Field(min_length=2)
    # The documents the names point at; the documents whose profiles hold one of the names are added.
    documents: list[str] = Field(default_factory=list)
    note: str = ""  # why the names belong together (for the reader of the file)
    # True: each name is a place of its own where `documents` apply, though they say nothing specific to it.
    # A name a profile or another group knows keeps what that says (its own documents).
    applies_in: bool = False


class AliasTable:
    """corpus/aliases.toml: groups of equivalent names and the documents they point at."""

    def __init__(self, groups: Iterable[AliasGroup] = ()) -> None:
        self.groups = list(groups)

    def __len__(self) -> int:
        return len(self.groups)

    @classmethod
    def load(cls, path: Path) -> AliasTable:
        """Read and check the table; AliasError (one line naming the file and group) when it cannot be used."""
        path = Path(path)
        raw_groups = read_tables(
            path, "alias", not_found="alias table not found", cannot_read="the alias table", error=AliasError
        )
        if raw_groups is None:
            raw_groups = []
        if not isinstance(raw_groups, list):
            raise AliasError(f"{path}: 'alias' must be [[alias]] tables")
        groups: list[AliasGroup] = []
        seen: dict[str, tuple[int, str]] = {}  # name key -> (group number, name as written)
        for number, raw in enumerate(raw_groups, start=1):
            label = f"alias #{number}"
            try:
                group = AliasGroup.model_validate(raw)
            except ValidationError as exc:
                raise AliasError(f"{path}: {label}: {_describe(exc)}") from None
            bad = [doc_id for doc_id in group.documents if not is_doc_id(doc_id)]
            if bad:
                raise AliasError(f"{path}: {label}: field 'documents': {bad[0]!r} is not a document id ({DOC_ID_RULE})")
            for name in group.names:
                key = name_key(name)
                if not key:
                    raise AliasError(f"{path}: {label}: field 'names': {name!r} has no letters or digits")
                if key in seen and seen[key][0] != number:
                    other, written = seen[key]
                    raise AliasError(
                        f"{path}: {label}: name {name!r} is also in alias #{other} (as {written!r}); "
                        "a name belongs to one group"
                    )
                seen[key] = (number, name)
            groups.append(group)
        return cls(groups)


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else "entry"
        if error["type"] == "missing":
            parts.append(f"missing field '{field}'")
        elif error["type"] == "extra_forbidden":
            parts.append(f"unknown field '{field}' (expected names, documents, note, applies_in)")
        elif field == "names" and error["type"] == "too_short":
            parts.append("field 'names': give at least two names that mean the same")
        elif len(loc) > 1 and isinstance(loc[1], int):
            parts.append(f"field '{field}', item {loc[1] + 1}: {error.get('input')!r}: {error['msg']}")
        else:
            parts.append(f"field '{field}': {error['msg']}")
    return single_line("; ".join(parts))


# --- the name index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NameHit:
    """A known name found in a text: where, as written, and the documents it points at."""

    text: str
    start: int
    end: int
    documents: tuple[str, ...]
    # A place the documents apply in without saying anything specific to it (an `applies_in` alias group).
    applies_only: bool = False


class NameIndex:
    """Known names -> the documents they point at, from the documents' profiles and the alias table."""

    def __init__(
        self,
        profiles: ProfileSet | Mapping[str, DocumentProfile] | None = None,
        aliases: AliasTable | None = None,
    ) -> None:
        documents = profiles.documents if isinstance(profiles, ProfileSet) else dict(profiles or {})
        self._docs: dict[str, list[str]] = {}
        # Keys only ever written in capitals ("ACT", "CAT", "US"): matched only in capitals, never "Act" or "Us".
        self._capitals: set[str] = set()
        self._written_otherwise: set[str] = set()
        for doc_id, profile in documents.items():
            for name in profile.names():
                self._add(name, [doc_id])
        groups = (aliases or AliasTable()).groups
        for group in (g for g in groups if not g.applies_in):
            keys = [name_key(name) for name in group.names]
            # The group's documents, and those whose own names include one of the group's.
            pointed = list(group.documents) + [d for key in keys for d in self._docs.get(key, [])]
            for name in group.names:
                self._add(name, pointed)
        # Places the documents merely apply in come last: a name known otherwise keeps its own documents.
        self._applies_only: set[str] = set()
        for group in (g for g in groups if g.applies_in):
            for name in group.names:
                key = name_key(name)
                if key and key not in self._docs:
                    self._add(name, group.documents)
                    self._applies_only.add(key)
        self._capitals -= self._written_otherwise
        self._longest = max((len(key.split()) for key in self._docs), default=0)

    def _add(self, name: str, doc_ids: Iterable[str]) -> None:
        key = name_key(name)
        if not key:
            return
        entry = self._docs.setdefault(key, [])
        entry.extend(d for d in doc_ids if d not in entry)
        (self._capitals if _in_capitals(name) else self._written_otherwise).add(key)

    @classmethod
    def load(cls, profiles: ProfileSet | None, aliases_path: Path | None) -> NameIndex:
        """The index of a generation's profiles and the alias table at `aliases_path` (None or missing: none).

        An index written before profiles existed has none: its names come from the aliases alone.
        """
        if profiles is None:
            log.debug("the index holds no document profiles (written before them): names are known from aliases only")
        aliases = AliasTable.load(aliases_path) if aliases_path is not None and aliases_path.is_file() else None
        return cls(profiles, aliases)

    def __len__(self) -> int:
        return len(self._docs)

    def is_known(self, name: str) -> bool:
        """Whether a profile or an alias holds the name (in any case, punctuation, possessive or plural;
        a name only ever written in capitals, "ACT", only in capitals)."""
        key = name_key(name)
        return key in self._docs and (key not in self._capitals or _in_capitals(name))

    def documents_for(self, name: str) -> list[str]:
        """The documents the name points at ([] for an unknown name)."""
        return list(self._docs.get(name_key(name), [])) if self.is_known(name) else []

    def find(self, text: str) -> list[NameHit]:
        """The known names in a text, left to right, the longest where they overlap. A name starts and
        ends with a capitalised word ("Canberra", "the AMC's", "HM Prison and Probation Service"),
        so that a common word ("act", "centre") is never taken for one."""
        words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
        hits: list[NameHit] = []
        i = 0
        while i < len(words):
            if not words[i][2][:1].isupper():
                i += 1
                continue
            for j in range(min(len(words), i + min(self._longest, MAX_NAME_WORDS)), i, -1):
                last = words[j - 1][2]
                if not (last[:1].isupper() or last[:1].isdigit()):
                    continue
                start, end = words[i][0], words[j - 1][1]
                key = name_key(text[start:end])
                docs = self._docs.get(key)
                if docs is not None and (key not in self._capitals or _in_capitals(text[start:end])):
                    hits.append(NameHit(text[start:end], start, end, tuple(docs), key in self._applies_only))
                    i = j
                    break
            else:
                i += 1
        return hits
