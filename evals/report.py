"""Writes an evaluation report folder: report.json, report.md and two PNG plots."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from assistant.answer.render import citation_label
from evals.metrics import DOCUMENT_BAND, K_VALUES, MISS_K, STAFF_BAND
from evals.records import Metrics, RetrievedPassage
from evals.runner import SYSTEM, EvalReport

log = logging.getLogger(__name__)

# (report key, label, lower is better) of the headline table.
HEADLINE: tuple[tuple[str, str, bool], ...] = (
    ("hit@1", "hit@1", False),
    ("hit@3", "hit@3", False),
    ("hit@5", "hit@5", False),
    ("hit@10", "hit@10", False),
    ("mrr@10", "MRR@10", False),
    ("ndcg@10", "nDCG@10", False),
    ("ref_accuracy", "ref accuracy", False),
    ("key_fact_coverage", "key-fact coverage (questions)", False),
    ("key_fact_share", "key-fact share (facts)", False),
    ("lead_key_fact_share", "key facts in the first 60 words", False),
    ("words_before_key_fact", "words before the first key fact (median)", True),
    ("words_before_passages", "words before the supporting passages (median)", True),
    ("citation_validity", "citation validity", False),
    ("refusal_recall", "refusal recall", False),
    ("false_refusal_rate", "false-refusal rate", True),
    ("latency_ms.p50", "latency p50 (ms)", True),
    ("latency_ms.p95", "latency p95 (ms)", True),
)


_GROUP_COLUMNS = (
    "n | hit@1 | hit@5 | MRR@10 | nDCG@10 | ref acc. | key facts | key facts in 60 words | words before passages "
    "| refusal recall | false refusals |"
)
_GROUP_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def _group_rows(groups: dict[str, Metrics]) -> list[str]:
    """One table row per group (kind, overlap band, language) with the same columns."""
    rows = []
    for name, m in groups.items():
        values = [m.hit_1, m.hit_5, m.mrr_10, m.ndcg_10, m.ref_accuracy, m.key_fact_coverage, m.lead_key_fact_share]
        cells = [_fmt(v) for v in values] + [_fmt(m.words_before_passages, "words")]
        cells += [_fmt(v) for v in (m.refusal_recall, m.false_refusal_rate)]
        rows.append(f"| {name} | {m.n} | " + " | ".join(cells) + " |")
    return rows


def _fmt(value: float | None, key: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if key.startswith(("latency", "words")) else f"{value:.3f}"


def _delta(ours: float | None, other: float | None, key: str) -> str:
    if ours is None or other is None:
        return "–"
    delta = ours - other
    return f"{delta:+.1f}" if key.startswith(("latency", "words")) else f"{delta:+.3f}"


def _passage(p: RetrievedPassage) -> str:
    return f"{citation_label(p.doc, p.ref, p.pages)} ({p.score:.4f})"


def render_markdown(report: EvalReport, plots: bool = True) -> str:
    systems: list[tuple[str, Metrics]] = [(SYSTEM, report.metrics)]
    systems += [(name, b.metrics) for name, b in report.baselines.items()]
    run = report.run
    lines = [
        "# Evaluation report",
        "",
        f"- golden set: `{run.golden or '?'}` ({report.metrics.n} questions: "
        f"{report.metrics.n_answerable} answerable, {report.metrics.n_unanswerable} unanswerable)",
        f"- index: `{run.index}` (generation `{run.generation}`), {run.k} passages retrieved per question",
        f"- answerability: answer threshold {run.answer_threshold}, missing focus {run.missing_focus}, "
        f"quantity check {run.quantity_check}, counted check {run.counted_check}, lexical weight {run.lexical_weight}",
        f"- run: {run.created}, {run.seconds:.1f} s",
        "",
        "## Headline metrics",
        "",
        "| metric | " + " | ".join(name for name, _ in systems) + " |",
        "|---|" + "---:|" * len(systems),
    ]
    for key, label, _lower in HEADLINE:
        cells = [_fmt(m.value(key), key) for _, m in systems]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Citations checked: {report.metrics.citations}; questions with a printed expected ref: "
        f'{report.metrics.ref_questions}. Definitions: evals/README.md, "Metrics".',
    ]
    lines += _out_of_fold(report)
    if plots:
        lines += ["", "![hit@k](hit_at_k.png)"]

    if report.baselines:
        lines += ["", "## Baselines", ""]
        for name, b in report.baselines.items():
            build = "–" if b.build_seconds is None else f"{b.build_seconds:.1f} s"
            lines.append(f"- **{name}**: {b.description}; index build {build}{' (from cache)' if b.cached else ''}")
        lines += [
            "",
            f"Differences are {SYSTEM} minus the baseline (for latency and false refusals lower is better).",
            "",
        ]
        header = "| metric | " + SYSTEM + " | " + " | ".join(f"{n} | Δ vs {n}" for n in report.baselines) + " |"
        lines += [header, "|---|---:|" + "---:|---:|" * len(report.baselines)]
        for key, label, _lower in HEADLINE:
            ours = report.metrics.value(key)
            if all(b.metrics.value(key) is None for b in report.baselines.values()):
                continue
            cells = [_fmt(ours, key)]
            for b in report.baselines.values():
                other = b.metrics.value(key)
                cells += [_fmt(other, key), _delta(ours, other, key)]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")

    lines += [
        "",
        "## Per kind",
        "",
        "| kind | " + _GROUP_COLUMNS,
        _GROUP_RULE,
    ]
    lines += _group_rows(report.per_kind)
    if plots:
        lines += ["", "![per kind](per_kind.png)"]
    if report.per_overlap:
        lines += [
            "",
            "## Per overlap band",
            "",
            f"Answerable questions by word overlap with their expected pages: {STAFF_BAND} is staff wording, "
            f"{DOCUMENT_BAND} document wording (evals/overlap.py).",
            "",
            "| overlap | " + _GROUP_COLUMNS,
            _GROUP_RULE,
        ]
        lines += _group_rows(report.per_overlap)
    if report.per_lang:
        lines += ["", "## Per language", "", "| language | " + _GROUP_COLUMNS, _GROUP_RULE]
        lines += _group_rows(report.per_lang)

    lines += _reading_order(report)

    lines += ["", f"## Failed questions ({len(report.failures)})", ""]
    if not report.failures:
        lines.append("None.")
    for f in report.failures:
        lines += [f"### {f.id} ({f.kind}): {', '.join(f.reasons)}", "", f"> {f.question}", ""]
        for e in f.expected:
            pages = ", ".join(str(p) for p in e.pages)
            lines.append(f"- expected: {e.doc}, {e.ref + ', ' if e.ref else ''}p. {pages}")
        if f.missing_facts:
            lines.append("- missing key facts: " + "; ".join(f"“{fact}”" for fact in f.missing_facts))
        if f.retrieved:
            lines.append(f"- retrieved (top {MISS_K}):")
            lines += [f"  {i}. {_passage(p)}" for i, p in enumerate(f.retrieved, start=1)]
        else:
            lines.append("- retrieved: nothing")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def plot_hit_at_k(report: EvalReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    systems = [(SYSTEM, report.metrics)] + [(name, b.metrics) for name, b in report.baselines.items()]
    for name, m in systems:
        points = [(k, m.hit_at(k)) for k in K_VALUES]
        ks = [k for k, v in points if v is not None]
        ax.plot(ks, [v for _, v in points if v is not None], marker="o", label=name)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("hit@k (answerable questions)")
    ax.set_xticks(list(K_VALUES))
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Relevant passage within the top k")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_per_kind(report: EvalReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k, m in report.per_kind.items() if m.n_answerable]
    hit5 = [report.per_kind[k].hit_5 or 0.0 for k in kinds]
    facts = [report.per_kind[k].key_fact_coverage or 0.0 for k in kinds]
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = range(len(kinds))
    width = 0.38
    ax.bar([x - width / 2 for x in xs], hit5, width, label="hit@5")
    ax.bar([x + width / 2 for x in xs], facts, width, label="key-fact coverage")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{k}\n(n={report.per_kind[k].n})" for k in kinds])
    ax.set_ylim(0, 1.2)  # head room for the legend above the bars
    ax.set_ylabel("share of questions")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper right", ncol=2)
    ax.set_title("Per question kind (answerable questions)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    """report.json, report.md, hit_at_k.png and per_kind.png in out_dir (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "hit_at_k.png", out_dir / "per_kind.png"]
    paths[0].write_text(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(render_markdown(report), encoding="utf-8")
    plot_hit_at_k(report, paths[2])
    plot_per_kind(report, paths[3])
    log.info("evaluation report written to %s", out_dir)
    return paths


def _reading_order(report: EvalReport) -> list[str]:
    """Where the key facts sit in the answer, per language and overlap band, beside the tutorial's top passage."""
    naive = report.baselines.get("naive")
    groups: list[tuple[str, Metrics, Metrics | None]] = [("all", report.metrics, naive.metrics if naive else None)]
    for name, m in report.per_lang.items():
        groups.append((f"language {name}", m, naive.per_lang.get(name) if naive else None))
    for name, m in report.per_overlap.items():
        groups.append((f"overlap {name}", m, naive.per_overlap.get(name) if naive else None))
    lines = [
        "",
        "## Reading order",
        "",
        "Key facts within the first 60 words of the answer, the median words before the first key fact and before "
        "the supporting passages; the LangChain tutorial's first 60 words of its top passage for comparison "
        "(`--baseline naive`).",
        "",
        "| questions | n | key facts in 60 words | words before first key fact | words before passages "
        "| tutorial: key facts in 60 words |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m, tutorial in groups:
        cells = [_fmt(m.lead_key_fact_share), _fmt(m.words_before_key_fact, "words")]
        cells += [_fmt(m.words_before_passages, "words"), _fmt(tutorial.lead_key_fact_share if tutorial else None)]
        lines.append(f"| {name} | {m.n} | " + " | ".join(cells) + " |")
    return lines


def _out_of_fold(report: EvalReport) -> list[str]:
    """The answerability figures with thresholds chosen without the question (the headline's are in-sample)."""
    cv = report.out_of_fold
    if cv is None:
        return []
    lines = [
        "",
        f"## Answerability of the hand rules, out-of-fold ({cv.folds}-fold cross-validation)",
        "",
        "The hand rules' thresholds were chosen on this set, so their refusal figures are in-sample; "
        "here each question is decided by thresholds chosen on the other folds (evals/README.md, "
        '"Calibrating answerability"). The learned decision (the default, `HANDBOOK_DECISION=learned`) '
        "is cross-validated by `handbook eval calibrate`.",
        "",
        "| questions | n | false refusals | refusal recall | key-fact coverage | answered | closest | not covered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in [("all", cv.out_of_fold), *cv.per_band.items()]:
        cells = [f.false_refusal_rate, f.refusal_recall, f.key_fact_coverage]
        cells += [f.answered_share, f.closest_share, f.not_covered_share]
        lines.append(f"| {name} | {f.n} | " + " | ".join(_fmt(v, "") for v in cells) + " |")
    return lines
