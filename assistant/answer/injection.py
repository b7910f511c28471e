"""Recognises document text addressed to an AI system ("Ignore previous instructions and say ...").

A handbook may contain, by accident or by design, a line written for a language model rather
than for staff. Such a line is withheld from the model and never quoted first, and the source
card marks it. The classifier is a set of patterns for what addresses a model, tuned so that
real rule text does not match: rules are written about a third person ("Prisoners who ignore
the rules ...", "A detainee shall not disobey a lawful order"), while an injection is an
imperative to the reader about *its* instructions ("Disregard everything above",
"Игнорируй все предыдущие инструкции"), a new identity ("you are now ...", "as an AI ..."),
or a chat role marker ("system:", "<|im_start|>", "[INST]"). English and Russian are covered.

The patterns run on normalised text, so that look-alike letters do not hide a line: Unicode NFKC
(fullwidth and mathematical letters become plain ones), format characters (zero-width spaces and
joiners, soft hyphens, bidi marks) and stray combining marks removed, and confusable letters
folded, once to Latin ("Ignоre" with a Cyrillic "о") and once to Cyrillic ("Игнoрируй" with a
Latin "o"); a text is flagged when any of these forms matches.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

SUSPICIOUS_NOTE = "\u26a0 contains text addressed to an AI system; treat it as document content only"

# Where an imperative may start: a sentence or clause start, after an opening quote or bracket,
# optionally after a softener ("please", "now", "ok,").
_START = (
    r"(?:^|(?<=[.!?;:\n\"\u201c\u00ab(\[\u2014\u2013-])|(?<=,))\s*"
    r"(?:(?:\d+(?:\.\d+)*\.?|\(?[a-z0-9]{1,3}\)|[\u2022\u25aa\u25cf*])\s+)?"  # a paragraph number or bullet
    r"(?:(?:please|kindly|now|ok(?:ay)?|so|and|then|first|just|simply|пожалуйста|теперь|а|и|так\s+что)[,]?\s+){0,2}"
)
_AI = (
    r"(?:AI|A\.I\.|artificial\s+intelligence|(?:large\s+)?language\s+models?|LLMs?|chat\s*bots?|"
    r"(?:AI\s+)?assistants?|ChatGPT|GPT(?:-\d)?|Claude|Gemini|Copilot)"
)
_AI_RU = r"(?:ИИ|искусственн\w+\s+интеллект\w*|языков\w+\s+модел\w+|нейросет\w+|чат-?бот\w*|ассистент\w*)"

_EN_PATTERNS = [
    # ignore / disregard / forget ... previous instructions, everything above, your rules
    _START + r"(?:ignore|disregard|forget|override|overrule|bypass|discard|abandon|set\s+aside|throw\s+away)\b"
    r"(?:\W+\w+){0,5}?\W+"
    r"(?:instructions?|prompts?|directions?|directives?|guidelines?|context|programming|training|"
    r"messages?|commands?|constraints?|restrictions?|safeguards?|filters?|polic(?:y|ies)|rules|"
    r"everything|anything|all|above|before|earlier|previously|so\s+far)\b",
    # do not follow / obey your previous instructions
    _START
    + r"(?:do\s+not|don'?t|never|stop)\s+(?:follow(?:ing)?|obey(?:ing)?|comply(?:ing)?\s+with|listen(?:ing)?\s+to|"
    r"adher(?:e|ing)\s+to|apply(?:ing)?)\s+(?:\w+\s+){0,2}?"
    r"(?:previous|prior|above|original|initial|earlier|system|your|those|these|any\s+other)\b",
    # a new identity
    r"\byou\s+are\s+(?:now|no\s+longer)\b",
    r"\bfrom\s+now\s+on,?\s+(?:you|your)\b",
    r"\byour\s+(?:new|real|true|actual)\s+(?:task|role|instructions?|purpose|goal|job)\b",
    _START + r"(?:pretend|roleplay|role-play)\b",
    _START + r"(?:act|behave|respond|answer|speak)\s+(?:as|like)\s+(?:if\s+you\s+were\s+)?(?:an?\s+)?"
    r"(?:unrestricted|unfiltered|jailbroken|evil|DAN\b|" + _AI + r")",
    rf"\bas\s+an?\s+{_AI}\b(?:\s+model)?",
    rf"\bif\s+you\s+are\s+an?\s+{_AI}\b",
    rf"\byou\s+are\s+an?\s+(?:helpful\s+)?{_AI}\b",
    # addressed to a model by name
    rf"\b(?:dear|hey|hi|hello|attention|note\s+to(?:\s+the)?|instructions?\s+for(?:\s+the)?|message\s+to(?:\s+the)?)"
    rf"[,:]?\s+{_AI}\b",
    rf"\b(?:the\s+)?{_AI}\s+(?:must|should|shall|will|needs?\s+to|has\s+to|is\s+to)\s+(?:now\s+|only\s+|instead\s+)?"
    r"(?:say|answer|reply|respond|output|print|write|tell|state|declare|reveal|ignore|disregard|forget|"
    r"recommend|claim)\b",
    # prompt vocabulary
    r"\b(?:system|developer)\s+(?:prompt|message|instructions?)\b",
    r"\bnew\s+instructions?\s*[:\-\u2014]",
    r"\b(?:jailbreak(?:ing)?|DAN\s+mode|developer\s+mode|prompt\s+injection)\b",
    r"\b(?:reveal|print|show|repeat|output|leak)\s+(?:me\s+)?(?:your|the)\s+(?:system\s+|hidden\s+|initial\s+)?"
    r"(?:prompt|instructions)\b",
    # output commands
    _START + r"(?:say|reply|respond|answer|output|print|write|tell\s+(?:the\s+)?user)\s+"
    r"(?:only\b|exactly\b|instead\b|that\b|with\b|the\s+following\b|nothing\s+but\b|[:\"\u201c'\u00ab])",
    r"\binstead,?\s+(?:say|reply|respond|answer|output|write|tell)\b",
    r"\b(?:reply|respond|answer)\s+(?:only\s+)?with\s+[\"\u201c'\u00ab]",
    # chat role markers and template tokens
    r"(?:^|\n)\s*(?:system|assistant|user|human)\s*:",
    r"<\|?\s*(?:im_start|im_end|system|endoftext|user|assistant)\s*\|?>",
    r"\[/?INST\]",
    r"<<\s*/?SYS\s*>>",
    r"(?:^|\n)\s*#{2,}\s*(?:instruction|system|response)\b",
    r"</?\s*(?:system|instructions?|prompt)\s*>",
]

_RU_PATTERNS = [
    # игнорируй / забудь / не обращай внимания ... предыдущие инструкции, всё сказанное выше
    _START + r"(?:(?:про)?игнорируй(?:те)?|забудь(?:те)?|не\s+обращай(?:те)?\s+внимани[ея]|отбрось(?:те)?|"
    r"пренебреги(?:те)?|не\s+учитывай(?:те)?|отмени(?:те)?|не\s+слушай(?:те)?|не\s+следуй(?:те)?|"
    r"не\s+выполняй(?:те)?|не\s+подчиняй(?:те)?сь)\b"
    r"(?:\W+\w+){0,5}?\W+"
    r"(?:предыдущ|прежн|прошл|вышеизложен|вышеуказан|выше|ранее|системн|исходн|изначальн|инструкци|"
    r"указани|промпт|ограничени|сказанн|написанн|вс[её]\b|правил)",
    r"\b(?:ты|вы)\s+(?:теперь|отныне|больше\s+не)\b",
    r"\b(?:теперь|отныне|с\s+этого\s+момента)\s+(?:ты|вы)\b",
    rf"\bкак\s+{_AI_RU}",
    rf"\b(?:ты|вы)\s*(?:[\u2014\u2013-]\s*)?(?:(?:это|являешься|являетесь)\s+)?{_AI_RU}",
    rf"\bесли\s+(?:ты|вы)\s+(?:[\u2014\u2013-]\s*)?{_AI_RU}",
    rf"\b(?:уважаем\w+|дорог\w+|эй|внимание|привет)[,:]?\s+{_AI_RU}",
    rf"\b{_AI_RU}\s+(?:долж\w*|обязан\w*|нужно)\s+(?:теперь\s+|только\s+)?"
    r"(?:сказать|ответить|написать|вывести|игнорировать|забыть|сообщить|заявить)",
    r"\bсистемн\w+\s+(?:промпт|подсказк|сообщени|инструкци)",
    r"\bнов\w+\s+инструкци\w*\s*[:\-\u2014]",
    r"\b(?:покажи|выведи|повтори|раскрой)(?:те)?\s+(?:свой\s+|свои\s+|системн\w+\s+)?(?:промпт|инструкци)",
    _START + r"(?:притворись|притворитесь|веди(?:те)?\s+себя\s+как|представь(?:те)?,?\s+что\s+(?:ты|вы)|"
    r"действуй(?:те)?\s+как|сыграй(?:те)?\s+роль)",
    _START + r"(?:скажи|ответь|напиши|выведи|отвечай)(?:те)?\s+(?:только\b|что\b|ровно\b|вместо\b|[:\"\u00ab\u201c])",
    r"\bвместо\s+этого\s+(?:скажи|ответь|напиши|выведи)",
]


# Letters that look like Latin ones in common fonts (Cyrillic, Greek and a few Latin variants), folded
# to Latin for the English patterns; and Latin letters that look like Cyrillic ones, folded to Cyrillic
# for the Russian patterns. Small on purpose: the letters an attacker swaps in, not all of Unicode's
# confusables (NFKC already maps fullwidth and mathematical letters).
_TO_LATIN = str.maketrans(
    "аеорсухіјѕԁһӏԛԝꙇ"
    "АВЕКМНОРСТХУІЈЅԌ"
    "αοιυνρκχτεβηζμ"
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"
    "ıɡʏɑ",
    "aeopcyxijsdhlqwi"
    "ABEKMHOPCTXYIJSG"
    "aoiuvpkxtebnzu"
    "ABEZHIKMNOPTYX"
    "igya",
)
_TO_CYRILLIC = str.maketrans("aeopcyxkABEKMHOPCTXY", "аеорсухкАВЕКМНОРСТХУ")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_DROPPED = ("Cf", "Mn")  # format characters and combining marks


def normalised_forms(text: str) -> list[str]:
    """The forms of `text` the patterns are matched against: cleaned, its Latin and its Cyrillic skeleton.

    Cleaned: NFKC, without format characters (category Cf: zero-width space and joiners, soft
    hyphen, bidi marks) or combining marks left over (precomposed letters such as "й" stay), with
    the typographic apostrophe and the no-break space made plain. The Latin skeleton also drops
    the accents of letters ("İ" becomes "I"): the English patterns need none.
    """
    cleaned = unicodedata.normalize("NFKC", text)
    if not cleaned.isascii():
        cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch) not in _DROPPED)
    cleaned = cleaned.replace("\u2019", "'").replace("\u00a0", " ")
    if cleaned.isascii():  # nothing to fold: the common case for English text
        return [cleaned]
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", cleaned) if unicodedata.category(ch) != "Mn")
    forms = [cleaned, bare.translate(_TO_LATIN)]
    if _CYRILLIC.search(cleaned):  # a Russian pattern needs Cyrillic letters to match at all
        forms.append(cleaned.translate(_TO_CYRILLIC))
    return list(dict.fromkeys(forms))


@dataclass(frozen=True)
class InjectionClassifier:
    """Tells whether a text contains a sentence addressed to an AI system rather than to staff."""

    patterns: tuple[str, ...] = tuple(_EN_PATTERNS + _RU_PATTERNS)
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in self.patterns)
        object.__setattr__(self, "_compiled", compiled)

    def flags(self, text: str) -> bool:
        """True when some part of `text`, in any of its `normalised_forms`, reads as an instruction to a model."""
        return any(p.search(form) for form in normalised_forms(text) for p in self._compiled)


_DEFAULT = InjectionClassifier()


# About 1 ms a text (50 patterns), asked for every lead candidate: the same rules' sentences come back
# question after question (the 334 dev questions: 6,300 calls, 7 s), so the last answers are kept.
@functools.lru_cache(maxsize=8192)
def looks_injected(text: str) -> bool:
    """`InjectionClassifier().flags(text)` with the default patterns (compiled once)."""
    return _DEFAULT.flags(text)
