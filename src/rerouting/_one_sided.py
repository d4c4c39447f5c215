"""Notes on legs that rest on one side of the mirror only (a side that never reports).

Mirror statistics check each flow against its partner's report. When the destination
files nothing (Russia stopped publishing in 2022; EU-only Comext extracts have no
Russian side), the hub→destination and direct legs are the exporters' word alone: no
mirror gap, and goods lost in transit (EBRD: half of the EU's additional exports to
Armenia, Kazakhstan and Kyrgyzstan) cannot be seen. A scan says so in its result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rerouting._legs import Sides, Windows

__all__ = ["one_sided_notes"]


def _silent(coverage: pl.DataFrame, members: Iterable[str], what: str) -> dict[str, bool]:
    """Per window (``baseline``, ``post``): True when no member reports ``what``."""
    sub = coverage.filter(pl.col("country").is_in(list(members)) & pl.col(what))
    seen = set(sub["window"].to_list())
    return {w: w not in seen for w in ("baseline", "post")}


def _when(silent: dict[str, bool], windows: Windows) -> str | None:
    if silent["baseline"] and silent["post"]:
        return "never reports"
    if silent["post"]:
        return f"reports nothing from {windows.post[0]:%Y-%m}"
    if silent["baseline"]:
        return f"reports nothing before {windows.post[0]:%Y-%m}"
    return None


def one_sided_notes(
    coverage: pl.DataFrame, sides: Sides, hubs: Iterable[str], windows: Windows
) -> list[str]:
    """One sentence per silent side: which legs rest on which side's declarations only.

    ``coverage`` is :attr:`rerouting._legs.LegSet.coverage` (``country, window,
    reports_exports, reports_imports``).
    """
    notes = []
    for label in sides.destination_labels:
        members = [m for m, lab in sides.destination.items() if lab == label]
        when = _when(_silent(coverage, members, "reports_imports"), windows)
        if when:
            notes.append(
                f"destination {label} {when} (imports): hub→{label} and the direct leg rest "
                "on the exporters' declarations only; their mirror gaps are unknown and "
                "goods lost in transit cannot be seen"
            )
    for label in sides.origin_labels:
        members = [m for m, lab in sides.origin.items() if lab == label]
        when = _when(_silent(coverage, members, "reports_exports"), windows)
        if when:
            notes.append(
                f"origin {label} {when} (exports): {label}→hub and the direct leg rest on "
                "the importers' declarations only; their mirror gaps are unknown"
            )
    hubs = sorted(hubs)
    quiet = [
        h
        for h in hubs
        if all(_silent(coverage, [h], "reports_exports").values())
        and all(_silent(coverage, [h], "reports_imports").values())
    ]
    if quiet:
        shown = ", ".join(quiet[:12]) + (f" and {len(quiet) - 12} more" if len(quiet) > 12 else "")
        notes.append(
            f"{len(quiet)} of {len(hubs)} hubs never report ({shown}): their legs rest on "
            "their partners' declarations only"
        )
    return notes
