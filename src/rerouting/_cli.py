"""Command-line interface (work in progress)."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``rerouting`` command."""
    raise SystemExit("rerouting: the CLI is not built yet")
