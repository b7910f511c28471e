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


def clean_chars(text: str) -> str:
    """Unify typographic characters so that text from different PDFs compares equal."""
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_QUOTES)


def join_hyphenated(text: str) -> str:
    return _HYPHEN_BREAK.sub("", text)


def squash_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def normalize_for_match(text: str) -> str:
    """Case- and white-space-insensitive form used to check that a quote or key fact occurs in a text."""
    return squash_space(join_hyphenated(clean_chars(text))).lower()


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as a short single line for a per-file summary."""
    text = " ".join(str(exc).split()) or "no details"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
