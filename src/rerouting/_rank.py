"""How a scan orders its routes: evidence, money at stake, and the priority that joins them.

``score`` (in [0, 1]) says how well a route's legs fit rerouting; it knows nothing of
size. Analysts read the top of the list and expect the routes that move the most money
first when the evidence is comparable, so a scan also carries:

``value_at_stake`` (per year, in the data's currency)
    ``12/step × min(PT, Δ⁺)`` with ``PT = min(post mean of origin→hub, of hub→destination)``,
    the Iyoha pass-through bound per period (what *could* have passed through the hub),
    and ``Δ⁺ = max(0, min(excess of origin→hub, of hub→destination))``, the new trade the
    hub legs added after the event (the part that substitutes the collapsed direct flow,
    EBRD). A leg nobody reports is left out of both minima (hub-only or origin-only
    data). An upper bound, never an estimate of evasion
    (docs/methods.md#value-at-stake-and-priority).

``priority`` (in [0, 1])
    ``score × (max(v, v_max·10⁻⁴) / v_max)^α`` with ``v = value_at_stake``, ``v_max`` the
    largest in the scan and ``α = 0.1``: each factor 10 less money costs a factor 1.26 of
    evidence (50× less: 1.48), and no route keeps less than 0.40 of its score. It orders
    like ``ln score + α ln v``, so the currency unit never changes the order; among routes
    with equal evidence the larger comes first, and a route with much weaker evidence is
    not lifted over a clean one by its size alone.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import polars as pl

__all__ = ["PRIORITY_ALPHA", "SORTS", "Sort", "priority", "sort_keys", "value_at_stake"]

#: What ``scan(sort=...)`` and ``--sort`` accept; the first is the default.
Sort = Literal["priority", "score", "value"]
SORTS: Final[tuple[str, ...]] = get_args(Sort)

#: Weight of money against evidence: ``priority ∝ score · value^α``.
PRIORITY_ALPHA: Final = 0.1
#: Values below this share of the largest count as that share (bounds the penalty).
VALUE_FLOOR: Final = 1e-4


def value_at_stake(per_year: float) -> pl.Expr:
    """``per_year × min(PT, Δ⁺)`` from the wide route table (see the module docstring)."""
    pt = pl.min_horizontal(pl.col("oh_p_mean_v"), pl.col("hd_p_mean_v"))
    excess = pl.min_horizontal(pl.col("oh_excess_value"), pl.col("hd_excess_value"))
    v = pl.min_horizontal(pt.clip(lower_bound=0.0), excess.clip(lower_bound=0.0))
    return (v.fill_nan(None) * per_year).fill_null(0.0)


def priority() -> pl.Expr:
    """``score × (max(v, v_max·floor) / v_max)^α``; the score itself when nothing is at stake."""
    v = pl.col("value_at_stake")
    v_max = v.max()
    factor = (pl.max_horizontal(v, v_max * VALUE_FLOOR) / v_max) ** PRIORITY_ALPHA
    return pl.col("score") * pl.when(v_max > 0).then(factor).otherwise(1.0)


def sort_keys(sort: Sort) -> tuple[list[str], list[bool]]:
    """Columns (and descending flags) that rank the routes; ``hub``, ``hs`` break ties."""
    first = {
        "priority": ["priority", "score", "value_at_stake"],
        # materiality breaks score ties as it did before priority existed
        "score": ["score", "materiality"],
        "value": ["value_at_stake", "score"],
    }[sort]
    return [*first, "hub", "hs"], [True] * len(first) + [False, False]
