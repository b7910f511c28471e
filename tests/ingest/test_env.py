"""The process-wide environment switches: offline libraries and a non-interactive matplotlib."""

from __future__ import annotations

import os

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
