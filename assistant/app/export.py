"""A conversation as a Markdown file, with every citation in full, for records and training notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from assistant.answer.records import Answer
from assistant.answer.render import answer_record_markdown, md_escape, plain_text


@dataclass
class Exchange:
    """One question of a conversation and what the app showed for it.

    `answer` is None when no answer was produced (the question was rejected or the
    assistant failed); `notice` then holds the message the user saw.
    """

    question: str
    answer: Answer | None = None
    notice: str = ""


def conversation_markdown(
    exchanges: Sequence[Exchange], title: str = "Handbook Assistant conversation", exported: datetime | None = None
) -> str:
    """The conversation, question by question, with each answer's citations (document, ref, location, quote)."""
    when = (exported or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# {title}",
        "",
        f"Exported {when}. Quotes are verbatim from the indexed documents; "
        "check the cited page or paragraph before acting on them.",
    ]
    for i, ex in enumerate(exchanges, 1):
        lines += ["", f"## {i}. {md_escape(ex.question)}", ""]
        answer = ex.answer
        if answer is None:
            lines.append(f"_{md_escape(ex.notice or 'No answer.')}_")
            continue
        lines.append(answer_record_markdown(answer))  # assistant/answer/render.py: the lead, quotes, sources in full
    # md_escape cleans the document text it escapes; this also covers the ids and anything added later.
    return plain_text("\n".join(lines).rstrip() + "\n")
