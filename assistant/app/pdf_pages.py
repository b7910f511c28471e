"""Source PDFs of indexed documents: page images for the app, and a route that serves the PDFs themselves.

Only PDFs named by the index (`DocumentInfo.source_path`) are ever read or served,
looked up by document id; a path never comes from the request. No `from __future__ import
annotations`: FastAPI reads the route handler's annotations at run time to find `Request`.
"""

import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ingest.records import DocumentInfo

log = logging.getLogger(__name__)

# pdfium is not thread-safe: one rendering at a time in this process.
_PDFIUM_LOCK = threading.Lock()


class SourceNotFound(LookupError):
    """The document is not indexed, or its PDF is no longer where the index says."""


class SourceDocuments:
    """Maps indexed document ids to their PDF files."""

    def __init__(self, documents: Mapping[str, DocumentInfo], corpus_dir: Path | None = None) -> None:
        self.documents = dict(documents)
        self.corpus_dir = corpus_dir

    def pdf_path(self, doc_id: str) -> Path:
        info = self.documents.get(doc_id)
        if info is None:
            raise SourceNotFound(f"document {doc_id!r} is not in the index")
        candidates = []
        if info.source_path:
            candidates.append(Path(info.source_path))
            if self.corpus_dir is not None:  # the checkout moved since the ingest
                candidates.append(self.corpus_dir / Path(info.source_path).name)
        for path in candidates:
            if path.suffix.lower() == ".pdf" and path.is_file():
                return path
        raise SourceNotFound(
            f"document {doc_id!r}: its PDF is missing (expected {info.source_path or 'a source path'})"
        )


class PageRenderer:
    """Renders one PDF page to a PNG file, once; later calls return the cached file.

    A cached file is served only if this process wrote it and its bytes still hash to what was
    written: a file planted in the cache folder under the expected name is rendered over, never
    shown as a document page. Names carry a hash of the PDF's content, so an edited PDF is rendered afresh.
    """

    def __init__(self, cache_dir: Path, scale: float = 1.5) -> None:
        self.cache_dir = Path(cache_dir)
        self.scale = scale
        self._written: dict[Path, str] = {}  # file -> sha256 of the PNG bytes this process wrote
        self._pdf_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> content sha256

    def render(self, pdf_path: Path, page: int) -> Path:
        """`page` is 1-based."""
        if page < 1:
            raise ValueError(f"page: {page} is not a page number (pages start at 1)")
        target = self.cache_dir / f"{self._content_key(pdf_path)}-p{page:04d}-x{round(self.scale * 100)}.png"
        if self._is_ours(target):
            return target
        import pypdfium2

        self.cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _PDFIUM_LOCK:
            if self._is_ours(target):  # another request rendered it while this one waited
                return target
            pdf = pypdfium2.PdfDocument(str(pdf_path))
            try:
                if page > len(pdf):
                    raise ValueError(f"page: {pdf_path.name} has {len(pdf)} pages, not {page}")
                image = pdf[page - 1].render(scale=self.scale).to_pil()
            finally:
                pdf.close()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=False)
            data = buffer.getvalue()
            partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, target)  # readers never see a half-written file
            self._written[target] = hashlib.sha256(data).hexdigest()
        log.debug("rendered %s p. %d -> %s", pdf_path.name, page, target)
        return target

    def _is_ours(self, target: Path) -> bool:
        expected = self._written.get(target)
        if expected is None:
            return False
        try:
            return hashlib.sha256(target.read_bytes()).hexdigest() == expected
        except OSError:
            return False

    def _content_key(self, pdf_path: Path) -> str:
        stat = pdf_path.stat()
        memo = (str(pdf_path.resolve()), stat.st_size, stat.st_mtime_ns)
        digest = self._pdf_digests.get(memo)
        if digest is None:
            sha = hashlib.sha256()
            with pdf_path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    sha.update(block)
            digest = self._pdf_digests[memo] = sha.hexdigest()[:24]
        return digest


def add_pdf_route(
    app: Any, sources: SourceDocuments, is_allowed: Callable[[Any], bool] | None = None, prefix: str = "/pdf"
) -> None:
    """Adds `GET {prefix}/{doc_id}` to a FastAPI app: the PDF of one indexed document, shown inline.

    Link to a page with `{prefix}/{doc_id}#page=N` (the browser's PDF viewer reads the fragment).
    `is_allowed(request)` guards the route, e.g. with the app's login.
    """
    from fastapi import HTTPException, Request
    from fastapi.responses import FileResponse

    def serve_pdf(doc_id: str, request: Request) -> FileResponse:
        if is_allowed is not None and not is_allowed(request):
            raise HTTPException(status_code=401, detail="Not authenticated")
        try:
            path = sources.pdf_path(doc_id)
        except SourceNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        return FileResponse(
            path,
            media_type="application/pdf",
            filename=f"{doc_id}.pdf",
            content_disposition_type="inline",
        )

    app.add_api_route(f"{prefix}/{{doc_id}}", serve_pdf, methods=["GET"], include_in_schema=False)
