"""Evaluation metrics: pure functions over typed per-question records (evals/records.py).

Every definition here is documented in evals/README.md ("Metrics"); keep the two in step.
A metric that has nothing to measure (no answerable question, no citation, ...) is
`None`, never 0, so that an empty subset does not read as a failure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

from evals.golden import LANGS, STAFF_WORDING_MAX, ExpectedPassage
from evals.placement import placement_metrics
from evals.records import Latency, Metrics, QuestionRecord, RetrievedPassage
from evals.stats import percentile
from ingest.textnorm import normalize_for_match

K_VALUES = (1, 3, 5, 10)
RANK_K = 10  # passages retrieved per question, and the cut-off of MRR and nDCG
MISS_K = 5  # a question is a retrieval "miss" without a relevant passage in the top 5 (the assistant's top_k)


# --- retrieval ------------------------------------------------------------------------------


def pages_overlap(a: Iterable[int], b: Iterable[int]) -> bool:
    return bool(set(a) & set(b))


def matching_entries(passage: RetrievedPassage, expected: Sequence[ExpectedPassage]) -> list[int]:
    """Indices of the expected entries this passage satisfies: same document, overlapping pages."""
    return [i for i, e in enumerate(expected) if e.doc == passage.doc and pages_overlap(passage.pages, e.pages)]


def is_relevant(passage: RetrievedPassage, expected: Sequence[ExpectedPassage]) -> bool:
    return bool(matching_entries(passage, expected))


def hit_rank(record: QuestionRecord, k: int = RANK_K) -> int | None:
    """1-based rank of the first relevant passage within the top k, or None."""
    for rank, passage in enumerate(record.retrieved[:k], start=1):
        if is_relevant(passage, record.expected):
            return rank
    return None


def ndcg(record: QuestionRecord, k: int = RANK_K) -> float:
    """Binary-gain nDCG@k where each expected entry can be found once.

    A passage gains 1 when it satisfies an expected entry that no higher-ranked passage
    already satisfied (three chunks of the same expected page count once), so the ideal
    DCG is that of min(#expected entries, k) relevant passages at the top ranks and the
    value stays within [0, 1].
    """
    if not record.expected:
        return 0.0
    found: set[int] = set()
    dcg = 0.0
    for rank, passage in enumerate(record.retrieved[:k], start=1):
        new = [i for i in matching_entries(passage, record.expected) if i not in found]
        if new:
            found.add(new[0])
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(record.expected), k) + 1))
    return dcg / ideal


def _answerable(records: Iterable[QuestionRecord]) -> list[QuestionRecord]:
    return [r for r in records if r.answerable]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def hit_at_k(records: Iterable[QuestionRecord], k: int) -> float | None:
    """Share of answerable questions with a relevant passage in the top k."""
    rows = _answerable(records)
    return _mean([1.0 if hit_rank(r, k) is not None else 0.0 for r in rows])


def mrr_at_k(records: Iterable[QuestionRecord], k: int = RANK_K) -> float | None:
    """Mean over answerable questions of 1/rank of the first relevant passage (0 beyond k)."""
    rows = _answerable(records)
    ranks = [hit_rank(r, k) for r in rows]
    return _mean([1.0 / rank if rank else 0.0 for rank in ranks])


def ndcg_at_k(records: Iterable[QuestionRecord], k: int = RANK_K) -> float | None:
    return _mean([ndcg(r, k) for r in _answerable(records)])


# --- references -----------------------------------------------------------------------------

_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212-]+\s*|\s+to\s+")
_PARENS = re.compile(r"\([^)]*\)")
_NUMBER = re.compile(r"\d+(?:\.\d+)*")
_LABEL = re.compile(r"^([a-z]+)\b")

Number = tuple[int, ...]


def parse_ref(ref: str) -> tuple[str, list[tuple[Number, Number]]]:
    """`"Rules 59–60"` -> ("rule", [((59,), (60,))]); `"4.2"` -> ("", [((4, 2), (4, 2))]).

    The label is lower-cased and singular; sub-paragraphs in parentheses are dropped
    ("Rule 59(2)" is Rule 59); a dash or "to" joins the two ends of a range; commas and
    "and" separate numbers.
    """
    text = _PARENS.sub(" ", ref.lower()).strip()
    match = _LABEL.match(text)
    label = ""
    if match:
        label = match.group(1)
        if label.endswith("s") and len(label) > 3:
            label = label[:-1]
        text = text[match.end() :]
    text = _DASHES.sub("~", text)
    intervals: list[tuple[Number, Number]] = []
    for part in re.split(r",|;|\band\b|&", text):
        ends = [tuple(int(x) for x in n.split(".")) for n in _NUMBER.findall(part.split("~")[0])][:1]
        if "~" in part:
            ends += [tuple(int(x) for x in n.split(".")) for n in _NUMBER.findall(part.split("~", 1)[1])][:1]
        if not ends:
            continue
        lo, hi = ends[0], ends[-1]
        intervals.append((min(lo, hi), max(lo, hi)))
    return label, intervals


def refs_match(cited: str, expected: str) -> bool:
    """Whether two printed references name the same unit (or ranges that share one).

    Labels must agree when both have one ("Article 4" is not "Rule 4"); numbers compare
    exactly by their dotted parts ("4.2" is not "4.20"), a range contains the numbers
    between its ends ("Rules 59–60" matches "Rule 59" and "Rule 60").
    """
    if not cited.strip() or not expected.strip():
        return False
    label_a, spans_a = parse_ref(cited)
    label_b, spans_b = parse_ref(expected)
    if label_a and label_b and label_a != label_b:
        return False
    if not spans_a or not spans_b:
        return normalize_for_match(cited) == normalize_for_match(expected)
    return any(lo_a <= hi_b and lo_b <= hi_a for lo_a, hi_a in spans_a for lo_b, hi_b in spans_b)


def ref_correct(record: QuestionRecord) -> bool | None:
    """Some citation names an expected ref of the same document; None when no expected ref is printed."""
    targets = [e for e in record.expected if e.ref.strip()]
    if not record.answerable or not targets:
        return None
    return any(c.doc == e.doc and refs_match(c.ref, e.ref) for c in record.citations for e in targets)


def ref_accuracy(records: Iterable[QuestionRecord]) -> tuple[float | None, int]:
    judged = [v for v in (ref_correct(r) for r in records) if v is not None]
    return _mean([1.0 if v else 0.0 for v in judged]), len(judged)


# --- key facts ------------------------------------------------------------------------------


def key_facts_found(record: QuestionRecord) -> list[bool]:
    """For each key fact, whether the answer text contains it (both sides `normalize_for_match`)."""
    answer = normalize_for_match(record.answer)
    return [bool(normalize_for_match(fact)) and normalize_for_match(fact) in answer for fact in record.key_facts]


def all_key_facts(record: QuestionRecord) -> bool | None:
    if not record.answerable or not record.key_facts:
        return None
    return all(key_facts_found(record))


def key_fact_coverage(records: Iterable[QuestionRecord]) -> float | None:
    """Share of answerable questions (with key facts) whose answer contains all of them."""
    judged = [v for v in (all_key_facts(r) for r in records) if v is not None]
    return _mean([1.0 if v else 0.0 for v in judged])


def key_fact_share(records: Iterable[QuestionRecord]) -> float | None:
    """Share of all key facts of answerable questions that the answers contain."""
    found = [f for r in _answerable(records) for f in key_facts_found(r)]
    return _mean([1.0 if f else 0.0 for f in found])


# --- citations ------------------------------------------------------------------------------


def quote_on_pages(quote: str, page_texts: Sequence[str]) -> bool:
    """The quote occurs in the cited pages' text, joined in page order, after `normalize_for_match`."""
    needle = normalize_for_match(quote)
    if not needle or not page_texts:
        return False
    return needle in " ".join(normalize_for_match(t) for t in page_texts)


def check_citations(record: QuestionRecord, page_text: Callable[[str, int], str | None]) -> QuestionRecord:
    """A copy of the record whose citations carry `valid`, looked up with page_text(doc, page)."""
    checked = []
    for c in record.citations:
        texts = [page_text(c.doc, p) for p in sorted(set(c.pages))]
        valid = all(t is not None for t in texts) and quote_on_pages(c.quote, [t for t in texts if t is not None])
        checked.append(c.model_copy(update={"valid": valid}))
    return record.model_copy(update={"citations": checked})


def citation_validity(records: Iterable[QuestionRecord]) -> tuple[float | None, int]:
    """Share of checked citations (over all questions) whose quote is on its cited pages."""
    checked = [c.valid for r in records for c in r.citations if c.valid is not None]
    return _mean([1.0 if v else 0.0 for v in checked]), len(checked)


# --- refusals -------------------------------------------------------------------------------


def refusal_recall(records: Iterable[QuestionRecord]) -> float | None:
    """Share of unanswerable questions the system refused."""
    return _mean([1.0 if r.refused else 0.0 for r in records if not r.answerable])


def false_refusal_rate(records: Iterable[QuestionRecord]) -> float | None:
    """Share of answerable questions the system refused."""
    return _mean([1.0 if r.refused else 0.0 for r in records if r.answerable])


STATES = ("answered", "closest", "not_covered")


def state_share(records: Sequence[QuestionRecord], state: str) -> float | None:
    """Share of the questions answered in that state (None when the system reports no states)."""
    judged = [r for r in records if r.state]
    return _mean([1.0 if r.state == state else 0.0 for r in judged])


# --- latency --------------------------------------------------------------------------------


def latency(records: Iterable[QuestionRecord]) -> Latency:
    """p50, p95 (evals/stats.py) and mean of the records' latencies; all None without any."""
    values = [r.latency_ms for r in records if r.latency_ms is not None]
    if not values:
        return Latency()
    return Latency(
        p50=round(percentile(values, 50), 2), p95=round(percentile(values, 95), 2), mean=_round(_mean(values), 2)
    )


# --- aggregation ----------------------------------------------------------------------------


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def compute_metrics(records: Sequence[QuestionRecord], answers: bool = True) -> Metrics:
    """All metrics of a set of records; with answers=False only retrieval and latency (baselines)."""
    data: dict[str, object] = {f"hit@{k}": _round(hit_at_k(records, k)) for k in K_VALUES}
    data.update(
        {
            "n": len(records),
            "n_answerable": sum(1 for r in records if r.answerable),
            "n_unanswerable": sum(1 for r in records if not r.answerable),
            "mrr@10": _round(mrr_at_k(records)),
            "ndcg@10": _round(ndcg_at_k(records)),
            "latency_ms": latency(records),
        }
    )
    metrics = Metrics.model_validate(data)
    if answers:
        ref_acc, ref_n = ref_accuracy(records)
        validity, cited = citation_validity(records)
        metrics = metrics.model_copy(
            update={
                "ref_accuracy": _round(ref_acc),
                "ref_questions": ref_n,
                "key_fact_coverage": _round(key_fact_coverage(records)),
                "key_fact_share": _round(key_fact_share(records)),
                "citation_validity": _round(validity),
                "citations": cited,
                "refusal_recall": _round(refusal_recall(records)),
                "false_refusal_rate": _round(false_refusal_rate(records)),
                **{f"{state}_share": _round(state_share(records, state)) for state in STATES},
                **placement_metrics(records),
            }
        )
    elif any(r.answer for r in records):
        # A retrieval-only baseline given a reading text (the tutorial's top passage): where its facts sit.
        metrics = metrics.model_copy(update=placement_metrics(records))
    return metrics


def metrics_per_kind(records: Sequence[QuestionRecord], answers: bool = True) -> dict[str, Metrics]:
    kinds: dict[str, list[QuestionRecord]] = {}
    for r in records:
        kinds.setdefault(r.kind, []).append(r)
    return {kind: compute_metrics(rows, answers) for kind, rows in sorted(kinds.items())}


STAFF_BAND = f"≤{STAFF_WORDING_MAX:.2f}"  # staff wording
DOCUMENT_BAND = f">{STAFF_WORDING_MAX:.2f}"  # document wording


def overlap_band(overlap: float | None) -> str | None:
    """The band of a question's word overlap: staff wording (<= 0.30) or document wording; None if unknown."""
    if overlap is None:
        return None
    return STAFF_BAND if overlap <= STAFF_WORDING_MAX else DOCUMENT_BAND


def metrics_per_overlap(records: Sequence[QuestionRecord], answers: bool = True) -> dict[str, Metrics]:
    """Metrics per overlap band, staff wording first; questions without an overlap (unanswerable) are left out."""
    bands: dict[str, list[QuestionRecord]] = {STAFF_BAND: [], DOCUMENT_BAND: []}
    for r in records:
        band = overlap_band(r.overlap)
        if band is not None:
            bands[band].append(r)
    return {band: compute_metrics(rows, answers) for band, rows in bands.items() if rows}


def metrics_per_lang(records: Sequence[QuestionRecord], answers: bool = True) -> dict[str, Metrics]:
    """Metrics per question language (en, ru, kk, in that order; only languages present)."""
    langs: dict[str, list[QuestionRecord]] = {}
    for r in records:
        langs.setdefault(r.lang, []).append(r)
    order = {lang: i for i, lang in enumerate(LANGS)}
    ranked = sorted(langs, key=lambda lang: (order.get(lang, len(order)), lang))
    return {lang: compute_metrics(langs[lang], answers) for lang in ranked}
