"""How the assistant writes citations and document text: labels, escaping and headings, in one place.

Every answer, export, brief, quiz and the app name a cited location with `citation_label`:

    PDF            "Nelson Mandela Rules (A/RES/70/175), Rule 58, p. 20"   (pp. 20–21 over a page break)
    flow document  "Knife Policy, 3. Knife control, 3.2, ¶ 14"               (¶¶ 14–16 over several paragraphs)

A flow document (DOCX, HTML, Markdown) has no pages: its locations are its paragraphs, numbered
from 1 in reading order, and its label names the section heading, which a reader needs to find them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from assistant.answer.labels import citation_label as citation_label
from assistant.answer.labels import location_label as location_label
from assistant.answer.labels import pages_label as pages_label
from assistant.answer.labels import paragraphs_label as paragraphs_label
from assistant.language import AnswerTexts, profile
from ingest.textnorm import strip_controls

if TYPE_CHECKING:
    from assistant.answer.records import Answer, Citation

SOURCES = "Sources"  # the heading of an answer's, export's or handout's list of sources
SOURCES_HEADING = f"\n\n{SOURCES}:\n"  # between an answer's text and its numbered sources (plain text)


# --- labels ------------------------------------------------------------------------------------
# In assistant/answer/labels.py (the answer's records use them too); here for every caller that renders.

# --- document text on its way out ---------------------------------------------------------------


def plain_text(text: str) -> str:
    """Document text safe for a terminal, the page or a file: no escape codes or control characters.

    Ingest strips them too (`ingest.textnorm.clean_chars`); this is the output side, so that an
    index built before that, or a title from elsewhere, cannot retitle or clear a terminal.
    Line breaks and tabs stay.
    """
    return strip_controls(text)


def plain_json(value: Any) -> Any:
    """`value` (a JSON object's parts) with `plain_text` applied to every string, keys included."""
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, dict):
        return {plain_json(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return value


# --- Markdown and .docx text -------------------------------------------------------------------

# Characters Markdown (with gradio's LaTeX and GitHub's strikethrough) would read as markup anywhere in a line.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>#|~$])")
# Line starts that Markdown would turn into a list or a heading underline: "12. " would even be
# renumbered, which must never happen to a rule number. ("#", ">" and "*" are escaped above.)
_MD_LINE_START = re.compile(r"^(\s*)([-+=](?=\s|[-=]*\s*$)|\d+(?=[.)](?:\s|$)))")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NO_VT_FF = str.maketrans("", "", "\x0b\x0c")  # dropped in a .docx, not made line breaks as `plain_text` does


def md_escape(text: str) -> str:
    """Document text that Markdown renders exactly as written: no emphasis, links, HTML, LaTeX or lists."""
    lines = [_MD_INLINE.sub(r"\\\1", line) for line in plain_text(text).split("\n")]
    return "\n".join(_MD_LINE_START.sub(_escape_line_start, line) for line in lines)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        return indent + marker + "\\"  # "12." -> "12\." (the backslash goes before the dot)
    return indent + "\\" + marker


def md_blockquote(text: str) -> str:
    """Verbatim text as a Markdown blockquote that keeps the original line breaks."""
    lines = [line.strip() for line in md_escape(text.strip()).split("\n")]
    # Two trailing spaces are a hard line break: list items printed on their own lines stay so.
    return "\n".join(f"> {line}  " if line else ">" for line in lines).rstrip()


def docx_text(text: str) -> str:
    """Drops characters that cannot appear in a .docx (XML 1.0) document, and escape codes."""
    return _XML_INVALID.sub("", plain_text(text.translate(_NO_VT_FF)))


# --- answers -----------------------------------------------------------------------------------
#
# An Answer (assistant/answer/records.py) is data: its lead, citations, passages, state and reasons. Its
# words for the reader - the language note, the caution, "not covered", the note on a place the documents
# apply in without naming it, the passages heading and the sources - are written here and nowhere else, in
# the language asked for (the question's in the CLI and the JSON, the page's in the chat;
# assistant/language.py holds the texts).

PartKind = Literal[
    "note", "caution", "not_covered", "reasons", "searched", "closest", "generated", "lead", "applies_in",
    "heading", "passage", "more", "sources",
]  # fmt: skip
OPEN_PASSAGES = 2  # supporting passages shown open below the lead; the rest are folded (chat) or left out (CLI)


@dataclass(frozen=True)
class Part:
    """One block of an answer as the reader meets it; `kind` lets each front end style it."""

    kind: PartKind
    text: str


def caution_text(texts: AnswerTexts) -> str:
    """The caution above the quotes of a "closest" answer (the chat's source cards repeat it)."""
    return texts.caution


def language_note(answer: Answer) -> str:
    """In the question's language: the quotes are in the documents' (English); "" for English."""
    return profile(answer.lang).texts.language_note


def lead_line(answer: Answer) -> str:
    """The lead's sentences, each quoted and cited: `“...” [1] “...” [2]`; a generated lead's sentences are the
    model's words, not quotes, so they stand without quotation marks: `... [1][3]`."""
    if answer.lead_kind == "generated":
        return " ".join(with_markers(s.text, [s.n, *s.also]) for s in answer.lead)
    return " ".join(f"\u201c{s.text}\u201d [{s.n}]" for s in answer.lead)


def with_markers(sentence: str, numbers: list[int]) -> str:
    """A generated sentence with its citation markers before its closing punctuation: `... cell [1][3].`"""
    text = sentence.rstrip()
    body = text.rstrip(".!?…")
    return f"{body} {''.join(f'[{n}]' for n in numbers)}{text[len(body) :]}"


def passage_block(citation: Citation) -> str:
    """A supporting passage: its label, then the verbatim quote with "…" where words of its unit were left out."""
    return f"{citation.label()}:\n\u201c{citation.shown()}\u201d [{citation.n}]"


def answer_parts(answer: Answer, texts: AnswerTexts | None = None, passages: int | None = None) -> list[Part]:
    """The answer's blocks in reading order; `texts` in another language than the question's (the chat's page),
    `passages` to show only the first supporting passages (a "more" block counts the rest)."""
    texts = texts or profile(answer.lang).texts
    parts: list[Part] = []
    if language_note(answer):
        parts.append(Part("note", language_note(answer)))
    if answer.state == "not_covered":
        parts.append(Part("not_covered", texts.not_covered))
        parts.append(Part("reasons", "\n".join(answer.reasons) or texts.not_covered_default))
        names = "; ".join(answer.searched_titles or answer.documents_searched) or texts.no_documents
        parts.append(Part("searched", texts.documents_searched.format(names=names)))
        if answer.passages:
            parts.append(Part("closest", _closest(answer, texts)))
        return parts
    if answer.state == "closest":
        parts.append(Part("caution", texts.caution))
    if not answer.citations:
        if answer.passages:
            parts.append(Part("closest", _closest(answer, texts)))
        return parts
    if answer.mode == "generated" and answer.generated:
        parts.append(Part("generated", answer.generated))
    elif answer.lead:
        parts.append(Part("lead", lead_line(answer)))
    if answer.applies_in:
        parts.append(Part("applies_in", texts.applies_in.format(names=", ".join(answer.applies_in))))
    parts.append(Part("heading", texts.passages_heading.format(n=len(answer.citations)) + ":"))
    shown = answer.citations if passages is None else answer.citations[:passages]
    parts += [Part("passage", passage_block(c)) for c in shown]
    if len(shown) < len(answer.citations):
        parts.append(Part("more", texts.more_passages.format(n=len(answer.citations) - len(shown))))
    sources = "\n".join(f"[{c.n}] {c.label()}" for c in answer.citations)
    parts.append(Part("sources", f"{texts.sources}:\n{sources}"))
    return parts


def answer_text(answer: Answer, texts: AnswerTexts | None = None, passages: int | None = None) -> str:
    """The answer as plain text in reading order: `handbook ask`, the JSON's `answer`, the question log."""
    return "\n\n".join(part.text for part in answer_parts(answer, texts, passages))


def _closest(answer: Answer, texts: AnswerTexts) -> str:
    return "\n".join([texts.closest_passages, *(f"- {p.label()}" for p in answer.passages[:3])])


def answer_markdown(answer: Answer, texts: AnswerTexts | None = None, open_passages: int = OPEN_PASSAGES) -> str:
    """The answer as the chat shows it: the lead, then "Supporting passages (N)" with the first `open_passages`
    open and the rest folded in an HTML <details>; document text escaped, the chat's own words in `texts`."""
    from assistant.answer.injection import SUSPICIOUS_NOTE

    texts = texts or profile(answer.lang).texts
    lines: list[str] = []
    for part in answer_parts(answer, texts):
        if part.kind == "note":
            lines += [f"_{md_escape(part.text)}_", ""]
        elif part.kind == "caution":
            lines += [f"> \u26a0\ufe0f {md_escape(part.text)}", ""]
        elif part.kind == "not_covered":
            lines += [f"**{md_escape(part.text)}**", ""]
        elif part.kind in ("reasons", "searched", "closest"):
            lines += [md_escape(part.text).replace("\n", "  \n"), ""]
        elif part.kind in ("generated", "lead"):
            lines += [md_escape(part.text), ""]
        elif part.kind == "applies_in":
            lines += [f"_{md_escape(part.text)}_", ""]
        elif part.kind == "heading":
            lines += [f"**{md_escape(part.text.rstrip(':'))}**", ""]
    blocks = []
    for c in answer.citations if answer.state != "not_covered" else []:
        flag = f" _{SUSPICIOUS_NOTE}_" if c.suspicious else ""
        blocks.append(f"**[{c.n}] {md_escape(c.label())}**{flag}  \n\u201c{md_escape(c.shown())}\u201d")
    lines += [block + "\n" for block in blocks[:open_passages]]
    if len(blocks) > open_passages:
        more = md_escape(texts.more_passages.format(n=len(blocks) - open_passages))
        # Blank lines around the folded Markdown, or it is read as HTML and shown raw.
        lines += [f"<details><summary>{more}</summary>", "", *(block + "\n" for block in blocks[open_passages:])]
        lines += ["</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def answer_record_markdown(answer: Answer) -> str:
    """An answer in an exported conversation (Markdown): everything it quoted and cited, in full, for the record."""
    from assistant.answer.injection import SUSPICIOUS_NOTE

    texts = profile(answer.lang).texts
    lines: list[str] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        lines += [f"_Searched as: {md_escape(answer.standalone_question)}_", ""]
    if answer.note:
        lines += [f"_Note: {md_escape(answer.note)}_", ""]
    if answer.refused or not answer.citations:
        lines.append(md_escape(answer_text(answer)).replace("\n", "  \n"))
        return "\n".join(lines)
    parts = {part.kind: part.text for part in answer_parts(answer)}
    for kind in ("note", "caution"):
        if kind in parts:
            lines += [f"_{md_escape(parts[kind])}_", ""]
    if answer.mode == "generated":
        written = f"_Written by {md_escape(answer.model)}; the passages it cites:_"
        lines += [md_escape(answer.generated), "", written, ""]
    elif answer.lead:
        lines += [md_escape(lead_line(answer)), ""]
        if "applies_in" in parts:
            lines += [f"_{md_escape(parts['applies_in'])}_", ""]
        lines += [f"**{md_escape(parts['heading'].rstrip(':'))}**", ""]
    for c in answer.citations:
        quote = f"\u201c{c.quote}\u201d [{c.n}]"
        lines += ["\n".join("> " + md_escape(line) if line.strip() else ">" for line in quote.splitlines()), ""]
    lines += [f"**{texts.sources}**", ""]
    for c in answer.citations:
        flag = f" {SUSPICIOUS_NOTE}" if c.suspicious else ""
        lines.append(f"{c.n}. {md_escape(c.label())} (document `{c.doc}`){flag}")
    searched = ", ".join(f"`{d}`" for d in answer.documents_searched)
    if searched:
        lines += ["", texts.documents_searched.format(names=searched) + f" Confidence {answer.confidence:.2f}."]
    return "\n".join(lines)
