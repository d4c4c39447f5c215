"""Format readers behind :func:`rerouting._io.read_trade` (private)."""

from __future__ import annotations
