"""Reading a JSON file with a one-line error that names the file and the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_file(path: Path, error: type[ValueError], bad: str = "bad JSON") -> Any:
    """The parsed content; `error(...)` for an unreadable file or invalid JSON (`bad` opens the reason)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise error(f"{path}: {bad} ({exc.msg} at line {exc.lineno})") from exc
