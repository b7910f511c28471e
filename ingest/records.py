"""Typed records that flow from the documents to the indexes.

A *location* is where a passage sits in its document: the 1-based page of a PDF, or, for the
flow formats without pages (DOCX, HTML, Markdown), the 1-based paragraph in reading order
(a heading, a body paragraph, a list item and a table row are each one paragraph). The fields
named `page` hold that location number in both cases.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

from ingest.sentences import sentence_spans

DocumentFormat = Literal["pdf", "docx", "html", "md"]
DOCUMENT_FORMATS: tuple[DocumentFormat, ...] = ("pdf", "docx", "html", "md")


class Line(BaseModel):
    """One cleaned text line and its location: the PDF page it was printed on, or its paragraph."""

    text: str
    page: int
    # A flow document marks its headings (1 outermost, then 2, 3...); 0 is body text. PDFs mark none:
    # their headings are recognised from the text.
    heading_level: int = 0


class Block(BaseModel):
    """A structural unit as the document prints it: one rule, article or numbered paragraph."""

    ref: str  # "Rule 58", "Article 14", "4.2", or "" for unnumbered prose
    headings: list[str]  # heading path, outermost first
    lines: list[Line]


class RefSpan(BaseModel):
    """Where a numbered unit starts inside a chunk's text."""

    offset: int
    ref: str


class PageSpan(BaseModel):
    """Where a page starts inside a chunk's text."""

    offset: int
    page: int


class Chunk(BaseModel):
    """A passage as stored, quoted and cited. `text` is the original wording."""

    id: str
    doc_id: str
    title: str
    ref: str
    headings: list[str]
    page_start: int
    page_end: int
    text: str
    refs: list[RefSpan] = Field(default_factory=list)
    pages: list[PageSpan] = Field(default_factory=list)

    @property
    def heading_path(self) -> str:
        return " > ".join(self.headings)

    def embedding_text(self) -> str:
        """What the embedding model sees: a short contextual header, then the passage."""
        return f"{self._context()}\n{self.text}"

    def window_spans(self) -> list[tuple[int, int]]:
        """Character ranges of `embedding_text()` scored on their own: every two consecutive sentences.

        A question is often answered by one or two sentences of a passage that is about more;
        a window's vector is not diluted by the rest. A one-sentence passage has no windows.
        """
        base = len(self._context()) + 1
        sentences = sentence_spans(self.text)
        return [(base + sentences[i][0], base + sentences[i + 1][1]) for i in range(len(sentences) - 1)]

    def _context(self) -> str:
        return " | ".join(part for part in (self.title, self.heading_path, self.ref) if part)

    def page_at(self, offset: int) -> int:
        page = self.page_start
        for span in self.pages:
            if span.offset <= offset:
                page = span.page
        return page

    def ref_at(self, offset: int) -> str:
        ref = self.refs[0].ref if self.refs else self.ref
        for span in self.refs:
            if span.offset <= offset:
                ref = span.ref
        return ref


def chunk_id(doc_id: str, title: str, ref: str, headings: list[str], text: str) -> str:
    """Content hash: the same passage always gets the same id, so re-ingest is idempotent."""
    payload = "\x1f".join([doc_id, title, ref, " > ".join(headings), text])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


class DocumentInfo(BaseModel):
    """A document as it sits in the index."""

    id: str
    title: str
    short_title: str = ""
    kind: str = ""
    sha256: str
    pages: int  # PDF pages, or paragraphs of a flow document
    chunks: int
    source_path: str = ""
    format: DocumentFormat = "pdf"  # indexes written before other formats existed hold PDFs only

    @property
    def paged(self) -> bool:
        """True for a PDF: its locations are pages; a flow document's are paragraphs."""
        return self.format == "pdf"


class PageText(BaseModel):
    """The cleaned text of one location (PDF page or paragraph), kept so that quotes can be checked against it."""

    doc_id: str
    page: int
    text: str
