"""Answerability: whether the retrieved passages answer the question, and if not, what is missing.

One decision with three states (evals/README.md, "Answer states"):

- *answered*: the evidence is strong; the quotes are the answer;
- *closest*: the evidence is weaker; the quotes are still shown, under a caution;
- *not_covered*: there is positive evidence that the specific thing asked is absent:
  a jurisdiction, institution or product the documents never mention (`check_names`), or
  that they mention but none of the closest passages does (`check_absent_names`); a word
  neither the documents nor general English know (`check_rare_terms`); a quantity asked for
  that the passages on the topic never give (`check_answer_type`); a thing a "how many"
  question counts that no passage gives a figure for (`check_counted_thing`); or, above a
  share, the question's focus terms missing from the passages (`check_focus_terms`).

Each check but the unknown names is switched on or off, and its threshold set, by
cross-validation on the dev set (evals/calibrate.py); the defaults below are its choice.

A weak similarity alone never makes a question "not covered": measured on held-out staff
questions, the similarity threshold refused answerable questions phrased unlike the
documents and none of the unanswerable ones. Cyrillic questions get no lexical check (their
words cannot match the English text), so they are never "not covered" on lexical evidence.

With a learned model (`AnswerabilityPolicy.model`, assistant/answer/decision_model.py; the
assistant built from settings uses it unless HANDBOOK_DECISION=rules) the checks are features,
not vetoes: two classifiers read them with the retrieval scores (decision_features.py) and their
probabilities against two thresholds give the state; a "not covered" answer then names the checks
that lowered the probability most.

`AnswerabilityPolicy.evidence` measures (one pass over the top passages), `decide` is a pure
function of that evidence and the thresholds, so calibration (evals/calibrate.py) re-decides
stored evidence under other thresholds without asking again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from assistant.answer.decision_features import (
    CHECK_FEATURES,
    DENSE_SOURCES,
    FIGURE_PASSAGES,
    DecisionFeatures,
    cyrillic_figure,
)
from assistant.answer.refusal import term_coverage, unknown_names
from assistant.language import PROFILES, profile
from ingest.lexical import lexical_tokens
from ingest.sentences import sentence_spans

if TYPE_CHECKING:
    from assistant.answer.decision_model import DecisionModel
    from assistant.answer.names import NameIndex
    from assistant.glossary import Glossary
    from assistant.retrieval import SearchResult

State = Literal["answered", "closest", "not_covered"]
CountedCheck = Literal["off", "weak", "on"]
Quantity = Literal[
    "dose", "age", "time of day", "percentage", "money", "measurement", "duration", "frequency", "date", "count"
]

# Chosen by 5-fold cross-validation on evals/golden/dev.jsonl (`handbook eval calibrate`, evals/README.md).
DEFAULT_ANSWER_THRESHOLD = 0.677
# Russian and Kazakh questions: their evidence is multilingual e5's best cosine (assistant/retrieval),
# whose scale differs from MiniLM's. Chosen by cross-validation on evals/golden/dev_multilingual.jsonl;
# kept with the other per-language defaults in assistant/language.py.
DEFAULT_ANSWER_THRESHOLDS: dict[str, float] = {
    code: p.answer_threshold for code, p in PROFILES.items() if p.answer_threshold is not None
}
DEFAULT_MISSING_FOCUS = 1.01  # > 1: the focus-term share never decides alone
DEFAULT_QUANTITY_CHECK = True
DEFAULT_LEXICAL_WEIGHT = 0.25
DEFAULT_RARE_TERM_CHECK = False
DEFAULT_ABSENT_NAME_CHECK = True
DEFAULT_QUANTITY_NEAR_TERMS = 1  # focus terms a sentence needs to count as "near" for the answer-type check
DEFAULT_TIME_COUNT_NEAR_TERMS = 1  # ... for "how many days/hours ..." questions
# The counted-thing check: "off", "weak" (only when the confidence is under the answer threshold) or "on".
DEFAULT_COUNTED_CHECK: CountedCheck = "on"
GENERIC_IDF = 2.2  # terms in more than ~1 passage in 9 ("prison", "staff", "rule") carry no focus


# --- answer type ------------------------------------------------------------------------------

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
    "dozen|half|single|several"
)
_NUM = rf"(?:\d+(?:[.,]\d+)?|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))?)"
_NUM_OR_A = rf"(?:{_NUM}|an?)"
# "How much force / say / freedom ...": a degree of a measure or a kind of response, not a figure.
_NOT_AMOUNTS = (
    r"(?:(?:of )?(?:a )?say|force|freedom|control|discretion|input|choice|influence|leeway|latitude|power|authority"
    r"|autonomy|privacy|independence|detail|information|help|support|attention|respect|trust|responsibility"
    r"|involvement|effort|supervision|protection|care|restraint|resistance|pressure)\b"
)
_TIME_UNIT = r"(?:seconds?|minutes?|hours?|days?|nights?|weeks?|fortnights?|months?|years?)"

# The question's cue for each kind of quantity; the first kind that matches wins, so the
# more specific kinds come first ("how many mg" is a dose, "how many days" a duration).
_ASK_PATTERNS: tuple[tuple[Quantity, str], ...] = (
    ("dose", r"\bdos(?:e|es|age|ages)\b|\bhow many (?:mg|milligrams?|ml|millilitres?|tablets|pills)\b"),
    (
        "age",
        r"\b(?:what|which|minimum|maximum|min|max|youngest|oldest)\s+age\b|\bhow old\b|\bage limit\b"
        r"|\bat what age\b|\bfrom what age\b|\bunder what age\b|\bage of criminal responsibility\b",
    ),
    (
        "time of day",
        r"\b(?:what|which)\s+time\b(?!\s+(?:limit|period|frame|scale|out))|\bat what hour\b"
        r"|\bwhat hours?\b.{0,40}\b(?:open|close|lock|unlock)|\bhow early\b|\bhow late\b",
    ),
    (
        "percentage",
        r"\b(?:what|which) (?:is |are |was )?(?:the |a )?(?:[\w-]+ ){0,3}(?:percentage|percent|proportion|share|"
        r"fraction|rate)s?\b(?! of pay)|\bpercentage\b|\bpass (?:mark|rate|score)\b"
        r"|\bper ?cent\b|\bhow much of (?:the|a|its|their)\b(?! say\b)",
    ),
    (
        "money",
        r"\bhow much (?:money|cash|does .{0,40}\b(?:cost|pay|earn|charge)|is .{0,30}\b(?:paid|worth))\b"
        r"|\b(?:hourly |weekly |daily |annual )?(?:wages?|salary|salaries)\b|\bpay rates?\b|\brates? of pay\b|\bfees?\b"
        r"|\bhow much (?:is|are) (?:the )?(?:fine|fee|charge|allowance)s?\b|\bhow much compensation\b"
        r"|\bwhat(?:'s| is)? (?:the )?(?:fine|price|cost)\b",
    ),
    (
        "measurement",
        r"\bhow (?:big|large|heavy|tall|high|deep|far|wide|small|warm|cold|hot)\b|\bwhat (?:size|temperature)\b"
        r"|\bin (?:metres|meters|feet|kilos|kilograms|kg|litres|liters|degrees)\b"
        r"|\bat what (?:[\w-]+ ){0,3}(?:reading|level|concentration)\b"
        r"|\b(?:maximum|minimum|max|min) (?:weight|size|floor area|area|space)\b"
        r"|\bhow much (?:space|room|floor)\b|\bsquare met",
    ),
    (
        "duration",
        r"\bhow long\b|\b(?:minimum|maximum|min|max) (?:length|duration)\b"
        r"|\bin (?:seconds|minutes|hours|days|weeks|months|years)\??$"
        r"|\bhow many (?:more |consecutive |working |calendar )?"
        r"(?:seconds|minutes|hours|days|nights|weeks|months|years)\b"
        r"|\bhow soon\b|\b(?:within|after|for) how (?:long|many)\b|\bhow much time\b"
        r"|\b(?:retention|notice|qualifying|waiting|minimum|maximum) (?:period|time)\b"
        r"|\bwhat (?:is the )?(?:\w+ )?(?:time limit|deadline|duration|time frame|timeframe)\b"
        r"|\bkept for how\b|\bretained for\b",
    ),
    (
        "frequency",
        r"\bhow often\b|\bhow frequently\b|\bhow many times\b|\bhow regularly\b|\bat what intervals?\b"
        r"|\bhow many (?:\w+ )?(?:a|per|each|every) (?:day|week|month|year)\b",
    ),
    (
        "date",
        r"\bwhat (?:date|year)\b|\bwhich (?:date|year)\b|\bin what year\b|\bby when\b|\bsince when\b"
        r"|\bwhen (?:was|were|did)\b.{0,60}\b(?:adopted|signed|introduced|enacted|published|ratified|came into force"
        r"|come into force|entered into force|agreed)\b",
    ),
    (
        "count",
        rf"\bhow many\b|\bhow much\b(?!\s+{_NOT_AMOUNTS})"
        r"|\b(?:maximum|minimum|max|min|total|exact|limit on the|what is the) number\b"
        r"|\bnumber of \w+ (?:allowed|permitted)\b|\b(?:maximum|minimum) (?:amount|quantity)\b",
    ),
)
_ASKS = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _ASK_PATTERNS)

# Numbers that name a unit of a document or a year, not a quantity ("Rule 44", "Article 2", "5.67").
_REF_WORDS = re.compile(
    r"(?:rules?|articles?|sections?|paragraphs?|paras?|pages?|pp?|chapters?|principles?|standards?|annex|part|"
    r"schedule|regulations?|no|number|psi|pso|res|resolution|item|point|clause|figure|table)\.?\s*$",
    re.IGNORECASE,
)
_ANY_NUMBER = re.compile(rf"\b{_NUM}\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
)

_GIVE_PATTERNS: dict[Quantity, str] = {
    "dose": r"\b\d+(?:\.\d+)?\s*(?:mg|milligrams?|ml|millilitres?|micrograms?|mcg|g|grams?|units?|tablets?)\b",
    "age": rf"\baged?\s+(?:of\s+)?(?:under|over|between|below|above)?\s*{_NUM}\b|\b{_NUM}[- ]years?[- ]"
    rf"(?:old|of age)\b|\b(?:under|over|below|above)\s+(?:the\s+age\s+of\s+)?{_NUM}\b|\bage of\s+{_NUM}\b",
    "time of day": r"\b\d{1,2}(?:[:.]\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)(?!\w)|\b\d{1,2}:\d{2}\b|\b(?:noon|midday|"
    r"midnight|o'clock)\b|\b\d{4}\s*(?:hours|hrs)\b"
    # "What time should staff be in?" - "30 minutes before visitors arrive": a time relative to an event.
    rf"|\b{_NUM_OR_A}[- ]{_TIME_UNIT}\s+(?:before|after|prior to)\b",
    "percentage": rf"\b{_NUM}\s*(?:%|per\s?cent\b|percent\b)|%|\b(?:half|a third|a quarter|two[- ]thirds|"
    r"three[- ]quarters|majority|proportion)\b",
    "money": r"[£$€]\s*\d|\b\d+(?:[.,]\d+)?\s*(?:pounds|dollars|euros|pence|cents|p)\b|\b(?:AUD|USD|GBP|EUR)\b",
    "measurement": r"\b\d+(?:[.,]\d+)?\s*(?:kg|kilograms?|g|grams?|lbs?|m2|m²|sq\.?\s*m|square\s+met(?:re|er)s?|"
    r"met(?:re|er)s?|cm|centimet(?:re|er)s?|mm|cubic|litres?|liters?|feet|foot|ft)\b"
    r"|\b\d+(?:[.,]\d+)?\s*(?:°|º|degrees?\b)",
    "duration": rf"\b{_NUM_OR_A}[- ](?:(?:consecutive|calendar|working|clear|full|further)\s+)?{_TIME_UNIT}\b"
    r"|\b(?:daily|weekly|monthly|annually|overnight|immediately|promptly|without delay|as soon as)\b",
    "frequency": rf"\b(?:daily|weekly|monthly|annually|yearly|fortnightly|hourly|once|twice)\b|\b{_NUM}\s+times\b"
    r"|\b(?:every|each|per|a)\s+(?:\w+\s+)?(?:day|week|month|year|fortnight|hour|shift|night)s?\b"
    r"|\b(?:regular(?:ly)?|periodic(?:ally)?|at intervals|from time to time|on admission|at least)\b",
    "date": rf"\b(?:1[89]|20)\d\d\b|\b\d{{1,2}}\s+{_MONTH}\b|\b{_MONTH}\s+\d{{1,2}}\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
}
_GIVES = {kind: re.compile(pattern, re.IGNORECASE) for kind, pattern in _GIVE_PATTERNS.items()}
# "How many hours ..." asks a number of time units; "how many days a week" asks a frequency.
_ASKS_TIME_COUNT = re.compile(
    rf"\bhow many (?:\w+ )?(?P<unit>{_TIME_UNIT})\b(?!'?\s+(?:a|an|per|each|every)\s+{_TIME_UNIT})", re.IGNORECASE
)
_NUMERIC_DURATION = re.compile(
    rf"\b{_NUM_OR_A}[- ](?:(?:consecutive|calendar|working|clear|full|further)\s+)?{_TIME_UNIT}\b", re.IGNORECASE
)


def asked_quantity(question: str) -> Quantity | None:
    """The kind of quantity a question asks for ("How many days ..." -> "duration"), or None."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


def asks_time_count(question: str) -> re.Match[str] | None:
    """Whether the question asks a number of time units ("How many hours' notice ..."); the match names the unit."""
    return _ASKS_TIME_COUNT.search(question)


def gives_quantity(text: str, kind: Quantity) -> bool:
    """Whether the text states a quantity of that kind (a count: any number that is not a rule number or year)."""
    if kind == "frequency":  # "how often" is answered by a rate, a period or a count ("18 strip searches")
        return _GIVES[kind].search(text) is not None or any(gives_quantity(text, k) for k in ("duration", "count"))
    if kind != "count":
        return _GIVES[kind].search(text) is not None
    for match in _ANY_NUMBER.finditer(text):
        if _REF_WORDS.search(text[max(0, match.start() - 14) : match.start()]):
            continue
        if _YEAR.fullmatch(match.group(0)) or re.fullmatch(r"\d+\.\d+", match.group(0)):
            continue  # a year or a dotted section number ("5.67")
        return True
    return False


# --- the counted thing -------------------------------------------------------------------------

# "How many <thing>": words before the thing that do not name it, and words that end the phrase.
_COUNT_CUE = re.compile(r"\b(?:how many|how much|number of|amount of)\s+(.*)", re.IGNORECASE)
_COUNT_MODIFIERS = frozenset(
    re.findall(
        r"\w+",
        "more free social separate extra additional different individual unannounced consecutive "
        "working calendar clear full new whole other",
    )
)
_COUNT_ENDS = frozenset(
    re.findall(
        r"\w+",
        "do does did can could must should may might will would is are was were have has had a an the "
        "per of in on at for to before after each every someone somebody we you they he she it and or from",
    )
)
# The question's person words and the documents' are seldom the same ("lads", "folk" / "prisoners"):
# a figure for any person of the same class answers.
_PEOPLE = frozenset(
    lexical_tokens(
        "lad lads folk folks people persons person prisoners inmates detainees cons offenders convicts remandees "
        "men women juveniles children kids youths adults individuals mothers babies"
    )
)
_STAFF = frozenset(
    lexical_tokens("officers staff guards screws personnel members experts employees workers nurses doctors")
)
_NOT_COUNTED = frozenset({"times", "money", "cash", "time", "compensation"})  # a frequency, an amount, a duration
_TIME_WORD = re.compile(rf"^{_TIME_UNIT}'?$", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\d+(?:\.\d+)*\.$")  # "2." or "5.41." opening a numbered paragraph


def counted_thing(question: str) -> str | None:
    """What a "how many" question counts ("How many phone calls a week ..." -> "calls"), or None.

    None when the question counts time (the duration check covers it), money or times (a frequency),
    or asks no count. The thing is the first word after the cue, or the second when the first
    modifies a plural ("phone calls", "drug dogs", "CCTV cameras").
    """
    match = _COUNT_CUE.search(question)
    if match is None or re.match(_NOT_AMOUNTS, match.group(1), re.IGNORECASE):
        return None
    words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*|\d+", match.group(1))]
    while words and words[0] in _COUNT_MODIFIERS:
        words.pop(0)
    if not words:
        return None
    first = words[0].rstrip("'")
    if first in _COUNT_ENDS or first.isdigit() or _TIME_WORD.match(first) or first in _NOT_COUNTED:
        return None
    if len(words) > 1:
        second = words[1]
        plural = second.endswith("s") and not second.endswith("'s")
        if plural and not first.endswith("s") and second not in _COUNT_ENDS and not _TIME_WORD.match(second):
            return second
    return first


def _thing_forms(thing: str, glossary: Glossary | None) -> frozenset[str]:
    """The stems that name the thing: itself and its glossary meanings. (Also taking the other staff
    words of its glossary entry let "books", "calls", "officers" and "cameras" find figures for
    other things: 4 of the 70 unanswerable dev questions answered, for one answerable one saved.)"""
    forms = set(lexical_tokens(thing))
    if glossary is not None:
        for phrase in glossary.expand(thing):
            forms.update(lexical_tokens(phrase))
    for group in (_PEOPLE, _STAFF):
        if forms & group:
            forms |= group
    return frozenset(forms)


def _is_count(tokens: Sequence[str], i: int) -> bool:
    """Whether token i is a figure: a number that is not a year, a paragraph number or a rule's number."""
    token = tokens[i]
    scaled = i + 1 < len(tokens) and tokens[i + 1].lower() in ("million", "billion", "thousand", "hundred")
    if _LIST_MARKER.match(token) or _YEAR.fullmatch(token):
        return False
    if re.fullmatch(r"\d+(?:\.\d+)+", token) and not scaled:
        return False  # a paragraph number ("5.41"), unless it is "10.35 million"
    if not _ANY_NUMBER.fullmatch(token):
        return False
    return not (i > 0 and _REF_WORDS.search(tokens[i - 1]))


def states_count_of(thing: str, texts: Sequence[str], glossary: Glossary | None = None) -> bool:
    """Whether a passage gives a figure for the thing: a number up to three words before it ("two
    officers", "15 free books") or two after ("detention cells four"), within one clause."""
    forms = _thing_forms(thing, glossary)
    for text in texts:
        for clause in re.split(r"[,;:()?!]|\.(?=\s|$)", text):
            tokens = re.findall(r"[A-Za-z0-9][A-Za-z0-9'.-]*", clause)
            stems = [set(lexical_tokens(t)) for t in tokens]
            for i in range(len(tokens)):
                if not _is_count(tokens, i):
                    continue
                near = range(max(0, i - 2), min(len(tokens), i + 4))
                if any(stems[j] & forms for j in near if j != i):
                    return True
    return False


def check_counted_thing(question: str, texts: Sequence[str], glossary: Glossary | None = None) -> str | None:
    """The thing a "how many" question counts when no passage gives a figure for it, else None."""
    thing = counted_thing(question)
    if thing is None or states_count_of(thing, texts, glossary):
        return None
    return thing


# --- focus terms ------------------------------------------------------------------------------

# Question words and verbs of asking carry no topic of their own.
_QUESTION_WORDS = frozenset(
    lexical_tokens(
        "how many much long often what which who whose why allowed allow permitted permit need needs required "
        "require get got given give take make happen happens apply applies say says said tell know want wants "
        "ok okay acceptable actually really still just anyone someone somebody something anything one way "
        "going go gets able use used new normally usually generally"
    )
)


@dataclass(frozen=True)
class FocusTerm:
    """A content word of the question and the stems that count as finding it (itself and its glossary meanings)."""

    term: str
    weight: float
    alternatives: frozenset[str]


def focus_terms(question: str, idf: dict[str, float], glossary: Glossary | None = None) -> list[FocusTerm]:
    """The question's content words that carry its topic, after stemming and glossary expansion.

    Generic words of the domain (IDF below GENERIC_IDF: "prison", "staff", "rule") and
    question words are left out; a word unknown to the documents weighs the most IDF.
    """
    unknown_weight = max(idf.values(), default=1.0)
    out: dict[str, FocusTerm] = {}
    for word in re.findall(r"[A-Za-z][A-Za-z'-]*", question):
        stems = [t for t in lexical_tokens(word) if t not in _QUESTION_WORDS]
        meanings: set[str] = set()
        if glossary is not None:
            for phrase in glossary.expand(word):
                meanings.update(lexical_tokens(phrase))
        for stem in stems:
            weight = idf.get(stem, unknown_weight)
            if weight < GENERIC_IDF or stem in out or stem.isdigit():
                continue
            out[stem] = FocusTerm(stem, weight, frozenset({stem, *meanings}))
    return list(out.values())


def check_focus_terms(focus: Sequence[FocusTerm], texts: Sequence[str]) -> tuple[list[str], float]:
    """The focus terms none of whose forms occur in the passages, and their share of the focus weight."""
    present: set[str] = set()
    for text in texts:
        present.update(lexical_tokens(text))
    missing = [f for f in focus if not (f.alternatives & present)]
    total = sum(f.weight for f in focus)
    share = sum(f.weight for f in missing) / total if total else 0.0
    return [f.term for f in missing], share


def check_answer_type(
    question: str, texts: Sequence[str], focus: Sequence[FocusTerm], min_terms: int = DEFAULT_QUANTITY_NEAR_TERMS
) -> Quantity | None:
    """The kind of quantity asked for that no passage gives near the question's focus, else None.

    "Near" is a sentence holding at least `min_terms` of the focus terms (all of them when the
    question has fewer), or the sentence after it: a rule often states its subject, then its
    figure. A passage without such a sentence is about something else and does not count.
    """
    kind = asked_quantity(question)
    if kind is None:
        return None
    unit = asks_time_count(question) if kind == "duration" else None
    if unit is not None:
        # The unit asked in ("how many hours' notice") is not the topic: a sentence with "24 hours"
        # in it is not near the question for that alone.
        stems = set(lexical_tokens(unit.group("unit")))
        focus = [f for f in focus if not f.alternatives & stems]
    need = min(min_terms, len(focus))
    if unit is not None:

        def gives(sentence: str) -> bool:  # a number of time units answers; "promptly" or "daily" does not
            return _NUMERIC_DURATION.search(sentence) is not None

    else:

        def gives(sentence: str) -> bool:
            return gives_quantity(sentence, kind)

    for text in texts:
        sentences = [text[a:b] for a, b in sentence_spans(text)] or [text]
        near = []
        for i, sentence in enumerate(sentences):
            tokens = set(lexical_tokens(sentence))
            if sum(1 for f in focus if f.alternatives & tokens) >= need:
                near.append(i)
        chosen = sorted({j for i in near for j in (i, i + 1) if j < len(sentences)})
        if any(gives(sentences[j]) for j in chosen):
            return None
    return kind


def figure_focus_share(question: str, texts: Sequence[str], focus: Sequence[FocusTerm]) -> float | None:
    """How much of the question's focus stands next to a figure of the asked kind: a graded answer-type check.

    The largest IDF-weighted share of the focus terms in a sentence giving such a figure together
    with the sentence before it (a rule states its subject, then its figure); 0 when no sentence
    of the passages gives one; None when the question asks no figure. A figure for a neighbouring
    thing ("up to the age of three" for "the minimum age of an officer") shares few focus terms.
    """
    kind = asked_quantity(question)
    if kind is None:
        return None
    unit = asks_time_count(question) if kind == "duration" else None
    if unit is not None:
        stems = set(lexical_tokens(unit.group("unit")))
        focus = [f for f in focus if not f.alternatives & stems]
    total = sum(f.weight for f in focus)
    best = 0.0
    for text in texts:
        sentences = [text[a:b] for a, b in sentence_spans(text)] or [text]
        for i, sentence in enumerate(sentences):
            numeric = _NUMERIC_DURATION.search(sentence) is not None
            if not (numeric if unit is not None else gives_quantity(sentence, kind)):
                continue
            if not total:
                return 1.0
            tokens = set(lexical_tokens(sentence + " " + (sentences[i - 1] if i else "")))
            best = max(best, sum(f.weight for f in focus if f.alternatives & tokens) / total)
    return round(best, 4)


# --- rare terms -------------------------------------------------------------------------------


def load_vocabulary(path: Path) -> frozenset[str]:
    """A general English word list, one word a line (a WordPiece vocab.txt works: "##" pieces are skipped)."""
    words = path.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and w.islower())


def check_rare_terms(
    question: str, idf: dict[str, float], vocabulary: frozenset[str] | None, glossary: Glossary | None = None
) -> list[str]:
    """Words of the question that neither the documents nor general English know ("jammer", "superannuation").

    Such a word is a specific thing (a device, a scheme, a product): if the documents never use
    it, they do not cover it. Everyday words the documents happen not to use ("cuffs", "lad")
    are in the general vocabulary, and staff slang the glossary explains is its meaning.
    Capitalised words are left to `check_names`.
    """
    if vocabulary is None:
        return []
    out = []
    for match in re.finditer(r"(?<![\w-])[a-z][a-z'-]{3,}", question):
        word = re.sub(r"'s$", "", match.group(0)).strip("'-")  # "lad's" is the word "lad"
        if not word or word in vocabulary or any(part in vocabulary for part in _singulars(word)):
            continue
        stems = lexical_tokens(word)
        if not stems or any(t in idf for t in stems) or "-" in word:
            continue
        if glossary is not None and glossary.expand(word):
            continue
        out.append(word)
    return list(dict.fromkeys(out))


def _singulars(word: str) -> list[str]:
    forms = [word[:-1]] if word.endswith("s") else []
    if word.endswith("es"):
        forms.append(word[:-2])
    return forms


# --- names ------------------------------------------------------------------------------------

# Nationalities and other adjectives of place ("a Romanian prisoner") describe a person, not the subject.
_DEMONYM = re.compile(r"(?:ian|ish|ese|ean|an|ic|i)$")
# A place or institution is the focus when the question is set in it or about its bodies.
_PLACE_BEFORE = re.compile(r"\b(?:in|across|throughout|under|within|for)\s+(?:the\s+)?$", re.IGNORECASE)
_BODY_AFTER = re.compile(
    r"^(?:'s)?\s*(?:state\s+)?(?:prisons?|jails?|gaols?|government|law|laws|legislation|police|courts?|"
    r"officers?|correctional|corrections|department|ministry|service|services|system|state|prisoners)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")
_PERSON_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Sir|Governor|Officer|Nurse|prisoner|inmate)\.?\s+$")


def check_names(question: str, idf: dict[str, float], names: NameIndex | None = None) -> list[str]:
    """Names the documents never mention that are the question's focus: a jurisdiction, institution or product.

    Built on `unknown_names` (assistant/answer/refusal.py); a name counts only when the question is
    set in it ("in California", "Queensland prison officers") or it is an acronym or product
    ("COVID"); never a nationality ("Romanian"), a person ("Mr Novak") or an adjective. A name the
    `names` index knows (a document's profile or an alias: "England", "NOMS") is no unknown name,
    even where the documents' text never spells it.
    """
    known = names.find(question) if names is not None else []
    focus = []
    for name in unknown_names(question, idf):
        start = question.find(name)
        if any(hit.start <= start and start + len(name) <= hit.end for hit in known):
            continue
        before, after = question[:start], question[start + len(name) :]
        if _PERSON_TITLE.search(before):
            continue
        if name.isupper() and len(name) >= 5:
            focus.append(name)
            continue
        if _DEMONYM.search(name.lower()) and not _PLACE_BEFORE.search(before):
            continue
        if _PLACE_BEFORE.search(before) or _BODY_AFTER.search(after):
            focus.append(name)
    return focus


def focus_name_candidates(question: str) -> list[str]:
    """Capitalised words the question is set in or about ("in Queensland", "Queensland prison officers")."""
    return list(dict.fromkeys(name for name, _ in _focus_name_spans(question)))


def _focus_name_spans(question: str) -> list[tuple[str, int]]:
    """`focus_name_candidates` with where each occurs in the question."""
    out = []
    for match in _CAPITALISED.finditer(question):
        start, name = match.start(), match.group(0)
        if start == 0 or re.search(r"[.?!:]\s*$", question[:start]):
            # The sentence's first word is capitalised anyway ("Are Queensland officers ..."): drop it.
            first = re.match(r"[A-Z][a-z]+\s*", name)
            assert first is not None
            start, name = start + first.end(), name[first.end() :]
            if not name:
                continue
        before, after = question[:start], question[start + len(name) :]
        if _PERSON_TITLE.search(before):
            continue
        if _PLACE_BEFORE.search(before) or _BODY_AFTER.search(after):
            out.append((name, start))
    return out


def check_absent_names(
    question: str,
    idf: dict[str, float],
    texts: Sequence[str],
    doc_ids: Sequence[str] = (),
    names: NameIndex | None = None,
) -> list[str]:
    """Focus names the documents mention somewhere but none of the closest passages does.

    A question set in a jurisdiction ("Queensland prison officers") whose closest passages
    are about other places has no answer for that jurisdiction in the documents. With a
    `names` index, a name it knows ("Canberra", "England") is about the documents it points at:
    not absent when one of them is among the closest passages' `doc_ids` (the AMC's documents
    answer for Canberra although the passage never says "Canberra"), absent when none is,
    whether or not the documents' text spells it.
    """
    present: set[str] = set()
    for text in texts:
        present.update(lexical_tokens(text))
    known = names.find(question) if names is not None else []
    closest = set(doc_ids)
    out = []
    for name, start in _focus_name_spans(question):
        tokens = lexical_tokens(name)
        pointed = {d for hit in known if hit.start < start + len(name) and start < hit.end for d in hit.documents}
        if pointed:
            if not pointed & closest and not any(t in present for t in tokens):
                out.append(name)
        elif tokens and all(t in idf for t in tokens) and not any(t in present for t in tokens):
            out.append(name)
    return list(dict.fromkeys(out))


def known_name_documents(question: str, names: NameIndex | None) -> dict[str, list[str]]:
    """The known names of the question (a profile's or an alias) -> the documents each points at."""
    if names is None:
        return {}
    out: dict[str, list[str]] = {}
    for hit in names.find(question):
        out.setdefault(hit.text, list(hit.documents))
    return out


def is_cyrillic(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum("\u0400" <= ch <= "\u04ff" for ch in letters) > len(letters) / 2


# --- the learned decision's features (assistant/answer/decision_features.py) -----------------


def asked_figure(question: str, lang: str) -> Quantity | None:
    """The kind of figure a question asks for, in its own language (English cues from the answer-type check)."""
    if lang == "en":
        return asked_quantity(question)
    kind = cyrillic_figure(question)
    return kind if kind in _QUANTITY_NOUN else None  # type: ignore[return-value]


def decision_features(question: str, result: SearchResult, evidence: Evidence) -> DecisionFeatures:
    """The features of one question from its search result and the answerability checks' evidence."""
    hits = result.hits
    english = evidence.lexical_checks and evidence.has_passages

    def top(source: str, i: int = 0) -> float:
        return float(hits[i].scores.get(source, 0.0)) if len(hits) > i else 0.0

    fused = [h.score for h in hits[:3]]
    fused += [fused[-1] if fused else 0.0] * (3 - len(fused))
    evidence_scores = [h.dense for h in hits[:2]] + [0.0, 0.0]
    sources = [s for s in (*DENSE_SOURCES, "bm25") if hits and any(s in h.scores for h in hits)]
    agree = [max(range(len(hits[:5])), key=lambda i: hits[i].scores.get(s, -math.inf)) == 0 for s in sources]
    first_doc = hits[0].chunk.doc_id if hits else ""
    kind = asked_figure(question, result.lang)
    figure = kind is not None and any(gives_quantity(h.chunk.text, kind) for h in hits[:FIGURE_PASSAGES])
    features = DecisionFeatures(
        english=float(english),
        dense_best=float(evidence.dense),
        minilm_top=top("minilm"),
        e5_top=top("e5"),
        bm25_top=math.log1p(max(top("bm25"), 0.0)),
        minilm_best=float(result.best_scores.get("minilm", 0.0)),
        e5_best=float(result.best_scores.get("e5", 0.0)),
        fused_top=fused[0],
        fused_margin=fused[0] - fused[1],
        fused_margin3=fused[0] - fused[2],
        evidence_margin=evidence_scores[0] - evidence_scores[1] if len(hits) > 1 else 0.0,
        agreement=sum(agree) / len(agree) if agree else 0.0,
        same_doc=sum(h.chunk.doc_id == first_doc for h in hits[:5]) / 5 if hits else 0.0,
        passages=float(bool(hits)),
        asks_figure=float(kind is not None),
        figure_in_top=float(figure),
        known_name=float(bool(evidence.named_documents)),
        name_elsewhere=float(bool(evidence.names_elsewhere)),
    )
    if not english:
        return features
    return features.model_copy(
        update={
            "coverage": float(evidence.coverage),
            "focus_missing": float(evidence.missing_focus_share),
            "unknown_name": float(bool(evidence.unknown_names)),
            "absent_name": float(bool(evidence.absent_names)),
            "rare_term": float(bool(evidence.rare_terms)),
            "quantity_asked": float(evidence.quantity_asked is not None),
            "quantity_missing": float(evidence.quantity_missing is not None),
            "quantity_missing_strict": float(evidence.quantity_missing_strict is not None),
            "time_count": float(evidence.time_count),
            "counted_missing": float(evidence.counted_missing is not None),
            "figure_focus": 1.0 if evidence.figure_focus is None else float(evidence.figure_focus),
            "any_check": float(
                bool(
                    evidence.unknown_names
                    or evidence.absent_names
                    or evidence.quantity_missing
                    or evidence.counted_missing
                )
            ),
        }
    )


# --- the decision -----------------------------------------------------------------------------


class Reason(BaseModel):
    """One piece of missing evidence."""

    check: Literal[
        "no_passages",
        "unknown_name",
        "absent_name",
        "rare_terms",
        "quantity",
        "counted_thing",
        "focus_terms",
        "weak_match",
        "nothing_quotable",
    ]
    detail: str  # the name, the kind of quantity, the missing terms
    message: str  # a sentence for the reader


class Evidence(BaseModel):
    """What the checks measured for one question; `AnswerabilityPolicy.decide` turns it into a Decision."""

    dense: float = 0.0  # best cosine over the dense candidates (of the question language's evidence model)
    lang: str = "en"  # the question's language: which answer threshold applies
    coverage: float = 0.0  # IDF-weighted share of the question's terms in the top passages
    lexical_checks: bool = True  # False for Cyrillic questions: their words cannot match English text
    has_passages: bool = True
    unknown_names: list[str] = Field(default_factory=list)
    rare_terms: list[str] = Field(default_factory=list)  # words neither the documents nor general English know
    absent_names: list[str] = Field(default_factory=list)  # focus names known to the documents, not to the passages
    quantity_asked: str | None = None
    quantity_missing: str | None = None  # the kind asked for and not given near one focus term
    quantity_missing_strict: str | None = None  # ... not given near two focus terms (a stricter "near")
    time_count: bool = False  # the question asks a number of time units ("how many days ...")
    counted_missing: str | None = None  # the thing a "how many" question counts, no figure for it in the passages
    figure_focus: float | None = None  # share of the focus next to a figure of the asked kind (figure_focus_share)
    missing_focus: list[str] = Field(default_factory=list)
    missing_focus_share: float = 0.0
    subject: str = ""  # the question as asked, quoted in the "not covered" message
    # The question's known names (document profiles, corpus/aliases.toml) -> the documents each points at,
    # in any question language; and those of them none of whose documents is among the top five passages'.
    named_documents: dict[str, list[str]] = Field(default_factory=dict)
    names_elsewhere: list[str] = Field(default_factory=list)
    # The question's places that the documents apply in without saying anything specific to them (the UN
    # member states for the UN's standards: an `applies_in` group of corpus/aliases.toml). Not unknown names.
    applies_in: list[str] = Field(default_factory=list)
    features: DecisionFeatures | None = None  # what the learned decision reads (decision_features.py)

    def confidence(self, lexical_weight: float) -> float:
        return self.dense + lexical_weight * self.coverage


class Decision(BaseModel):
    state: State
    confidence: float
    reasons: list[Reason] = Field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.state == "not_covered"


_QUANTITY_NOUN: dict[str, str] = {
    "dose": "dose",
    "age": "age",
    "time of day": "time of day",
    "percentage": "percentage",
    "money": "amount of money",
    "measurement": "measurement",
    "duration": "period",
    "frequency": "frequency",
    "date": "date",
    "count": "figure",
}


# The Evidence field behind each check feature of the learned decision.
_EVIDENCE_OF = {
    "unknown_name": "unknown_names",
    "absent_name": "absent_names",
    "quantity_missing": "quantity_missing",
    "counted_missing": "counted_missing",
}


def _loose(detail: str) -> Reason:
    """The caution's reason: the passages match, but not closely enough to be the answer."""
    return Reason(check="weak_match", detail=detail, message="The passages match the question only loosely.")


def _no_figure(check: Literal["quantity", "counted_thing"], detail: str, what: str, subject: str) -> Reason:
    """ "The documents give no <what> in answer to "<question>"; ..." """
    asked = f" in answer to \u201c{subject}\u201d" if subject else ""
    message = f"The documents give no {what}{asked}; the passages on this topic state none."
    return Reason(check=check, detail=detail, message=message)


def question_subject(question: str, limit: int = 160) -> str:
    """The question on one line, shortened to `limit` characters, for quoting in a message."""
    text = re.sub(r"\s+", " ", question).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


@dataclass(frozen=True)
class AnswerabilityPolicy:
    """Evidence from the top passages, and the thresholds that turn it into a state.

    confidence = best dense cosine + lexical_weight x term coverage of the top passages;
    below answer_threshold the quotes are shown as the closest passages. "Not covered"
    needs positive evidence: a focus name the documents never mention, a quantity asked
    for that the passages never give near the focus (quantity_check), or a share of the
    focus terms' weight missing from the passages of at least missing_focus.
    """

    answer_threshold: float = DEFAULT_ANSWER_THRESHOLD
    # Per question language where it differs from `answer_threshold` (another evidence model).
    answer_thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ANSWER_THRESHOLDS))
    missing_focus: float = DEFAULT_MISSING_FOCUS
    quantity_check: bool = DEFAULT_QUANTITY_CHECK
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT
    passages: int = 3
    quantity_near_terms: int = DEFAULT_QUANTITY_NEAR_TERMS  # focus terms that make a sentence "near": 1 or 2
    # The same for a question that asks a number of time units ("how many days ..."): the precise
    # question may need the figure in a sentence closer to its topic.
    time_count_near_terms: int = DEFAULT_TIME_COUNT_NEAR_TERMS
    quantity_passages: int = 5  # a figure in any of the top five passages answers (the answer quotes up to eight)
    name_check: bool = True
    rare_term_check: bool = DEFAULT_RARE_TERM_CHECK
    absent_name_check: bool = DEFAULT_ABSENT_NAME_CHECK
    counted_check: CountedCheck = DEFAULT_COUNTED_CHECK
    # The learned decision (assistant/answer/decision_model.py); None: the hand rules above decide.
    model: DecisionModel | None = None
    # Under the learned decision, at least this share of the focus terms' weight missing from the top
    # passages gives the caution, whatever the model says: the dev sets hold almost no off-topic
    # question (none of whose focus terms the passages have), so the model answered them.
    learned_focus_caution: float = 1.0

    def evidence(
        self,
        question: str,
        result: SearchResult,
        idf: dict[str, float],
        glossary: Glossary | None = None,
        vocabulary: frozenset[str] | None = None,
        names: NameIndex | None = None,
    ) -> Evidence:
        if not result.hits:
            return Evidence(has_passages=False, lexical_checks=not is_cyrillic(question), lang=result.lang)
        texts = [hit.chunk.embedding_text() for hit in result.hits[: self.passages]]
        coverage = max(
            term_coverage(lexical_tokens(result.query), texts, idf),
            term_coverage(lexical_tokens(result.expanded_query), texts, idf),
        )
        named = known_name_documents(question, names)
        # As the reader wrote the place, without a possessive ("under Kazakhstan's code" -> Kazakhstan).
        found = names.find(question) if names is not None else []
        applies_in = list(dict.fromkeys(re.sub(r"['’]s$", "", h.text) for h in found if h.applies_only))
        top_docs = {hit.chunk.doc_id for hit in result.hits[:5]}
        evidence = Evidence(
            dense=result.best_dense,
            coverage=coverage,
            subject=question_subject(question),
            lang=result.lang,
            named_documents=named,
            names_elsewhere=[name for name, docs in named.items() if not top_docs & set(docs)],
            applies_in=applies_in,
        )
        if not profile(result.lang).lexical_checks or is_cyrillic(question):
            evidence = evidence.model_copy(update={"lexical_checks": False})
            return evidence.model_copy(update={"features": decision_features(question, result, evidence)})
        focus = focus_terms(question, idf, glossary)
        missing, share = check_focus_terms(focus, texts)
        bodies = [hit.chunk.text for hit in result.hits[: self.quantity_passages]]
        evidence = evidence.model_copy(
            update={
                "unknown_names": check_names(question, idf, names),
                "rare_terms": check_rare_terms(question, idf, vocabulary, glossary),
                "absent_names": check_absent_names(
                    question,
                    idf,
                    [h.chunk.embedding_text() for h in result.hits[:5]],
                    [h.chunk.doc_id for h in result.hits[:5]],
                    names,
                ),
                "quantity_asked": asked_quantity(question),
                "quantity_missing": check_answer_type(question, bodies, focus, 1),
                "quantity_missing_strict": check_answer_type(question, bodies, focus, 2),
                "time_count": asks_time_count(question) is not None,
                "counted_missing": check_counted_thing(question, bodies, glossary),
                "figure_focus": figure_focus_share(question, bodies, focus),
                "missing_focus": missing,
                "missing_focus_share": round(share, 4),
            }
        )
        return evidence.model_copy(update={"features": decision_features(question, result, evidence)})

    def decide(self, evidence: Evidence) -> Decision:
        confidence = evidence.confidence(self.lexical_weight)
        if not evidence.has_passages:
            reason = Reason(check="no_passages", detail="", message="No passage of the documents matched the question.")
            return Decision(state="not_covered", confidence=0.0, reasons=[reason])
        if self.model is not None and evidence.features is not None:
            return self._decide_learned(evidence, self.model, evidence.features)
        reasons: list[Reason] = []
        if evidence.lexical_checks:
            checks = {
                "unknown_name": self.name_check,
                "absent_name": self.absent_name_check,
                "rare_term": self.rare_term_check,
            }
            reasons += [r for name, on in checks.items() if on and (r := self._reason_of(name, evidence)) is not None]
            near = max(self.quantity_near_terms, self.time_count_near_terms if evidence.time_count else 1)
            kind = evidence.quantity_missing_strict if near >= 2 else evidence.quantity_missing
            if self.quantity_check and kind:
                reasons.append(_no_figure("quantity", kind, _QUANTITY_NOUN.get(kind, "figure"), evidence.subject))
            focus = self._reason_of("focus_missing", evidence)
            if focus is not None and evidence.missing_focus_share >= self.missing_focus:
                reasons.append(focus)
        threshold = self.threshold_for(evidence.lang)
        counted = evidence.counted_missing if evidence.lexical_checks else None
        if counted and (self.counted_check == "on" or (self.counted_check == "weak" and confidence < threshold)):
            reasons.append(_no_figure("counted_thing", counted, f"number of {counted}", evidence.subject))
        if reasons:
            return Decision(state="not_covered", confidence=confidence, reasons=reasons)
        if confidence < threshold:
            return Decision(state="closest", confidence=confidence, reasons=[_loose(f"{confidence:.3f} < {threshold}")])
        return Decision(state="answered", confidence=confidence)

    def _decide_learned(self, evidence: Evidence, model: DecisionModel, features: DecisionFeatures) -> Decision:
        """Not covered below the lower threshold of P(answers), the caution below the upper one of P(right)."""
        p, right = model.probabilities(features)
        low, high = model.thresholds_for(evidence.lang)
        if p < low:
            weighed = model.weighing(features, [*CHECK_FEATURES, "any_check", "figure_in_top"])
            reasons = [r for name, _ in weighed for r in self._reasons_of(name, evidence)]
            reasons = list({r.check: r for r in reversed(reasons)}.values())[::-1]  # one per check, heaviest first
            if not reasons:
                message = "None of the closest passages answers the question: they match it only loosely."
                reasons = [Reason(check="weak_match", detail=f"p {p:.3f} < {low:.3f}", message=message)]
            return Decision(state="not_covered", confidence=p, reasons=reasons)
        if right < high:
            return Decision(state="closest", confidence=p, reasons=[_loose(f"p {right:.3f} < {high:.3f}")])
        off_topic = self._reason_of("focus_missing", evidence)
        if (
            evidence.lexical_checks
            and off_topic is not None
            and evidence.missing_focus_share >= self.learned_focus_caution
        ):
            return Decision(state="closest", confidence=p, reasons=[off_topic])
        return Decision(state="answered", confidence=p)

    @classmethod
    def _reasons_of(cls, feature: str, evidence: Evidence) -> list[Reason]:
        """The messages of the checks behind a feature that lowered P(answers) ("any_check": each that found one)."""
        if feature == "any_check":
            parts = ("unknown_name", "absent_name", "quantity_missing", "counted_missing")
            found = [part for part in parts if getattr(evidence, _EVIDENCE_OF[part])]
            return [r for part in found for r in cls._reasons_of(part, evidence)]
        reason = cls._reason_of(feature, evidence)
        return [reason] if reason is not None else []

    @staticmethod
    def _reason_of(feature: str, evidence: Evidence) -> Reason | None:
        """The existing message of the check behind a feature that lowered P(answers)."""
        if feature == "unknown_name" and evidence.unknown_names:
            names = ", ".join(evidence.unknown_names)
            return Reason(check="unknown_name", detail=names, message=f"The documents never mention {names}.")
        if feature == "absent_name" and evidence.absent_names:
            names = ", ".join(evidence.absent_names)
            message = f"None of the closest passages is about {names}: the documents give nothing specific to it."
            return Reason(check="absent_name", detail=names, message=message)
        if feature == "rare_term" and evidence.rare_terms:
            terms = ", ".join(evidence.rare_terms)
            return Reason(check="rare_terms", detail=terms, message=f"The documents never mention: {terms}.")
        if feature in ("quantity_missing", "quantity_missing_strict", "figure_in_top"):
            kind = evidence.quantity_missing_strict or evidence.quantity_asked or "count"
            return _no_figure("quantity", kind, _QUANTITY_NOUN.get(kind, "figure"), evidence.subject)
        if feature == "counted_missing" and evidence.counted_missing:
            counted = evidence.counted_missing
            return _no_figure("counted_thing", counted, f"number of {counted}", evidence.subject)
        if feature == "focus_missing" and evidence.missing_focus:
            terms = ", ".join(evidence.missing_focus)
            message = f"The passages closest to the question never mention: {terms}."
            return Reason(check="focus_terms", detail=terms, message=message)
        return None

    def settle(self, decision: Decision, quoted: bool) -> Decision:
        """The decision once the composer has tried to quote: passages found but nothing quotable (only
        fragments) are the closest passages, not an answer. A "not covered" decision stands."""
        if quoted or decision.state == "not_covered":
            return decision
        message = "No passage held a sentence that could be quoted."
        nothing = Reason(check="nothing_quotable", detail="", message=message)
        return Decision(state="closest", confidence=decision.confidence, reasons=[*decision.reasons, nothing])

    def threshold_for(self, lang: str) -> float:
        return self.answer_thresholds.get(lang, self.answer_threshold)

    def permissive(self) -> AnswerabilityPolicy:
        """The same measurements with no "not covered" and no caution: to see what would be quoted."""
        return AnswerabilityPolicy(
            answer_threshold=float("-inf"),
            answer_thresholds={},
            missing_focus=float("inf"),
            quantity_check=False,
            lexical_weight=self.lexical_weight,
            passages=self.passages,
            name_check=False,
            rare_term_check=False,
            absent_name_check=False,
            counted_check="off",
        )
