"""Text normalisation shared by cleaning, quote verification and evaluation; messages in one line."""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u00ad": "",  # soft hyphen
        "\ufffe": "",
        "\u0002": "",
        "\ufb01": "fi",
        "\ufb02": "fl",
    }
)
_SPACE = re.compile(r"\s+")
# A word broken across lines: "punish-\nment" -> "punishment".
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\s*\n\s*(?=[a-z])")
# An en or em dash ending a line stands between two words ("Consular Affairs—" / "created this handbook"):
# only a hyphen breaks a word there. `clean_chars` straightens all three to "-", so the dash is read first.
_DASH_LINE_END = re.compile(r"([\u2013\u2014])[ \t]*(?:\r\n|\r|\n)[ \t]*")
_DASH_AT_END = re.compile(r"[\u2013\u2014]\s*$")
# Terminal escape sequences, removed whole ("ESC]0;PWNED BEL ESC[2J" must not leave "]0;PWNED[2J"):
# OSC (window title, links) and DCS/SOS/PM/APC strings up to their terminator, CSI (cursor, colour,
# clear screen) and two-character ESC codes. Bounded and line-local, so a stray ESC loses no text.
_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b\n]{0,1024}(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b\n]{0,1024}\x1b\\"
    r"|\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]"
)
_LINE_CONTROLS = re.compile("\r\n?|[\x0b\x0c\x1c-\x1e\x85]")  # line and page breaks: kept as "\n"
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # the other C0 (not \t, \n), DEL and C1


def clean_chars(text: str) -> str:
    """Unify typographic characters so that text from different PDFs compares equal; no control characters."""
    text = unicodedata.normalize("NFKC", strip_controls(text))
    return text.translate(_QUOTES)


def strip_controls(text: str) -> str:
    """Text without terminal escape sequences or control characters; tabs and line breaks stay.

    Document text reaches terminals, the web page and exported files: a document must not be
    able to retitle a terminal, clear it or move its cursor.
    """
    if text.isprintable():  # the common case: nothing to do
        return text
    return _CONTROLS.sub("", _LINE_CONTROLS.sub("\n", _ESCAPES.sub("", text)))


def join_hyphenated(text: str) -> str:
    return _HYPHEN_BREAK.sub("", text)


def final_dash(line: str) -> str:
    """The en or em dash a raw line ends with ("" for none): a line ending so is never joined to the next word."""
    match = _DASH_AT_END.search(line)
    return match.group(0).strip() if match else ""


def squash_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def normalize_for_match(text: str) -> str:
    """Case- and white-space-insensitive form used to check that a quote or key fact occurs in a text."""
    return squash_space(join_hyphenated(clean_chars(_DASH_LINE_END.sub(r"\1 ", text)))).lower()


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as a short single line for a per-file summary."""
    text = " ".join(str(exc).split()) or "no details"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
