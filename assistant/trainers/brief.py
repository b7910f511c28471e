"""A trainer's topic brief: the most relevant verbatim passages on one topic, grouped by document and cited."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from assistant.answer.render import SOURCES, citation_label, docx_text, md_blockquote, md_escape
from assistant.chain import check_question
from assistant.retrieval import SearchFilter
from ingest.records import DocumentFormat, PageSpan, RefSpan
from ingest.textnorm import normalize_for_match

if TYPE_CHECKING:
    from assistant.chain import Assistant

log = logging.getLogger(__name__)

SEARCH_K = 40


class BriefPassage(BaseModel):
    """One retrieved passage, verbatim, with what is needed to cite it."""

    doc: str
    title: str  # the document's short title, as citations print it
    ref: str
    pages: list[int]  # the pages of a PDF; the paragraphs of a flow document (as the index stores them)
    text: str
    score: float
    section: str = ""  # the innermost heading
    format: DocumentFormat = "pdf"  # for a flow document (DOCX, HTML, Markdown), `pages` are its paragraphs
    # Where numbered units and pages start inside `text`, so that one sentence can be
    # cited to its own rule and page rather than to the passage's range.
    ref_spans: list[RefSpan] = Field(default_factory=list)
    page_spans: list[PageSpan] = Field(default_factory=list)

    @property
    def paged(self) -> bool:
        return self.format == "pdf"

    def citation(self) -> str:
        """`Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20` (or, for a flow document, `..., 3.2, ¶ 14`)"""
        return self.where(self.title)

    def citation_at(self, start: int, end: int) -> str:
        """The citation of `text[start:end]`: its own numbered unit and pages when the spans say so."""
        return citation_label(
            self.title, self.ref_at(start), self.pages_at(start, end), paged=self.paged, section=self.section
        )

    def where(self, title: str = "") -> str:
        """The passage's label with `title` ("" leaves it out: section, ref and location only)."""
        return citation_label(title, self.ref, self.pages, paged=self.paged, section=self.section)

    def ref_at(self, offset: int) -> str:
        # Same rule as ingest.records.Chunk.ref_at, which the answer composer cites with.
        ref = self.ref_spans[0].ref if self.ref_spans else self.ref
        for span in self.ref_spans:
            if span.offset <= offset:
                ref = span.ref
        return ref

    def pages_at(self, start: int, end: int) -> list[int]:
        if not self.page_spans:
            return list(self.pages)
        first, last = self._page_at(start), self._page_at(max(start, end - 1))
        return list(range(first, last + 1))

    def _page_at(self, offset: int) -> int:
        page = self.pages[0] if self.pages else self.page_spans[0].page
        for span in self.page_spans:
            if span.offset <= offset:
                page = span.page
        return page


class BriefDocument(BaseModel):
    doc: str
    title: str  # full title, for the handout's headings
    kind: str
    passages: list[BriefPassage]
    short_title: str = ""


class TopicBrief(BaseModel):
    topic: str
    generated_at: str  # ISO 8601, UTC
    documents: list[BriefDocument] = Field(default_factory=list)

    def passages(self) -> Iterator[BriefPassage]:
        """All passages, in handout order."""
        for document in self.documents:
            yield from document.passages

    @property
    def empty(self) -> bool:
        return not any(d.passages for d in self.documents)

    def to_markdown(self) -> str:
        lines = [f"# Topic brief: {md_escape(self.topic)}", "", f"Date: {self.generated_at[:10]}", ""]
        if self.empty:
            lines += ["No passages in the indexed documents matched this topic.", ""]
            return "\n".join(lines)
        n = sum(len(d.passages) for d in self.documents)
        lines += [
            f"{_count(n, 'verbatim passage')} from {_count(len(self.documents), 'document')}, most relevant first. "
            "Check the source document before relying on a passage.",
            "",
        ]
        for document in self.documents:
            lines += [f"## {md_escape(document.title)} ({md_escape(document.kind or 'document')})", ""]
            for passage in document.passages:
                lines += [md_blockquote(passage.text), ">", f"> \u2014 **{md_escape(passage.citation())}**", ""]
        lines += [f"## {SOURCES}", ""]
        for i, (name, where) in enumerate(self._sources(), start=1):
            lines.append(f"{i}. {md_escape(name)}: {md_escape(where)}")
        lines.append("")
        return "\n".join(lines)

    def to_docx(self, path: Path) -> Path:
        """Writes the handout as a Word document (atomically) and returns its path."""
        from docx import Document
        from docx.shared import Pt

        document = Document()
        document.add_heading(docx_text(f"Topic brief: {self.topic}"), level=0)
        document.add_paragraph(f"Date: {self.generated_at[:10]}")
        if self.empty:
            document.add_paragraph("No passages in the indexed documents matched this topic.")
        else:
            document.add_paragraph(
                "Verbatim passages, most relevant first. Check the source document before relying on a passage."
            )
        for doc in self.documents:
            document.add_heading(docx_text(f"{doc.title} ({doc.kind or 'document'})"), level=1)
            for passage in doc.passages:
                quote = document.add_paragraph(style="Quote")
                quote.add_run(docx_text(passage.text))
                cite = document.add_paragraph()
                cite.paragraph_format.space_after = Pt(12)
                cite.add_run(docx_text(f"\u2014 {passage.citation()}")).bold = True
        if not self.empty:
            document.add_heading(SOURCES, level=1)
            for name, where in self._sources():
                item = document.add_paragraph(style="List Number")
                item.add_run(docx_text(name)).bold = True
                item.add_run(docx_text(f": {where}"))
        return save_atomically(path, document.save)

    def _sources(self) -> list[tuple[str, str]]:
        """(document name, what was cited from it), one per document."""
        out = []
        for doc in self.documents:
            name = doc.short_title or (doc.passages[0].title if doc.passages else "") or doc.title
            cited = "; ".join(dict.fromkeys(p.where() for p in doc.passages))
            full = doc.title if doc.title != name else ""
            where = ", ".join(x for x in (full, doc.kind, f"id {doc.doc}") if x)
            out.append((name, f"{where}. Cited: {cited}" if cited else where))
        return out


class BriefBuilder:
    """Collects the passages most relevant to a topic across the indexed documents."""

    def __init__(
        self, assistant: Assistant, per_document: int = 3, max_passages: int = 12, min_relative_score: float = 0.3
    ) -> None:
        if per_document < 1 or max_passages < 1:
            raise ValueError("per_document and max_passages must be at least 1")
        if not 0.0 <= min_relative_score <= 1.0:
            raise ValueError(f"min_relative_score: expected 0..1, got {min_relative_score}")
        self.assistant = assistant
        self.per_document = per_document
        self.max_passages = max_passages
        self.min_relative_score = min_relative_score

    def build(self, topic: str, doc_ids: Sequence[str] = (), kinds: Sequence[str] = ()) -> TopicBrief:
        text = check_question(topic)
        result = self.assistant.retriever.search(
            text, k=SEARCH_K, search_filter=SearchFilter(tuple(doc_ids), tuple(kinds))
        )
        documents = self.assistant.snapshot.meta.documents
        titles = self.assistant.titles
        best = result.hits[0].score if result.hits else 0.0
        seen: set[str] = set()
        grouped: dict[str, list[BriefPassage]] = {}  # insertion order = order of each document's best passage
        taken = 0
        for hit in result.hits:  # best first
            if taken >= self.max_passages or hit.score < self.min_relative_score * best:
                break
            chunk = hit.chunk
            key = normalize_for_match(chunk.text)
            if not key or key in seen:
                continue
            if len(grouped.get(chunk.doc_id, ())) >= self.per_document:
                continue
            seen.add(key)
            grouped.setdefault(chunk.doc_id, []).append(
                BriefPassage(
                    doc=chunk.doc_id,
                    title=titles.get(chunk.doc_id, chunk.title),
                    ref=chunk.ref,
                    pages=list(range(chunk.page_start, chunk.page_end + 1)),
                    text=chunk.text,
                    score=hit.score,
                    ref_spans=list(chunk.refs),
                    page_spans=list(chunk.pages),
                    section=chunk.headings[-1] if chunk.headings else "",
                    format=documents[chunk.doc_id].format if chunk.doc_id in documents else "pdf",
                )
            )
            taken += 1
        out = []
        for doc_id, passages in grouped.items():
            info = documents.get(doc_id)
            out.append(
                BriefDocument(
                    doc=doc_id,
                    title=info.title if info else passages[0].title,
                    kind=info.kind if info else "",
                    short_title=(info.short_title or info.title) if info else passages[0].title,
                    passages=passages,
                )
            )
        log.info("brief on %r: %d passages from %d documents", text, taken, len(out))
        return TopicBrief(topic=text, generated_at=datetime.now(UTC).isoformat(timespec="seconds"), documents=out)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def save_atomically(path: Path, save: Callable[[Any], Any]) -> Path:
    """Writes through a temporary file in the same folder, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file private (0600); a handout is meant to be shared, so keep the
    # mode of the file it replaces, or use the usual 0644 (not os.umask(): racy under threads).
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, mode)
        save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
