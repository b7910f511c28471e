"""A quiz built from a topic brief's cited passages: cloze and multiple-choice questions, no language model.

Every question is one verbatim sentence of a cited passage with its most informative
term blanked out: a number or duration ("15 consecutive days", "22 hours") when the
sentence has one, otherwise its rarest content word over the brief's passages.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from assistant.answer.render import docx_text, md_escape
from assistant.trainers.brief import BriefPassage, TopicBrief, save_atomically
from ingest.lexical import STOPWORDS, lexical_tokens
from ingest.sentences import sentence_spans

log = logging.getLogger(__name__)

BLANK = "_____"
MIN_WORDS, MAX_WORDS = 8, 40
QuestionKind = Literal["cloze", "multiple-choice"]
QuizKind = Literal["cloze", "multiple-choice", "mixed"]

# Words too common in any prose to test anything, on top of the index's stop list.
QUIZ_STOPWORDS = STOPWORDS | frozenset(
    """about above after again against along already although among another anyone anything around because
    before being below between both cannot could during either else enough ever every except following further
    however including less least like made make many might more most much neither never nothing often only
    others otherwise over particular particularly same should since some something still through throughout
    thus together toward towards under unless until upon very well whether while whilst within without
    would where which whose always sometimes person persons prisoner prisoners""".split()  # noqa: SIM905
)

_UNITS = {
    "hour": "hours", "hr": "hrs", "day": "days", "night": "nights", "week": "weeks", "month": "months",
    "year": "years", "minute": "minutes", "min": "mins", "second": "seconds", "metre": "metres",
    "meter": "meters", "kilogram": "kilograms", "kg": "kgs", "visit": "visits", "occasion": "occasions",
}  # fmt: skip
_PLURAL_TO_SINGULAR = {plural: singular for singular, plural in _UNITS.items()}
_SMALL = "zero one two three four five six seven eight nine ten eleven twelve".split()  # noqa: SIM905
_SMALL += "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()  # noqa: SIM905
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()  # noqa: SIM905
_WORD_VALUES = {w: i for i, w in enumerate(_SMALL)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_NUMBER_WORD = r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"  # noqa: E501
_UNIT_WORDS = "|".join(sorted({*_UNITS, *_UNITS.values()}, key=len, reverse=True))
_QUANTITY = re.compile(
    rf"(?<![\w./-])(?P<number>\d{{1,4}}(?:\.\d+)?|{_NUMBER_WORD})"
    rf"(?:(?P<sep>\s+|-)(?P<qualifier>(?:consecutive|full|working|calendar|clear|additional|further)\s+)?"
    rf"(?P<unit>{_UNIT_WORDS})\b|\s?(?P<percent>%|per\s?cent\b))",
    re.IGNORECASE,
)
# A number right after these is a reference or a code, not a quantity.
_REF_BEFORE = re.compile(
    r"(?:rule|rules|article|articles|paragraph|para|section|chapter|page|p\.|pp\.|no\.|annex|part|psi|pso|"
    r"resolution)\s*$",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"\s*(?:\(?[0-9a-z]{1,3}[.)]|[\u2022\u25aa\u25cf\u2013-])\s+", re.IGNORECASE)
# A number opening a sentence, before a capital: a paragraph number or a footnote mark, not a quantity.
_LEADING_NUMBER = re.compile(r"\s*(\d{1,3}(?:\.\d{1,3})*)\.?\s+(?=[A-Z])")
_COMPLETE = re.compile(r"[.!?;][\"'\u2019\u201d)\]]?$")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]")
# Ladders of plausible values per unit, used when the brief itself has too few of the same kind.
_LADDER = {
    "hour": [1, 2, 4, 6, 8, 12, 22, 24, 48, 72],
    "day": [1, 2, 3, 7, 14, 15, 21, 28, 30, 60, 90],
    "night": [1, 2, 3, 7, 14],
    "week": [1, 2, 4, 6, 8, 12],
    "month": [1, 3, 6, 12, 18, 24],
    "year": [1, 2, 3, 5, 10, 16, 18, 21],
    "minute": [5, 10, 15, 20, 30, 45, 60, 90],
    "%": [5, 10, 20, 25, 50, 75],
}
_DEFAULT_LADDER = [1, 2, 3, 4, 5, 6, 8, 10, 12, 20]


class QuizQuestion(BaseModel):
    n: int
    kind: QuestionKind
    prompt: str  # the source sentence with the answer replaced by BLANK
    options: list[str] = Field(default_factory=list)  # multiple choice only: 4 options, the answer among them
    answer: str
    citation: str  # the full citation of the sentence: title, rule, page
    source_text: str  # the verbatim sentence

    def answer_letter(self) -> str:
        return chr(ord("A") + self.options.index(self.answer)) if self.answer in self.options else ""


class Quiz(BaseModel):
    topic: str
    questions: list[QuizQuestion] = Field(default_factory=list)

    def to_markdown(self, with_answers: bool = True) -> str:
        lines = [f"# Quiz: {md_escape(self.topic)}", ""]
        if not self.questions:
            return "\n".join([*lines, "No questions could be built from this brief.", ""])
        lines += ["Fill in each blank; for multiple-choice questions pick one option.", ""]
        for q in self.questions:
            label = "multiple choice" if q.kind == "multiple-choice" else "fill in the blank"
            lines.append(f"**{q.n}.** ({label}) {_md_prompt(q.prompt)}")
            lines.append("")
            for i, option in enumerate(q.options):
                lines.append(f"- {chr(ord('A') + i)}. {md_escape(option)}")
            if q.options:
                lines.append("")
        if with_answers:
            lines += ["## Answer key", ""]
            for q in self.questions:
                letter = f"{q.answer_letter()}. " if q.answer_letter() else ""
                lines.append(f"{q.n}. **{letter}{md_escape(q.answer)}** \u2014 {md_escape(q.citation)}")
                lines.append(f"   > {md_escape(_squash(q.source_text))}")
            lines.append("")
        return "\n".join(lines)

    def to_docx(self, path: Path, with_answers: bool = True) -> Path:
        """Writes the quiz (and, after a page break, its answer key) as a Word document, atomically."""
        from docx import Document
        from docx.shared import Pt

        document = Document()
        document.add_heading(docx_text(f"Quiz: {self.topic}"), level=0)
        if not self.questions:
            document.add_paragraph("No questions could be built from this brief.")
        else:
            document.add_paragraph("Fill in each blank; for multiple-choice questions pick one option.")
        for q in self.questions:
            paragraph = document.add_paragraph()
            paragraph.add_run(f"{q.n}. ").bold = True
            paragraph.add_run(docx_text(_squash(q.prompt)))
            for i, option in enumerate(q.options):
                item = document.add_paragraph(docx_text(f"{chr(ord('A') + i)}. {option}"))
                item.paragraph_format.left_indent = Pt(24)
        if with_answers and self.questions:
            document.add_page_break()
            document.add_heading("Answer key", level=1)
            for q in self.questions:
                letter = f"{q.answer_letter()}. " if q.answer_letter() else ""
                paragraph = document.add_paragraph()
                paragraph.add_run(docx_text(f"{q.n}. {letter}{q.answer}")).bold = True
                paragraph.add_run(docx_text(f" \u2014 {q.citation}"))
                document.add_paragraph(docx_text(_squash(q.source_text)), style="Quote")
        return save_atomically(path, document.save)


@dataclass
class _Term:
    """A blankable term of one sentence."""

    start: int  # offsets in the passage text
    end: int
    text: str
    type: str  # "quantity:<unit>" or "word"
    weight: float  # how informative: quantities first, then rarer words


@dataclass
class _Candidate:
    passage_index: int
    passage: BriefPassage
    sentence_start: int
    sentence_end: int
    term: _Term

    @property
    def sentence(self) -> str:
        return self.passage.text[self.sentence_start : self.sentence_end]

    @property
    def prompt(self) -> str:
        p = self.passage.text
        raw = p[self.sentence_start : self.term.start] + BLANK + p[self.term.end : self.sentence_end]
        return _squash(raw)


class QuizBuilder:
    """Builds a deterministic quiz (same brief, kind and seed: same quiz) from a topic brief."""

    def __init__(self, n_questions: int = 6, seed: int = 0) -> None:
        if n_questions < 1:
            raise ValueError(f"n_questions: expected at least 1, got {n_questions}")
        self.n_questions = n_questions
        self.seed = seed

    def build(self, brief: TopicBrief, kind: QuizKind = "mixed") -> Quiz:
        if kind not in ("cloze", "multiple-choice", "mixed"):
            raise ValueError(f"kind: expected cloze, multiple-choice or mixed, got {kind!r}")
        rng = random.Random(self.seed)
        passages = list(brief.passages())
        idf = _idf(passages)
        vocabulary = _vocabulary(passages, idf)
        quantities = _quantities(passages)
        per_passage = [self._candidates(i, p, idf, rng) for i, p in enumerate(passages)]

        picked: list[tuple[_Candidate, list[str]]] = []  # with three distractors, or none
        seen: set[str] = set()  # answers and prompts already asked
        order = list(range(len(passages)))
        rng.shuffle(order)  # which passages are asked first, when there are more passages than questions
        depth = max((len(c) for c in per_passage), default=0)
        for round_ in range(depth):
            for i in order:
                if len(picked) >= self.n_questions or round_ >= len(per_passage[i]):
                    continue
                candidate = per_passage[i][round_]
                if candidate.term.text.lower() in seen or candidate.prompt in seen:
                    continue
                distractors = (
                    [] if kind == "cloze" else _distractors(candidate, idf, vocabulary, quantities, rng, self.seed)
                )
                if kind == "multiple-choice" and len(distractors) < 3:
                    continue  # no three fair distractors for this term
                seen |= {candidate.term.text.lower(), candidate.prompt}
                picked.append((candidate, distractors if len(distractors) == 3 else []))
        if len(picked) < self.n_questions:
            log.info("quiz on %r: %d of %d questions possible", brief.topic, len(picked), self.n_questions)
        picked.sort(key=lambda c: (c[0].passage_index, c[0].sentence_start))  # the handout's order
        questions = []
        for n, (candidate, distractors) in enumerate(picked, start=1):
            # "mixed": every other question is multiple choice, where the brief offers distractors.
            multiple = bool(distractors) and (kind == "multiple-choice" or (kind == "mixed" and n % 2 == 1))
            options = [candidate.term.text, *distractors] if multiple else []
            rng.shuffle(options)
            questions.append(
                QuizQuestion(
                    n=n,
                    kind="multiple-choice" if multiple else "cloze",
                    prompt=candidate.prompt,
                    options=options,
                    answer=candidate.term.text,
                    citation=candidate.passage.citation_at(candidate.sentence_start, candidate.sentence_end),
                    source_text=candidate.sentence,
                )
            )
        return Quiz(topic=brief.topic, questions=questions)

    def _candidates(
        self, index: int, passage: BriefPassage, idf: dict[str, float], rng: random.Random
    ) -> list[_Candidate]:
        """One candidate per usable sentence of the passage, the most informative first."""
        text = passage.text
        boundaries = [s.offset for s in passage.ref_spans if s.offset > 0]
        out: list[tuple[float, float, _Candidate]] = []
        for start, end in sentence_spans(text):
            marker = _LIST_MARKER.match(text, start, end)
            number = _LEADING_NUMBER.match(text, start, end)
            if marker:
                start = marker.end()  # "1. In no circumstances ..." is asked from "In"
            elif number and (number.group(1) == passage.ref_at(start) or "." in number.group(1)):
                start = number.end()  # the paragraph's own number: "13.2 Visits should ..."
            elif number:
                continue  # a footnote: "18 Eighth United Nations Congress ..."
            sentence = text[start:end]
            if not MIN_WORDS <= len(sentence.split()) <= MAX_WORDS or BLANK[:3] in sentence:
                continue
            if not _COMPLETE.search(sentence):
                continue  # a fragment that introduces a list
            if any(start < b < end for b in boundaries):
                continue  # spans two numbered units: no single rule to cite
            for term in _terms(text, start, end, idf):
                candidate = _Candidate(index, passage, start, end, term)
                if not _answer_elsewhere(candidate):
                    out.append((term.weight, rng.random(), candidate))
                    break
        out.sort(key=lambda x: (-x[0], x[1]))
        return [c for _, _, c in out]


def _terms(text: str, start: int, end: int, idf: dict[str, float]) -> list[_Term]:
    """Blankable terms of text[start:end], the most informative first."""
    sentence = text[start:end]
    terms: list[_Term] = []
    for match in _QUANTITY.finditer(sentence):
        if _REF_BEFORE.search(sentence[: match.start()]):
            continue
        terms.append(
            _Term(start + match.start(), start + match.end(), match.group(0), f"quantity:{_unit_key(match)}", 100.0)
        )
    words = list(_WORD.finditer(sentence))
    for position, match in enumerate(words):
        word = match.group(0)
        key = word.lower()
        if not _content_word(word, position, idf):
            continue
        # Longer words win ties: they tend to carry more meaning.
        weight = idf[key] + len(key) / 1000
        terms.append(_Term(start + match.start(), start + match.end(), word, "word", weight))
    terms.sort(key=lambda t: (-t.weight, t.start))
    return terms


def _answer_elsewhere(candidate: _Candidate) -> bool:
    """True when the blanked term can be read off the rest of the prompt."""
    rest = candidate.prompt.replace(BLANK, " ")
    answer = candidate.term.text
    if re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", rest, re.IGNORECASE):
        return True
    if candidate.term.type == "word":
        # "visit" gives away "visits": compare stems.
        return bool(set(lexical_tokens(answer)) & set(lexical_tokens(rest)))
    quantity = _QUANTITY.fullmatch(answer)
    if quantity is None:
        return False
    number = quantity.group("number")
    value = _number_value(number)
    if re.search(rf"(?<![\w.]){re.escape(number)}(?!\w)", rest, re.IGNORECASE):
        return True  # "15 days ... within 15 of them"
    return value is not None and any(_number_value(m.group("number")) == value for m in _QUANTITY.finditer(rest))


def _idf(passages: list[BriefPassage]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for p in passages:
        df.update({w.group(0).lower() for w in _WORD.finditer(p.text)})
    n = len(passages)
    return {word: math.log((n + 1) / (count + 1)) + 1.0 for word, count in df.items()}


def _vocabulary(passages: list[BriefPassage], idf: dict[str, float]) -> dict[int, dict[str, str]]:
    """Per passage, {lower-case content word: its first spelling} (mid-sentence capitals kept)."""
    out: dict[int, dict[str, str]] = {}
    for i, p in enumerate(passages):
        words: dict[str, str] = {}
        for start, end in sentence_spans(p.text):
            for position, match in enumerate(_WORD.finditer(p.text[start:end])):
                word, key = match.group(0), match.group(0).lower()
                if not _content_word(word, position, idf):
                    continue
                words.setdefault(key, word)
        out[i] = words
    return out


def _quantities(passages: list[BriefPassage]) -> dict[str, list[int]]:
    """Values seen per unit across the brief, in order of first appearance."""
    out: dict[str, list[int]] = {}
    for p in passages:
        for match in _QUANTITY.finditer(p.text):
            if _REF_BEFORE.search(p.text[max(0, match.start() - 20) : match.start()]):
                continue
            value = _number_value(match.group("number"))
            values = out.setdefault(_unit_key(match), [])
            if value is not None and value not in values:
                values.append(value)
    return out


def _distractors(
    candidate: _Candidate,
    idf: dict[str, float],
    vocabulary: dict[int, dict[str, str]],
    quantities: dict[str, list[int]],
    rng: random.Random,
    seed: int,
) -> list[str]:
    """Three wrong options of the answer's type, or fewer when the brief cannot supply them."""
    term = candidate.term
    rest = candidate.prompt.replace(BLANK, " ")
    if term.type.startswith("quantity:"):
        return _quantity_distractors(term, quantities.get(term.type.removeprefix("quantity:"), []), rest, rng)
    excluded = set(lexical_tokens(term.text)) | set(lexical_tokens(rest))
    target = idf.get(term.text.lower(), 0.0)
    shape = _shape(term.text)
    ranked: list[tuple[bool, bool, float, int, str]] = []
    seen: set[str] = set()
    for i, words in vocabulary.items():
        for key, word in words.items():
            stems = set(lexical_tokens(key))
            if key in seen or not stems or stems & excluded:
                continue
            seen.add(key)
            # Words of the other passages first (a passage's own words may also fit its sentence),
            # then words that look alike, then words about as rare as the answer.
            own = i == candidate.passage_index
            ranked.append((own, _shape(word) != shape, abs(idf.get(key, 0.0) - target), _tiebreak(seed, key), word))
    ranked.sort()
    nearest = [entry[4] for entry in ranked[:8]]
    if len(nearest) < 3:
        return []
    return rng.sample(nearest, 3)


def _quantity_distractors(term: _Term, seen: list[int], rest: str, rng: random.Random) -> list[str]:
    match = _QUANTITY.fullmatch(term.text)
    if match is None:
        return []
    value = _number_value(match.group("number"))
    unit = _unit_key(match)
    as_words = not match.group("number")[0].isdigit()
    brief_values = [v for v in seen if v != value]
    ladder = [v for v in _LADDER.get(unit, _DEFAULT_LADDER) if v != value and v not in brief_values]
    rng.shuffle(brief_values)
    rng.shuffle(ladder)
    out: list[str] = []
    for v in [*brief_values, *ladder]:
        if len(out) == 3:
            break
        option = _with_value(match, v, as_words)
        if option is None or option.lower() in rest.lower() or option in out or option == term.text:
            continue
        out.append(option)
    return out


def _with_value(match: re.Match[str], value: int, as_words: bool) -> str | None:
    """The answer's wording with another number: "15 consecutive days" -> "21 consecutive days"."""
    number = match.group("number")
    if as_words:
        spelled = _spell(value)
        if spelled is None:
            return None
        new_number = spelled.capitalize() if number[0].isupper() else spelled
    else:
        new_number = str(value)
    text = new_number + match.string[match.end("number") : match.end()]
    unit = match.group("unit")
    if unit and match.group("sep") != "-":
        # Agree the unit with the number: "1 day", "2 days".
        singular = _PLURAL_TO_SINGULAR.get(unit.lower(), unit.lower())
        plural = _UNITS.get(singular, unit.lower())
        wanted = singular if value == 1 else plural
        if unit.isupper():
            wanted = wanted.upper()
        elif unit[0].isupper():
            wanted = wanted.capitalize()
        text = text[: len(text) - len(unit)] + wanted
    return text


def _unit_key(match: re.Match[str]) -> str:
    if match.group("percent"):
        return "%"
    unit = (match.group("unit") or "").lower()
    return _PLURAL_TO_SINGULAR.get(unit, unit)


def _number_value(number: str) -> int | None:
    number = number.lower()
    if number[0].isdigit():
        try:
            value = float(number)
        except ValueError:
            return None
        return int(value) if value.is_integer() else None
    if "-" in number:
        tens, _, ones = number.partition("-")
        if tens in _WORD_VALUES and ones in _WORD_VALUES:
            return _WORD_VALUES[tens] + _WORD_VALUES[ones]
        return None
    return _WORD_VALUES.get(number)


def _spell(value: int) -> str | None:
    if 0 < value < 20:
        return _SMALL[value]
    if 20 <= value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens - 2] + (f"-{_SMALL[ones]}" if ones else "")
    return None


def _shape(word: str) -> str:
    """A rough word class by suffix, so that the options look alike."""
    lower = word.lower()
    for suffix in ("ing", "ed", "ly", "tion", "sion", "ment", "ity", "ness", "ive", "al", "ous", "ble"):
        if lower.endswith(suffix):
            return suffix
    if lower.endswith("s") and not lower.endswith("ss"):
        return "s"
    return "other"


def _content_word(word: str, position: int, idf: dict[str, float]) -> bool:
    """A word worth asking about: not a function word, and not capitalised (names and titles
    are trivia, and the first word of a sentence would stand out among the options)."""
    key = word.lower()
    base = re.sub(r"['\u2019]s$", "", key)  # "prisoner's" is as common as "prisoner"
    return position > 0 and not word[0].isupper() and len(base) >= 4 and base not in QUIZ_STOPWORDS and key in idf


def _tiebreak(seed: int, key: str) -> int:
    """Orders equally good distractors by the seed, the same way in every process (unlike hash())."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _md_prompt(prompt: str) -> str:
    return BLANK.join(md_escape(part) for part in prompt.split(BLANK))
