"""Reading a TOML file of one array of tables ([[document]], [[term]], [[alias]]) with one-line errors.

The corpus manifest, the glossary and the alias table are all such files; each loader checks its own
tables, this module the file around them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path


def single_line(text: str) -> str:
    """`text` with every run of whitespace, newlines included, as one space (error messages stay one line)."""
    return " ".join(text.split())


def read_tables(path: Path, key: str, *, not_found: str, cannot_read: str, error: type[Exception]) -> object:
    """The value of `key` (None when absent) in the TOML file at `path`, whose only top-level key may be `key`.

    Raises `error` with one line naming the file: `not_found` when it does not exist ("manifest file not
    found"), "cannot read {cannot_read} (...)" when it cannot be read, invalid TOML, or another top-level key.
    """
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise error(f"{path}: {not_found}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {cannot_read} ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML: {single_line(str(exc))}") from None
    unknown = sorted(set(data) - {key})
    if unknown:
        raise error(f"{path}: unexpected top-level key(s) {', '.join(unknown)}; expected [[{key}]] tables")
    return data.get(key)
