"""One home for "the same route table": shared by tests/ and benchmarks/test_equivalence.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

#: Floats agree within this fraction of their column's scale (max |value|, at least 1).
#: polars sums groups in parallel, so two scans of one file already differ in the last
#: bits (~1e-14 of the scale); 1e-12 leaves room for that and nothing else.
ROUTES_REL_TOL = 1e-12


def assert_routes_equal(ref: pl.DataFrame, got: pl.DataFrame, label: str = "") -> None:
    """Equal non-float columns, the same nulls, and floats within ROUTES_REL_TOL of scale.

    Both tables must already be in the same row order (sort them by the route key).
    """
    floats = [c for c, t in ref.schema.items() if t.is_float()]
    assert got.columns == ref.columns, (label, set(got.columns) ^ set(ref.columns))
    assert got.drop(floats).equals(ref.drop(floats)), label
    for c in floats:
        scale = max(1.0, float(ref[c].abs().max() or 0.0))
        diff = float((got[c] - ref[c]).abs().max() or 0.0)
        assert got[c].is_null().equals(ref[c].is_null()), (label, c)
        assert diff <= ROUTES_REL_TOL * scale, (label, c, diff, scale)
