"""Query expansion from staff wording ("bang-up", "the block") to the standards' terms.

Staff ask in jargon and slang, the standards answer in formal language ("solitary
confinement", "instruments of restraint"), so lexical retrieval misses unless the
question also carries the formal words. The glossary lives in corpus/glossary.toml.

Matching rules:
- whole words / whole phrases only ("screwdriver" never matches "screw");
- case-insensitive, except phrases written entirely in capitals ("SO", "PO", "IEP",
  also "COs"), which are acronyms and must match case-sensitively so that "so" or "po"
  in ordinary prose do not trigger them;
- spaces and hyphens between the words of a phrase are interchangeable ("bang up" =
  "bang-up"); other punctuation breaks a phrase ("bang, up" is not "bang up");
- the longest phrase wins where phrases overlap ("strip search" over "search");
- cheap inflections on the last word: possessive 's and plural -s always, -es/-ed/-d/-ing
  for words of four letters or more (short words would over-match: "pod", "sod");
- Russian and Kazakh (Cyrillic) phrases match by word beginnings, because both languages
  inflect every word and Kazakh stacks suffixes: each word of a Cyrillic phrase is cut to
  a stem (a Russian ending dropped where at least five letters remain: "свидание" ->
  "свидан") and matches any word that starts with the stem and adds at most eight
  letters ("свидания", "свиданиями"; Kazakh "сотталған" -> "сотталғандарға"); "ё"
  counts as "е".
  Stems shorter than five letters take at most three more letters, so that "шизо" does
  not match "шизофрения". Cyrillic acronyms ("ШИЗО", "ПКТ") match case-sensitively as
  written, like Latin ones.

Implementation: one precompiled tokenizer regex plus dictionary look-ups of word n-grams.
A single regex alternation of the ~2,500 phrases was measured at ~30 ms per question,
and even as a prefix trie it took ~0.4 s to compile; the n-gram look-up costs tens of
microseconds per question and well under 0.1 s to build. A Cyrillic word costs a few more
look-ups: its beginnings, longest first, against the stems of the phrases' first words.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.language import PROFILES
from ingest.tomlfile import read_tables

# A word, keeping inner "&" and "'" ("C&R", "women's"); hyphens and spaces separate words.
_TOKEN_RE = re.compile(r"\w(?:[\w&']*\w)?")
_SUFFIXES_LONG: tuple[str, ...] = ("ing", "ed", "es", "s", "d")  # longest first for stripping
_SUFFIXES_SHORT: tuple[str, ...] = ("s",)
_POSSESSIVE = "'s"

_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
# Russian case/number/gender endings dropped from a phrase word to get its stem, longest first
# (the Russian language profile's, assistant/language.py).
_RU_ENDINGS: tuple[str, ...] = PROFILES["ru"].glossary_endings
_STEM_MIN = 5  # an ending is only dropped when this many letters remain
_SHORT_STEM_EXTRA = 3  # letters a word may add to a stem shorter than _STEM_MIN
_LONG_STEM_EXTRA = 8  # ... and to a longer stem (Kazakh stacks plural + possessive + case)


class GlossaryError(ValueError):
    """A glossary that cannot be used; the message is one line naming file and entry."""


@dataclass(frozen=True)
class GlossaryEntry:
    phrases: tuple[str, ...]  # what staff say
    means: tuple[str, ...]  # formal wording used in the standards


# One written form of a phrase (as written or inflected): (rank, entry index, case_exact).
# rank: lower wins where two phrases share a written form; case_exact: for acronyms the
# words as they must be written, else None. A plain tuple: ~15,000 of these are built.
_Form = tuple[int, int, "str | None"]


# A Cyrillic phrase: (stems of its words, entry index).
_StemPhrase = tuple[tuple[str, ...], int]


class Glossary:
    """Maps glossary phrases found in a question to the formal phrases they stand for."""

    def __init__(self, entries: list[GlossaryEntry]) -> None:
        self.entries = list(entries)
        # lower-cased words of every written form, inflections included -> its readings
        self._forms: dict[tuple[str, ...], list[_Form]] = {}
        # first word (lower-case) -> the most words any phrase starting with it has
        self._max_words: dict[str, int] = {}
        # stem of the first word -> the Cyrillic phrases starting with it (matched by prefix)
        self._stems: dict[str, list[_StemPhrase]] = {}
        self._index()

    @classmethod
    def load(cls, path: Path) -> Glossary:
        path = Path(path)
        raw_terms = read_tables(
            path, "term", not_found="glossary file not found", cannot_read="glossary", error=GlossaryError
        )
        if not isinstance(raw_terms, list) or not raw_terms:
            raise GlossaryError(f"{path}: no [[term]] tables found")

        entries = [_parse_entry(path, number, raw) for number, raw in enumerate(raw_terms, start=1)]
        try:
            return cls(entries)
        except GlossaryError as exc:
            raise GlossaryError(f"{path}: {exc}") from None

    def expand(self, query: str) -> list[str]:
        """Formal phrases for every glossary phrase in `query`, in order of appearance."""
        text = _normalise_quotes(query)
        matches = list(_TOKEN_RE.finditer(text))
        lowers = [m.group().lower() for m in matches]
        expansions: list[str] = []
        seen: set[str] = set()
        # Folded words for stem matching; only needed when the question has Cyrillic.
        folded = [_fold(word) for word in lowers] if self._stems and _CYRILLIC_RE.search(text) else []
        i = 0
        while i < len(matches):
            entry: int | None = None
            width = 0
            # Most words start no phrase: one dict look-up rules them out.
            if lowers[i] in self._max_words:
                entry, width = self._match_at(text, matches, lowers, i)
            if folded and _CYRILLIC_RE.search(lowers[i]):
                stem_entry, stem_width = self._match_stems(text, matches, folded, i)
                if stem_width > width:  # a tie keeps the exact (acronym) reading
                    entry, width = stem_entry, stem_width
            if entry is None:
                i += 1
                continue
            i += width
            for phrase in self.entries[entry].means:
                key = phrase.casefold()
                if key not in seen:
                    seen.add(key)
                    expansions.append(phrase)
        return expansions

    def expand_query(self, query: str) -> str:
        """The query with the expansions it does not already contain appended."""
        haystack = f" {_words(query)} "
        extra = [phrase for phrase in self.expand(query) if f" {_words(phrase)} " not in haystack]
        return f"{query} {'; '.join(extra)}" if extra else query

    def __len__(self) -> int:
        return len(self.entries)

    def _match_at(self, text: str, matches: list[re.Match[str]], lowers: list[str], i: int) -> tuple[int | None, int]:
        """(entry, number of words) of the longest phrase starting at word i."""
        widest = min(self._max_words[lowers[i]], len(matches) - i)
        # A phrase may only span words joined by spaces/hyphens.
        joined = 1
        while joined < widest and _is_separator(text[matches[i + joined - 1].end() : matches[i + joined].start()]):
            joined += 1
        for width in range(joined, 0, -1):
            for _rank, entry, case_exact in self._forms.get(tuple(lowers[i : i + width]), ()):
                if case_exact is None or case_exact == " ".join(m.group() for m in matches[i : i + width]):
                    return entry, width
        return None, 0

    def _match_stems(
        self, text: str, matches: list[re.Match[str]], folded: list[str], i: int
    ) -> tuple[int | None, int]:
        """(entry, number of words) of the longest Cyrillic phrase whose stems begin the words from i."""
        word = folded[i]
        best: tuple[int, int] = (0, 0)  # (words, letters in stems): more words, then longer stems win
        found: int | None = None
        for cut in range(len(word), max(len(word) - _LONG_STEM_EXTRA, 1) - 1, -1):
            for stems, entry in self._stems.get(word[:cut], ()):
                width = len(stems)
                if i + width > len(matches) or (width, sum(map(len, stems))) <= best:
                    continue
                if not all(
                    _is_separator(text[matches[i + k - 1].end() : matches[i + k].start()]) for k in range(1, width)
                ):
                    continue
                if all(_stem_matches(stem, folded[i + k]) for k, stem in enumerate(stems)):
                    best, found = (width, sum(map(len, stems))), entry
        return found, best[0]

    def _index(self) -> None:
        # A phrase in two entries would make its expansion depend on file order.
        owner: dict[tuple[str, ...], int] = {}
        for index, entry in enumerate(self.entries):
            for phrase in entry.phrases:
                words = _phrase_words(phrase)
                if words is None:
                    raise GlossaryError(
                        f"{_label(index, entry)}: phrase {phrase!r} has punctuation other than "
                        "spaces, hyphens, inner & or '"
                    )
                acronym = _is_acronym(phrase)
                if not acronym and _CYRILLIC_RE.search(phrase):
                    self._add_stems(index, entry, phrase, tuple(_stem(_fold(word)) for word in words), owner)
                    continue
                key = tuple(words) if acronym else tuple(word.lower() for word in words)
                if key in owner:
                    if owner[key] != index:
                        raise GlossaryError(
                            f"{_label(index, entry)}: phrase {phrase!r} is also in term #{owner[key] + 1}"
                        )
                    continue
                owner[key] = index
                self._add_forms(index, words, acronym)
        for readings in self._forms.values():
            readings.sort(key=lambda form: form[0])  # stable; never compares case_exact

    def _add_stems(
        self, index: int, entry: GlossaryEntry, phrase: str, stems: tuple[str, ...], owner: dict[tuple[str, ...], int]
    ) -> None:
        # Stems live in their own key space ("~" cannot start a word): "свидание" and
        # "свидания" share a stem and may sit in one entry, but not in two.
        key = tuple("~" + stem for stem in stems)
        if key in owner:
            if owner[key] != index:
                raise GlossaryError(
                    f"{_label(index, entry)}: phrase {phrase!r} has the same stems as a phrase "
                    f"in term #{owner[key] + 1}"
                )
            return
        owner[key] = index
        self._stems.setdefault(stems[0], []).append((stems, index))

    def _add_forms(self, index: int, words: list[str], acronym: bool) -> None:
        # Inflected forms are precomputed so that matching is one dict look-up per width.
        # Where forms collide, a phrase as written beats another phrase's inflection
        # ("pads" listed vs "pad" + s), and an exact-case acronym beats a lower-case twin.
        head, last = words[:-1], words[-1]
        lowered_head = tuple(word.lower() for word in head)
        for suffix in ("", *_suffixes(last, acronym), _POSSESSIVE):
            rank = (0 if suffix == "" else 2) + (0 if acronym else 1)
            case_exact = " ".join([*head, last + suffix]) if acronym else None
            key = (*lowered_head, (last + suffix).lower())
            self._forms.setdefault(key, []).append((rank, index, case_exact))
        # Keyed by the first word as written, so inflected one-word forms count too.
        first = words[0].lower()
        self._max_words[first] = max(self._max_words.get(first, 1), len(words))
        if len(words) == 1:
            for suffix in (*_suffixes(last, acronym), _POSSESSIVE):
                self._max_words.setdefault((last + suffix).lower(), 1)


def _phrase_words(phrase: str) -> list[str] | None:
    """The words of a phrase, or None when anything but separators lies between them."""
    text = _normalise_quotes(phrase).strip()
    matches = list(_TOKEN_RE.finditer(text))
    if not matches or matches[0].start() != 0 or matches[-1].end() != len(text):
        return None
    for before, after in itertools.pairwise(matches):
        if not _is_separator(text[before.end() : after.start()]):
            return None
    return [m.group() for m in matches]


def _is_separator(gap: str) -> bool:
    return bool(gap) and not gap.replace("-", " ").strip()


def _parse_entry(path: Path, number: int, raw: object) -> GlossaryEntry:
    if not isinstance(raw, dict):
        raise GlossaryError(f"{path}: term #{number}: expected a table with 'phrases' and 'means'")
    label = f"term #{number}"
    phrases = raw.get("phrases")
    if isinstance(phrases, list) and phrases and isinstance(phrases[0], str):
        label = f"term #{number} ({phrases[0]!r})"
    unknown = sorted(set(raw) - {"phrases", "means"})
    if unknown:
        raise GlossaryError(f"{path}: {label}: unknown field(s) {', '.join(unknown)}")
    values: dict[str, tuple[str, ...]] = {}
    for key in ("phrases", "means"):
        value = raw.get(key)
        if value is None:
            raise GlossaryError(f"{path}: {label}: missing field '{key}'")
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(item, str) and item.strip() for item in value)
        ):
            raise GlossaryError(f"{path}: {label}: '{key}' must be a non-empty list of non-empty strings")
        values[key] = tuple(" ".join(item.split()) for item in value)
    return GlossaryEntry(phrases=values["phrases"], means=values["means"])


def _is_acronym(phrase: str) -> bool:
    # A plural "s" after capitals ("COs", "VPs") still marks an acronym; without this
    # "COs" would match the everyday word "cos".
    letters = [ch for ch in re.sub(r"(?<=[A-Z])s\b", "", phrase) if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters)


def _suffixes(last_word: str, acronym: bool) -> tuple[str, ...]:
    if acronym:
        return _SUFFIXES_SHORT  # "SOs", "VPs"
    if last_word.isalpha() and len(last_word) >= 4:
        return _SUFFIXES_LONG
    if last_word.isalpha() and len(last_word) == 3:
        return _SUFFIXES_SHORT
    return ()


def _fold(word: str) -> str:
    return word.lower().replace("ё", "е")


def _stem(word: str) -> str:
    """A folded Cyrillic word without its Russian ending, when enough of it remains."""
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _STEM_MIN:
            return word[: -len(ending)]
    return word


def _stem_matches(stem: str, word: str) -> bool:
    extra = len(word) - len(stem)
    limit = _LONG_STEM_EXTRA if len(stem) >= _STEM_MIN else _SHORT_STEM_EXTRA
    return word.startswith(stem) and extra <= limit


def _label(index: int, entry: GlossaryEntry) -> str:
    return f"term #{index + 1} ({entry.phrases[0]!r})"


def _normalise_quotes(text: str) -> str:
    # Typographic apostrophes from phones and word processors ("women’s").
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", _normalise_quotes(text).casefold()))
