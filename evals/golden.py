"""The golden-set format: one JSON object per line, checked on load.

See evals/README.md ("Golden sets") for the meaning of every field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The review queue writes golden records from the assistant, which never imports evals: the shared
# parts of the schema live there, and this module reads them.
from assistant.review.golden_record import ExpectedPlace as ExpectedPassage
from assistant.review.golden_record import Kind, Persona, ReviewerRole

Lang = Literal["en", "ru", "kk"]
LANGS: tuple[str, ...] = ("en", "ru", "kk")
# A question whose overlap with its expected pages is at most this is in "staff wording" (evals/overlap.py).
STAFF_WORDING_MAX = 0.30


class GoldenFormatError(ValueError):
    """A golden file that cannot be used; the message is one line naming file, line and field."""


class GoldenQuestion(BaseModel):
    """One question with the passages and key facts a correct answer must rest on."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool
    expected: list[ExpectedPassage]
    key_facts: list[str]
    kind: Kind
    persona: Persona
    lang: Lang = Field(default="en", description="the question's language: en, ru (Russian) or kk (Kazakh)")
    overlap: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="share of the question's content words found in the expected passages (None: not computed)",
    )
    # Written by the review queue (`handbook review`, the app's review tab): where the record came from
    # and the reviewer's role. Hand-written sets leave both out.
    source: Literal["review"] | None = Field(default=None, description='"review" for a record a reviewer wrote')
    role: ReviewerRole | None = Field(default=None, description="the reviewer's role")


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(record)"
    return f"field {field!r}: {first['msg']}"


def load_golden(path: Path | str) -> list[GoldenQuestion]:
    """Read a golden JSONL file; blank lines are skipped, ids must be unique."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldenFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    questions: list[GoldenQuestion] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenFormatError(f"{path}:{lineno}: bad JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(record, dict):
            raise GoldenFormatError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
        try:
            question = GoldenQuestion.model_validate(record)
        except ValidationError as exc:
            raise GoldenFormatError(f"{path}:{lineno}: {_describe(exc)}") from exc
        if question.id in first_line:
            raise GoldenFormatError(
                f"{path}:{lineno}: field 'id': duplicate id {question.id!r} (first on line {first_line[question.id]})"
            )
        first_line[question.id] = lineno
        questions.append(question)
    return questions
