"""Plain-language explanations of routes, built from their features."""

from __future__ import annotations

from typing import Any

__all__ = ["explain_row"]


def explain_row(row: dict[str, Any]) -> str:
    """Explain one route (a ``RouteTable.routes`` row as a dict) in a few sentences."""
    head = (
        f"#{row.get('rank')} {row.get('origin')}→{row.get('hub')}→{row.get('destination')} "
        f"HS {row.get('hs')}: score {row.get('score', float('nan')):.2f}."
    )
    lines = [head, str(row.get("explanation") or "")]
    contrib = {k[len("contrib_") :]: v for k, v in row.items() if k.startswith("contrib_")}
    if contrib:
        parts = [
            f"{k} {v:+.2f}"
            for k, v in sorted(contrib.items(), key=lambda kv: -abs(kv[1] or 0))
            if v
        ]
        lines.append("Score contributions: " + ", ".join(parts) + ".")
    return "\n".join(line for line in lines if line)
