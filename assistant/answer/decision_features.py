"""The features of the learned answer decision: one typed record per question, from its retrieval and checks.

The answerability checks of assistant/answer/decision.py (names, answer type, counted thing,
focus terms) are inputs here, not vetoes: next to them stand each retrieval source's score of
the top passage, how far the fused score of the first passage stands above the next, whether
the dense models and BM25 agree on the first passage, and whether a figure of the asked kind
appears in the top passages at all. `decision_features` in assistant/answer/decision.py fills
the record (this module imports nothing of the assistant, so the model can read it without the
checks); `assistant/answer/decision_model.py` turns it into the probabilities.

Features that need the question's English words (term coverage, the name, answer-type and
counted-thing checks) are *absent* (None) for Russian and Kazakh questions, not guessed: the
model reads them as 0 next to the `english` indicator, which carries what their absence means.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

DENSE_SOURCES = ("minilm", "e5")
FIGURE_PASSAGES = 5  # a figure anywhere in the first five passages (the answer-type check's reach)

# The question words of a Russian or Kazakh figure question and the kind of figure each asks;
# the first that matches wins ("сколько суток" is a period, "сколько" alone a count).
_CYRILLIC_ASKS: tuple[tuple[str, str], ...] = (
    ("age", r"возраст|\bжас(?:ы|тан|ынан|қа)?\b"),
    ("measurement", r"\bвес\b|\bвеса\b|салма[ғқ]|\bплощад|\bметр"),
    (
        "duration",
        r"сколько (?:\w+ )?(?:суток|дней|часов|лет|недель|месяцев|минут|времени)|как долго|\bсрок"
        r"|неше (?:\w+ )?(?:күн|сағат|жыл|апта|ай|минут)|қанша (?:уақыт|күн|сағат|жыл)",
    ),
    ("frequency", r"как часто|сколько раз|неше рет|қаншалықты жиі|\bжиілі"),
    ("count", r"сколько|\bнеше\b|\bқанша\b|максимальн\w* (?:число|количество)"),
)
_CYRILLIC_ASK_RES = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _CYRILLIC_ASKS)


class DecisionFeatures(BaseModel):
    """What the learned decision reads about one question. None: absent for this question's language."""

    english: float  # 1: the English-word checks ran (an English question); 0: they are absent
    dense_best: float  # best cosine of the language's evidence model over its candidates
    minilm_top: float  # each source's score of the first passage
    e5_top: float
    bm25_top: float  # log(1 + BM25 score)
    minilm_best: float  # each dense source's best candidate cosine
    e5_best: float
    fused_top: float  # the first passage's fused score
    fused_margin: float  # ... minus the second's
    fused_margin3: float  # ... minus the third's
    evidence_margin: float  # the evidence model's score of the first passage minus the second's
    agreement: float  # share of the sources (minilm, e5, bm25) that score the first passage highest of the top passages
    same_doc: float  # share of the top five passages from the first passage's document
    passages: float  # 1: any passage retrieved
    asks_figure: float  # the question asks a figure (English or Russian/Kazakh cues)
    figure_in_top: float  # ... and a figure of that kind stands in one of the first five passages
    known_name: float = 0.0  # the question names a place, body or document a profile or alias knows
    name_elsewhere: float = 0.0  # ... whose documents are none of the top five passages' (assistant/answer/names.py)
    # English only (None for Russian and Kazakh):
    coverage: float | None = None  # IDF-weighted share of the question's terms in the top three passages
    focus_missing: float | None = None  # share of the focus terms' weight absent from them
    unknown_name: float | None = None  # a focus name the documents never mention
    absent_name: float | None = None  # a focus name none of the closest passages mentions
    rare_term: float | None = None  # a word neither the documents nor general English know
    quantity_asked: float | None = None
    quantity_missing: float | None = None  # no figure of the asked kind near one focus term
    quantity_missing_strict: float | None = None  # ... near two focus terms
    time_count: float | None = None  # "how many days ..."
    counted_missing: float | None = None  # no figure for the thing a "how many" question counts
    figure_focus: float | None = None  # focus terms' share next to a figure of the asked kind (1: none asked)
    any_check: float | None = None  # a name, answer-type or counted-thing check found something missing

    def vector(self, names: Sequence[str]) -> np.ndarray:
        """The features in `names` order; an absent one is 0 (the `english` indicator carries its absence)."""
        values = self.model_dump()
        return np.asarray([float(values[n] or 0.0) for n in names], dtype=np.float64)


FEATURE_NAMES: tuple[str, ...] = tuple(DecisionFeatures.model_fields)
# The features that stand for a check's finding, and the check (Reason.check) whose message says what is missing.
CHECK_FEATURES: dict[str, str] = {
    "unknown_name": "unknown_name",
    "absent_name": "absent_name",
    "rare_term": "rare_terms",
    "quantity_missing": "quantity",
    "quantity_missing_strict": "quantity",
    "counted_missing": "counted_thing",
    "focus_missing": "focus_terms",
}


def cyrillic_figure(question: str) -> str | None:
    """The kind of figure a Russian or Kazakh question asks for ("сколько суток" -> "duration"), or None."""
    for kind, pattern in _CYRILLIC_ASK_RES:
        if pattern.search(question):
            return kind
    return None
