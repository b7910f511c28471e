"""The shape of evals/: small modules, each with one job.

Import cycles, in evals/ as everywhere, are checked by tests/test_layers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

EVALS = Path(__file__).resolve().parents[2] / "evals"
MAX_LINES = 400


def test_every_module_in_evals_is_under_400_lines() -> None:
    sources = sorted(EVALS.rglob("*.py"))
    assert len(sources) > 20  # the walk found the package
    too_long = {
        str(path.relative_to(EVALS.parent)): n
        for path in sources
        if (n := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_LINES
    }
    assert too_long == {}
