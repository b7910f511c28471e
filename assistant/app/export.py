"""A conversation as a Markdown file, with every citation in full, for records and training notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from assistant.answer import Answer
from assistant.injection import SUSPICIOUS_NOTE
from assistant.render import SOURCES, md_escape


@dataclass
class Exchange:
    """One question of a conversation and what the app showed for it.

    `answer` is None when no answer was produced (the question was rejected or the
    assistant failed); `notice` then holds the message the user saw.
    """

    question: str
    answer: Answer | None = None
    notice: str = ""


def _quote_block(text: str) -> str:
    return "\n".join("> " + md_escape(line) if line.strip() else ">" for line in text.splitlines())


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
        if answer.standalone_question and answer.standalone_question != answer.question:
            lines += [f"_Searched as: {md_escape(answer.standalone_question)}_", ""]
        if answer.note:
            lines += [f"_Note: {md_escape(answer.note)}_", ""]
        if answer.refused or not answer.citations:
            lines.append(md_escape(answer.answer).replace("\n", "  \n"))
            continue
        if answer.mode == "generated":
            lines += [
                md_escape(answer.generated_text()),
                "",
                f"_Written by {md_escape(answer.model)}; the passages it cites:_",
                "",
            ]
        for c in answer.citations:
            lines += [_quote_block(f"\u201c{c.quote}\u201d [{c.n}]"), ""]
        lines += [f"**{SOURCES}**", ""]
        for c in answer.citations:
            flag = f" {SUSPICIOUS_NOTE}" if c.suspicious else ""
            lines.append(f"{c.n}. {md_escape(c.label())} (document `{c.doc}`){flag}")
        searched = ", ".join(f"`{d}`" for d in answer.documents_searched)
        if searched:
            lines += ["", f"Documents searched: {searched}. Confidence {answer.confidence:.2f}."]
    return "\n".join(lines).rstrip() + "\n"
