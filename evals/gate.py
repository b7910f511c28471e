"""The CI gate: metrics of a report against the floors (and ceilings) in evals/floors.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.jsonfile import read_json_file

DEFAULT_FLOORS = Path(__file__).resolve().parent / "floors.json"


class FloorsError(ValueError):
    """A floors file that cannot be used; the message is one line naming the file and the field."""


class Floors(BaseModel):
    """`floors`: metric must be >= value; `ceilings`: metric must be <= value (keys as in the report JSON)."""

    model_config = ConfigDict(extra="allow")  # room for notes and the measured values they came from

    floors: dict[str, float] = Field(default_factory=dict)
    ceilings: dict[str, float] = Field(default_factory=dict)


def load_floors(path: Path | str) -> Floors:
    path = Path(path)
    data = read_json_file(path, FloorsError)
    try:
        return Floors.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise FloorsError(f"{path}: field {field!r}: {first['msg']}") from exc


def _value(metrics: dict[str, Any], key: str) -> float | None:
    """A metric of the report JSON; `latency_ms.p95` reaches into nested objects."""
    value: Any = metrics
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


def check_floors(metrics: dict[str, Any], floors: Floors) -> list[str]:
    """One line per metric below its floor or above its ceiling (or not measured); empty when all pass."""
    problems: list[str] = []
    for key, floor in floors.floors.items():
        value = _value(metrics, key)
        if value is None:
            problems.append(f"{key}: not measured (floor {floor:.2f})")
        elif value < floor:
            problems.append(f"{key}: {value:.4f} is below its floor {floor:.2f}")
    for key, ceiling in floors.ceilings.items():
        value = _value(metrics, key)
        if value is None:
            problems.append(f"{key}: not measured (ceiling {ceiling:.2f})")
        elif value > ceiling:
            problems.append(f"{key}: {value:.4f} is above its ceiling {ceiling:.2f}")
    return problems
