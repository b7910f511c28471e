"""Obtain the corpus documents: keep verified local files, copy from a mirror, else download.

Every file is first written to a temporary name inside the destination folder and only
renamed into place (os.replace, atomic on one file system) once it is complete and its
checksum is verified, so an interrupted or wrong download never leaves a file that a
later ingest run would mistake for the real document.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from ingest.corpus_manifest import CorpusDocument

logger = logging.getLogger(__name__)

FetchStatus = Literal["present", "copied", "downloaded", "missing", "checksum-mismatch", "failed"]
OK_STATUSES: frozenset[str] = frozenset({"present", "copied", "downloaded"})

BLOCK_SIZE = 1024 * 1024  # hash and copy in 1 MiB blocks: bounded memory for large documents
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024  # a guard against a misconfigured URL filling the disk
USER_AGENT = "handbook-assistant/0.1 (corpus fetch)"  # some sites refuse urllib's default
HASH_PREFIX = 12  # enough of a hash to tell files apart in a one-line message


@dataclass(frozen=True)
class FetchResult:
    id: str
    status: FetchStatus
    path: Path | None  # the verified file, None when the document was not obtained
    message: str

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


@dataclass
class FetchReport:
    results: list[FetchResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def problems(self) -> list[FetchResult]:
        return [result for result in self.results if not result.ok]

    def get(self, doc_id: str) -> FetchResult:
        for result in self.results:
            if result.id == doc_id:
                return result
        raise KeyError(doc_id)

    def counts(self) -> dict[str, int]:
        return dict(Counter(result.status for result in self.results))

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[status]} {status}" for status in _STATUS_ORDER if status in counts]
        return f"{len(self.results)} documents: " + ", ".join(parts)


_STATUS_ORDER: tuple[FetchStatus, ...] = ("present", "copied", "downloaded", "missing", "checksum-mismatch", "failed")
_FAILURE_PRECEDENCE: tuple[FetchStatus, ...] = ("checksum-mismatch", "failed", "missing")


class _SourceError(Exception):
    """One source (mirror or URL) did not yield a usable file."""

    def __init__(self, status: FetchStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(BLOCK_SIZE):
            digest.update(block)
    return digest.hexdigest()


def default_mirror(repo_root: Path) -> Path | None:
    """The shared read-only corpus copy next to the checkout, when there is one."""
    candidate = Path(repo_root).parent / "shared" / "corpus"
    return candidate if candidate.is_dir() else None


class CorpusFetcher:
    """Make `dest/<id>.<ext>` (`CorpusDocument.file_name`) exist and match its manifest checksum for every document."""

    def __init__(
        self,
        documents: list[CorpusDocument],
        dest: Path,
        mirror: Path | None,
        allow_download: bool = True,
        timeout_s: float = 30,
        show_progress: bool = True,
    ) -> None:
        self.documents = list(documents)
        self.dest = Path(dest)
        self.mirror = Path(mirror) if mirror is not None else None
        self.allow_download = allow_download
        self.timeout_s = timeout_s
        self.show_progress = show_progress

    def fetch(self) -> FetchReport:
        self.dest.mkdir(parents=True, exist_ok=True)
        report = FetchReport()
        if self.show_progress and len(self.documents) > 1:
            from rich.console import Console
            from rich.progress import Progress

            # stderr and transient: the bar must not pollute output that callers may pipe.
            with Progress(console=Console(stderr=True), transient=True) as progress:
                task = progress.add_task("Fetching corpus", total=len(self.documents))
                for doc in self.documents:
                    progress.update(task, description=f"Fetching {doc.id}")
                    report.results.append(self._fetch_one(doc))
                    progress.advance(task)
        else:
            for doc in self.documents:
                report.results.append(self._fetch_one(doc))
        logger.info("corpus fetch: %s", report.summary())
        return report

    def _fetch_one(self, doc: CorpusDocument) -> FetchResult:
        # Any unexpected error is confined to its document: one bad entry must not
        # stop the rest of the corpus from being fetched.
        try:
            result = self._obtain(doc)
        except Exception as exc:
            logger.exception("unexpected error fetching %s", doc.id)
            result = FetchResult(doc.id, "failed", None, f"unexpected error: {_one_line(repr(exc))}")
        log = logger.info if result.ok else logger.warning
        log("%s: %s (%s)", doc.id, result.status, result.message)
        return result

    def _obtain(self, doc: CorpusDocument) -> FetchResult:
        target = self.dest / doc.file_name
        failures: list[_SourceError] = []

        if target.is_file():
            if not doc.sha256:
                return FetchResult(doc.id, "present", target, f"{target} present (no checksum recorded)")
            actual = sha256_file(target)
            if actual == doc.sha256:
                return FetchResult(doc.id, "present", target, f"{target} present, checksum verified")
            # Not deleted: it may be a file the user placed deliberately; it is replaced
            # only by a verified copy, and reported if none can be had.
            failures.append(_SourceError("checksum-mismatch", _mismatch(target, doc.sha256, actual)))

        if self.mirror is not None:
            source = self.mirror / doc.file_name
            if source.is_file():
                try:
                    with source.open("rb") as fh:
                        self._install(doc, fh, target, origin=str(source))
                    return FetchResult(doc.id, "copied", target, f"copied from {source}")
                except _SourceError as exc:
                    failures.append(exc)
                except OSError as exc:
                    failures.append(_SourceError("failed", f"cannot copy {source}: {exc.strerror or exc}"))
            else:
                failures.append(_SourceError("missing", f"not in mirror {self.mirror}"))

        if self.allow_download:
            try:
                self._download(doc, target)
                return FetchResult(doc.id, "downloaded", target, f"downloaded from {doc.source_url}")
            except _SourceError as exc:
                failures.append(exc)
        else:
            failures.append(_SourceError("missing", "download disabled"))

        return _worst(doc, failures)

    def _download(self, doc: CorpusDocument, target: Path) -> None:
        request = urllib.request.Request(doc.source_url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                self._install(doc, response, target, origin=doc.source_url)
        except urllib.error.HTTPError as exc:
            raise _SourceError("failed", f"HTTP {exc.code} {exc.reason} from {doc.source_url}") from None
        except urllib.error.URLError as exc:
            raise _SourceError("failed", f"cannot download {doc.source_url}: {_one_line(str(exc.reason))}") from None
        except TimeoutError:
            raise _SourceError("failed", f"download timed out after {self.timeout_s:g} s: {doc.source_url}") from None
        except OSError as exc:
            raise _SourceError("failed", f"download of {doc.source_url} failed: {_one_line(str(exc))}") from None

    def _install(self, doc: CorpusDocument, stream: BinaryIO, target: Path, origin: str) -> None:
        """Copy `stream` to a temp file, verify it, then atomically move it to `target`."""
        fd, tmp_name = tempfile.mkstemp(dir=self.dest, prefix=f".{doc.id}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            head = b""
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(BLOCK_SIZE):
                    if not head:
                        head = block[:1024]
                    size += len(block)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise _SourceError(
                            "failed", f"{origin}: larger than {MAX_DOWNLOAD_BYTES // (1024 * 1024)} MiB, aborted"
                        )
                    digest.update(block)
                    out.write(block)
            actual = digest.hexdigest()
            if doc.sha256 and actual != doc.sha256:
                raise _SourceError("checksum-mismatch", _mismatch(Path(origin), doc.sha256, actual, name=origin))
            problem = _content_problem(doc, head) if not doc.sha256 else None
            if problem:
                # Without a checksum this is the only guard against saving an HTML error page.
                raise _SourceError("failed", f"{origin}: {problem} ({size} bytes)")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def _content_problem(doc: CorpusDocument, head: bytes) -> str | None:
    """Why the first bytes cannot be the document's format, or None when they can."""
    if doc.format == "pdf":
        return None if b"%PDF-" in head else "not a PDF (no %PDF header)"
    if doc.format == "docx":
        return None if head.startswith(b"PK\x03\x04") else "not a DOCX (not a ZIP package)"
    if b"\x00" in head:
        return f"not {'an HTML page' if doc.format == 'html' else 'a Markdown file'} (binary data)"
    if doc.format == "md" and head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "not a Markdown file (an HTML page)"
    return None


def _mismatch(path: Path, expected: str, actual: str, name: str | None = None) -> str:
    return f"{name or path}: sha256 mismatch, expected {expected[:HASH_PREFIX]}..., got {actual[:HASH_PREFIX]}..."


def _worst(doc: CorpusDocument, failures: list[_SourceError]) -> FetchResult:
    """Report the most telling reason: a wrong file beats a failed source beats an absent one."""
    for status in _FAILURE_PRECEDENCE:
        if any(f.status == status for f in failures):
            reasons = "; ".join(f.message for f in failures)
            return FetchResult(doc.id, status, None, _one_line(reasons))
    return FetchResult(doc.id, "missing", None, "no source available")


def _one_line(text: str) -> str:
    return " ".join(text.split())
