"""Recover the printed structure of a document: headings and numbered units.

Works on cleaned lines and emits one Block per unit as the document numbers it
(`Rule 58`, `Article 14`, `4.2`), with the heading path that encloses it. A PDF's headings
are recognised from the shape of its lines; a flow document (DOCX, HTML, Markdown) marks its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import Block, Line

# "Rule 58", "Article 14", "Principle 9", "Section 3", "Chapter IV", "Part II", "Annex" standing alone.
_NAMED_UNIT = re.compile(r"^(Rule|Article|Principle|Section|Standard)\s+(\d+(?:\.\d+)*[A-Za-z]?)\s*\.?$", re.IGNORECASE)
_PART = re.compile(r"^(Part|Chapter|Annex)\s*([IVXLC\d]+[A-Z]?)?\s*[.:-]?\s*(.{0,80})$", re.IGNORECASE)
# "4.2 Text...", "3.16 If issues...": a dotted number opening a paragraph.
_DOTTED_PARA = re.compile(r"^(\d{1,2}(?:\.\d{1,3}){1,3})\.?\s+(\S.*)$")
# "4. Requirements", "1. EARLY DAYS IN CUSTODY": a numbered section title.
_NUMBERED_TITLE = re.compile(r"^(\d{1,2})\.?\s+([A-Z][^.;:]{2,80})$")
# "3. Knife control", "3 Knife control", "2.1 Storage": the number a marked heading opens with.
_HEADING_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,3}){0,3})\.?\s+\S")
_SENTENCE_END = re.compile(r"[.:;!?)\]\"']$")
_TOC_LEADER = re.compile(r"(?:\.\s?){4,}\s*\d*$")


@dataclass(frozen=True)
class StructureParser:
    """Splits a document's lines into Blocks.

    Named units (Rule, Article) take priority: when a document has them, numbered
    sub-paragraphs ("1.", "2.") stay inside their unit. Documents without them are
    split on dotted paragraph numbers ("3.16"), as reports and policy frameworks print them.
    """

    max_heading_words: int = 10
    # False for a flow document: its headings are the lines it marks (`Line.heading_level`), none are guessed.
    paged: bool = True
    # How many enclosing headings a flow document's heading path keeps, innermost last.
    flow_heading_depth: int = 2

    def run(self, pages: list[list[Line]]) -> list[Block]:
        lines = [line for page in pages for line in page if not _TOC_LEADER.search(line.text)]
        if not self.paged:
            return self._run_marked(lines)
        named = sum(1 for line in lines if _NAMED_UNIT.match(line.text))
        dotted = sum(1 for line in lines if _DOTTED_PARA.match(line.text))
        use_named = named >= 3
        use_dotted = not use_named and dotted >= 3

        blocks: list[Block] = []
        headings: list[str] = []
        section = ""  # the numbered section title that dotted paragraphs sit under
        ref = ""
        current: list[Line] = []
        # Running numbers, so that footnotes ("14. Corrections Act 2007") and quantities
        # ("2.5 metres") are not taken for the next section or paragraph.
        last_para_head = 0
        last_section = 0

        def flush() -> None:
            nonlocal current
            if current:
                blocks.append(Block(ref=ref, headings=list(headings), lines=current))
            current = []

        for i, line in enumerate(lines):
            text = line.text
            prev = lines[i - 1].text if i else ""
            nxt = lines[i + 1].text if i + 1 < len(lines) else ""
            m_named = _NAMED_UNIT.match(text) if use_named else None
            if m_named:
                flush()
                ref = f"{m_named.group(1).capitalize()} {m_named.group(2)}"
                continue
            m_dotted = _DOTTED_PARA.match(text) if use_dotted else None
            if m_dotted and _plausible_next(last_para_head, m_dotted.group(1)):
                flush()
                ref = m_dotted.group(1)
                last_para_head = int(ref.split(".")[0])
                current.append(line)
                continue
            m_title = _NUMBERED_TITLE.match(text)
            if (
                m_title
                and use_dotted
                and _plausible_next(max(last_section, last_para_head), m_title.group(1))
                and _is_heading_shape(text, prev, self.max_heading_words)
            ):
                flush()
                last_section = int(m_title.group(1))
                section = f"{m_title.group(1)}. {m_title.group(2).strip()}"
                headings = [section]
                ref = m_title.group(1)
                continue
            if _is_heading(text, prev, nxt, self.max_heading_words):
                flush()
                headings = _push_heading(headings, text, section)
                if not use_named:
                    ref = ref if use_dotted and ref and "." not in ref else ("" if not use_dotted else ref)
                continue
            current.append(line)
        flush()
        return [b for b in blocks if any(line.text.strip() for line in b.lines)]

    def _run_marked(self, lines: list[Line]) -> list[Block]:
        """A flow document: headings as marked, enclosing ones by level; numbered units as in a PDF."""
        body = [line for line in lines if not line.heading_level]
        named = sum(1 for line in lines if _NAMED_UNIT.match(line.text))
        dotted = sum(1 for line in body if _DOTTED_PARA.match(line.text))
        use_named = named >= 3
        use_dotted = not use_named and dotted >= 3

        blocks: list[Block] = []
        open_headings: list[tuple[int, str]] = []  # (level, text), outermost first
        headings: list[str] = []
        ref = ""
        current: list[Line] = []
        last_para_head = 0

        def flush() -> None:
            nonlocal current
            if current:
                blocks.append(Block(ref=ref, headings=list(headings), lines=current))
            current = []

        for line in lines:
            text = line.text
            m_named = _NAMED_UNIT.match(text) if use_named else None
            if m_named:  # "Rule 58" names the unit that follows, as a heading or as a line of its own
                flush()
                ref = f"{m_named.group(1).capitalize()} {m_named.group(2)}"
                continue
            if line.heading_level:
                flush()
                level = line.heading_level
                open_headings = [(lvl, h) for lvl, h in open_headings if lvl < level] + [(level, text)]
                headings = [h for _, h in open_headings][-self.flow_heading_depth :]
                if not use_named:
                    # A numbered heading ("3. Knife control") is the unit until its first numbered paragraph.
                    m_number = _HEADING_NUMBER.match(text)
                    ref = m_number.group(1) if m_number and use_dotted else ""
                    if ref:
                        last_para_head = int(ref.split(".")[0])
                continue
            m_dotted = _DOTTED_PARA.match(text) if use_dotted else None
            if m_dotted and _plausible_next(last_para_head, m_dotted.group(1)):
                flush()
                ref = m_dotted.group(1)
                last_para_head = int(ref.split(".")[0])
            current.append(line)
        flush()
        return [b for b in blocks if any(line.text.strip() for line in b.lines)]


def _plausible_next(previous_head: int, candidate: str) -> bool:
    """A section number may repeat or move on by one or two, never jump or go back."""
    head = int(candidate.split(".")[0])
    if previous_head == 0:
        return True  # the first number seen: an excerpt may start anywhere
    return 0 <= head - previous_head <= 2


def _is_heading_shape(text: str, prev: str, max_words: int) -> bool:
    words = text.split()
    return (0 < len(words) <= max_words and not _SENTENCE_END.search(text.rstrip())) or text.isupper()


def _is_heading(text: str, prev: str, nxt: str, max_words: int) -> bool:
    """A short line that does not end a sentence, starts capitalised, and follows a finished sentence."""
    words = text.split()
    if not words or len(words) > max_words or len(text) > 90:
        return False
    if text.startswith("\u2022") or _SENTENCE_END.search(text) or text.endswith(","):
        return False
    if not (text[0].isupper() or text[0].isdigit()) or words[-1].lower() in _DANGLING:
        return False
    if text[0].isdigit() and not _NUMBERED_TITLE.match(text):
        return False
    if prev and not (_SENTENCE_END.search(prev) or prev.isupper() or len(prev.split()) <= max_words):
        return False
    # A heading is followed by text that starts a sentence, a list or a unit.
    return not nxt or nxt[0].isupper() or nxt[0].isdigit() or nxt.startswith(("\u2022", "("))


_DANGLING = {"the", "of", "and", "or", "to", "in", "a", "an", "for", "with", "by", "on", "at", "as", "from"}


def _push_heading(headings: list[str], text: str, section: str) -> list[str]:
    # Two levels are enough to locate a passage: the numbered section and the latest title.
    base = [section] if section else []
    return [*base, text]
