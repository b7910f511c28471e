"""Helpers shared by the app tests (imported by name: this folder is on sys.path while they run)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO_ROOT / "artifacts"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveApp:
    url: str
    running: Any  # assistant.app.server.RunningApp
    feedback_db: Path


# Debian's chromium, driven by playwright (its own browser downloads cannot run here).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def playwright_or_skip() -> Any:
    """playwright's sync API, or a skip naming what is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`)")
    return pytest.importorskip("playwright.sync_api")
