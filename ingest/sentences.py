"""Sentence boundaries, shared by the chunker (splitting long units) and the answer composer."""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "e.g",
    "i.e",
    "etc",
    "no",
    "nos",
    "art",
    "para",
    "paras",
    "cf",
    "vol",
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "p",
    "pp",
    "s",
    "ss",
    "op",
    "cit",
    "ibid",
    "al",
    "inc",
    "ltd",
    "co",
    "fig",
    "sect",
    "u.s",
    "u.n",
}
_ENUMERATOR = re.compile(r"^\(?[a-z0-9]{1,3}[.)]$", re.IGNORECASE)
# A candidate boundary: end punctuation, space, then something that can open a sentence or list item.
_BOUNDARY = re.compile(
    r"(?<=[.!?;:])(?P<close>[\"')\]]?)\s+(?=[\"'(\[]?[A-Z0-9\u2022])|\n(?=\s*(?:\(?[a-z0-9]{1,3}[.)]\s|\u2022))"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of each sentence (list items count as sentences)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        # Keep the closing quote or bracket with its sentence.
        end = match.start() + len(match.group("close") or "")
        piece = text[start:end].strip()
        word = re.findall(r"([A-Za-z.]+)\.$", piece)
        if word and (word[-1].lower() in _ABBREVIATIONS or len(word[-1]) == 1):
            continue
        if _ENUMERATOR.match(piece):
            continue  # "1." or "(a)" opens the sentence that follows
        if piece:
            spans.append(_trim(text, start, end))
        start = match.end()
    if text[start:].strip():
        spans.append(_trim(text, start, len(text)))
    return [s for s in spans if s[1] > s[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]
