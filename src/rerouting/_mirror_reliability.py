"""Reporter reliability scores (Growth Lab style) from pair totals.

The heavy part, summing the trade table to country-pair × period totals, is a
lazy query; what reaches this module is that small table. The iteration itself
runs on integer-coded numpy arrays (``bincount`` per iteration), so its cost
does not depend on the number of trade records.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

from rerouting._exceptions import CurrencyError

__all__ = ["PAIR_PERIOD_SCHEMA", "RELIABILITY_SCHEMA", "reliability_from_pair_periods"]

#: Columns of the pair × period totals handed to :func:`reliability_from_pair_periods`.
PAIR_PERIOD_SCHEMA: Final[dict[str, pl.DataType]] = {
    "exporter": pl.String(),
    "importer": pl.String(),
    "frequency": pl.String(),
    "period": pl.Date(),
    "currency": pl.String(),
    "x": pl.Float64(),  # exporter-reported value (FOB), summed
    "n_x": pl.UInt32(),  # exporter-side records with a value
    "m_fob": pl.Float64(),  # importer-reported value on an FOB basis, summed
    "n_m": pl.UInt32(),  # importer-side records with a value
}

#: Columns of the table :func:`rerouting._mirror.reporter_reliability` returns.
RELIABILITY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "country": pl.String(),
    "role": pl.Enum(["exporter", "importer"]),
    "score": pl.Float64(),
    "n_pairs": pl.UInt32(),
    "mean_discrepancy": pl.Float64(),
    "reported_value": pl.Float64(),
}

# A pair whose sides agree to the cent would give an infinite score; below 1 %
# a discrepancy is rounding, so it is floored there.
_MIN_DISCREPANCY: Final = 1e-2


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=RELIABILITY_SCHEMA)


def _check_currency(pp: pl.DataFrame) -> None:
    currencies = pp.get_column("currency").drop_nulls().unique().sort().to_list()
    if len(currencies) > 1:
        raise CurrencyError(
            "trade values come in several currencies; mirror sides cannot be compared",
            column="currency",
            value=currencies,
            hint="convert every value to one currency first, e.g. "
            "rerouting.convert_currency(trade, to='USD', rates='rates.csv'), "
            "or filter the table to one currency",
        )


def reliability_from_pair_periods(
    pp: pl.DataFrame,
    *,
    iterations: int = 25,
    min_value: float = 0.0,
    min_partners: int = 1,
) -> pl.DataFrame:
    """Iterated accuracy scores per country and role from pair × period totals.

    Steps (Growth Lab ``trade_data_reconciler.py`` / ``NEW_Accuracy_and_Totals``):

    1. keep pair-periods in which the exporter reported some exports *and* the
       importer reported some imports (a silent reporter is not an inaccurate one);
    2. sum to pair totals ``X`` and ``M_fob``; values below ``min_value`` count as 0;
    3. ``s = |X − M_fob| / (X + M_fob)`` per pair (1 when only one side reports);
    4. drop countries with fewer than ``min_partners`` pairs (repeated until stable);
    5. start at ``A = 1`` and iterate ``A_e = n_e / Σ_i s_ei·A_i`` and
       ``A_i = n_i / Σ_e s_ei·A_e`` simultaneously ``iterations`` times.

    Args:
        pp: Pair × period totals with the columns of ``PAIR_PERIOD_SCHEMA``.
        iterations: Number of accuracy updates (Growth Lab: 25).
        min_value: Pair totals below this count as not reported (Growth Lab: 10⁴ USD).
        min_partners: Countries with fewer pairs are left out (Growth Lab: 10).

    Returns:
        One row per country and role, ``RELIABILITY_SCHEMA`` columns.
    """
    _check_currency(pp)
    if pp.height == 0:
        return _empty()
    keys = ["frequency", "period"]
    active_x = pp.filter(pl.col("n_x") > 0).select("exporter", *keys).unique()
    active_m = pp.filter(pl.col("n_m") > 0).select("importer", *keys).unique()
    pairs = (
        pp.filter(pl.col("exporter") != pl.col("importer"))
        .join(active_x, on=["exporter", *keys], how="semi")
        .join(active_m, on=["importer", *keys], how="semi")
        .group_by("exporter", "importer")
        .agg(x=pl.col("x").fill_null(0.0).sum(), m=pl.col("m_fob").fill_null(0.0).sum())
        .with_columns(
            x=pl.when(pl.col("x") >= min_value).then("x").otherwise(0.0),
            m=pl.when(pl.col("m") >= min_value).then("m").otherwise(0.0),
        )
        .filter((pl.col("x") > 0) | (pl.col("m") > 0))
        .with_columns(
            s=((pl.col("x") - pl.col("m")).abs() / (pl.col("x") + pl.col("m"))).clip(
                lower_bound=_MIN_DISCREPANCY
            )
        )
    )
    for _ in range(10):  # Growth Lab repeats the partner-count filter until it settles
        ok_x = pairs.group_by("exporter").len().filter(pl.col("len") >= min_partners)
        ok_m = pairs.group_by("importer").len().filter(pl.col("len") >= min_partners)
        kept = pairs.join(ok_x, on="exporter", how="semi").join(ok_m, on="importer", how="semi")
        if kept.height == pairs.height:
            break
        pairs = kept
    if pairs.height == 0:
        return _empty()

    countries = pl.concat([pairs.get_column("exporter"), pairs.get_column("importer")])
    names = countries.unique().sort()
    code = pl.DataFrame({"c": names, "i": pl.int_range(names.len(), eager=True)})
    coded = pairs.join(code.rename({"c": "exporter", "i": "ei"}), on="exporter").join(
        code.rename({"c": "importer", "i": "ii"}), on="importer"
    )
    ei = coded.get_column("ei").to_numpy()
    ii = coded.get_column("ii").to_numpy()
    s = coded.get_column("s").to_numpy()
    k = names.len()
    n_e = np.bincount(ei, minlength=k).astype(float)
    n_i = np.bincount(ii, minlength=k).astype(float)
    a_e = np.ones(k)
    a_i = np.ones(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(iterations):
            den_e = np.bincount(ei, weights=s * a_i[ii], minlength=k)
            den_i = np.bincount(ii, weights=s * a_e[ei], minlength=k)
            a_e, a_i = n_e / den_e, n_i / den_i
    mean_e = np.bincount(ei, weights=s, minlength=k) / np.maximum(n_e, 1)
    mean_i = np.bincount(ii, weights=s, minlength=k) / np.maximum(n_i, 1)
    val_e = np.bincount(ei, weights=coded.get_column("x").to_numpy(), minlength=k)
    val_i = np.bincount(ii, weights=coded.get_column("m").to_numpy(), minlength=k)

    def table(
        role: str, a: np.ndarray, n: np.ndarray, mean: np.ndarray, val: np.ndarray
    ) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "country": names,
                "role": role,
                "score": a,
                "n_pairs": n.astype(np.uint32),
                "mean_discrepancy": mean,
                "reported_value": val,
            }
        ).filter(pl.col("n_pairs") > 0)

    out = pl.concat(
        [table("exporter", a_e, n_e, mean_e, val_e), table("importer", a_i, n_i, mean_i, val_i)]
    )
    return out.cast(RELIABILITY_SCHEMA).sort("role", "country")  # type: ignore[arg-type]
