"""`handbook` commands of the evaluation package, registered through the `handbook.cli` entry point."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the evaluation commands to the `handbook` CLI."""
