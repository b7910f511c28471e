"""The golden-set loader and the dev set's consistency with the corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from evals.golden import GoldenFormatError, GoldenQuestion, load_golden
from evals.validate_golden import IndexLocations, main, validate_golden

if TYPE_CHECKING:
    from fakes import FakeEmbedder  # annotations only: fixtures supply the objects

REPO = Path(__file__).resolve().parents[2]
DEV_SET = REPO / "evals" / "golden" / "dev.jsonl"
MULTILINGUAL_SET = REPO / "evals" / "golden" / "dev_multilingual.jsonl"
SHARED_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def _record(qid: str = "q001", **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": qid,
        "question": "how long can someone be kept in the seg?",
        "answerable": True,
        "expected": [{"doc": "un-nelson-mandela-rules-A-RES-70-175-2015", "pages": [17], "ref": "Rule 44"}],
        "key_facts": ["15 consecutive days"],
        "kind": "definition",
        "persona": "staff",
    }
    record.update(changes)
    return record


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
def test_load_good_file(tmp_path: Path) -> None:
    unanswerable = _record("q002", answerable=False, expected=[], key_facts=[], kind="unanswerable")
    path = _write(tmp_path / "g.jsonl", [json.dumps(_record()), "", json.dumps(unanswerable)])
    questions = load_golden(path)
    assert [q.id for q in questions] == ["q001", "q002"]
    assert questions[0].expected[0].pages == [17]
    assert questions[0].expected[0].ref == "Rule 44"
    assert questions[1].answerable is False


@pytest.mark.unit
def test_ref_defaults_to_empty(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.jsonl", [json.dumps(_record(expected=[{"doc": "d", "pages": [1]}]))])
    assert load_golden(path)[0].expected[0].ref == ""


@pytest.mark.unit
def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.jsonl", [json.dumps(_record()), '{"id": "q002", "question": '])
    with pytest.raises(GoldenFormatError) as info:
        load_golden(path)
    message = str(info.value)
    assert f"{path}:2:" in message
    assert "bad JSON" in message
    assert "\n" not in message


@pytest.mark.unit
def test_missing_field_names_the_field(tmp_path: Path) -> None:
    record = _record()
    del record["key_facts"]
    path = _write(tmp_path / "g.jsonl", [json.dumps(record)])
    with pytest.raises(GoldenFormatError, match=r":1: field 'key_facts'"):
        load_golden(path)


@pytest.mark.unit
def test_bad_kind_and_bad_page_are_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.jsonl", [json.dumps(_record(kind="trivia"))])
    with pytest.raises(GoldenFormatError, match="field 'kind'"):
        load_golden(path)
    path = _write(tmp_path / "h.jsonl", [json.dumps(_record(expected=[{"doc": "d", "pages": [0]}]))])
    with pytest.raises(GoldenFormatError, match=r"field 'expected\.0'"):
        load_golden(path)


@pytest.mark.unit
def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.jsonl", [json.dumps(_record("q001")), json.dumps(_record("q001"))])
    with pytest.raises(GoldenFormatError, match=r":2: field 'id': duplicate id 'q001' \(first on line 1\)"):
        load_golden(path)


@pytest.mark.unit
def test_validator_flags_structural_problems(tmp_path: Path) -> None:
    questions = [
        GoldenQuestion.model_validate(_record("q001", expected=[{"doc": "missing-doc", "pages": [1]}])),
        GoldenQuestion.model_validate(_record("q002", expected=[], key_facts=[])),
        GoldenQuestion.model_validate(_record("q003", answerable=False, kind="unanswerable", key_facts=[])),
    ]
    problems = validate_golden(questions, tmp_path)
    assert any(p.startswith("q001:") and "missing-doc" in p for p in problems)
    assert any(p.startswith("q002:") and "no expected passages" in p for p in problems)
    assert any(p.startswith("q002:") and "no key_facts" in p for p in problems)
    assert any(p.startswith("q003:") and "lists expected passages" in p for p in problems)


class _Paragraphs:
    """A location source for one Markdown document of three paragraphs."""

    def texts(self, doc: str) -> list[str] | None:
        if doc != "standing-orders":
            return None
        return ["# 3. Knife control", "3.1 Kitchen knives are tethered to the bench.", "3.2 Counts at each shift."]

    def error(self, doc: str) -> str:
        return "not in the test source"

    def unit(self, doc: str) -> str:
        return "paragraph"


@pytest.mark.unit
def test_flow_documents_are_located_by_paragraph() -> None:
    def question(qid: str, paragraphs: list[int], fact: str) -> GoldenQuestion:
        expected = [{"doc": "standing-orders", "pages": paragraphs, "ref": "3.1"}]
        return GoldenQuestion.model_validate(_record(qid, expected=expected, key_facts=[fact]))

    questions = [
        question("q001", [2], "tethered to the bench"),
        question("q002", [5], "tethered to the bench"),
        question("q003", [3], "tethered to the bench"),
    ]
    problems = validate_golden(questions, _Paragraphs())
    assert problems == [
        "q002: doc 'standing-orders': paragraph(s) [5] out of range 1..3",
        "q003: key fact 'tethered to the bench' not found on the expected pages or paragraphs",
    ]


@pytest.mark.unit
def test_a_folder_is_read_for_pdfs_only_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "standing-orders.docx").write_bytes(b"not read")
    question = _record(expected=[{"doc": "standing-orders", "pages": [2]}])
    problems = validate_golden([GoldenQuestion.model_validate(question)], tmp_path)
    assert problems == [
        "q001: doc 'standing-orders': standing-orders.docx is not a PDF: check it against an index (--index DIR)"
    ]


@pytest.mark.integration
def test_main_checks_against_an_index(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """`--index`: the stored text of each page, from a tiny index of one generated PDF."""
    from pdf_factory import make_pdf, sample_rules_pages

    from ingest.pipeline import Ingestor

    make_pdf(tmp_path / "corpus" / "rules.pdf", sample_rules_pages())
    index = tmp_path / "index"
    Ingestor(index, fake_embedder, progress=False).run([tmp_path / "corpus"])
    assert IndexLocations(index).unit("rules") == "page"
    good = _record(expected=[{"doc": "rules", "pages": [3], "ref": "Rule 5"}], key_facts=["placement in a dark cell"])
    bad = _record("q002", expected=[{"doc": "rules", "pages": [1, 4]}], key_facts=["placement in a dark cell"])
    golden = _write(tmp_path / "g.jsonl", [json.dumps(good)])
    assert main([str(golden), "--index", str(index)]) == 0
    both = _write(tmp_path / "both.jsonl", [json.dumps(good), json.dumps(bad)])
    assert main([str(both), "--index", str(index)]) == 1
    problems = validate_golden(load_golden(both), IndexLocations(index))
    assert problems == [
        "q002: doc 'rules': page(s) [4] out of range 1..3",
        "q002: key fact 'placement in a dark cell' not found on the expected pages or paragraphs",
    ]
    assert main([str(golden), "--index", str(tmp_path / "nowhere")]) == 1


@pytest.mark.unit
def test_main_reports_format_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "g.jsonl", ["not json"])
    assert main([str(path), "--corpus", str(tmp_path)]) == 1
    assert "bad JSON" in capsys.readouterr().out


@pytest.mark.integration
def test_dev_set_matches_corpus() -> None:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {SHARED_CORPUS} (expected beside the repository checkout)")
    questions = load_golden(DEV_SET)
    problems = validate_golden(questions, SHARED_CORPUS)
    assert problems == []
    assert len(questions) >= 80
    assert sum(not q.answerable for q in questions) >= 8
    assert sum(len(q.expected) >= 2 for q in questions) >= 8


@pytest.mark.unit
def test_multilingual_set_translates_dev_questions() -> None:
    def target(q: GoldenQuestion) -> str:
        return json.dumps([q.answerable, q.kind, q.persona, q.key_facts, [e.model_dump() for e in q.expected]])

    dev = {target(q) for q in load_golden(DEV_SET)}
    questions = load_golden(MULTILINGUAL_SET)
    for lang, at_least in (("ru", 32), ("kk", 16)):
        mine = [q for q in questions if q.lang == lang]
        assert len(mine) >= at_least, lang
        # Enough unanswerable questions to measure refusals, and mostly answerable ones.
        assert 4 <= sum(not q.answerable for q in mine) <= 0.3 * len(mine), lang
        assert [q.id for q in mine] == [f"{lang}{n:03d}" for n in range(1, len(mine) + 1)]
    assert {q.lang for q in questions} == {"ru", "kk"}
    # Same expected passages and English key facts as the dev question it translates.
    assert [q.id for q in questions if target(q) not in dev] == []


@pytest.mark.integration
def test_multilingual_set_matches_corpus() -> None:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {SHARED_CORPUS} (expected beside the repository checkout)")
    assert validate_golden(load_golden(MULTILINGUAL_SET), SHARED_CORPUS) == []


@pytest.mark.integration
def test_validator_catches_wrong_page_and_missing_fact() -> None:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {SHARED_CORPUS} (expected beside the repository checkout)")
    doc = "un-nelson-mandela-rules-A-RES-70-175-2015"
    questions = [
        GoldenQuestion.model_validate(_record("q001", expected=[{"doc": doc, "pages": [16]}])),  # Rule 44 is on 17
        GoldenQuestion.model_validate(_record("q002", expected=[{"doc": doc, "pages": [99]}])),
        GoldenQuestion.model_validate(_record("q003")),
    ]
    problems = validate_golden(questions, SHARED_CORPUS)
    assert any(p.startswith("q001:") and "not found on the expected pages" in p for p in problems)
    assert any(p.startswith("q002:") and "out of range 1..33" in p for p in problems)
    assert not any(p.startswith("q003:") for p in problems)
