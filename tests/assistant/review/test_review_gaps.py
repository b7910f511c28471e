"""The gap report: not-covered and closest questions clustered into labelled topics, written as md, csv and png."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from assistant.review.clustering import cluster, kmeans, silhouette
from assistant.review.gap_files import render_markdown, write_gap_report
from assistant.review.gaps import GapAnalyzer
from assistant.review.question_log import LoggedQuestion

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday: ISO week 2025-W10
TOPICS = {
    "budgie": ["Can a prisoner keep a pet budgie?", "Budgie cage allowed in the cell?",
               "Who feeds the budgie on the wing?", "Можно ли держать волнистого попугая budgie в камере?"],
    "tattoo": ["Can prisoners get a tattoo done inside?", "Is tattoo removal paid for?", "Tattoo gun found, what now?",
               "Тату в камере: что делать, если нашли машинку tattoo?"],
    "charger": ["Can he have a phone charger for his radio?", "Charger cables in cells allowed?",
                "Who checks charger plugs?", "Зарядное устройство charger в камере разрешено?"],
}  # fmt: skip


def _encode(text: str) -> np.ndarray:
    """A topic direction (from the topic word in the text) plus a little text-specific noise."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little"))
    vector = rng.normal(0, 0.15, 16)
    for axis, topic in enumerate(TOPICS):
        if topic in text.lower():
            vector[axis] += 1.0
    return vector


def _rows() -> list[LoggedQuestion]:
    rows = []
    n = 0
    for topic_number, questions in enumerate(TOPICS.values()):
        for i, question in enumerate(questions):
            n += 1
            state = "not_covered" if i % 2 == 0 else "closest"
            lang = "ru" if question[0] in "МТЗ" else "en"
            when = START + timedelta(days=7 * (i % 2) + topic_number)
            passage = {"doc": "rules", "title": f"Rules {topic_number}", "ref": f"Rule {topic_number}",
                       "section": "Discipline", "locations": [3], "score": 0.2}  # fmt: skip
            rows.append(LoggedQuestion(n, when.isoformat(), "app", "staff", lang, state, 0.2, "extractive",
                                       question, "", [], [passage]))  # fmt: skip
    rows.append(LoggedQuestion(99, START.isoformat(), "app", "staff", "en", "answered", 0.9, "extractive",
                               "Answered question about visits", "", [], []))  # fmt: skip
    return rows


@pytest.mark.unit
def test_kmeans_finds_separated_groups_and_the_silhouette_chooses_their_number() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(8)[:4]
    points = np.vstack([c + rng.normal(0, 0.05, (10, 8)) for c in centres])
    labels, _ = kmeans(points, 4, seed=0)
    assert len(set(labels)) == 4
    assert all(len(set(labels[i * 10 : (i + 1) * 10])) == 1 for i in range(4))
    grouping = cluster(points, max_k=8, min_k=2)
    assert grouping.k == 4 and grouping.silhouette is not None and grouping.silhouette > 0.8
    assert silhouette(points, labels) == pytest.approx(grouping.silhouette)
    again = cluster(points, max_k=8, min_k=2)
    assert np.array_equal(again.labels, grouping.labels)  # seeded: the same clusters every run
    assert cluster(points[:3]).k == 1


@pytest.mark.unit
def test_the_report_groups_questions_into_labelled_topics(tmp_path: Path) -> None:
    report = GapAnalyzer(_encode, max_clusters=6).analyze(_rows(), now=START + timedelta(days=20))
    assert report.logged == 13 and len(report.questions) == 12  # the answered one is no gap
    assert len(report.clusters) == 3
    labels = {c.terms[0] for c in report.clusters}
    assert labels == set(TOPICS)
    for c in report.clusters:
        topic = c.terms[0]
        members = [q.question for q in report.questions if q.cluster == c.number]
        assert all(topic in m.lower() for m in members) and c.size == 4
        assert c.per_lang == {"en": 3, "ru": 1}
        assert c.per_state == {"not_covered": 2, "closest": 2}
        assert sum(c.per_week.values()) == 4 and set(c.per_week) == {"2025-W10", "2025-W11"}
        assert len(c.examples) == 3 and all(topic in e.lower() for e in c.examples)
        assert c.sections and c.sections[0].startswith("Rules ")
        assert c.documents[0][1] == 4


@pytest.mark.unit
def test_markdown_csv_and_chart_are_written(tmp_path: Path) -> None:
    report = GapAnalyzer(_encode, max_clusters=6).analyze(_rows(), now=START + timedelta(days=20))
    written = write_gap_report(report, tmp_path / "out")
    assert [p.name for p in written] == ["gaps.md", "gaps.csv", "gaps.png"]
    md = (tmp_path / "out" / "gaps.md").read_text()
    assert md.startswith("# Gap report")
    assert "**12** were answered *not covered* or with *closest passages* only" in md
    assert "They fall into **3 topics**" in md and "![Questions per topic and per week](gaps.png)" in md
    for c in report.clusters:
        assert f"## {c.number}. {c.label} (4 questions)" in md
    assert "| 2025-W10 |" in md and "| 2025-W11 |" in md
    with (tmp_path / "out" / "gaps.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert sum(int(r["questions"]) for r in rows) == 12
    assert {r["lang"] for r in rows} == {"en", "ru"}
    png = (tmp_path / "out" / "gaps.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "![" not in render_markdown(report, chart=None)


@pytest.mark.unit
def test_a_period_without_gaps_says_so(tmp_path: Path) -> None:
    report = GapAnalyzer(_encode).analyze(_rows(), since=START + timedelta(days=100))
    assert (report.logged, report.clusters) == (0, [])
    paths = write_gap_report(report, tmp_path)
    assert "No such questions: nothing to report." in paths[0].read_text()
