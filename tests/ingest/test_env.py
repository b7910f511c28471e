"""The process-wide environment switches: offline libraries and a non-interactive matplotlib."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.env import DEFAULT_ENV, OFFLINE_ENV, apply_offline_env

pytestmark = pytest.mark.unit


def test_offline_switches_are_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    apply_offline_env()
    for key, value in OFFLINE_ENV.items():
        assert os.environ[key] == value


def test_matplotlib_backend_is_a_default_the_user_can_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MPLBACKEND", raising=False)
    apply_offline_env()
    assert os.environ["MPLBACKEND"] == DEFAULT_ENV["MPLBACKEND"] == "agg"
    monkeypatch.setenv("MPLBACKEND", "pdf")
    apply_offline_env()
    assert os.environ["MPLBACKEND"] == "pdf"


def test_the_pth_line_sets_the_switches_as_defaults_in_a_fresh_interpreter(tmp_path: Path) -> None:
    import subprocess
    import sys

    from ingest.env import pth_line

    assert pth_line().startswith("import ") and pth_line().count("\n") == 1  # a .pth runs only "import" lines
    (tmp_path / "probe.pth").write_text(pth_line())
    code = (
        "import site, sys, os; site.addsitedir(sys.argv[1]); "
        "print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['HF_HUB_OFFLINE'], os.environ['MPLBACKEND'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV and k != "MPLBACKEND"}
    env["MPLBACKEND"] = "pdf"  # a user's own choice stays
    done = subprocess.run([sys.executable, "-S", "-c", code, str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1", "pdf"]
