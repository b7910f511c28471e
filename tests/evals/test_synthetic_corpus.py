"""The synthetic handbook corpus (evals/synthetic_corpus.py): plan, layout, PDFs, needles and chunks."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from evals.synthetic_corpus import (
    NEEDLES,
    DocSpec,
    build_document,
    corpus_chunks,
    document_chunks,
    generate_corpus,
    pdf_page_texts,
    plan_corpus,
    render_pdf,
)
from ingest.corpus_manifest import Manifest
from ingest.page_cleaning import PageCleaner

if TYPE_CHECKING:
    pass  # annotations only: fixtures supply the objects

SMALL = 400  # chunks: a few small documents, built in about a second


def _spec(style: str, budget: int = 120, needles: tuple[str, ...] = ()) -> DocSpec:
    return DocSpec(
        index=0,
        id=f"syn-test-{style}",
        title=f"HMP Testford {style.title()} Handbook",
        short_title=f"HMP Testford {style.title()} (2020)",
        kind="policy",
        style=style,
        publisher="HMP Testford (synthetic)",
        year=2020,
        seed=1234,
        budget=budget,
        needles=list(needles),
    )


@pytest.mark.unit
def test_plan_and_documents_are_deterministic() -> None:
    first = plan_corpus(SMALL, seed=3)
    assert first == plan_corpus(SMALL, seed=3)
    assert first != plan_corpus(SMALL, seed=4)
    assert build_document(first[0]).page_texts() == build_document(first[0]).page_texts()
    assert len({spec.id for spec in first}) == len(first) > 1


@pytest.mark.unit
def test_generated_files_are_byte_identical_and_match_the_manifest(tmp_path: Path) -> None:
    a = generate_corpus(tmp_path / "a", SMALL, seed=5)
    b = generate_corpus(tmp_path / "b", SMALL, seed=5)
    assert [d["sha256"] for d in a.documents] == [d["sha256"] for d in b.documents]
    manifest = Manifest.load(Path(a.manifest))
    assert manifest.ids == [d["id"] for d in a.documents]
    for entry in manifest:
        pdf = Path(a.pdf_dir) / entry.file_name
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == entry.sha256
        assert entry.pages is not None and entry.pages > 2
    # A second call with the same plan reuses the files.
    again = generate_corpus(tmp_path / "a", SMALL, seed=5)
    assert again.seconds == a.seconds
    saved = json.loads((tmp_path / "a" / "corpus.json").read_text())
    assert {n["key"] for n in saved["needles"]} == {n.key for n in NEEDLES}


@pytest.mark.unit
@pytest.mark.parametrize("style", ["rules", "framework"])
def test_page_layout_has_title_page_contents_running_header_and_counter(style: str) -> None:
    doc = build_document(_spec(style))
    texts = doc.page_texts()
    assert doc.spec.title.split()[0] in texts[0] and "Contents" in texts[1]
    assert re.search(r"\.{4,} \d+", texts[1])  # leader dots to a page number
    body = texts[2:]
    assert len(body) >= 5
    total = len(texts)
    headers = {page.splitlines()[1 if page.startswith("OFFICIAL") else 0] for page in body}
    assert len(headers) == 1  # the same running header on every body page
    for number, page in enumerate(body, start=3):
        counter = page.splitlines()[-1]
        assert counter in {f"Page {number} of {total}", f"{number}/{total}", f"- {number} -", str(number)}
    # Our page cleaner removes the header, the counters and any footer line.
    cleaned = PageCleaner().run(texts)
    header = headers.pop()
    for cleaned_page in cleaned[2:]:
        lines = [line.text for line in cleaned_page]
        assert header not in lines
        assert not any("Printed copies are uncontrolled" in line or line.endswith(f"of {total}") for line in lines)


@pytest.mark.unit
def test_rules_style_chunks_follow_rules_and_chapters() -> None:
    chunks = document_chunks(build_document(_spec("rules")))
    refs = [c.ref for c in chunks if c.ref]
    assert refs and all(re.fullmatch(r"Rules? \d+(\u2013\d+)?", ref) for ref in refs)
    assert any(c.headings and c.headings[0].startswith("Chapter ") for c in chunks)
    assert any("\n1. " in c.text or c.text.startswith("1. ") for c in chunks)  # numbered sub-paragraphs


@pytest.mark.unit
def test_framework_style_chunks_follow_dotted_sections() -> None:
    chunks = document_chunks(build_document(_spec("framework", budget=200)))
    refs = [c.ref for c in chunks if c.ref]
    assert refs and all(re.fullmatch(r"\d+\.\d+(\.\d+)?(\u2013[\d.]+)?", ref) for ref in refs)
    assert any(re.fullmatch(r"\d+\. [A-Z].*", c.headings[0]) for c in chunks if c.headings)
    assert any(ref.count(".") == 2 for ref in refs)  # 4.2.1 sub-paragraphs


@pytest.mark.unit
@pytest.mark.parametrize("style", ["rules", "framework"])
def test_needles_are_planted_once_in_a_chunk_of_their_own_ref(style: str) -> None:
    doc = build_document(_spec(style, budget=150, needles=("canary", "chess")))
    assert [n.key for n in doc.needles] == ["canary", "chess"]
    chunks = document_chunks(doc)
    for needle in doc.needles:
        holding = [c for c in chunks if needle.phrase.lower() in c.text.lower()]
        assert len(holding) == 1
        chunk = holding[0]
        assert chunk.ref == needle.ref
        offset = chunk.text.lower().index(needle.phrase.lower())
        assert chunk.page_at(offset) == needle.page


@pytest.mark.unit
def test_every_needle_is_planted_once_per_corpus() -> None:
    planted = [n for spec in plan_corpus(SMALL) for n in build_document(spec).needles]
    assert sorted(n.key for n in planted) == sorted(n.key for n in NEEDLES)
    texts = [c.text.lower() for c in corpus_chunks(SMALL)]
    for needle in NEEDLES:
        assert sum(needle.phrase.lower() in t for t in texts) == 1


@pytest.mark.unit
@pytest.mark.parametrize("target", [300, 1500])
def test_chunk_count_is_roughly_on_target(target: int) -> None:
    count = sum(1 for _ in corpus_chunks(target))
    assert 0.85 * target <= count <= 1.15 * target


@pytest.mark.unit
def test_chunks_are_distinct() -> None:
    chunks = list(corpus_chunks(SMALL))
    assert len({c.id for c in chunks}) == len(chunks)
    texts = [c.embedding_text() for c in chunks]
    assert len(set(texts)) >= 0.99 * len(texts)


@pytest.mark.unit
def test_pdf_text_is_the_laid_out_text(tmp_path: Path) -> None:
    """What makes `scale embed` (no PDFs) produce the texts `handbook ingest` embeds."""
    for style in ("rules", "framework"):
        doc = build_document(_spec(style, budget=80))
        path = tmp_path / f"{style}.pdf"
        render_pdf(doc, path)
        assert pdf_page_texts(path) == doc.page_texts()
