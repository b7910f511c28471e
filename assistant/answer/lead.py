"""The lead: the one to three sentences of the top passages that answer the question, quoted first.

A member of staff reads the lead before anything else: at most `max_words` (60) words, verbatim
sentences of the top passages, each cited and verified on its page like every quote. Below it
the answer lists the supporting passages.

Every sentence of the top `passages` passages is a candidate, described by the features in
`FEATURES` (`SentenceFeatures.of`): how similar each dense model finds it to the question (the
MiniLM windows stored at ingest; e5 on the candidate sentences at query time), the share of the
question's IDF-weighted terms it holds after glossary expansion, whether it gives what the
question asks for (a figure for "how many / how long", a role for "who", an obligation or
permission for "must / can we"), where it sits in its passage, its passage's rank and fused
score, and its document's kind. A `LeadModel` (a linear score: logistic regression weights
learned from the dev set's key facts by `handbook eval lead`, evals/lead_training.py) ranks the
candidates; `LeadSelector.select` takes the best, then the next ones while they fit the word
budget and score above the model's threshold. The weights are constants in
`assistant/answer/lead_weights.py`, written by the trainer (never computed at run time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.answer.decision import asked_quantity, gives_quantity
from assistant.answer.injection import looks_injected
from assistant.language import profile
from assistant.retrieval import ScoredChunk
from ingest.lexical import lexical_tokens
from ingest.sentences import sentence_spans
from ingest.textnorm import normalize_for_match

FEATURES: tuple[str, ...] = (
    "minilm",  # best MiniLM cosine of a stored window holding the sentence (the chunk's score without windows)
    "minilm_best",  # the sentence is in its chunk's best-matching window
    "e5",  # e5 cosine of the question and the sentence, embedded at query time (0 when e5 is off)
    "overlap",  # IDF-weighted share of the question's terms (glossary-expanded) in the sentence
    "figure",  # the question asks for a figure and the sentence gives one
    "who",  # the question asks who, and the sentence names a role
    "must",  # the question asks what must or may be done, and the sentence states an obligation or permission
    "first",  # the first sentence of its passage
    "position",  # its index among its passage's sentences, over their number
    "rank",  # 1 / (1 + its passage's rank)
    "fused",  # its passage's fused score over the best passage's
    "binding",  # its document is a binding standard
    "report",  # its document is a report
    "short",  # fewer than 8 words: a heading, a list stub or a fragment
    "words",  # its words / 60
    # Relative to the other shortlisted sentences of the question (`relative`): how far below the best.
    "minilm_gap",
    "e5_gap",
    "overlap_gap",
    "e5_passage_best",  # the best e5 sentence of its passage
)
# Features that need e5 on the sentence: computed for the shortlist only (e5 costs milliseconds a sentence).
E5_FEATURES = frozenset({"e5", "e5_gap", "e5_passage_best"})

_ROLE = re.compile(
    r"\b(?:director|governor|officers?|staff|medical|doctors?|physicians?|nurses?|health[- ]care|psychologists?|"
    r"chaplains?|managers?|wardens?|authorit(?:y|ies)|inspectors?|judges?|courts?|commissioners?|superintendents?|"
    r"supervisors?|head of|administration|personnel|professionals?|practitioners?|committee|ombudsman|minister)\b",
    re.IGNORECASE,
)
_OBLIGATION = re.compile(
    r"\b(?:shall|must|should|required|requires?|is to|are to|may not|may only|prohibited|forbidden|never|"
    r"entitled|right to|allowed|permitted|responsible for|obliged|ensure)\b",
    re.IGNORECASE,
)
SHORT_WORDS = 8


@dataclass(frozen=True)
class LeadCandidate:
    """One sentence of a top passage: where it is, and its features (in `FEATURES` order)."""

    hit: int  # index into the hits (= the answer's passages)
    start: int  # offsets into the hit's chunk text
    end: int
    text: str
    features: tuple[float, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class LeadModel:
    """A linear score over the features; with `logistic`, its sigmoid is the chance the sentence answers."""

    weights: Mapping[str, float]
    bias: float = 0.0
    threshold: float = 0.5  # a second or third sentence joins the lead only at this chance (or score) or above
    logistic: bool = True
    # Features standardised as in training: (x - mean) / scale.
    mean: Mapping[str, float] = field(default_factory=dict)
    scale: Mapping[str, float] = field(default_factory=dict)

    def score(self, candidate: LeadCandidate) -> float:
        total = self.bias
        for name, value in zip(FEATURES, candidate.features, strict=True):
            weight = self.weights.get(name, 0.0)
            if weight:
                total += weight * (value - self.mean.get(name, 0.0)) / (self.scale.get(name, 1.0) or 1.0)
        return total

    def chance(self, candidate: LeadCandidate) -> float:
        """The score as the value the threshold applies to: a probability for a logistic model."""
        score = self.score(candidate)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score)))) if self.logistic else score

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LeadModel:
        return cls(
            weights=dict(data.get("weights", {})),  # type: ignore[call-overload]
            bias=float(data.get("bias", 0.0)),  # type: ignore[arg-type]
            threshold=float(data.get("threshold", 0.5)),  # type: ignore[arg-type]
            logistic=bool(data.get("logistic", True)),
            mean=dict(data.get("mean", {})),  # type: ignore[call-overload]
            scale=dict(data.get("scale", {})),  # type: ignore[call-overload]
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "weights": dict(self.weights),
            "bias": self.bias,
            "threshold": self.threshold,
            "logistic": self.logistic,
            "mean": dict(self.mean),
            "scale": dict(self.scale),
        }


# What the scorer needs of the retriever: the MiniLM window cosines of a hit, and the e5 cosines of texts.
WindowScores = Callable[[ScoredChunk], np.ndarray]
TextScores = Callable[[Sequence[str]], "np.ndarray | None"]


@dataclass
class LeadRequest:
    """One question's inputs to the lead."""

    question: str  # as searched (the standalone question)
    lang: str
    terms: Sequence[str]  # the glossary-expanded question's lexical tokens
    idf: Mapping[str, float]
    hits: Sequence[ScoredChunk]
    kinds: Mapping[str, str]  # document id -> kind
    windows: WindowScores | None = None
    texts: TextScores | None = None


def candidate_spans(hit: ScoredChunk) -> list[tuple[int, int]]:
    """The sentences of a hit that can be quoted alone: never across a numbered unit's boundary.

    Between two units the page prints a heading the passage text leaves out, so a sentence
    running over one would not be verbatim.
    """
    boundaries = [r.offset for r in hit.chunk.refs]
    return [(a, b) for a, b in sentence_spans(hit.chunk.text) if not any(a < x < b for x in boundaries)]


def _overlap(tokens: set[str], terms: set[str], idf: Mapping[str, float]) -> float:
    total = sum(idf.get(t, 0.0) for t in terms)
    return sum(idf.get(t, 0.0) for t in tokens & terms) / total if total else 0.0


def candidates(request: LeadRequest, passages: int = 5) -> list[LeadCandidate]:
    """Every quotable sentence of the top `passages` hits, with its features."""
    hits = list(request.hits[:passages])
    if not hits:
        return []
    lang = profile(request.lang)
    question = request.question
    quantity = asked_quantity(question) if lang.lexical_checks else None
    asks_figure = quantity is not None or bool(lang.asks_figure.search(question))
    asks_who = bool(lang.asks_who.search(question))
    asks_must = bool(lang.asks_must.search(question))
    terms = set(request.terms)
    top = hits[0].score or 1.0
    spans_of = [candidate_spans(h) for h in hits]
    out: list[LeadCandidate] = []
    for rank, (hit, spans) in enumerate(zip(hits, spans_of, strict=True)):
        all_spans = sentence_spans(hit.chunk.text)
        index_of = {span: i for i, span in enumerate(all_spans)}
        windows = request.windows(hit) if request.windows is not None else np.zeros(0)
        kind = request.kinds.get(hit.chunk.doc_id, "")
        for a, b in spans:
            text = hit.chunk.text[a:b]
            i = index_of.get((a, b), 0)
            held = [w for w in (i - 1, i) if 0 <= w < len(windows)]
            minilm = max((float(windows[w]) for w in held), default=hit.scores.get("minilm", hit.dense))
            tokens = set(lexical_tokens(text))
            words = len(text.split())
            if quantity is not None:
                figure = gives_quantity(text, quantity)
            else:
                figure = asks_figure and gives_quantity(text, "count")
            values = {
                "minilm": minilm,
                "minilm_best": float(hit.window is not None and hit.window in (i - 1, i)),
                "e5": 0.0,  # `with_e5` fills it for the shortlist
                "overlap": _overlap(tokens, terms, request.idf),
                "figure": float(asks_figure and figure),
                "who": float(asks_who and _ROLE.search(text) is not None),
                "must": float(asks_must and _OBLIGATION.search(text) is not None),
                "first": float(i == 0),
                "position": i / max(1, len(all_spans)),
                "rank": 1.0 / (1 + rank),
                "fused": hit.score / top if top else 0.0,
                "binding": float(kind == "binding-standard"),
                "report": float(kind == "report"),
                "short": float(words < SHORT_WORDS),
                "words": words / 60,
            }
            out.append(LeadCandidate(rank, a, b, text, tuple(values.get(name, 0.0) for name in FEATURES)))
    return out


def _with(candidate: LeadCandidate, **values: float) -> LeadCandidate:
    features = list(candidate.features)
    for name, value in values.items():
        features[FEATURES.index(name)] = value
    return replace(candidate, features=tuple(features))


def with_e5(found: Sequence[LeadCandidate], texts: TextScores | None) -> list[LeadCandidate]:
    """The candidates with their e5 cosine to the question (unchanged without e5)."""
    scores = texts([c.text for c in found]) if texts is not None and found else None
    if scores is None:
        return list(found)
    return [_with(c, e5=float(value)) for c, value in zip(found, scores, strict=True)]


def relative(found: Sequence[LeadCandidate]) -> list[LeadCandidate]:
    """The candidates with the features that compare them with each other (the gaps to the best, the best of
    each passage): computed over the sentences that compete for the lead, the shortlist."""
    if not found:
        return []
    column = {name: [c.features[FEATURES.index(name)] for c in found] for name in ("minilm", "e5", "overlap")}
    best = {name: max(values) for name, values in column.items()}
    passage_best: dict[int, float] = {}
    for c, value in zip(found, column["e5"], strict=True):
        passage_best[c.hit] = max(passage_best.get(c.hit, value), value)
    return [
        _with(
            c,
            minilm_gap=column["minilm"][i] - best["minilm"],
            e5_gap=column["e5"][i] - best["e5"],
            overlap_gap=column["overlap"][i] - best["overlap"],
            e5_passage_best=float(column["e5"][i] >= passage_best[c.hit]),
        )
        for i, c in enumerate(found)
    ]


@dataclass(frozen=True)
class LeadSelector:
    """Chooses the lead among the candidates (module docstring).

    Two stages, because e5 costs milliseconds a sentence: `shortlists` (a model of the features
    without e5) keeps the `shortlist` best sentences, e5 embeds those, and `models` chooses among them.
    """

    models: Mapping[str, LeadModel]  # by question language; "en" stands in for a language without one
    max_words: int = 60
    max_sentences: int = 3
    passages: int = 5
    shortlists: Mapping[str, LeadModel] = field(default_factory=dict)  # none: every candidate is shortlisted
    shortlist: Mapping[str, int] = field(default_factory=dict)  # how many, by question language (default 8)

    def model(self, lang: str) -> LeadModel:
        return self.models.get(lang) or self.models["en"]

    def choose(
        self, request: LeadRequest, accept: Callable[[LeadCandidate], bool] = lambda c: True
    ) -> tuple[list[LeadCandidate], list[LeadCandidate]]:
        """(the lead, the shortlisted candidates with all their features) for one question."""
        found = self.short(candidates(request, self.passages), request.lang)
        found = relative(with_e5(found, request.texts))
        return self.select(found, request.lang, accept), found

    def short(self, found: Sequence[LeadCandidate], lang: str) -> list[LeadCandidate]:
        """The candidates the first stage keeps, best first (all of them without a first-stage model)."""
        first = self.shortlists.get(lang) or self.shortlists.get("en")
        if first is None:
            return list(found)
        ranked = sorted(found, key=lambda c: (-first.score(c), c.hit, c.start))
        return ranked[: self.shortlist.get(lang, self.shortlist.get("en", 8))]

    def select(
        self,
        found: Sequence[LeadCandidate],
        lang: str,
        accept: Callable[[LeadCandidate], bool] = lambda c: True,
    ) -> list[LeadCandidate]:
        """The best candidate, then the next best while they fit the budget and reach the model's threshold.

        `accept` is the quote check: a sentence not found on its cited page is passed over.
        """
        model = self.model(lang)
        ranked = sorted(found, key=lambda c: (-model.score(c), c.hit, c.start))
        chosen: list[LeadCandidate] = []
        seen: set[str] = set()
        words = 0
        for candidate in ranked:
            if len(chosen) >= self.max_sentences:
                break
            if chosen and model.chance(candidate) < model.threshold:
                break
            key = normalize_for_match(candidate.text)
            if key in seen or candidate.words > self.max_words - words or looks_injected(candidate.text):
                continue
            if not accept(candidate):
                continue
            chosen.append(candidate)
            seen.add(key)
            words += candidate.words
        return chosen


def default_selector() -> LeadSelector:
    """The selector with the shipped weights (assistant/answer/lead_weights.py)."""
    from assistant.answer.lead_weights import LEAD_MODELS, LEAD_PASSAGES, LEAD_SHORTLIST, LEAD_SHORTLISTS

    return LeadSelector(
        {lang: LeadModel.from_dict(data) for lang, data in LEAD_MODELS.items()},
        passages=LEAD_PASSAGES,
        shortlists={lang: LeadModel.from_dict(data) for lang, data in LEAD_SHORTLISTS.items()},
        shortlist=dict(LEAD_SHORTLIST),
    )
