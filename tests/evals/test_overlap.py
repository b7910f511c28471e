"""Word overlap between golden questions and their expected pages (evals/overlap.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.golden import load_golden
from evals.overlap import PageTexts, compute_overlaps, main, question_overlap, write_overlaps
from tests.pdf_factory import make_pdf

PAGE_1 = "Rule 44. Solitary confinement means confinement for 22 hours or more a day."
PAGE_2 = "Prolonged solitary confinement lasts more than 15 consecutive days."


@pytest.mark.unit
def test_overlap_is_share_of_distinct_stemmed_content_words() -> None:
    # content words: solitary, confinement, wing (stop words "is", "on", "the" do not count)
    assert question_overlap("Is solitary confinement on the wing?", [PAGE_1]) == pytest.approx(2 / 3)
    # stemming: "confined" and "confinement" share the stem "confin"
    assert question_overlap("confined", ["confinement"]) == 1.0
    # a repeated word counts once
    assert question_overlap("seg seg block", ["the block"]) == pytest.approx(1 / 2)


@pytest.mark.unit
def test_overlap_uses_all_given_pages_and_handles_edge_cases() -> None:
    question = "How many consecutive days in solitary?"
    only_first = question_overlap(question, [PAGE_1])
    both = question_overlap(question, [PAGE_1, PAGE_2])
    assert only_first < both
    assert question_overlap("kicked off lad down the block", [PAGE_1, PAGE_2]) == 0.0
    assert question_overlap("the of and", [PAGE_1]) == 0.0  # no content words at all
    assert question_overlap("solitary", []) == 0.0


def _golden(path: Path) -> Path:
    rows = [
        {
            "id": "q001",
            "question": "How many consecutive days down the block?",
            "answerable": True,
            "expected": [{"doc": "rules", "pages": [2], "ref": "Rule 44"}],
            "key_facts": ["15 consecutive days"],
            "kind": "definition",
            "persona": "staff",
        },
        {
            "id": "q002",
            "question": "How many books in a cell?",
            "answerable": False,
            "expected": [],
            "key_facts": [],
            "kind": "unanswerable",
            "persona": "staff",
            "lang": "en",
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
def test_compute_and_write_overlaps(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    make_pdf(corpus / "rules.pdf", [[PAGE_1], [PAGE_2]], header=None, footer_counter=False)
    golden = _golden(tmp_path / "g.jsonl")
    overlaps = compute_overlaps(load_golden(golden), corpus)
    # content words how, many, consecutive, days, down, block: only "consecutive" and "days" are on page 2
    assert overlaps == {"q001": pytest.approx(2 / 6), "q002": None}
    assert write_overlaps(golden, overlaps) == 2
    records = [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines()]
    assert records[0]["overlap"] == 0.333
    assert records[1]["overlap"] is None
    assert records[0]["key_facts"] == ["15 consecutive days"]  # other fields kept as written
    assert load_golden(golden)[0].overlap == 0.333
    assert write_overlaps(golden, overlaps) == 0  # unchanged the second time


@pytest.mark.unit
def test_page_texts_reads_each_document_once_and_checks_pages(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    make_pdf(corpus / "rules.pdf", [[PAGE_1], [PAGE_2]], header=None, footer_counter=False)
    texts = PageTexts(corpus)
    question = load_golden(_golden(tmp_path / "g.jsonl"))[0]
    assert "15 consecutive days" in texts.expected_texts(question)[0]
    (corpus / "rules.pdf").unlink()
    assert texts.pages("rules")[1].strip().endswith("15 consecutive days.")  # cached in memory
    bad = question.model_copy(update={"expected": [question.expected[0].model_copy(update={"pages": [9]})]})
    with pytest.raises(ValueError, match="has no page 9"):
        texts.expected_texts(bad)


@pytest.mark.unit
def test_cli_prints_share_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    make_pdf(corpus / "rules.pdf", [[PAGE_1], [PAGE_2]], header=None, footer_counter=False)
    golden = _golden(tmp_path / "g.jsonl")
    assert main([str(golden), "--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "q001\t0.333\tstaff" in out
    assert "2 questions, 1 answerable; overlap <= 0.30: 0 (0.0%)" in out
    assert "overlap" not in golden.read_text(encoding="utf-8")  # nothing written without --write
    assert main([str(golden), "--corpus", str(corpus), "--write"]) == 0
    assert '"overlap": 0.333' in golden.read_text(encoding="utf-8")


@pytest.mark.unit
def test_cli_missing_document_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    golden = _golden(tmp_path / "g.jsonl")
    (tmp_path / "corpus").mkdir()
    assert main([str(golden), "--corpus", str(tmp_path / "corpus")]) == 1
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0
    assert "rules.pdf" in out
