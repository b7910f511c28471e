"""Which language a question is in (English, Russian or Kazakh), from its letters and words.

Staff in Kazakhstan ask in Russian or Kazakh about English documents. The answer is
worded for the question's language while the quotes stay in English, so the language is
needed before retrieval; a model-free check is enough for three languages with such
different letters, and it costs microseconds.

Rules:
- Latin against Cyrillic by words, not letters, and Latin acronyms ("HMPPS", "AMC") do
  not count: a Russian question naming an English document or acronym stays Russian. A
  Cyrillic question quoting an English phrase ("dynamic security") without any English
  function word is Cyrillic too, since an English question has function words.
- Kazakh against Russian: Kazakh writes all Russian letters plus ә ғ қ ң ө ұ ү һ і, so
  those letters are evidence for Kazakh and their absence is not evidence for Russian.
  Each word holding one, and each common Kazakh word or question particle ("бола ма",
  "керек", "неше"), counts for Kazakh; each common Russian word ("можно", "ли", "что",
  "в") counts for Russian; Kazakh wins only with more points, so a Russian question
  naming a Kazakh place ("в Қарағанды") stays Russian. Words spelled alike in both
  ("не": "not" / "what"; "он": "he" / "ten"; "да") count for neither.
- No letters at all (empty, digits): English, the documents' language.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "ru", "kk"]

_WORD_RE = re.compile(r"[^\W\d_]+")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_KAZAKH_LETTERS_RE = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")

# Common Kazakh words and question particles with no Kazakh-only letter (those with one
# count already); none is also a common Russian word.
_KAZAKH_WORDS = frozenset(
    {
        *("ма", "ме", "ба", "бе", "па", "пе", "бола", "болады", "болмайды", "болса", "болатын", "екен"),
        *("неше", "керек", "кім", "кімге", "бар", "жоқ", "деп", "деген", "туралы", "мен", "сен", "біз"),
        *("олар", "оны", "оған", "оның", "мына", "сол", "тек", "тағы", "ала", "алады", "бере", "береді"),
        *("кезде", "кезінде", "бойынша", "егер", "немесе", "адам", "тиіс", "ретінде", "жатыр", "отыр", "тұр"),
    }
)
# Common Russian words that Kazakh does not use.
_RUSSIAN_WORDS = frozenset(
    {
        *("и", "в", "во", "на", "что", "как", "ли", "можно", "нельзя", "это", "по", "для", "с", "со", "к"),
        *("ко", "от", "или", "если", "его", "её", "ее", "она", "они", "мы", "вы", "я", "у", "о", "об"),
        *("при", "за", "из", "до", "после", "когда", "где", "сколько", "какой", "какие", "какая", "кто"),
        *("чем", "чтобы", "должен", "должны", "надо", "нужно", "есть", "был", "была", "были", "же", "уже"),
        *("только", "также", "так", "но", "а", "ему", "ей", "им", "их", "нас", "вас", "мне", "меня"),
    }
)
# English function words: an English question has some; a Cyrillic one quoting an
# English phrase usually has none.
_ENGLISH_WORDS = frozenset(
    {
        *("the", "a", "an", "is", "are", "was", "were", "be", "what", "how", "can", "could", "do", "does"),
        *("did", "of", "to", "in", "for", "on", "with", "should", "when", "who", "why", "which", "may"),
        *("must", "we", "i", "he", "she", "they", "it", "and", "or", "not", "if", "there", "have", "has"),
    }
)

_NOTICE: dict[Language, str] = {
    "en": "",
    "ru": "Цитаты приводятся на языке документа (английском).",
    "kk": "Үзінділер құжаттың тілінде (ағылшын тілінде) келтірілген.",
}


def detect_language(text: str) -> Language:
    """The language of a question: "en", "ru" or "kk" (English when there are no letters)."""
    words = _WORD_RE.findall(text)
    cyrillic = [word for word in words if _CYRILLIC_RE.search(word)]
    latin = [word for word in words if not _CYRILLIC_RE.search(word) and not _is_acronym(word)]
    if not cyrillic:
        return "en"
    english_function_words = sum(word.lower() in _ENGLISH_WORDS for word in latin)
    if english_function_words and len(latin) > len(cyrillic):
        return "en"
    lowered = [word.lower() for word in cyrillic]
    kazakh = sum(bool(_KAZAKH_LETTERS_RE.search(word)) or word in _KAZAKH_WORDS for word in lowered)
    russian = sum(word in _RUSSIAN_WORDS for word in lowered)
    return "kk" if kazakh > russian else "ru"


def quoted_in_document_language(lang: Language) -> str:
    """One sentence in `lang` saying that quotes are in the documents' language (English); "" for English."""
    return _NOTICE[lang]


def _is_acronym(word: str) -> bool:
    return len(word) > 1 and word.isupper()
