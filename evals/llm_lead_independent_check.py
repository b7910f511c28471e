"""The independent check of shown generated-lead sentences (`handbook eval llm-lead`, evals/llm_lead.py).

Every number, rule number and name in a shown sentence must appear in a passage the sentence cites, and a
Russian or Kazakh sentence must be in the question's language.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.answer.records import Answer
    from assistant.glossary import Glossary

# --- the independent check ----------------------------------------------------------------------
# Written apart from assistant/llm/lead_check.py on purpose: its own number words, name rule and language
# test, so that a mistake in one is not repeated in the other.

_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")
_CYR = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)
_KK_ONLY = re.compile(r"[әғқңөұүһі]", re.IGNORECASE)
_NUMBER_WORDS: dict[str, dict[str, int]] = {
    "en": {
        "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
        "fifty": 50, "hundred": 100, "once": 1, "twice": 2,
    },
    "ru": {
        "один": 1, "одна": 1, "одно": 1, "одного": 1, "одной": 1, "два": 2, "две": 2, "двух": 2, "три": 3,
        "трех": 3, "трёх": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6, "шести": 6,
        "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9, "десять": 10, "десяти": 10,
        "двенадцать": 12, "двенадцати": 12, "пятнадцать": 15, "пятнадцати": 15, "двадцать": 20, "двадцати": 20,
        "тридцать": 30, "тридцати": 30, "сорок": 40, "пятьдесят": 50, "сто": 100, "дважды": 2,
    },
    "kk": {
        "бір": 1, "екі": 2, "үш": 3, "төрт": 4, "бес": 5, "алты": 6, "жеті": 7, "сегіз": 8, "тоғыз": 9,
        "он": 10, "жиырма": 20, "отыз": 30, "қырық": 40, "елу": 50, "жүз": 100,
    },
}  # fmt: skip
_LATIN_OF = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі", [
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
    "kh", "ts", "ch", "sh", "sch", "", "y", "", "e", "yu", "ya", "a", "g", "k", "n", "o", "u", "u", "h", "i",
], strict=True))  # fmt: skip
_TITLE_WORDS = {"правила", "правилам", "правилах", "правил", "правило", "ереже", "ережелері", "ережелеріне", "rule"}


def _numbers(text: str, lang: str) -> set[float]:
    values = {float(m.replace(",", ".")) for m in _DIGITS.findall(text)}
    words = re.findall(r"[^\W\d_]+", text.lower())
    table = _NUMBER_WORDS.get(lang, {})
    paired: set[int] = set()
    for i, (a, b) in enumerate(itertools.pairwise(words)):  # "двадцать пять", "он бес": one number
        if a in table and b in table and table[a] >= 10 and table[b] < 10:
            values.add(float(table[a] + table[b]))
            paired.update((i, i + 1))
    values.update(float(table[w]) for i, w in enumerate(words) if w in table and i not in paired)
    return values


def _names(sentence: str) -> list[str]:
    words = re.findall(r"[^\W\d_]+", sentence)
    cyrillic = bool(_CYR.search(sentence))
    return [
        w
        for i, w in enumerate(words)
        if w.lower() not in _TITLE_WORDS
        and ((len(w) > 1 and w.isupper()) or (i > 0 and w[0].isupper()) or (cyrillic and re.search("[A-Za-z]", w)))
    ]


def _name_in(name: str, pool: str) -> bool:
    if name.lower() in pool:
        return True
    if not _CYR.search(name):
        return False
    latin = "".join(_LATIN_OF.get(ch, ch) for ch in name.lower())
    return len(latin) >= 4 and re.search(rf"\b{re.escape(latin[:4])}", pool) is not None


def _in_language(sentence: str, lang: str) -> bool:
    letters = [ch for ch in sentence if ch.isalpha()]
    cyrillic = sum(bool(_CYR.match(ch)) for ch in letters)
    if lang == "en":
        return cyrillic == 0
    if not letters or cyrillic / len(letters) < 0.6:
        return False
    kazakh_letters = len(_KK_ONLY.findall(sentence))
    return kazakh_letters > 0 if lang == "kk" else kazakh_letters == 0


def independent_problems(answer: Answer, glossary: Glossary | None = None) -> list[str]:
    """Each shown lead sentence whose numbers, rule numbers or names are not in a passage it cites, or which is
    not in the question's language; a line per finding. With the glossary (its data, corpus/glossary.toml), a
    staff term counts as present where one of its formal terms is ("ШИЗО": "solitary confinement")."""
    problems = []
    by_n = {c.n: c for c in answer.citations}
    for sentence in answer.lead:
        cited = [by_n[n] for n in [sentence.n, *sentence.also] if n in by_n]
        if not cited:
            problems.append(f"{sentence.text!r}: cites no citation of the answer")
            continue
        passages = [answer.passages[c.passage] for c in cited if c.passage is not None]
        pool = " ".join(
            [*(p.text for p in passages), *(p.ref for p in passages), *(p.title for p in passages)]
            + [c.quote + " " + c.ref + " " + c.title for c in cited]
        ).lower()
        missing = sorted(_numbers(sentence.text, answer.lang) - _numbers(pool, "en"))
        if missing:
            problems.append(f"{sentence.text!r}: number(s) {missing} not in the cited passage")
        absent = [
            n
            for n in _names(sentence.text)
            if not _name_in(n, pool)
            and not (glossary is not None and any(t.lower() in pool for t in glossary.expand(n)))
        ]
        if absent:
            problems.append(f"{sentence.text!r}: name(s) {absent} not in the cited passage")
        if not _in_language(sentence.text, answer.lang):
            problems.append(f"{sentence.text!r}: not in the question's language ({answer.lang})")
    return problems
