"""`handbook scale` and `python -m evals.scale` reach the same commands; bad options fail with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner


@pytest.mark.unit
def test_handbook_scale_rejects_bad_sizes() -> None:
    from assistant.cli import app

    result = CliRunner().invoke(app, ["scale", "--sizes", "ten"])
    assert result.exit_code == 2
    assert "error: --sizes: 'ten' is not a number of chunks" in result.output


@pytest.mark.unit
def test_python_dash_m_runs_the_typer_app_and_the_embed_parser() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "evals.scale", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    typer_help = run("--help")
    assert typer_help.returncode == 0, typer_help.stderr
    assert "--fake-vectors" in typer_help.stdout
    embed_help = run("embed", "--help")
    assert embed_help.returncode == 0, embed_help.stderr
    assert "python -m evals.scale embed" in embed_help.stdout
