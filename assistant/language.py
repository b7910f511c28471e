"""TEMPORARY stand-in (replaced by the data-ml branch)."""

from __future__ import annotations


def detect_language(text: str) -> str:
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    if not cyrillic:
        return "en"
    return "kk" if any(ch in "әғқңөұүһі" for ch in text.lower()) else "ru"
