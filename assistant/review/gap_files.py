"""The gap report's files: gaps.md (for the handbook owners), gaps.csv (counts, for a spreadsheet), gaps.png."""

from __future__ import annotations

import csv
from pathlib import Path

from assistant.answer.render import md_escape
from assistant.review.gaps import GapReport

CSV_COLUMNS = ("topic", "label", "week", "lang", "state", "questions")
STATE_NAMES = {"not_covered": "not covered", "closest": "closest passages"}


def render_markdown(report: GapReport, chart: str | None = "gaps.png") -> str:
    """The report as Markdown; `chart` is the image's file name beside it (None: no image)."""
    period = f"from {report.since:%Y-%m-%d}" if report.since else "over the whole log"
    n = len(report.questions)
    lines = [
        "# Gap report: what staff ask that the handbooks do not answer",
        "",
        f"Generated {report.generated:%Y-%m-%d %H:%M} UTC, {period}. Of {report.logged} logged questions, "
        f"**{n}** were answered *not covered* or with *closest passages* only.",
        "",
    ]
    if not report.clusters:
        lines.append("No such questions: nothing to report.")
        return "\n".join(lines) + "\n"
    quality = f", silhouette {report.silhouette:.2f}" if report.silhouette is not None else ""
    lines += [
        f"They fall into **{len(report.clusters)} topics** (clusters of their {report.model} vectors{quality}). "
        "Example questions are shown as logged, with personal details replaced by placeholders.",
        "",
    ]
    if chart:
        lines += [f"![Questions per topic and per week]({chart})", ""]
    lines += [
        "| # | topic | questions | not covered | closest | languages | closest document sections |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report.clusters:
        langs = ", ".join(f"{lang} {k}" for lang, k in c.per_lang.items())
        lines.append(
            f"| {c.number} | {_cell(c.label)} | {c.size} | {c.per_state.get('not_covered', 0)} | "
            f"{c.per_state.get('closest', 0)} | {langs} | {_cell('; '.join(c.sections[:2]))} |"
        )
    lines += ["", "## Questions per week", "", "| week | " + " | ".join(f"#{c.number}" for c in report.clusters)]
    lines[-1] += " | all |"
    lines.append("|---|" + "---|" * (len(report.clusters) + 1))
    for week in report.weeks:
        counts = [c.per_week.get(week, 0) for c in report.clusters]
        lines.append(f"| {week} | " + " | ".join(str(k) for k in counts) + f" | {sum(counts)} |")
    for c in report.clusters:
        lines += ["", f"## {c.number}. {md_escape(c.label)} ({c.size} question{'s' if c.size != 1 else ''})", ""]
        states = ", ".join(f"{STATE_NAMES.get(s, s)} {k}" for s, k in c.per_state.items())
        lines.append(f"- Answered: {states}")
        lines.append("- Languages: " + ", ".join(f"{lang} {k}" for lang, k in c.per_lang.items()))
        lines.append("- Weeks: " + ", ".join(f"{w} ({k})" for w, k in c.per_week.items()))
        if c.sections:
            lines.append("- Closest document sections: " + "; ".join(md_escape(s) for s in c.sections))
        if c.documents:
            leaning = "; ".join(f"{md_escape(title)} ({k})" for title, k in c.documents)
            lines.append(f"- Documents it leans on: {leaning}")
        lines.append("- Example questions:")
        lines += [f"  - {md_escape(example)}" for example in c.examples]
    return "\n".join(lines) + "\n"


def write_csv(report: GapReport, path: Path) -> int:
    """One row per topic, week, language and state with its count; returns the number of rows."""
    counts: dict[tuple[int, str, str, str], int] = {}
    for q in report.questions:
        key = (q.cluster, q.week, q.lang, q.state)
        counts[key] = counts.get(key, 0) + 1
    labels = {c.number: c.label for c in report.clusters}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for (topic, week, lang, state), k in sorted(counts.items()):
            writer.writerow([topic, labels.get(topic, ""), week, lang, state, k])
    return len(counts)


def plot(report: GapReport, path: Path) -> None:
    """Two panels: questions per topic by language, and per week by topic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, max(3.5, 0.45 * len(report.clusters) + 1.5)))
    names = [f"{c.number}. {_short(c.label)}" for c in report.clusters][::-1]
    langs = sorted({lang for c in report.clusters for lang in c.per_lang}) or ["en"]
    start = [0] * len(report.clusters)
    for lang in langs:
        values = [c.per_lang.get(lang, 0) for c in report.clusters][::-1]
        left.barh(names, values, left=start, label=lang)
        start = [s + v for s, v in zip(start, values, strict=True)]
    left.set_xlabel("questions")
    left.set_title("Not covered or closest, per topic")
    if report.clusters:
        left.legend(title="language", loc="lower right")
    weeks = report.weeks
    bottom = [0] * len(weeks)
    for c in report.clusters[:8]:  # the largest topics; the rest together
        values = [c.per_week.get(w, 0) for w in weeks]
        right.bar(weeks, values, bottom=bottom, label=f"{c.number}")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    rest = [sum(c.per_week.get(w, 0) for c in report.clusters[8:]) for w in weeks]
    if any(rest):
        right.bar(weeks, rest, bottom=bottom, label="other", color="#bbbbbb")
    right.set_ylabel("questions")
    right.set_title("Per week")
    if weeks:
        right.legend(title="topic", fontsize="small")
        right.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_gap_report(report: GapReport, out_dir: Path) -> list[Path]:
    """Writes gaps.md, gaps.csv and gaps.png into `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, table, chart = out_dir / "gaps.md", out_dir / "gaps.csv", out_dir / "gaps.png"
    plot(report, chart)
    md.write_text(render_markdown(report, chart.name), encoding="utf-8")
    write_csv(report, table)
    return [md, table, chart]


def _cell(text: str) -> str:
    return md_escape(text).replace("\n", " ")


def _short(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
