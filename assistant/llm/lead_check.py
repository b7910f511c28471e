"""Checks one sentence of a generated lead against the English passages it cites, in any of the three languages.

A sentence is shown only when all of these hold (`LeadSentenceChecker.check`):

- it ends with [n] markers, and every n is a passage the model was given;
- it is in the question's language (`assistant.language.detect_language`): an English sentence under a
  Russian question is not shown, nor a Russian one under a Kazakh question;
- it is supported by the cited passages' sentences. English: the citation check of generated answers
  (`CitationChecker.support`, lexical share plus MiniLM similarity, calibrated threshold). Russian and
  Kazakh: the best e5 (multilingual) cosine between the sentence and a cited English sentence reaches
  `e5_threshold`, chosen on data (evals/llm_lead.py, `calibrate`);
- it negates (or prohibits) where the cited sentence that backs it does, and only there;
- every number (digits or number words, English, Russian or Kazakh; rule and article numbers included)
  and every name (a capitalised word inside the sentence, a Latin-script word in a Cyrillic sentence,
  an acronym) is in a cited passage, its rule reference or its document title. A Cyrillic name counts as
  present when its transliteration starts like a word there ("Мандела" - "Mandela"), and a staff term when
  one of its glossary terms is there ("ШИЗО" - "solitary confinement", corpus/glossary.toml).

A bad model can therefore cost time, never a shown sentence that the passages do not carry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.language import detect_language
from assistant.llm.citation_check import MARKER, CitationChecker, strip_markers

Encode = Callable[[list[str]], np.ndarray]

# Chosen with `handbook eval llm-lead --calibrate` (evals/llm_lead.py) on the 54 answerable Russian and Kazakh
# dev questions outside the evaluated selection: 3.4% of 116 sources of another rule reach it (at most 5%);
# the e5 cosines of question and sentence hardly separate right from wrong rules (medians 0.830 / 0.817), so
# the threshold sits high and the numbers-and-names check does the rest.
DEFAULT_E5_THRESHOLD = 0.858

_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?!\w*\d)")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

# Number words: English (the documents), Russian and Kazakh (the answers). A word counts when it starts
# with the stem, so that case endings ("пятнадцати", "он бес күн") need no table of their own.
_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "once": 1, "twice": 2, "single": 1, "double": 2,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "half": 0.5, "dozen": 12,
}  # fmt: skip
_RU_NUMBER_STEMS = (
    ("одиннадцат", 11), ("двенадцат", 12), ("тринадцат", 13), ("четырнадцат", 14), ("пятнадцат", 15),
    ("шестнадцат", 16), ("семнадцат", 17), ("восемнадцат", 18), ("девятнадцат", 19), ("двадцат", 20),
    ("тридцат", 30), ("сорок", 40), ("пятьдесят", 50), ("пятидесят", 50), ("шестьдесят", 60), ("шестидесят", 60),
    ("семьдесят", 70), ("восемьдесят", 80), ("девяност", 90), ("сто", 100), ("ста", 100),
    ("один", 1), ("одн", 1), ("два", 2), ("две", 2), ("двух", 2), ("двум", 2), ("три", 3), ("трех", 3), ("трём", 3),
    ("трем", 3), ("четыр", 4), ("пят", 5), ("шест", 6), ("сем", 7), ("восем", 8), ("восьм", 8), ("девят", 9),
    ("десят", 10), ("дважды", 2), ("трижды", 3), ("перв", 1), ("втор", 2), ("трет", 3), ("четверт", 4),
    ("полови", 0.5),
)  # fmt: skip
_KK_NUMBER_STEMS = (
    ("бір", 1), ("екі", 2), ("үш", 3), ("төрт", 4), ("бес", 5), ("алты", 6), ("жеті", 7), ("сегіз", 8),
    ("тоғыз", 9), ("он", 10), ("жиырма", 20), ("отыз", 30), ("қырық", 40), ("елу", 50), ("алпыс", 60),
    ("жетпіс", 70), ("сексен", 80), ("тоқсан", 90), ("жүз", 100), ("жарты", 0.5),
)  # fmt: skip
# Russian and Kazakh words that start like a number word but are not one ("сторона", "семья", "онда").
_NOT_NUMBERS = re.compile(
    r"^(?:сто[йлрнпкя]|стат|сем[ьеья]|пятно|пятна(?!дцат)|один[оа]ч|одно[вср]|третир|втор[гнои]|перво[нс]|"
    r"он[ыдаың]|онсыз|бесін|бірақ|бірге|бірін|біреу|бірде|бірне|үшін|екін|жүзеге|жүр|алтын|тоғызы|"
    r"сто[ие]т|ста[вьлнрт]|пятьдеся[тч]ник|семин|семейн|девятин)",
)
# Capitalised words that name no fact of their own (a Russian or Kazakh title word, a form of "rule").
_GENERIC = {
    "правила", "правило", "правил", "правилам", "правилах", "правилами", "статья", "статьи", "статье", "статью",
    "конвенция", "конвенции", "организации", "объединенных", "объединённых", "наций", "минимальные", "стандартные",
    "ереже", "ережесі", "ережелері", "ережелерінің", "ережелерге", "ережелерде", "бап", "бабы", "біріккен",
    "ұлттар", "ұйымы", "ұйымының", "оон", "бұұ", "rule", "rules", "article", "the", "a", "an", "i",
}  # fmt: skip
_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
        "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
        "э": "e", "ю": "yu", "я": "ya", "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u",
        "һ": "h", "і": "i",
    }
)  # fmt: skip


# Negation, by language: a sentence that says "may" where its passage says "shall never" is the most harmful
# wrong sentence and the one similarity scores miss. Kazakh negates in the verb ("болмайды", "берілмейді").
_NEGATION = {
    "en": re.compile(
        r"\b(?:not|never|no|cannot|nor|neither|prohibited|forbidden|prohibits?|bans?|banned|unlawful)\b|n't\b",
        re.IGNORECASE,
    ),
    "ru": re.compile(r"(?<!\w)(?:не|нельзя|ни|никогда|запрещ\w*|недопустим\w*|воспрещ\w*)(?!\w)", re.IGNORECASE),
    "kk": re.compile(
        r"(?<!\w)(?:емес|жоқ|тыйым\w*|ешқашан)(?!\w)|\w{2,}(?:майды|мейді|байды|бейді|пайды|пейді|мау|меу|бау|беу|"
        r"пау|пеу|маған|меген|баған|беген|паған|пеген|масын|месін|басын|бесін|пасын|песін)(?!\w)",
        re.IGNORECASE,
    ),
}


def negated(text: str, lang: str) -> bool:
    """Whether the sentence negates (or prohibits): compared between a generated sentence and the one it rests on."""
    return _NEGATION.get(lang, _NEGATION["en"]).search(text) is not None


def numbers_in(text: str, lang: str = "en", parts: bool = True) -> set[float]:
    """Every number of a text: digits (1,000 and 1,5 normalised) and number words of its language
    (English, Russian or Kazakh); adjacent number words add up ("двадцать пять", "он бес"), and with
    `parts` their parts count too (a passage's "twenty five" holds 25, 20 and 5; a claim's only 25)."""
    found: set[float] = set()
    for match in _NUMBER.finditer(text):
        value = _parse_number(match.group(0))
        if value is not None:
            found.add(value)
        head = re.match(r"\d+", match.group(0))
        if head and "." in match.group(0):
            found.add(float(head.group(0)))  # "44.2" is also rule 44's
    run: list[float] = []
    for word in [*_WORD.findall(text.lower()), ""]:
        value = _number_word(word, lang) if word else None
        if value is not None:
            run.append(value)
            continue
        if run:
            if parts or len(run) == 1:
                found.update(run)
            if len(run) > 1:
                found.add(_combine(run))
            run = []
    return found


def _combine(values: list[float]) -> float:
    """twenty five -> 25, сто двадцать -> 120, он бес -> 15"""
    total = 0.0
    for value in values:
        total = total * value if value == 100 and total else total + value
    return total


def _parse_number(raw: str) -> float | None:
    text = raw.rstrip(".,")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        text = text.replace(",", "")  # 1,000
    elif "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")  # 1,5 (Russian decimals)
    try:
        return float(text)
    except ValueError:
        # "44.1.2": a numbered unit; its first number is the rule's
        head = text.split(".")[0].split(",")[0]
        return float(head) if head.isdigit() else None


def _number_word(word: str, lang: str) -> float | None:
    word = word.replace("ё", "е")
    if lang == "en" or not _CYRILLIC.search(word):
        return float(_EN_NUMBERS[word]) if word in _EN_NUMBERS else None
    if _NOT_NUMBERS.match(word):
        return None
    for stem, value in _KK_NUMBER_STEMS if lang == "kk" else _RU_NUMBER_STEMS:
        # A short stem must be (almost) the whole word: "он" (ten) but not "онда" (there).
        if word.startswith(stem) and (len(stem) >= 4 or len(word) <= len(stem) + 3):
            return float(value)
    return None


def names_in(sentence: str) -> list[str]:
    """The words of a sentence that name something: capitalised words after its first word, acronyms, and every
    Latin-script word of a Cyrillic sentence (an English name or term left untranslated)."""
    words = _WORD.findall(sentence)
    cyrillic = bool(_CYRILLIC.search(sentence))
    out = []
    for i, word in enumerate(words):
        if word.lower() in _GENERIC:
            continue
        acronym = len(word) > 1 and word.isupper()
        if acronym or (i > 0 and word[:1].isupper()) or (cyrillic and _LATIN.search(word)):
            out.append(word)
    return out


def transliterate(word: str) -> str:
    return word.lower().translate(_TRANSLIT)


def name_present(name: str, pool: str, pool_words: set[str]) -> bool:
    """The name is in the passages: as written (any case), or a Cyrillic name whose transliteration starts
    like a word there (case endings and transliteration differ after the first letters)."""
    lowered = name.lower()
    if lowered in pool_words or re.search(rf"(?<!\w){re.escape(lowered)}(?!\w)", pool):
        return True
    if not _CYRILLIC.search(name):
        return False
    latin = transliterate(name)
    stem = latin[: max(4, min(len(latin) - 2, 6))]
    return len(stem) >= 3 and any(word.startswith(stem) for word in pool_words)


@dataclass(frozen=True)
class CitedSource:
    """One numbered passage of the lead's prompt: the English sentences the model saw, and where they sit."""

    n: int
    hit: int  # index into the answer's passages
    spans: tuple[tuple[int, int], ...]  # the sentences given, as offsets into the hit's chunk text
    sentences: tuple[str, ...]
    ref: str = ""  # "Rule 44": a rule number written in the sentence may come from here
    title: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass(frozen=True)
class SentenceVerdict:
    """A generated sentence, whether it may be shown and why not; the best cited sentence of each marker."""

    text: str  # as the model wrote it, markers included
    markers: tuple[int, ...]
    ok: bool
    reason: str = ""  # why it is not shown ("" when ok)
    support: float = 0.0  # the support score of its check (English: CitationChecker.support; else e5 cosine)
    best: Mapping[int, int] = field(default_factory=dict)  # marker -> index of the cited sentence that backs it

    @property
    def claim(self) -> str:
        return strip_markers(self.text)


class LeadSentenceChecker:
    """Decides whether one generated sentence may be shown (module docstring)."""

    def __init__(
        self,
        support: CitationChecker,
        encode_e5: Encode | None,
        e5_threshold: float = DEFAULT_E5_THRESHOLD,
        translate: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.support = support  # English: the generated-answer citation check, with its calibrated threshold
        self.encode_e5 = encode_e5  # None: no Russian or Kazakh sentence can be checked, so none is shown
        self.e5_threshold = e5_threshold
        # The glossary's formal English terms for a staff term (`Glossary.expand`): "ШИЗО" is present where the
        # passage says "solitary confinement". None: a name must be in the passage as written or transliterated.
        self.translate = translate

    def check(self, sentence: str, lang: str, sources: Mapping[int, CitedSource]) -> SentenceVerdict:
        markers = tuple(dict.fromkeys(int(m) for m in MARKER.findall(sentence)))
        claim = strip_markers(sentence)
        if not markers:
            return SentenceVerdict(sentence, markers, False, "no [n] citation")
        missing = [n for n in markers if n not in sources]
        if missing:
            return SentenceVerdict(sentence, markers, False, f"cites passage [{missing[0]}], which it was not given")
        if not any(ch.isalpha() for ch in claim):
            return SentenceVerdict(sentence, markers, False, "no words besides the citation")
        written = detect_language(claim)
        if written != lang:
            return SentenceVerdict(sentence, markers, False, f"written in {written}, the question is in {lang}")
        cited = [sources[n] for n in markers]
        pool = " ".join([*(s.text for s in cited), *(s.ref for s in cited), *(s.title for s in cited)])
        pool_lower = pool.lower()
        pool_numbers = numbers_in(pool, "en")
        for number in sorted(numbers_in(claim, lang, parts=False)):
            if number not in pool_numbers:
                shown = int(number) if number == int(number) else number
                return SentenceVerdict(sentence, markers, False, f"number {shown} is not in the cited passage")
        pool_words = {w.lower() for w in _WORD.findall(pool)}
        for name in names_in(claim):
            if not name_present(name, pool_lower, pool_words) and not self._translated(name, pool_lower):
                return SentenceVerdict(sentence, markers, False, f"name {name!r} is not in the cited passage")
        best, score = self._best(claim, lang, cited)
        if lang == "en":
            score = self.support.support(claim, [s.text for s in cited])
            threshold = self.support.threshold
        else:
            threshold = self.e5_threshold
            if self.encode_e5 is None:
                return SentenceVerdict(sentence, markers, False, "no multilingual encoder to check it with")
        if score < threshold:
            return SentenceVerdict(
                sentence, markers, False, f"support {score:.2f} below {threshold:.2f}", score, best
            )
        backing = [source.sentences[best[source.n]] for source in cited if source.n in best]
        if backing and all(negated(claim, lang) != negated(text, "en") for text in backing):
            reason = "negation differs from the cited sentence"
            return SentenceVerdict(sentence, markers, False, reason, score, best)
        return SentenceVerdict(sentence, markers, True, "", score, best)

    def _translated(self, name: str, pool: str) -> bool:
        terms = self.translate(name) if self.translate is not None else []
        return any(re.search(rf"(?<!\w){re.escape(term.lower())}(?!\w)", pool) for term in terms)

    def _best(self, claim: str, lang: str, cited: Sequence[CitedSource]) -> tuple[dict[int, int], float]:
        """For each cited passage, its sentence most similar to the claim; and the best cosine over all of them."""
        encode = self.support.encode if lang == "en" or self.encode_e5 is None else self.encode_e5
        texts = [sentence for source in cited for sentence in source.sentences]
        if not texts:
            return {}, 0.0
        vectors = encode([claim, *texts])
        cosines = vectors[1:] @ vectors[0]
        best: dict[int, int] = {}
        top = 0.0
        offset = 0
        for source in cited:
            part = cosines[offset : offset + len(source.sentences)]
            offset += len(source.sentences)
            if len(part):
                best[source.n] = int(np.argmax(part))
                top = max(top, float(np.max(part)))
        return best, top

