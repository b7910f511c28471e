"""One synthetic handbook (evals/synthetic_document.py): page layout, rules or dotted sections, needles, and
the laid-out text being what pdfium reads from the rendered PDF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evals.synthetic_corpus import document_chunks, pdf_page_texts, render_pdf
from evals.synthetic_document import DocSpec, build_document
from ingest.page_cleaning import PageCleaner


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
def test_pdf_text_is_the_laid_out_text(tmp_path: Path) -> None:
    """What makes `scale embed` (no PDFs) produce the texts `handbook ingest` embeds."""
    for style in ("rules", "framework"):
        doc = build_document(_spec(style, budget=80))
        path = tmp_path / f"{style}.pdf"
        render_pdf(doc, path)
        assert pdf_page_texts(path) == doc.page_texts()
