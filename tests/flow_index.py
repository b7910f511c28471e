"""A small index holding one PDF and one flow document (Markdown), written directly with `IndexWriter`.

A flow document's locations are its paragraphs, numbered from 1 in reading order; the index
stores them where a PDF's page numbers are (`Chunk.page_start/page_end`, `PageSpan.page`,
`PageText.page`), as the readers/locations contract says. This builds such an index without
any reader, so the assistant side can be tested on its own.
"""

from __future__ import annotations

from pathlib import Path

from fakes import FakeEmbedder

from ingest.index_store import ChromaConfig, IndexWriter
from ingest.records import Chunk, DocumentInfo, PageSpan, PageText, RefSpan, chunk_id

FLOW_DOC = "knife-policy"
FLOW_TITLE = "Knife Policy"
PDF_DOC = "rules"
PDF_TITLE = "Rules"

# The Markdown document, one paragraph per entry (paragraph n is KNIFE_PARAGRAPHS[n - 1]).
KNIFE_PARAGRAPHS = [
    "Knife Policy",  # 1: "# Knife Policy"
    "1. Purpose",  # 2: "## 1. Purpose"
    "1.1 This policy sets out how kitchen knives are controlled in every establishment.",  # 3
    "3. Knife control",  # 4: "## 3. Knife control"
    "3.1 All kitchen knives must be tethered to the work station while they are in use.",  # 5
    "3.2 Knives are counted at the start and at the end of every shift by the kitchen officer.",  # 6
    "The count is recorded in the knife register and signed by two members of staff.",  # 7
    "4. Missing knives",  # 8: "## 4. Missing knives"
    "4.1 A missing knife is reported at once to the duty governor and the kitchen is locked down.",  # 9
]
RULE_58 = (
    "Prisoners shall be allowed, under necessary supervision, to communicate with their family "
    "and friends at regular intervals by corresponding in writing and by receiving visits."
)


def _flow_chunk(headings: list[str], paragraphs: list[int], refs: dict[int, str]) -> Chunk:
    """One chunk over consecutive paragraphs, joined by line ends; `refs`: paragraph -> numbered unit."""
    text, pages, ref_spans = "", [], []
    for n in paragraphs:
        if text:
            text += "\n"
        pages.append(PageSpan(offset=len(text), page=n))
        if n in refs:
            ref_spans.append(RefSpan(offset=len(text), ref=refs[n]))
        text += KNIFE_PARAGRAPHS[n - 1]
    ref = ref_spans[0].ref if ref_spans else ""
    return Chunk(
        id=chunk_id(FLOW_DOC, FLOW_TITLE, ref, headings, text),
        doc_id=FLOW_DOC,
        title=FLOW_TITLE,
        ref=ref,
        headings=headings,
        page_start=paragraphs[0],
        page_end=paragraphs[-1],
        text=text,
        refs=ref_spans,
        pages=pages,
    )


def flow_chunks() -> list[Chunk]:
    return [
        _flow_chunk(["Knife Policy", "1. Purpose"], [3], {3: "1.1"}),
        _flow_chunk(["Knife Policy", "3. Knife control"], [5, 6, 7], {5: "3.1", 6: "3.2"}),
        _flow_chunk(["Knife Policy", "4. Missing knives"], [9], {9: "4.1"}),
    ]


def pdf_chunk() -> Chunk:
    headings = ["Contact with the outside world"]
    return Chunk(
        id=chunk_id(PDF_DOC, PDF_TITLE, "Rule 58", headings, RULE_58),
        doc_id=PDF_DOC,
        title=PDF_TITLE,
        ref="Rule 58",
        headings=headings,
        page_start=20,
        page_end=20,
        text=RULE_58,
        refs=[RefSpan(offset=0, ref="Rule 58")],
    )


def write_flow_index(root: Path) -> Path:
    """Writes the index under `root` (fake embeddings) and returns `root`."""
    chunks = [*flow_chunks(), pdf_chunk()]
    pages = [PageText(doc_id=FLOW_DOC, page=n, text=t) for n, t in enumerate(KNIFE_PARAGRAPHS, 1)]
    pages.append(PageText(doc_id=PDF_DOC, page=20, text=f"Rule 58\n{RULE_58}"))
    documents = {
        FLOW_DOC: DocumentInfo(
            id=FLOW_DOC,
            title=FLOW_TITLE,
            kind="policy",
            sha256="0" * 64,
            pages=len(KNIFE_PARAGRAPHS),
            chunks=3,
            source_path="knife-policy.md",
            format="md",
        ),
        PDF_DOC: DocumentInfo(
            id=PDF_DOC, title=PDF_TITLE, kind="binding-standard", sha256="1" * 64, pages=30, chunks=1
        ),
    }
    embedder = FakeEmbedder()
    vectors = embedder.encode_passages([c.embedding_text() for c in chunks], [c.window_spans() for c in chunks])
    IndexWriter(root, ChromaConfig()).write(chunks, vectors, pages, documents, "fake", embedder.model_path, {})
    return root


def write_four_formats(folder: Path) -> dict[str, str]:
    """A folder with one handbook per format (tests/pdf_factory.py, tests/doc_factory.py); returns id -> format.

    The three flow documents hold the same knife-control procedure; the knife-issue paragraph
    (`doc_factory.KNIFE_ISSUE`) is paragraph 4 of each.
    """
    from doc_factory import make_docx, make_html, make_markdown
    from pdf_factory import make_pdf, sample_rules_pages

    make_pdf(folder / "rules.pdf", sample_rules_pages())
    make_docx(folder / "knives-word.docx")
    make_html(folder / "knives-intranet.html")
    make_markdown(folder / "knives-notes.md")
    return {"rules": "pdf", "knives-word": "docx", "knives-intranet": "html", "knives-notes": "md"}
