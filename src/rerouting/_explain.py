"""Plain-language explanations of routes, built from their features.

:func:`explanation_expr` builds one sentence group per route in a single vectorised
expression, e.g. ``BLR→KAZ 441231 kg ×5.2 after 2022-03 (value ×5.6); KAZ→EU kg ×4.9;
direct BLR→EU −96%; unit values within 7%; legs co-move (r = 0.81, lag 1 month).``
:func:`explain_row` expands one route for ``RouteTable.explain``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    import datetime as dt

__all__ = ["explain_row", "explanation_expr"]


def _num(x: pl.Expr, digits: int = 1) -> pl.Expr:
    return x.round(digits).cast(pl.String)


#: Growth ratios are capped at ×100 (rerouting.features.RATIO_CAP).
_CAPPED = 99.5


def _times(ratio: pl.Expr) -> pl.Expr:
    """``×5.2``; ``×100+`` at the cap (the baseline was almost nothing)."""
    return (
        pl.when(ratio >= _CAPPED)
        .then(pl.lit("×100+"))
        .when(ratio >= 10)
        .then(pl.concat_str(pl.lit("×"), _num(ratio, 0).str.replace(r"\.0$", "")))
        .otherwise(pl.concat_str(pl.lit("×"), _num(ratio, 1)))
    )


def _pct(change: pl.Expr) -> pl.Expr:
    pct = (change * 100).round(0).cast(pl.Int64)
    sign = pl.when(pct > 0).then(pl.lit("+")).when(pct < 0).then(pl.lit("−")).otherwise(pl.lit(""))
    return pl.concat_str(sign, pct.abs().cast(pl.String), pl.lit("%"))


def _leg(leg: str, a: str, b: str, with_product: bool, event: str) -> pl.Expr:
    rk, rv = pl.col(f"{leg}_ratio_kg"), pl.col(f"{leg}_ratio_value")
    head = [pl.col(a), pl.lit("→"), pl.col(b)]
    if with_product:
        head += [pl.lit(" "), pl.col("hs")]
    new = (rv >= _CAPPED) & (rk.is_null() | (rk >= _CAPPED))
    grown = (
        pl.when(new)
        .then(pl.concat_str(pl.lit(" new"), pl.lit(event), pl.lit(" (≈0 before)")))
        .when(rk.is_not_null())
        .then(
            pl.concat_str(
                pl.lit(" kg "),
                _times(rk),
                pl.lit(event),
                pl.lit(" (value "),
                _times(rv),
                pl.lit(")"),
            )
        )
        .otherwise(pl.concat_str(pl.lit(" value "), _times(rv), pl.lit(event)))
    )
    return (
        pl.when(rv.is_null())
        .then(pl.concat_str([*head, pl.lit(" not reported by either side")]))
        .otherwise(pl.concat_str([*head, grown]))
    )


def explanation_expr(event: dt.date, *, annual: bool = False) -> pl.Expr:
    """One short paragraph per route from its features (vectorised).

    Args:
        event: The scenario's event month (``after YYYY-MM``).
        annual: Data are annual (lags are not reported in months).
    """
    after = f" after {event:%Y-%m}" if not annual else f" from {event:%Y}"
    oh = _leg("oh", "origin", "hub", True, after)
    hd = _leg("hd", "hub", "destination", False, "")
    dc = pl.col("direct_change")
    direct = pl.concat_str(
        pl.lit("direct "),
        pl.col("origin"),
        pl.lit("→"),
        pl.col("destination"),
        pl.lit(" "),
        pl.when(dc.is_not_null())
        .then(_pct(dc))
        .when(pl.col("dr_obs_post").fill_null(False))
        .then(pl.lit("none before either"))
        .otherwise(pl.lit("not reported")),
    )
    gap = pl.col("uv_gap_legs")
    uv = (
        pl.when(gap.is_null())
        .then(None)
        .when(gap <= math.log(1.25))
        .then(
            pl.concat_str(
                pl.lit("unit values within "), _pct(gap.exp() - 1.0).str.replace("^\\+", "")
            )
        )
        .otherwise(pl.concat_str(pl.lit("unit values differ ×"), _num(gap.exp(), 1)))
    )
    r = pl.coalesce(pl.col("comove_kg"), pl.col("comove_value"))
    lag = pl.coalesce(pl.col("comove_lag_kg"), pl.col("comove_lag_value"))
    unit = "year" if annual else "month"
    co = (
        pl.when(r.is_null())
        .then(None)
        .when(r >= 0.5)
        .then(
            pl.concat_str(
                pl.lit("legs co-move (r = "),
                _num(r, 2),
                pl.lit(", lag "),
                lag.cast(pl.String),
                pl.lit(f" {unit}"),
                pl.when(lag == 1).then(pl.lit("")).otherwise(pl.lit("s")),
                pl.lit(")"),
            )
        )
        .otherwise(pl.concat_str(pl.lit("legs do not co-move (r = "), _num(r, 2), pl.lit(")")))
    )
    cautions = pl.concat_list(
        pl.when(pl.col("price_effect") > math.log(1.5)).then(
            pl.lit("value grew faster than kg (a price effect)")
        ),
        pl.when(pl.col("persistence") < 0.34).then(
            pl.lit("short-lived: the typical post month did not rise (one or two spikes)")
        ),
        pl.when(pl.col("dest_other_growth") >= 1.5).then(
            pl.concat_str(
                pl.lit("destination's other suppliers grew too ("),
                _times(pl.col("dest_other_growth")),
                pl.lit(")"),
            )
        ),
        pl.when(pl.col("hub_import_growth") >= 1.5).then(
            pl.concat_str(
                pl.lit("hub's other sources grew too ("),
                _times(pl.col("hub_import_growth")),
                pl.lit(")"),
            )
        ),
        pl.when(~pl.col("material").fill_null(True)).then(
            pl.lit("immaterial: less money at stake than the scenario's min_value")
        ),
    ).list.drop_nulls()
    parts = pl.concat_list(oh, hd, direct, uv, co).list.drop_nulls()
    text = parts.list.join("; ")
    return pl.concat_str(
        text,
        pl.lit("."),
        pl.when(cautions.list.len() > 0)
        .then(pl.concat_str(pl.lit(" But: "), cautions.list.join("; "), pl.lit(".")))
        .otherwise(pl.lit("")),
    )


def _learned_line(row: dict[str, Any]) -> str:
    """The learned score's largest log-odds contributions for one route."""
    from rerouting._learned import learned_contributions

    frame = pl.DataFrame([{k: v for k, v in row.items() if not isinstance(v, (list, dict))}])
    c = learned_contributions(frame).row(0, named=True)
    base = c.pop("intercept")
    ranked = sorted(c.items(), key=lambda kv: -abs(kv[1]))[:5]
    parts = [f"{k.removeprefix('lc_')} {v:+.1f}" for k, v in ranked]
    return (
        f"Learned score: log-odds {base + sum(c.values()):+.1f} = intercept {base:+.1f} and "
        f"the inputs; the largest: {', '.join(parts)}."
    )


def explain_row(row: dict[str, Any]) -> str:
    """Explain one route (a ``RouteTable.routes`` row as a dict) in a few sentences."""
    score = row.get("score")
    head = (
        f"#{row.get('rank')} {row.get('origin')}→{row.get('hub')}→{row.get('destination')} "
        f"HS {row.get('hs')}: score {score:.2f}."
        if isinstance(score, float)
        else f"#{row.get('rank')} {row.get('origin')}→{row.get('hub')}→{row.get('destination')}"
    )
    lines = [head, str(row.get("explanation") or "")]
    if row.get("missing_legs"):
        lines.append(f"Missing legs (no side reports them): {row['missing_legs']}.")
    learned = row.get("learned_score")
    if isinstance(score, float) and isinstance(learned, float) and score == learned:
        lines.append(_learned_line(row))
    contrib = {k[len("contrib_") :]: v for k, v in row.items() if k.startswith("contrib_")}
    if contrib:
        ranked = sorted(contrib.items(), key=lambda kv: -abs(kv[1] or 0))
        parts = [f"{k} {v:+.2f}" for k, v in ranked if v]
        gate = row.get("gate")
        g = f" (gate {gate:.2f}: both hub legs grew)" if isinstance(gate, float) else ""
        evidence = row.get("evidence_score")
        name = f"Evidence score {evidence:.2f}" if isinstance(evidence, float) else "Score"
        lines.append(name + ", contributions" + g + ": " + ", ".join(parts) + ".")
    flags = [n for n in ("ec_surge_flag", "freund_flag", "both_up_flag") if row.get(n)]
    if flags:
        lines.append(
            "Baseline rules met: " + ", ".join(f.removesuffix("_flag") for f in flags) + "."
        )
    return "\n".join(line for line in lines if line)
