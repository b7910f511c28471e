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

Everything else that differs by question language sits in one `LanguageProfile` per language
(`PROFILES`): the detector's cue words, the answer's own texts (the note that quotes stay in
English, the caution, "not covered", the passages heading), whether the English-word checks of
answerability apply, the retrieval defaults (fusion weights, the evidence model, the answer
threshold) and the cues of the lead's answer types. Settings, answerability, the glossary, the
chain, the renderer, the app's messages and the evals read them from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Language = Literal["en", "ru", "kk"]

_WORD_RE = re.compile(r"[^\W\d_]+")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_KAZAKH_LETTERS_RE = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")


@dataclass(frozen=True)
class AnswerTexts:
    """The answer's own words in one language (quotes stay in the documents' English)."""

    language_note: str  # the quotes are in the documents' language; "" for English
    caution: str  # above the quotes of a "closest" answer
    not_covered: str  # the heading of a "not covered" answer
    not_covered_default: str  # its reason when no check gave one
    documents_searched: str  # "{names}": the documents a "not covered" answer searched
    no_documents: str  # ... when the filter matched none
    closest_passages: str  # above the passages a "not covered" or unquotable answer lists
    passages_heading: str  # "{n}": above the supporting passages, below the lead
    more_passages: str  # "{n}": the folded rest of the supporting passages
    sources: str  # the heading of the numbered sources
    # "{names}": below the lead, when the question is set in a place the documents apply in without naming it
    applies_in: str


@dataclass(frozen=True)
class LanguageProfile:
    """Everything that differs by question language (module docstring)."""

    code: Language
    name: str
    cue_words: frozenset[str]  # common words of the language that the detector counts
    texts: AnswerTexts
    # Answerability's English-word checks (names, rare terms, quantities, counted things) read the
    # question's words against the English passages: only an English question's words can match.
    lexical_checks: bool
    fusion_weights: dict[str, float]  # retrieval's default weight per candidate source
    evidence_source: str  # the dense model whose best cosine is the evidence strength
    answer_threshold: float | None  # answerability's threshold where it differs from the English one
    # Case, number and gender endings the glossary drops from a phrase word to match it by its beginning
    # (assistant/glossary.py), longest first.
    glossary_endings: tuple[str, ...] = ()
    # The lead's answer types: a question asking for a figure, a person or role, an obligation or permission.
    asks_figure: re.Pattern[str] = field(default=re.compile(r"(?!)"))
    asks_who: re.Pattern[str] = field(default=re.compile(r"(?!)"))
    asks_must: re.Pattern[str] = field(default=re.compile(r"(?!)"))


def _cues(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# English function words: an English question has some; a Cyrillic one quoting an
# English phrase usually has none.
_ENGLISH_WORDS = frozenset(
    {
        *("the", "a", "an", "is", "are", "was", "were", "be", "what", "how", "can", "could", "do", "does"),
        *("did", "of", "to", "in", "for", "on", "with", "should", "when", "who", "why", "which", "may"),
        *("must", "we", "i", "he", "she", "they", "it", "and", "or", "not", "if", "there", "have", "has"),
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

PROFILES: dict[Language, LanguageProfile] = {
    "en": LanguageProfile(
        code="en",
        name="English",
        cue_words=_ENGLISH_WORDS,
        texts=AnswerTexts(
            language_note="",
            caution="These passages are the closest the documents have; check that they answer your question.",
            not_covered="Not covered by the documents.",
            not_covered_default="The documents do not cover this question.",
            documents_searched="Documents searched: {names}.",
            no_documents="none (the filter matches no document)",
            closest_passages="Closest passages:",
            passages_heading="Supporting passages ({n})",
            more_passages="More passages: {n}",
            sources="Sources",
            applies_in=(
                "The documents say nothing specific to {names}: "
                "these are UN standards, which apply in every UN member state."
            ),
        ),
        lexical_checks=True,
        fusion_weights={"minilm": 0.4, "e5": 0.4, "bm25": 0.3},
        evidence_source="minilm",
        answer_threshold=None,
        asks_figure=_cues(
            r"\b(?:how (?:many|much|long|often|old|far|soon|late|early)|what (?:age|time|percentage|number|dose)"
            r"|number of|amount of|minimum|maximum|at least|at most|limit)\b"
        ),
        asks_who=_cues(r"\b(?:who|whom|whose|which (?:staff|officer|person|body|member))\b"),
        asks_must=_cues(
            r"\b(?:must|have to|has to|need to|needs to|should|required|allowed|can (?:we|i|they|he|she|you)|may"
            r"|is it (?:ok|okay|legal|allowed)|what happens|what do we do)\b"
        ),
    ),
    "ru": LanguageProfile(
        code="ru",
        name="Russian",
        cue_words=_RUSSIAN_WORDS,
        texts=AnswerTexts(
            language_note="Цитаты приводятся на языке документа (английском).",
            caution="Это ближайшие к вопросу фрагменты документов; проверьте, отвечают ли они на ваш вопрос.",
            not_covered="В документах ответа нет.",
            not_covered_default="Документы не охватывают этот вопрос.",
            documents_searched="Просмотренные документы: {names}.",
            no_documents="ни одного (фильтру не соответствует ни один документ)",
            closest_passages="Ближайшие фрагменты:",
            passages_heading="Подтверждающие фрагменты ({n})",
            more_passages="Ещё фрагментов: {n}",
            sources="Источники",
            applies_in=(
                "О месте, названном в вопросе ({names}), в документах нет ничего особого: "
                "это стандарты ООН, которые действуют во всех государствах — членах ООН."
            ),
        ),
        lexical_checks=False,
        fusion_weights={"minilm": 0.2, "e5": 0.6, "bm25": 0.2},
        evidence_source="e5",
        answer_threshold=1.007,
        glossary_endings=(
            *("ого", "его", "ому", "ему", "ыми", "ими", "ами", "ями"),
            *("ая", "яя", "ое", "ее", "ой", "ей", "ый", "ий", "ые", "ие", "ую", "юю"),
            *("ах", "ях", "ам", "ям", "ом", "ем", "ов", "ев"),
            *("а", "я", "о", "е", "ы", "и", "й", "ь", "у", "ю"),
        ),
        asks_figure=_cues(
            r"(?:сколько|скольк|какой срок|какое время|как долго|как часто|во сколько|минимальн|максимальн)"
        ),
        asks_who=_cues(r"(?:\bкто\b|\bкого\b|\bкому\b|\bкем\b)"),
        asks_must=_cues(r"(?:должн|обязан|нужно|надо|можно|нельзя|разрешен|вправе|имеем ли|что делать)"),
    ),
    "kk": LanguageProfile(
        code="kk",
        name="Kazakh",
        cue_words=_KAZAKH_WORDS,
        texts=AnswerTexts(
            language_note="Үзінділер құжаттың тілінде (ағылшын тілінде) келтірілген.",
            caution="Бұл құжаттардағы сұраққа ең жақын үзінділер; олардың сұрағыңызға жауап беретінін тексеріңіз.",
            not_covered="Құжаттарда бұл сұраққа жауап жоқ.",
            not_covered_default="Құжаттар бұл сұрақты қамтымайды.",
            documents_searched="Қаралған құжаттар: {names}.",
            no_documents="жоқ (сүзгіге бірде-бір құжат сәйкес келмейді)",
            closest_passages="Ең жақын үзінділер:",
            passages_heading="Растайтын үзінділер ({n})",
            more_passages="Тағы {n} үзінді",
            sources="Дереккөздер",
            applies_in=(
                "Құжаттарда сұрақтағы жер ({names}) туралы арнайы ештеңе жоқ: "
                "бұл БҰҰ-ға мүше барлық мемлекеттерде қолданылатын БҰҰ стандарттары."
            ),
        ),
        lexical_checks=False,
        fusion_weights={"minilm": 0.2, "e5": 0.6, "bm25": 0.2},
        evidence_source="e5",
        answer_threshold=1.007,
        asks_figure=_cues(r"(?:неше|қанша|қай уақыт|қашан|ең аз|ең көп)"),
        asks_who=_cues(r"(?:\bкім|\bкімге|\bкімнің)"),
        asks_must=_cues(r"(?:керек|тиіс|міндетті|бола ма|болады ма|рұқсат|болмайды|не істеу)"),
    ),
}
LANGUAGES: tuple[Language, ...] = tuple(PROFILES)


def profile(lang: str) -> LanguageProfile:
    """The profile of a language code; English for one the assistant does not know."""
    return PROFILES.get(lang, PROFILES["en"])  # type: ignore[call-overload]


def as_language(lang: str) -> Language:
    """A language code as one of the assistant's languages (English for another)."""
    return profile(lang).code


def detect_language(text: str) -> Language:
    """The language of a question: "en", "ru" or "kk" (English when there are no letters)."""
    words = _WORD_RE.findall(text)
    cyrillic = [word for word in words if _CYRILLIC_RE.search(word)]
    latin = [word for word in words if not _CYRILLIC_RE.search(word) and not _is_acronym(word)]
    if not cyrillic:
        return "en"
    english_function_words = sum(word.lower() in PROFILES["en"].cue_words for word in latin)
    if english_function_words and len(latin) > len(cyrillic):
        return "en"
    lowered = [word.lower() for word in cyrillic]
    kazakh = sum(bool(_KAZAKH_LETTERS_RE.search(word)) or word in PROFILES["kk"].cue_words for word in lowered)
    russian = sum(word in PROFILES["ru"].cue_words for word in lowered)
    return "kk" if kazakh > russian else "ru"


def quoted_in_document_language(lang: Language) -> str:
    """One sentence in `lang` saying that quotes are in the documents' language (English); "" for English."""
    return PROFILES[lang].texts.language_note


def _is_acronym(word: str) -> bool:
    return len(word) > 1 and word.isupper()
