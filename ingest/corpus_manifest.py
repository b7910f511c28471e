"""The corpus manifest (corpus/manifest.toml): which documents make up the corpus.

Every other ingest step keys on a document's `id`, which is also its file name without the
extension, so the loader rejects anything that would make an id ambiguous or unsafe as a path.
A document is a PDF, or a DOCX, HTML or Markdown file (`format`, given, or else read from
the extension of `source_url`, or else "pdf").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from ingest.readers import format_of, suffix_of
from ingest.records import DOCUMENT_FORMATS, DocumentFormat
from ingest.tomlfile import read_tables, single_line

DocumentKind = Literal["binding-standard", "guidance", "policy", "report"]
DOCUMENT_KINDS: tuple[str, ...] = ("binding-standard", "guidance", "policy", "report")


# A document id names a file, a URL path segment ("Open the PDF" links) and a CLI argument: letters
# (any script), digits, "-", "_" and "."; it starts with a letter or digit, so never ".", ".." or "-x".
DOC_ID_MAX_LENGTH = 200
DOC_ID_RULE = f"letters, digits, -, _ and ., starting with a letter or digit, at most {DOC_ID_MAX_LENGTH} characters"
_DOC_ID = re.compile(r"[^\W_][\w.-]*")


def is_doc_id(value: str) -> bool:
    """Whether `value` is a valid document id (fullmatch: a trailing newline does not pass)."""
    return len(value) <= DOC_ID_MAX_LENGTH and _DOC_ID.fullmatch(value) is not None


def doc_id_from_name(name: str, max_length: int = 100) -> str:
    """A valid id made from a file or folder name ("" when nothing of it is left).

    Runs of other characters (spaces, newlines, control characters, "/" and the like) become "-";
    leading dots, dashes and underscores go; NFC first, so a name from macOS (decomposed accents)
    gives the same id as on Linux.
    """
    text = re.sub(r"[^\w.-]+", "-", unicodedata.normalize("NFC", name))
    text = re.sub(r"^[\W_]+", "", text)[:max_length]
    return text.rstrip(".-")


# A name a question may use for what a document is about ("Canberra", "HMPPS"): one line, not blank.
NAME_MAX_LENGTH = 120
NAME_LIST_FIELDS: tuple[str, ...] = ("jurisdictions", "institutions", "places")
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH, pattern=r"^[^\n\r\t]+$")
]


class ManifestError(ValueError):
    """A manifest that cannot be used; the message is one line naming file and entry."""


class CorpusDocument(BaseModel):
    # extra="forbid": a misspelt key (e.g. "sha265") should fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)

    # No slashes or leading dots (see is_doc_id); ASCII only here: manifest ids also name files in the mirror.
    id: str
    title: str = Field(min_length=1)
    # How citations name the document: "[1] Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20".
    short_title: str = ""
    publisher: str = Field(min_length=1)
    year: int = Field(ge=1900, le=2100)
    kind: DocumentKind
    jurisdiction: str = Field(min_length=1)
    source_url: str = Field(pattern=r"^https?://\S+$")
    # The publisher's own page when source_url is a mirror copy; "" when none recorded.
    official_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    pages: int | None = Field(default=None, ge=1)  # PDF pages; paragraphs for the other formats
    format: DocumentFormat = "pdf"
    reuse: str = Field(min_length=1)
    local: bool
    # Optional names of what the document is about, for the name evidence (ingest/profiles.py): the
    # names its jurisdiction goes by, the institutions (prisons, agencies, bodies) and the places it describes.
    jurisdictions: list[Name] = Field(default_factory=list)
    institutions: list[Name] = Field(default_factory=list)
    places: list[Name] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _format_from_url(cls, data: object) -> object:
        # A download URL ending in .docx, .html or .md names the format; "format" in the entry overrides it.
        if isinstance(data, dict) and "format" not in data and isinstance(data.get("source_url"), str):
            derived = format_of(urlparse(data["source_url"]).path)
            if derived is not None:
                return {**data, "format": derived}
        return data

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not (value.isascii() and is_doc_id(value)):
            raise ValueError(f"not a valid document id ({DOC_ID_RULE}, ASCII only)")
        return value

    @field_validator("sha256", mode="before")
    @classmethod
    def _lower_hex(cls, value: object) -> object:
        # Hashes are often pasted in upper case; compare in one canonical form.
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def file_name(self) -> str:
        """The document's file under the corpus folder (and the mirror): `<id>.pdf`, `<id>.docx`..."""
        return f"{self.id}{suffix_of(self.format)}"


class Manifest:
    """The loaded documents, in file order, with lookup by id."""

    def __init__(self, documents: list[CorpusDocument]) -> None:
        self.documents = list(documents)
        self._by_id = {doc.id: doc for doc in self.documents}

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls(load_manifest(path))

    def get(self, doc_id: str) -> CorpusDocument:
        try:
            return self._by_id[doc_id]
        except KeyError:
            raise KeyError(f"no document with id {doc_id!r} in the manifest") from None

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._by_id

    def __iter__(self) -> Iterator[CorpusDocument]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def ids(self) -> list[str]:
        return [doc.id for doc in self.documents]

    def local_documents(self) -> list[CorpusDocument]:
        return [doc for doc in self.documents if doc.local]


def load_manifest(path: Path) -> list[CorpusDocument]:
    """Read and validate a manifest; raise ManifestError with a one-line reason."""
    path = Path(path)
    raw_docs = read_tables(
        path, "document", not_found="manifest file not found", cannot_read="manifest", error=ManifestError
    )
    if not isinstance(raw_docs, list) or not raw_docs:
        raise ManifestError(f"{path}: no [[document]] tables found")

    documents: list[CorpusDocument] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(raw_docs, start=1):
        label = _entry_label(number, raw)
        try:
            doc = CorpusDocument.model_validate(raw)
        except ValidationError as exc:
            raise ManifestError(f"{path}: {label}: {_describe(exc)}") from None
        if doc.id in seen:
            raise ManifestError(f"{path}: {label}: duplicate id (also document #{seen[doc.id]})")
        seen[doc.id] = number
        documents.append(doc)
    return documents


def _entry_label(number: int, raw: object) -> str:
    doc_id = raw.get("id") if isinstance(raw, dict) else None
    return f"document #{number} (id {doc_id!r})" if isinstance(doc_id, str) else f"document #{number}"


def _describe(exc: ValidationError) -> str:
    parts: list[str] = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "entry"
        if error["type"] == "missing":
            parts.append(f"missing field '{field}'")
        elif error["type"] == "extra_forbidden":
            parts.append(f"unknown field '{field}'")
        elif error["loc"] == ("kind",):
            parts.append(f"field 'kind': {error.get('input')!r} is not one of {', '.join(DOCUMENT_KINDS)}")
        elif error["loc"] == ("id",) and error["type"] == "value_error":
            parts.append(f"field 'id': {error['ctx']['error']}")  # the label names the id already
        elif error["loc"][:1] and error["loc"][0] in NAME_LIST_FIELDS:
            parts.append(_describe_name(error))
        elif error["loc"] == ("format",):
            parts.append(f"field 'format': {error.get('input')!r} is not one of {', '.join(DOCUMENT_FORMATS)}")
        else:
            parts.append(f"field '{field}': {error['msg']}")
    return single_line("; ".join(parts))


def _describe_name(error: ErrorDetails) -> str:
    field = error["loc"][0]
    if len(error["loc"]) == 1:
        return f"field '{field}': expected a list of names, e.g. {field} = [\"Canberra\"]"
    item = error["loc"][1]
    where = f"field '{field}', item {int(item) + 1}" if isinstance(item, int) else f"field '{field}'"
    return f"{where}: {error.get('input')!r} is not a name (one line of 1 to {NAME_MAX_LENGTH} characters)"
