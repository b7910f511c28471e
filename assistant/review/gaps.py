"""The gap report: the questions the documents could not answer (or only half answer), grouped by topic.

From the question log, the answers in the "not_covered" and "closest" states are embedded
with e5 (the index's multilingual model, so Russian, Kazakh and English questions on one
topic meet), clustered (`clustering.cluster`), and each cluster is described by:

- its label: the terms most particular to it (frequent in it, rare in the other clusters);
- the closest document sections: the indexed passages closest to its questions in particular
  (e5 vectors of the index), or, without them, the sections its answers listed most;
- counts per ISO week, per language and per state, and a few redacted example questions
  (those nearest the centre);
- the documents it leans on: those the answers cited or listed as closest.

`gap_files.write_gap_report` writes it as gaps.md, gaps.csv and gaps.png.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.review.clustering import cluster, normalize
from assistant.review.question_log import LoggedQuestion
from assistant.review.redaction import PLACEHOLDER_RE
from ingest.lexical import STOPWORDS

if TYPE_CHECKING:
    from ingest.encoders import TextEncoder
    from ingest.index_store import IndexSnapshot

log = logging.getLogger(__name__)

GAP_STATES = ("not_covered", "closest")
SECTION_POOL = 50  # the passages closest to a topic's questions, among which the most particular label it
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W\d_]|[^\W\d_]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words every staff question has: never a topic.
_QUESTION_WORDS = _words(
    """
    what how can could should would does did do is are was were when who whom which why where there their they them
    we our us you your me my him her his hers its this that these those any some much many more most also just then
    than about after before under over with without into onto from for not no yes get got give given let make made
    need needs allowed allow let's someone somebody anyone one ones still ever every other another here
    prisoner prisoners inmate inmates staff officer officers prison prisons people person someone's
    lad lads bloke fella guy guys says said say tell told know want wants like got keep put going gets does
    off too come comes coming behind asking ask asked sort kind bit lot new old doesn don isn aren wasn weren
    won shouldn couldn wouldn didn haven hasn ain
    has have had been being done doing way thing things anything something ok okay right really
    что как какие какой какая каких можно ли нужно надо должен должны если его её ее их они это для при или чем
    когда где кто сколько после перед без также только так уже еще ещё был была были быть есть нет над под между
    осуждённый осужденный осуждённого осужденного заключённый заключенный заключённого заключенного сотрудник сотрудники
    қандай қалай қашан неше кім не бола ма ме ба бе па пе керек егер және немесе үшін туралы бойынша бар жоқ ол олар
    оның оған сотталған сотталғанға сотталғанның тұтқын қызметкер қызметкерлер
    """
)


@dataclass(frozen=True)
class SectionIndex:
    """The index's passage vectors of one model (unit rows) with where each passage is: the sections to match."""

    vectors: np.ndarray
    places: list[dict[str, str]]  # doc, title, ref, section

    @classmethod
    def from_snapshot(cls, snapshot: IndexSnapshot, model_id: str) -> SectionIndex | None:
        """The sections of an index generation, for vectors of `model_id` ("e5", or "minilm"); None without them."""
        vectors = snapshot.embeddings() if model_id == "minilm" else snapshot.extra_vectors(model_id)
        if vectors is None or len(vectors) != len(snapshot.chunks):
            return None
        titles = {d.id: d.short_title or d.title for d in snapshot.meta.documents.values()}
        places = [
            {
                "doc": c.doc_id,
                "title": titles.get(c.doc_id, c.title),
                "ref": c.ref,
                "section": c.headings[-1] if c.headings else "",
            }
            for c in snapshot.chunks
        ]
        return cls(normalize(vectors).astype(np.float32), places)

    def closest(self, questions: np.ndarray, members: Sequence[int], n: int = 3) -> list[str]:
        """Labels of the `n` distinct sections closest to the member questions in particular: a passage's mean
        cosine to the members less its mean cosine to all the questions (long general passages are close to
        every question, and would otherwise label every topic)."""
        similarity = questions.astype(np.float32) @ self.vectors.T
        closeness = similarity[list(members)].mean(axis=0)
        near = np.argsort(-closeness)[:SECTION_POOL]  # close in absolute terms first
        particular = closeness[near] - similarity[:, near].mean(axis=0)
        order = near[np.argsort(-particular)]
        labels: list[str] = []
        for i in order[: n * 10]:
            label = section_label(self.places[int(i)])
            if label not in labels:
                labels.append(label)
            if len(labels) == n:
                break
        return labels


@dataclass(frozen=True)
class GapQuestion:
    """One question of the report (redacted), with its cluster."""

    log_id: int
    created: str
    week: str  # ISO week, e.g. 2025-W49
    lang: str
    state: str
    question: str
    cluster: int
    documents: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GapCluster:
    """One topic the documents are silent or thin on."""

    number: int  # 1 = the largest
    terms: list[str]
    size: int
    per_week: dict[str, int]
    per_lang: dict[str, int]
    per_state: dict[str, int]
    examples: list[str]
    sections: list[str]  # the closest document sections
    documents: list[tuple[str, int]]  # (document title, questions leaning on it), most first

    @property
    def label(self) -> str:
        return ", ".join(self.terms) or "(no common terms)"


@dataclass(frozen=True)
class GapReport:
    clusters: list[GapCluster]
    questions: list[GapQuestion]
    logged: int  # questions in the log over the period, answered ones included
    since: datetime | None
    generated: datetime
    model: str  # the model whose vectors were clustered
    silhouette: float | None

    @property
    def weeks(self) -> list[str]:
        return sorted({q.week for q in self.questions})


class GapAnalyzer:
    """Clusters the not-covered and closest questions of a log into labelled topics."""

    def __init__(
        self,
        encode_query: Callable[[str], np.ndarray],
        sections: SectionIndex | None = None,
        model: str = "e5",
        max_clusters: int = 12,
        examples: int = 3,
        terms: int = 3,
        seed: int = 0,
    ) -> None:
        self.encode_query = encode_query
        self.sections = sections
        self.model = model
        self.max_clusters = max_clusters
        self.examples = examples
        self.terms = terms
        self.seed = seed

    def analyze(
        self, rows: Sequence[LoggedQuestion], since: datetime | None = None, now: datetime | None = None
    ) -> GapReport:
        """The report over the rows (from `since`, when given) in the not_covered and closest states."""
        period = [r for r in rows if since is None or _aware(r.when) >= _aware(since)]
        gaps = [r for r in period if r.state in GAP_STATES]
        if not gaps:
            return empty_report(len(period), since, now, self.model)
        generated = now or datetime.now(UTC)
        texts = [search_text(r) for r in gaps]
        raw = normalize(np.array([self.encode_query(t) for t in texts]))
        vectors = normalize(centred_by_language(raw, [r.lang for r in gaps]))
        grouping = cluster(vectors, max_k=self.max_clusters, seed=self.seed)
        labels = grouping.labels
        members = [[i for i in range(len(gaps)) if labels[i] == c] for c in range(grouping.k)]
        terms = TermLabeller([gaps[i].question for i in range(len(gaps))])
        clusters = []
        for c, idx in enumerate(members):
            centre = grouping.centroids[c]
            closeness = vectors[idx] @ centre
            nearest = [idx[j] for j in np.argsort(-closeness)]
            examples = list(dict.fromkeys(gaps[i].question for i in nearest))[: self.examples]
            clusters.append(
                GapCluster(
                    number=c + 1,
                    terms=terms.label(idx, self.terms),
                    size=len(idx),
                    per_week=dict(sorted(Counter(_week(gaps[i]) for i in idx).items())),
                    per_lang=dict(Counter(gaps[i].lang for i in idx).most_common()),
                    per_state=dict(Counter(gaps[i].state for i in idx).most_common()),
                    examples=examples,
                    sections=self._sections(raw, idx, [gaps[i] for i in idx]),
                    documents=_documents([gaps[i] for i in idx]),
                )
            )
        questions = [
            GapQuestion(r.id, r.created, _week(r), r.lang, r.state, r.question, int(labels[i]) + 1, _titles(r))
            for i, r in enumerate(gaps)
        ]
        return GapReport(clusters, questions, len(period), since, generated, self.model, grouping.silhouette)

    def _sections(self, raw: np.ndarray, members: list[int], rows: Sequence[LoggedQuestion]) -> list[str]:
        if self.sections is not None:
            return self.sections.closest(raw, members)
        listed = Counter(section_label(p) for r in rows for p in r.passages[:3])
        return [label for label, _ in listed.most_common(3)]


def centred_by_language(vectors: np.ndarray, langs: Sequence[str], min_members: int = 5) -> np.ndarray:
    """Each vector less the mean of its language's vectors (the whole set's mean for a language with fewer than
    `min_members`): e5 puts questions of one language, and the common "staff question" direction, close together;
    without them what is left is the topic, so a Russian question joins the English ones on the same subject."""
    centred = np.array(vectors, dtype=np.float64)
    overall = centred.mean(axis=0)
    labels = np.array(list(langs))
    for lang in set(langs):
        rows = labels == lang
        centred[rows] -= centred[rows].mean(axis=0) if rows.sum() >= min_members else overall
    return centred


def empty_report(logged: int, since: datetime | None, now: datetime | None = None, model: str = "") -> GapReport:
    """The report of a period without a not-covered or closest question."""
    return GapReport([], [], logged, since, now or datetime.now(UTC), model, None)


def search_text(row: LoggedQuestion) -> str:
    """The text a question is embedded by: its self-contained form, placeholders removed."""
    text = row.standalone or row.question
    return " ".join(PLACEHOLDER_RE.sub(" ", text).split())


def section_label(place: dict[str, Any]) -> str:
    parts = [place.get("title") or place.get("doc", ""), place.get("ref", ""), place.get("section", "")]
    return ", ".join(dict.fromkeys(p for p in parts if p))


class TermLabeller:
    """The words most particular to a group of questions: frequent in it, rare among all the questions.

    Words are grouped by stem (English and Russian Snowball; "visit", "visits", "visiting" count as one)
    and shown in their most frequent form in the group; placeholders, function words and the words of
    every staff question ("prisoner", "can", "lad") never label a topic.
    """

    def __init__(self, questions: Sequence[str]) -> None:
        self.words = [_words_of(q) for q in questions]
        self.stems = [{_stem(w) for w in words} for words in self.words]
        self.df = Counter(stem for stems in self.stems for stem in stems)
        self.n = len(questions)

    def label(self, members: Sequence[int], n: int = 3) -> list[str]:
        counts = Counter(stem for i in members for stem in self.stems[i])
        forms = Counter((_stem(w), w) for i in members for w in self.words[i])
        least = 1 if len(members) < 3 else 2
        scored = [
            (count / len(members) * math.log(self.n / self.df[stem]), count, stem)
            for stem, count in counts.items()
            if count >= least and self.df[stem] < self.n
        ]
        scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
        shown = []
        for _, _, stem in scored[:n]:
            shown.append(max((k, w) for (st, w), k in forms.items() if st == stem)[1])
        return shown


def _words_of(text: str) -> list[str]:
    text = PLACEHOLDER_RE.sub(" ", text)
    words = [w.lower().strip("'’-") for w in _WORD.findall(text)]
    words = [re.sub(r"['’](?:s|ve|ll|re|d|m|t)$", "", w) for w in words]
    return [w for w in words if len(w) >= 3 and w not in STOPWORDS and w not in _QUESTION_WORDS]


_STEMMERS: dict[str, Any] = {}


def _stem(word: str) -> str:
    language = "russian" if re.search(r"[\u0400-\u04ff]", word) else "english"
    if language not in _STEMMERS:
        import Stemmer

        _STEMMERS[language] = Stemmer.Stemmer(language)
    return str(_STEMMERS[language].stemWord(word))


def _documents(rows: Sequence[LoggedQuestion]) -> list[tuple[str, int]]:
    counts = Counter(title for r in rows for title in _titles(r))
    return counts.most_common(3)


def _titles(row: LoggedQuestion) -> list[str]:
    places = row.citations or row.passages[:3]
    return list(dict.fromkeys(p.get("title") or p.get("doc", "") for p in places))


def _week(row: LoggedQuestion) -> str:
    year, week, _ = row.when.isocalendar()
    return f"{year}-W{week:02d}"


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def analyzer_for(
    encoders: Mapping[str, TextEncoder], snapshot: IndexSnapshot | None, max_clusters: int = 12
) -> GapAnalyzer:
    """An analyzer on e5 (MiniLM where e5 is not configured), matching sections with the index's own vectors of
    that model when they were embedded by the same one."""
    model_id = "e5" if "e5" in encoders else "minilm"
    encoder = encoders[model_id]
    sections = None
    if snapshot is not None:
        stored = snapshot.meta.extra_vectors.get(model_id)
        if model_id == "minilm":
            same = snapshot.meta.embedded_by(encoder.model_path, getattr(encoder, "identity", ""))
        else:
            same = stored is not None and stored.model_path == encoder.model_path
        if same:
            sections = SectionIndex.from_snapshot(snapshot, model_id)
    return GapAnalyzer(encoder.encode_query, sections, model=model_id, max_clusters=max_clusters)
