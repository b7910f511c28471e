"""Document profiles: the names a document goes by and the names of what it is about.

A question names a prison, an agency or a place the way staff say it ("the AMC", "Canberra",
"HMPPS"); the documents say it their own way. Each document's profile gathers those names, from
the manifest (`jurisdictions`, `institutions`, `places`, ingest/corpus_manifest.py) and from the
document itself: the proper names of its title and title page, its most frequent proper names,
and the short forms it defines ("Alexander Maconochie Centre (AMC)", "... (the Centre)").

The profiles are written with each index generation (`profiles.json`, ingest/index_store.py) and
read by the assistant's name index (assistant/answer/names.py), next to the corpus-level alias
table for what the documents cannot say themselves (corpus/aliases.toml).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set

from pydantic import BaseModel, Field

from ingest.corpus_manifest import CorpusDocument, Manifest
from ingest.records import DocumentInfo, PageText

# Bumped when extraction changes: an index whose profiles.json holds another version gets new ones.
PROFILE_VERSION = 1
PROFILES_FILE = "profiles.json"

# Words that join the capitalised words of one name ("Department of Justice and Community Safety").
# Not "in": "the AMC in Canberra" is two names.
_CONNECTORS = frozenset({"of", "and", "for", "the", "on", "against", "de", "du", "des", "la", "&"})
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]|&")
# "Alexander Maconochie Centre (AMC)", "(the AMC)", "(the 'Centre')", "(HR Act)": a short form in parentheses.
_SHORT_FORM = re.compile(
    r"\(\s*(?:the\s+)?[\"'“‘]?(?:the\s+)?(?P<short>[A-Z][A-Za-z]*(?:[ -][A-Z][A-Za-z]*){0,3})[\"'”’]?\s*\)"
)
# Sentence openers that are never a name's first word (where the text's own lower-case words are not known).
_OPENERS = frozenset(
    {"the", "a", "an", "this", "these", "those", "that", "in", "on", "at", "for", "under", "all", "each",
     "every", "it", "if", "when", "where", "what", "how", "there", "such", "any", "no", "some", "as", "its"}
)  # fmt: skip
_MONTHS_AND_DAYS = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)  # fmt: skip
# Title-page words that are no part of a name a question would use.
_TITLE_NOISE = _MONTHS_AND_DAYS | {"a", "an", "report", "by", "policy", "name", "reference", "brief", "functional"}
# Capitalised words a document may never write in lower case that are still no names.
_NOT_NAMES = _MONTHS_AND_DAYS | {"however", "ibid", "yes", "para", "annex", "section", "part", "chapter", "page"}


class DocumentProfile(BaseModel):
    """The names one document goes by, and those of the jurisdictions, institutions and places it is about."""

    doc_id: str
    title: str = ""
    # From the manifest (and the manifest's `jurisdiction` label, "Australia (ACT)" -> Australia, ACT).
    jurisdictions: list[str] = Field(default_factory=list)
    institutions: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    # From the document: the proper names of its title and title page, and its most frequent ones.
    title_names: list[str] = Field(default_factory=list)
    frequent_names: list[str] = Field(default_factory=list)
    # Short forms the document defines in parentheses -> the name they stand for ("AMC" -> ...).
    abbreviations: dict[str, str] = Field(default_factory=dict)
    # Word forms it defines the same way ("Centre" -> "Alexander Maconochie Centre"): kept, but a
    # common word alone says little about which document a question means (see NameIndex).
    definitions: dict[str, str] = Field(default_factory=dict)

    def names(self) -> list[str]:
        """Every name of the profile, once, manifest fields first."""
        out = [
            *self.jurisdictions,
            *self.institutions,
            *self.places,
            *self.title_names,
            *self.frequent_names,
            *self.abbreviations,
            *self.abbreviations.values(),
            *self.definitions.values(),
        ]
        return list(dict.fromkeys(out))


class ProfileSet(BaseModel):
    """The profiles of one index generation, by document id (profiles.json)."""

    version: int = PROFILE_VERSION
    documents: dict[str, DocumentProfile] = Field(default_factory=dict)


class ProfileBuilder:
    """Builds the profiles of a generation's documents from their stored text and the manifest.

    Only the stored page texts are read (pages.jsonl): a document carried over unchanged gets its
    profile without being parsed again.
    """

    def __init__(
        self,
        manifest: Manifest | None = None,
        frequent: int = 30,
        min_count: int = 3,
        min_count_word: int = 5,
        title_words: int = 40,
    ) -> None:
        self.manifest = manifest
        self.frequent = frequent  # most frequent proper names kept per document
        self.min_count = min_count  # a proper name seen fewer times is not "frequent"
        # A one-word name ("Canberra") must be seen this often and never in lower case: one capitalised
        # word is more often a heading's or a title's than a place's.
        self.min_count_word = min_count_word
        self.title_words = title_words  # words of the first locations read as the title page

    def run(self, documents: Mapping[str, DocumentInfo], pages: Sequence[PageText]) -> ProfileSet:
        by_doc: dict[str, list[PageText]] = {}
        for page in pages:
            by_doc.setdefault(page.doc_id, []).append(page)
        profiles = {}
        for doc_id, info in documents.items():
            texts = [p.text for p in sorted(by_doc.get(doc_id, []), key=lambda p: p.page)]
            entry = self.manifest.get(doc_id) if self.manifest is not None and doc_id in self.manifest else None
            profiles[doc_id] = self.profile(doc_id, info.title, texts, entry)
        return ProfileSet(documents=profiles)

    def profile(
        self, doc_id: str, title: str, texts: Sequence[str], entry: CorpusDocument | None = None
    ) -> DocumentProfile:
        """One document's profile from its title, its locations' texts in order, and its manifest entry."""
        jurisdictions: list[str] = []
        institutions: list[str] = []
        places: list[str] = []
        if entry is not None:
            jurisdictions = [*_label_names(entry.jurisdiction), *entry.jurisdictions]
            institutions = list(entry.institutions)
            places = list(entry.places)
        lowered: set[str] = set()  # the words the document writes in lower case somewhere
        for text in texts:
            lowered.update(w for w in _WORD.findall(text) if w.islower())
        title_page = _title_page(texts, self.title_words)
        title_names = [
            name
            for name in [*proper_names(title, _TITLE_NOISE), *proper_names(title_page, _TITLE_NOISE)]
            # One common word of a title ("Visits", "Discipline") names nothing.
            if " " in name or name.isupper() or name.lower() not in lowered | _NOT_NAMES
        ]
        abbreviations: dict[str, str] = {}
        definitions: dict[str, str] = {}
        for text in texts:
            for short, long in defined_short_forms(text):
                # "AMC", "HR Act": an acronym names the thing; "the Centre" is a common word for it.
                target = abbreviations if any(w.isupper() and len(w) > 1 for w in short.split()) else definitions
                target.setdefault(short, long)
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(proper_names(text, common=lowered | _OPENERS))
        frequent = [name for name, n in counts.most_common() if self._frequent_name(name, n, lowered)]
        return DocumentProfile(
            doc_id=doc_id,
            title=title,
            jurisdictions=_unique(jurisdictions),
            institutions=_unique(institutions),
            places=_unique(places),
            title_names=_unique(title_names),
            frequent_names=frequent[: self.frequent],
            abbreviations=abbreviations,
            definitions=definitions,
        )

    def _frequent_name(self, name: str, count: int, lowered: Set[str]) -> bool:
        if " " in name:
            return count >= self.min_count
        if name.lower() in _NOT_NAMES:
            return False
        if name.isupper():
            return count >= self.min_count and len(name) > 1
        return count >= self.min_count_word and name.lower() not in lowered


def proper_names(
    text: str, breaks: frozenset[str] = frozenset(), common: Set[str] | frozenset[str] = _OPENERS
) -> list[str]:
    """The proper names of a text, in order, repeats kept: runs of capitalised words (or acronyms)
    joined by connectors ("Department of Justice and Community Safety"). A title-case word opening
    a sentence is left out when its lower case is a `common` word ("The", "Prisoners in Canberra"
    -> "Canberra"): capitalised there, it says nothing. Punctuation and the words in `breaks` end a name."""
    out: list[str] = []
    run: list[str] = []
    opened_sentence = False  # the run's first word opens a sentence
    position = 0

    def close() -> None:
        if opened_sentence and run and not run[0].isupper() and run[0].lower() in common:
            run.pop(0)
        while run and run[0].lower() in _CONNECTORS:
            run.pop(0)
        while run and run[-1].lower() in _CONNECTORS:
            run.pop()
        if run:
            out.append(" ".join(run))
        run.clear()

    for match in _WORD.finditer(text):
        word = match.group(0).strip("'’")
        gap = text[position : match.start()].strip()
        position = match.end()
        if gap and gap != "-":
            close()  # punctuation between two words ends a name
        if word.lower() in breaks:
            close()
            continue
        if word[:1].isupper():
            if not run:
                opened_sentence = match.start() == 0 or gap[-1:] in {".", "?", "!", ":", ";"}
            run.append(word)
        elif run and word.lower() in _CONNECTORS:
            run.append(word)
        else:
            close()
    close()
    return [name for name in out if len(name) > 1]


def defined_short_forms(text: str) -> list[tuple[str, str]]:
    """The short forms a text defines and the names they stand for, in order:
    "the Alexander Maconochie Centre (AMC)" -> ("AMC", "Alexander Maconochie Centre"),
    "... Centre (the Centre)" -> ("Centre", "Alexander Maconochie Centre"), "Human Rights Act 2004 (HR Act)"."""
    out: list[tuple[str, str]] = []
    for match in _SHORT_FORM.finditer(text):
        short = match.group("short")
        before = [w.strip("'’") for w in _WORD.findall(text[max(0, match.start() - 160) : match.start()])]
        long = _long_form(short, before)
        if long and long != short:
            out.append((short, long))
    return out


def _long_form(short: str, before: list[str]) -> str | None:
    """The words before a parenthesis that `short` abbreviates or shortens, or None."""
    run: list[str] = []  # the capitalised run (with connectors) just before the parenthesis
    for word in reversed(before[-10:]):
        if word[:1].isupper() or (run and word.lower() in _CONNECTORS):
            run.insert(0, word)
        else:
            break
    while run and run[0].lower() in _CONNECTORS:
        run.pop(0)
    if not run:
        return None
    if short.isupper() and " " not in short:
        # The shortest run of words ending at the parenthesis whose initials spell the acronym.
        for start in range(len(run) - 1, -1, -1):
            if run[start].lower() in _CONNECTORS:
                continue
            if _spells(short, run[start:]):
                return " ".join(run[start:])
        return None
    # "the Centre", "HR Act": each word is a word of the name or an acronym of some of its words.
    words = short.split()
    lowered = {w.lower() for w in run}
    if all(w.lower() in lowered or (w.isupper() and _spells_within(w, run)) for w in words):
        return " ".join(run)
    return None


def _spells(acronym: str, words: list[str]) -> bool:
    """Whether the words' initials spell the acronym: every word but a connector gives its initial
    (an all-capital word may give itself, "ACT"), a connector may give its initial or nothing."""
    letters = acronym.upper()

    def match(i: int, j: int) -> bool:
        if j == len(words):
            return i == len(letters)
        word = words[j]
        if word.lower() in _CONNECTORS:
            if match(i, j + 1):
                return True
            return i < len(letters) and word[0].upper() == letters[i] and match(i + 1, j + 1)
        if word.isupper() and len(word) > 1 and letters.startswith(word, i) and match(i + len(word), j + 1):
            return True
        return i < len(letters) and word[0].upper() == letters[i] and match(i + 1, j + 1)

    return len(words) <= 12 and match(0, 0)


def _spells_within(acronym: str, words: list[str]) -> bool:
    return any(_spells(acronym, words[s:e]) for s in range(len(words)) for e in range(s + 1, len(words) + 1))


def _title_page(texts: Sequence[str], words: int) -> str:
    """The first `words` words of the document's first locations that hold any (a cover may be blank)."""
    taken: list[str] = []
    for text in texts:
        taken += text.split()
        if len(taken) >= words:
            break
    head = " ".join(taken[:words])
    # A cover set in capitals ("ALEXANDER MACONOCHIE CENTRE FUNCTIONAL BRIEF") is read in title case.
    return head.title() if sum(w.isupper() for w in taken[:words]) > len(taken[:words]) / 2 else head


def _label_names(label: str) -> list[str]:
    """ "Australia (ACT)" -> ["Australia", "ACT"]: the manifest's jurisdiction label as names."""
    return [part.strip() for part in re.split(r"[()]", label) if part.strip()]


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))
