"""A reviewed question as a golden-set record, and the review file that collects them.

The record has the fields of `evals/golden/dev.jsonl` (evals/golden.py `GoldenQuestion`, which takes
`ExpectedPlace`, `Kind` and `Persona` from here, since the assistant never imports evals; a test
checks that `load_golden` reads what this writes), plus `source: "review"` and the reviewer's `role`.
`handbook eval --golden review.jsonl` scores the assistant on it like on any golden set.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["fact", "procedure", "definition", "comparison", "multi-hop", "unanswerable"]
KINDS: tuple[str, ...] = ("fact", "procedure", "definition", "comparison", "multi-hop", "unanswerable")
Persona = Literal["staff", "trainer", "evaluator"]
ReviewerRole = Literal["trainer", "evaluator", "admin"]


class ExpectedPlace(BaseModel):
    """A place that answers the question: document id, its 1-based pages (paragraphs of a flow document), ref."""

    model_config = ConfigDict(extra="forbid")

    doc: str = Field(min_length=1, description="document id: the file name without its extension")
    pages: list[int] = Field(
        min_length=1, description="1-based pages (paragraphs of a flow document) holding the answer"
    )
    ref: str = Field(default="", description='rule/article/section number as printed, e.g. "Rule 58"; "" if none')

    @model_validator(mode="after")
    def _positive(self) -> ExpectedPlace:
        if any(p < 1 for p in self.pages):
            raise ValueError("pages are 1-based and must be >= 1")
        return self


class ReviewRecord(BaseModel):
    """One golden question written by a reviewer (the fields of evals' GoldenQuestion, plus source and role)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool
    expected: list[ExpectedPlace]
    key_facts: list[str]
    kind: Kind
    persona: Persona = "staff"
    lang: Literal["en", "ru", "kk"] = "en"
    overlap: float | None = None
    source: Literal["review"] = "review"
    role: ReviewerRole

    @model_validator(mode="after")
    def _consistent(self) -> ReviewRecord:
        if self.answerable and not self.expected:
            raise ValueError("expected: an answerable question needs at least one passage")
        if not self.answerable and (self.expected or self.key_facts or self.kind != "unanswerable"):
            raise ValueError("a question the documents do not cover has no expected passages or key facts")
        return self

    def json_line(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


class ReviewFile:
    """Appends records to a JSONL file, one line per write (O_APPEND: two writers never interleave a line)."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, record: ReviewRecord) -> None:
        line = (record.json_line() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def ids(self) -> set[str]:
        if not self.path.is_file():
            return set()
        found = set()
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    found.add(str(json.loads(line).get("id", "")))
                except (json.JSONDecodeError, AttributeError):
                    continue  # a hand-edited line: evals' loader names it
        return found
