"""The hybrid retrieval as a LangChain retriever, so that other LangChain chains can use the index.

`HandbookRetriever.invoke(query)` returns one `Document` per passage, its text exactly as
indexed and its citation (document, rule or article, pages) in the metadata. Keyword
arguments `k`, `doc_ids` and `kinds` override the retriever's own settings for one call:

    retriever = HandbookRetriever.from_settings()
    docs = retriever.invoke("How long may a prisoner be kept in solitary confinement?", k=3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, model_validator

from assistant.answer.records import location_fields
from assistant.chain import check_question
from assistant.retrieval import HybridRetriever, ScoredChunk, SearchFilter
from assistant.settings import Settings
from ingest.corpus_manifest import DOCUMENT_KINDS
from ingest.embedding import Embedder

# Keyword arguments a call may carry; "verbose" is LangChain's own and is passed on to every retriever.
_CALL_OPTIONS = frozenset({"k", "doc_ids", "kinds"})
_IGNORED_OPTIONS = frozenset({"verbose"})


class HandbookRetriever(BaseRetriever):
    """LangChain view of `HybridRetriever`: dense and BM25 candidates fused by reciprocal rank.

    `doc_ids` and `kinds` restrict the search (empty: every indexed document); they are
    checked against the index so that a misspelt id fails loudly instead of finding nothing.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: HybridRetriever
    k: int = Field(default=5, ge=1)
    doc_ids: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_filter(self) -> HandbookRetriever:
        self._validated_filter(self.doc_ids, self.kinds)
        return self

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        k: int | None = None,
        doc_ids: Sequence[str] = (),
        kinds: Sequence[str] = (),
    ) -> HandbookRetriever:
        """The retriever the assistant itself uses (same index, model, glossary and candidate count).

        `k` defaults to the settings' top_k. Raises `IndexMissingError` when no index has been built.
        """
        from assistant.chain import Assistant

        settings = settings or Settings()
        # Built through the Assistant so that the model and glossary are chosen in one place only.
        hybrid = Assistant.from_settings(settings, embedder=embedder).retriever
        return cls(hybrid=hybrid, k=settings.answer.top_k if k is None else k, doc_ids=list(doc_ids), kinds=list(kinds))

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k, search_filter = self._call_options(kwargs)
        text = check_question(query)
        result = self.hybrid.search(text, k=k, search_filter=search_filter)
        return [self._document(hit) for hit in result.hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        # The base class would drop the per-call options; the search itself is synchronous
        # (Chroma, bm25s and torch), so it runs in a worker thread.
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), **kwargs
        )

    def _call_options(self, options: dict[str, Any]) -> tuple[int, SearchFilter]:
        unknown = sorted(set(options) - _CALL_OPTIONS - _IGNORED_OPTIONS)
        if unknown:
            raise TypeError(f"HandbookRetriever: unknown option(s) {', '.join(unknown)}; expected k, doc_ids or kinds")
        k = options.get("k", self.k)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k: expected a whole number of at least 1, got {k!r}")
        doc_ids = _string_list("doc_ids", options.get("doc_ids", self.doc_ids))
        kinds = _string_list("kinds", options.get("kinds", self.kinds))
        return k, self._validated_filter(doc_ids, kinds)

    def _validated_filter(self, doc_ids: Sequence[str], kinds: Sequence[str]) -> SearchFilter:
        indexed = self.hybrid.snapshot.meta.documents
        unknown_docs = ", ".join(repr(d) for d in doc_ids if d not in indexed)
        if unknown_docs:
            raise ValueError(f"doc_ids: {unknown_docs} not in the index (indexed: {', '.join(sorted(indexed))})")
        unknown_kinds = ", ".join(repr(k) for k in kinds if k not in DOCUMENT_KINDS)
        if unknown_kinds:
            raise ValueError(f"kinds: {unknown_kinds} unknown (expected: {', '.join(DOCUMENT_KINDS)})")
        return SearchFilter(tuple(doc_ids), tuple(kinds))

    def _document(self, hit: ScoredChunk) -> Document:
        chunk = hit.chunk
        info = self.hybrid.snapshot.meta.documents.get(chunk.doc_id)
        title = (info.short_title or info.title) if info is not None else chunk.title
        fmt = info.format if info is not None else "pdf"
        return Document(
            id=chunk.id,
            page_content=chunk.text,
            metadata={
                "doc": chunk.doc_id,
                "title": title,
                "ref": chunk.ref,
                "page_start": chunk.page_start,  # for Word, HTML and Markdown documents: paragraph numbers
                "page_end": chunk.page_end,
                **location_fields(fmt, list(range(chunk.page_start, chunk.page_end + 1))),
                "section": chunk.headings[-1] if chunk.headings else "",
                "score": hit.score,
                "chunk_id": chunk.id,
                "heading": chunk.heading_path,
            },
        )


def _string_list(name: str, value: object) -> list[str]:
    # A bare string would otherwise be taken as a list of one-letter ids.
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name}: expected a list of strings, got {value!r}")
    return list(value)
