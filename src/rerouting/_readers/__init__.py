"""Format readers behind :func:`rerouting.io.read_trade` (private)."""

from __future__ import annotations
