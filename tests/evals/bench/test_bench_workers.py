"""The worker processes are reached as `python -m evals.bench WORKER` (the harness starts them so)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.unit
def test_python_dash_m_reaches_the_workers() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evals.bench", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "{answer,tutorial-answer,tutorial-ingest}" in done.stdout
