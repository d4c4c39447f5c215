"""Route features: one documented ``pl.Expr`` per signal of rerouting.

Placeholder catalogue; the formulas land in the next commits.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BASELINE_COLUMNS", "FEATURES"]

#: Every feature column of ``RouteTable.routes``, in order, with a one-line meaning.
FEATURES: Final[dict[str, str]] = {
    "direct_change": "direct origin→destination flow (value): relative change, post vs baseline",
    "oh_ratio_value": "origin→hub leg: robust post level / baseline level, value",
    "oh_ratio_kg": "origin→hub leg: robust post level / baseline level, kg",
    "hd_ratio_value": "hub→destination leg: robust post level / baseline level, value",
    "hd_ratio_kg": "hub→destination leg: robust post level / baseline level, kg",
    "oh_excess_value": "origin→hub leg: robust monthly excess over baseline, value",
    "hd_excess_value": "hub→destination leg: robust monthly excess over baseline, value",
    "oh_excess_kg": "origin→hub leg: robust monthly excess over baseline, kg",
    "hd_excess_kg": "hub→destination leg: robust monthly excess over baseline, kg",
    "substitution_ratio": "hub legs' excess / fall of the direct flow (EBRD)",
    "pass_through": "min(leg1 excess, leg2 excess) per month, value (Iyoha upper bound)",
    "freund_c2": "Freund C2: share shifts (origin loses at destination, hub gains both)",
    "freund_c4": "Freund C4: hub's imports from origin ≥ 0.75 × its exports to destination",
    "freund_t": "Freund excess-flow transshipment value T",
    "comove_kg": "best-lag correlation of the two legs' monthly kg",
    "comove_lag_kg": "lag (months) of that best correlation, kg",
    "comove_value": "best-lag correlation of the two legs' monthly value",
    "comove_lag_value": "lag (months) of that best correlation, value",
    "uv_gap_legs": "|log(unit value hub→destination / unit value origin→hub)|, post",
    "uv_gap_direct": "|log(unit value hub→destination post / direct unit value pre)|",
    "price_effect": "log value ratio − log kg ratio on the hub legs (price, not volume)",
    "novelty": "the hub leg had (almost) no trade in the baseline",
    "persistence": "share of post months with both legs above their baseline band",
    "dest_other_growth": "destination's imports of the product from all other partners, ratio",
    "hub_other_growth": "hub's exports to destination of the other products, ratio",
    "hub_plausibility": "hub→destination excess / hub's own pre-event exports of the product",
    "gap_oh": "relative mirror gap on the origin→hub leg, post",
    "gap_hd": "relative mirror gap on the hub→destination leg, post",
    "materiality": "pass-through in money over the post window",
}

#: Named baseline scores/flags carried beside the main score.
BASELINE_COLUMNS: Final[tuple[str, ...]] = ("ec_surge", "freund", "both_up")
