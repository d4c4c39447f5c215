"""The benchmarked stages, each written three ways: the library (polars), DuckDB SQL, pandas.

Every contender reads the same Parquet input and produces the same result, which is
materialised in its own engine (a polars DataFrame, a DuckDB table, a pandas
DataFrame). A contender is ``fn(ctx) -> summary`` where ``summary()`` returns a few
numbers (row counts, sums) that ``test_equivalence.py`` compares across contenders;
only ``fn`` is timed.

Stages:

``read``
    read the Parquet trade table and harmonise HS codes to HS2017
    (``rerouting._normalise.harmonise_hs``): every row, materialised.
``mirror``
    mirror pairing (``rerouting._mirror.mirror(reliability=False)``): one row per
    exporter, importer, hs, frequency, period, currency with both sides, gaps, unit
    values, provenance and the best estimate.
``legs``
    the route aggregation of one scenario (``rerouting._legs.build_legs`` then
    ``rerouting.features.leg_stats``): reporting coverage, product filter, HS
    harmonisation, mirror pairing with reliability weights, side labels (EU members
    summed), the destination's other-product totals, hub candidates and per-leg window
    statistics (mean, interquartile mean, sd, unit value, ...).
``scan``
    the full one-scenario ``rerouting.scan`` (library only: legs, features,
    co-movement, scores, IsolationForest, explanations, monthly legs of the top routes).

The references handle what the synthetic data contain (clean ``HS2017``/``HS2022``
labels, six-digit codes, one currency, monthly data, no null keys); the library
handles more (vintage inference, CN8 cuts, annual data, bloc changes), and does it in
the same time or less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import numpy as np

MARGIN: Final = 0.06
EXPORTS: Final = ("export", "re-export")
IMPORTS: Final = ("import", "re-import")

Summary = dict[str, float]
Contender = Callable[["Ctx"], Callable[[], Summary]]


# ----------------------------------------------------------------------------- context
@dataclass
class Ctx:
    """Input of every contender: where the data are and the scenario to scan."""

    path: str  # a Parquet file or a glob
    scenario_data: dict[str, Any]
    threads: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def scenario(self) -> Any:
        from rerouting._config import Scenario

        return Scenario.model_validate(self.scenario_data)

    @cached_property
    def plan(self) -> Plan:
        return Plan.of(self.scenario)


@dataclass(frozen=True)
class Plan:
    """Scenario facts a hand-written reference would hard-code (lists, members, maps)."""

    event: dt.date
    superset: tuple[str, ...]  # listed codes in any HS vintage (filter before harmonising)
    target: tuple[str, ...]  # listed codes in HS2017
    labels: dict[str, str]  # member ISO3 -> side label (BLR -> BLR, DEU -> EU, ...)
    origin: tuple[str, ...]  # origin labels
    destination: tuple[str, ...]  # destination labels
    dest_members: tuple[str, ...]
    hs_map: dict[str, str]  # HS2022 -> HS2017 codes that change

    @classmethod
    def of(cls, scenario: Any) -> Plan:
        import polars as pl

        from rerouting._hs import VINTAGES, conversion_table
        from rerouting._legs import _products, resolve_sides

        plist = _products(scenario.products)
        assert plist is not None, "the benchmarks scan a product list"
        codes: set[str] = set(plist.codes)
        for v in VINTAGES:
            codes |= set(plist.to_hs6(v).codes)
        sides = resolve_sides(scenario)
        table = conversion_table("HS2022", "HS2017").filter(
            pl.col("from_code") != pl.col("to_code")
        )
        return cls(
            event=scenario.event,
            superset=tuple(sorted(codes)),
            target=tuple(plist.to_hs6("HS2017").codes),
            labels={**sides.origin, **sides.destination},
            origin=sides.origin_labels,
            destination=sides.destination_labels,
            dest_members=tuple(sides.destination),
            hs_map=dict(zip(table["from_code"], table["to_code"], strict=True)),
        )


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, 1)


def windows(event: dt.date, first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
    """Default monthly windows: 24 months before the event; the event to the end."""
    b0 = max(_add_months(event, -24), first)
    return b0, _add_months(event, -1), event, last


def _months(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month + 1


def reliability_scores(
    exporter: np.ndarray, importer: np.ndarray, x: np.ndarray, m: np.ndarray, iterations: int = 25
) -> tuple[dict[str, float], dict[str, float]]:
    """Growth Lab scores from pair totals (the references' own copy of the iteration).

    ``x``/``m`` are pair totals over the periods both countries reported; returns
    (exporter scores, importer scores).
    """
    keep = (x > 0) | (m > 0)
    exporter, importer, x, m = exporter[keep], importer[keep], x[keep], m[keep]
    s = np.maximum(np.abs(x - m) / (x + m), 1e-2)
    names, codes = np.unique(np.concatenate([exporter, importer]), return_inverse=True)
    ei, ii = codes[: len(exporter)], codes[len(exporter) :]
    k = len(names)
    n_e = np.bincount(ei, minlength=k).astype(float)
    n_i = np.bincount(ii, minlength=k).astype(float)
    a_e, a_i = np.ones(k), np.ones(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(iterations):
            den_e = np.bincount(ei, weights=s * a_i[ii], minlength=k)
            den_i = np.bincount(ii, weights=s * a_e[ei], minlength=k)
            a_e, a_i = n_e / den_e, n_i / den_i
    ex = {str(c): float(a) for c, a, n in zip(names, a_e, n_e, strict=True) if n > 0}
    im = {str(c): float(a) for c, a, n in zip(names, a_i, n_i, strict=True) if n > 0}
    return ex, im


def _median_finite(d: dict[str, float]) -> float:
    v = np.array([x for x in d.values() if np.isfinite(x)])
    return float(np.median(v)) if v.size else float("nan")


# ============================================================================ polars
def _harmonised_summary(df: Any) -> Callable[[], Summary]:
    """Rows, codes changed by harmonisation, value total and distinct codes."""

    def summary() -> Summary:
        return {
            "rows": df.height,
            "changed": int((df["hs"] != df["hs_original"]).sum()),
            "value": float(df["value"].sum()),
            "codes": df["hs"].n_unique(),
        }

    return summary


def polars_read(ctx: Ctx) -> Callable[[], Summary]:
    import polars as pl

    from rerouting._normalise import harmonise_hs_with_summary

    out, _ = harmonise_hs_with_summary(pl.scan_parquet(ctx.path))
    df = out.collect()
    return _harmonised_summary(df)


def polars_read_trade(ctx: Ctx) -> Callable[[], Summary]:
    """The eager reader (`read_trade`: checks, row accounting) then harmonisation."""
    from rerouting._io import read_trade
    from rerouting._normalise import harmonise_hs_with_summary

    data = read_trade(ctx.path)
    out, _ = harmonise_hs_with_summary(data.frame)
    df = out.collect()
    return _harmonised_summary(df)


def _mirror_summary(df: Any) -> Summary:
    import polars as pl

    return {
        "rows": df.height,
        "both": int((df["provenance"] == "both").sum()),
        "best_value": float(df["best_value"].sum()),
        "gap": float(df["gap"].sum()),
        "sym_gap": float(df["sym_gap"].sum()),
        "qty_agreement": float(df["qty_agreement"].sum()),
        "in_band": int(df["uv_in_band"].sum()),
        "n_records": int(
            df.select(pl.col("n_export_records") + pl.col("n_import_records")).sum().item()
        ),
    }


def polars_mirror(ctx: Ctx) -> Callable[[], Summary]:
    import polars as pl

    from rerouting._mirror import mirror

    df = mirror(pl.scan_parquet(ctx.path), reliability=False).collect()
    return lambda: _mirror_summary(df)


def polars_mirror_reliability(ctx: Ctx) -> Callable[[], Summary]:
    """The library default: best values weighted by reporter reliability scores."""
    import polars as pl

    from rerouting._mirror import mirror

    df = mirror(pl.scan_parquet(ctx.path)).collect()
    s = _mirror_summary(df)
    return lambda: {k: v for k, v in s.items() if k != "best_value"}


def _legs_summary_pl(stats: Any, other: Any, n_hubs: int) -> Summary:
    return {
        "hubs": n_hubs,
        "legs": stats.height,
        "b_mean_v": float(stats["b_mean_v"].sum()),
        "b_lvl_v": float(stats["b_lvl_v"].sum()),
        "p_lvl_v": float(stats["p_lvl_v"].sum()),
        "p_sd_v": float(stats["p_sd_v"].sum()),
        "p_uv": float(stats["p_uv"].fill_nan(None).sum()),
        "p_nz": float(stats["p_nz"].sum()),
        "p_exp": float(stats["p_exp"].sum()),
        "other_rows": other.height,
        "other_value": float(other["value"].sum()),
    }


def polars_legs(ctx: Ctx) -> Callable[[], Summary]:
    import polars as pl

    from rerouting._legs import build_legs
    from rerouting.features import leg_stats

    legs = build_legs(pl.scan_parquet(ctx.path), ctx.scenario)
    olab, dlab, hubs = (
        list(legs.sides.origin_labels),
        list(legs.sides.destination_labels),
        list(legs.hubs),
    )
    f = legs.flows
    rows = f.filter(
        (pl.col("src").is_in(olab) & (pl.col("dst").is_in(hubs) | pl.col("dst").is_in(dlab)))
        | (pl.col("src").is_in(hubs) & pl.col("dst").is_in(dlab))
    )
    stats, other = pl.collect_all([leg_stats(rows, legs.windows), legs.other_flows])
    return lambda: _legs_summary_pl(stats, other, len(hubs))


def polars_scan(ctx: Ctx) -> Callable[[], Summary]:
    import polars as pl

    from rerouting._scan import scan

    result = scan(pl.scan_parquet(ctx.path), scenario=ctx.scenario)
    return lambda: {"routes": result.routes.height, "legs": result.legs.height}


def polars_scan_every_product(ctx: Ctx) -> Callable[[], Summary]:
    """The scan with no product list: every product of the data (a heavier workload)."""
    import polars as pl

    from rerouting._scan import scan

    scenario = ctx.scenario.model_copy(update={"products": None})
    result = scan(pl.scan_parquet(ctx.path), scenario=scenario)
    return lambda: {"routes": result.routes.height, "legs": result.legs.height}


def polars_scan_in_memory(ctx: Ctx) -> Callable[[], Summary]:
    """The same scan with polars' in-memory engine instead of the streaming one."""
    import polars as pl

    with pl.Config(engine_affinity="in-memory"):
        return polars_scan(ctx)


def polars_scan_eager(ctx: Ctx) -> Callable[[], Summary]:
    """The scan of a DataFrame read whole first (no pushdown into the Parquet reader)."""
    import polars as pl

    from rerouting._scan import scan

    result = scan(pl.read_parquet(ctx.path), scenario=ctx.scenario)
    return lambda: {"routes": result.routes.height, "legs": result.legs.height}


def polars_scan_path(ctx: Ctx) -> Callable[[], Summary]:
    """The scan of a path: every row rule and row accounting (``spool_trade``; a clean
    canonical file is scanned as it is)."""
    from rerouting._scan import scan

    result = scan(ctx.path, scenario=ctx.scenario)
    return lambda: {"routes": result.routes.height, "legs": result.legs.height}


def polars_scan_scan_trade(ctx: Ctx) -> Callable[[], Summary]:
    """The scan of a path read lazily: ``scan_trade`` (row rules, row accounting)."""
    from rerouting._io import scan_trade
    from rerouting._scan import scan

    result = scan(scan_trade(ctx.path), scenario=ctx.scenario)
    return lambda: {"routes": result.routes.height, "legs": result.legs.height}


# ------------------------------------------------------------ key-type experiments
def _keys_agg(ctx: Ctx, cast: dict[str, Any], month: bool = False) -> Callable[[], Summary]:
    """The pairing's hash aggregation (sum by reporter, partner, hs, period, flow) with
    the key columns cast as given: does the key type matter?"""
    import polars as pl

    lf = pl.scan_parquet(ctx.path).with_columns([pl.col(c).cast(t) for c, t in cast.items()])
    period = (
        (pl.col("period").dt.year() * 12 + pl.col("period").dt.month()).alias("period")
        if month
        else pl.col("period")
    )
    df = (
        lf.group_by("reporter", "partner", "hs", period, "flow")
        .agg(v=pl.col("value").sum(), n=pl.len())
        .collect()
    )
    return lambda: {"rows": df.height, "value": float(df["v"].sum())}


def keys_string(ctx: Ctx) -> Callable[[], Summary]:
    return _keys_agg(ctx, {})


def keys_categorical(ctx: Ctx) -> Callable[[], Summary]:
    import polars as pl

    return _keys_agg(ctx, dict.fromkeys(("reporter", "partner", "hs"), pl.Categorical()))


def keys_enum(ctx: Ctx) -> Callable[[], Summary]:
    import polars as pl

    from rerouting._hs import nomenclature

    countries = pl.scan_parquet(ctx.path).select(pl.col("reporter").unique()).collect()
    iso = pl.Enum(sorted(set(countries["reporter"]) | set(ctx.plan.labels)))
    codes = set()
    for v in ("HS2017", "HS2022"):
        codes |= set(nomenclature(v).filter(pl.col("level") == 6)["code"])
    return _keys_agg(ctx, {"reporter": iso, "partner": iso, "hs": pl.Enum(sorted(codes))})


def keys_int_month(ctx: Ctx) -> Callable[[], Summary]:
    return _keys_agg(ctx, {}, month=True)


# ============================================================================ DuckDB
def _duck(ctx: Ctx) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {ctx.threads}")
    return con


def _src(ctx: Ctx) -> str:
    return f"read_parquet('{ctx.path}')"


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _hs_map_table(con: Any, plan: Plan) -> None:
    import pyarrow as pa

    hs_map = pa.table({"from_code": list(plan.hs_map), "to_code": list(plan.hs_map.values())})
    con.register("hs_map_arrow", hs_map)
    con.execute("CREATE TEMP TABLE hs_map AS SELECT * FROM hs_map_arrow")


def duckdb_read(ctx: Ctx) -> Callable[[], Summary]:
    con = _duck(ctx)
    _hs_map_table(con, ctx.plan)
    con.execute(
        f"""
        CREATE TEMP TABLE harmonised AS
        SELECT t.* REPLACE (
                 CASE WHEN t.hs_vintage = 'HS2022' THEN coalesce(m.to_code, substr(t.hs, 1, 6))
                      ELSE substr(t.hs, 1, 6) END AS hs,
                 'HS2017' AS hs_vintage),
               t.hs AS hs_original
        FROM {_src(ctx)} t
        LEFT JOIN hs_map m ON t.hs_vintage = 'HS2022' AND m.from_code = substr(t.hs, 1, 6)
        """
    )

    def summary() -> Summary:
        rows, changed, value, codes = con.execute(
            "SELECT count(*), count(*) FILTER (hs <> hs_original), sum(value), "
            "count(DISTINCT hs) FROM harmonised"
        ).fetchone()
        return {"rows": rows, "changed": changed, "value": value, "codes": codes}

    return summary


_DERIVED_SQL: Final = """
    export_value, export_kg, import_value, import_kg, {margin} AS cif_fob_margin,
    import_value / (1 + {margin}) AS import_value_fob,
    import_value / (1 + {margin}) - export_value AS gap,
    (import_value / (1 + {margin}) - export_value)
        / greatest(export_value, import_value / (1 + {margin})) AS rel_gap,
    CASE WHEN export_value > 0 AND import_value > 0
         THEN ln(import_value / (1 + {margin}) / export_value) END AS log_ratio,
    CASE WHEN export_value + import_value / (1 + {margin}) > 0
         THEN abs(export_value - import_value / (1 + {margin}))
              / (export_value + import_value / (1 + {margin})) END AS sym_gap,
    CASE WHEN greatest(export_kg, import_kg) > 0
         THEN 1 - abs(import_kg - export_kg) / greatest(export_kg, import_kg) END AS qty_agreement,
    CASE WHEN export_kg > 0 THEN export_value / export_kg END AS export_uv,
    CASE WHEN import_kg > 0 THEN import_value / import_kg END AS import_uv,
    CASE WHEN export_kg > 0 AND export_value / export_kg > 0 AND import_kg > 0
         THEN (import_value / import_kg) / (export_value / export_kg) END AS uv_ratio,
    CASE WHEN rec THEN 'reconciled' WHEN n_x > 0 AND n_m > 0 THEN 'both'
         WHEN n_x > 0 THEN 'exporter_only' ELSE 'importer_only' END AS provenance,
    {w} AS export_weight,
    CASE WHEN rec THEN coalesce(export_value, import_value)
         WHEN export_value IS NOT NULL AND import_value IS NOT NULL
         THEN {w} * export_value + (1 - {w}) * import_value / (1 + {margin})
         ELSE coalesce(export_value, import_value / (1 + {margin})) END AS best_value,
    CASE WHEN export_kg IS NOT NULL AND import_kg IS NOT NULL
         THEN {w} * export_kg + (1 - {w}) * import_kg
         ELSE coalesce(export_kg, import_kg) END AS best_kg,
    n_x AS n_export_records, n_m AS n_import_records
"""


def _uv_in_band_sql(table: str) -> str:
    return f"SELECT *, uv_ratio > 0.75 AND uv_ratio < 1.75 AS uv_in_band FROM {table}"


def duckdb_mirror(ctx: Ctx) -> Callable[[], Summary]:
    """Per-side GROUP BY and a FULL OUTER JOIN: the SQL most people write."""
    con = _duck(ctx)
    side = """
        SELECT {a} AS exporter, {b} AS importer, hs, frequency, period, currency,
               sum(value) AS {v}_value, sum(net_weight_kg) AS {v}_kg, count(*) AS n_{s},
               bool_or(source = 'baci') AS rec_{s}
        FROM {src} WHERE flow IN {flows} GROUP BY ALL
    """
    x = side.format(a="reporter", b="partner", v="export", s="x", src=_src(ctx), flows=EXPORTS)
    m = side.format(a="partner", b="reporter", v="import", s="m", src=_src(ctx), flows=IMPORTS)
    derived = _DERIVED_SQL.format(margin=MARGIN, w="0.5")
    con.execute(
        f"""
        CREATE TEMP TABLE flows AS
        WITH x AS ({x}), m AS ({m}),
        j AS (
            SELECT exporter, importer, hs, frequency, period, currency,
                   export_value, export_kg, import_value, import_kg,
                   coalesce(n_x, 0) AS n_x, coalesce(n_m, 0) AS n_m,
                   coalesce(rec_x, false) OR coalesce(rec_m, false) AS rec
            FROM x FULL OUTER JOIN m USING (exporter, importer, hs, frequency, period, currency)
        ),
        d AS (SELECT exporter, importer, hs, frequency, period, currency, {derived} FROM j)
        {_uv_in_band_sql("d")}
        """
    )
    return lambda: _duck_mirror_summary(con)


def duckdb_mirror_union(ctx: Ctx) -> Callable[[], Summary]:
    """The library's plan in SQL: one GROUP BY over the side-tagged union."""
    con = _duck(ctx)
    derived = _DERIVED_SQL.format(margin=MARGIN, w="0.5")
    con.execute(
        f"""
        CREATE TEMP TABLE flows AS
        WITH t AS (
            SELECT reporter AS exporter, partner AS importer, hs, frequency, period, currency,
                   true AS is_x, value AS xv, NULL::DOUBLE AS mv, net_weight_kg AS xk,
                   NULL::DOUBLE AS mk, source = 'baci' AS is_rec
            FROM {_src(ctx)} WHERE flow IN {EXPORTS}
            UNION ALL
            SELECT partner, reporter, hs, frequency, period, currency, false, NULL, value, NULL,
                   net_weight_kg, source = 'baci'
            FROM {_src(ctx)} WHERE flow IN {IMPORTS}
        ),
        j AS (
            SELECT exporter, importer, hs, frequency, period, currency,
                   sum(xv) AS export_value, sum(xk) AS export_kg, sum(mv) AS import_value,
                   sum(mk) AS import_kg, count(*) FILTER (is_x) AS n_x,
                   count(*) FILTER (NOT is_x) AS n_m, bool_or(is_rec) AS rec
            FROM t GROUP BY ALL
        ),
        d AS (SELECT exporter, importer, hs, frequency, period, currency, {derived} FROM j)
        {_uv_in_band_sql("d")}
        """
    )
    return lambda: _duck_mirror_summary(con)


def _duck_mirror_summary(con: Any) -> Summary:
    row = con.execute(
        """SELECT count(*), count(*) FILTER (provenance = 'both'), sum(best_value), sum(gap),
                  sum(sym_gap), sum(qty_agreement), count(*) FILTER (uv_in_band),
                  sum(n_export_records + n_import_records) FROM flows"""
    ).fetchone()
    keys = ("rows", "both", "best_value", "gap", "sym_gap", "qty_agreement", "in_band", "n_records")
    return dict(zip(keys, (float(v) for v in row), strict=True))


def duckdb_legs(ctx: Ctx) -> Callable[[], Summary]:
    import pyarrow as pa

    plan, con = ctx.plan, _duck(ctx)
    src = _src(ctx)
    _hs_map_table(con, plan)
    con.register(
        "labels_arrow", pa.table({"member": list(plan.labels), "label": list(plan.labels.values())})
    )
    con.execute("CREATE TEMP TABLE labels AS SELECT * FROM labels_arrow")
    # 1. Who reports what, when (coverage; the data's first and last month).
    con.execute(
        f"""CREATE TEMP TABLE reports AS
            SELECT frequency, reporter, period, bool_or(flow IN {EXPORTS}) AS exp,
                   bool_or(flow IN {IMPORTS}) AS imp
            FROM {src} GROUP BY ALL"""
    )
    first, last = con.execute(
        "SELECT min(period), max(period) FROM reports WHERE frequency = 'M'"
    ).fetchone()
    b0, b1, p0, p1 = windows(plan.event, first, last)
    nb, np_ = _months(b0, b1), _months(p0, p1)
    # 2. Listed products, harmonised to HS2017, side-tagged.
    con.execute(
        f"""CREATE TEMP TABLE tagged AS
            WITH s AS (
                SELECT t.*, CASE WHEN t.hs_vintage = 'HS2022'
                                 THEN coalesce(m.to_code, substr(t.hs, 1, 6))
                                 ELSE substr(t.hs, 1, 6) END AS hs6
                FROM {src} t
                LEFT JOIN hs_map m ON t.hs_vintage = 'HS2022' AND m.from_code = substr(t.hs, 1, 6)
                WHERE t.frequency = 'M' AND t.period BETWEEN DATE '{b0}' AND DATE '{p1}'
                  AND substr(t.hs, 1, 6) IN {_sql_list(plan.superset)}
            )
            SELECT CASE WHEN flow IN {EXPORTS} THEN reporter ELSE partner END AS exporter,
                   CASE WHEN flow IN {EXPORTS} THEN partner ELSE reporter END AS importer,
                   hs6 AS hs, period, currency, flow IN {EXPORTS} AS is_x,
                   CASE WHEN flow IN {EXPORTS} THEN value END AS xv,
                   CASE WHEN flow IN {IMPORTS} THEN value END AS mv,
                   CASE WHEN flow IN {EXPORTS} THEN net_weight_kg END AS xk,
                   CASE WHEN flow IN {IMPORTS} THEN net_weight_kg END AS mk,
                   source = 'baci' AS is_rec
            FROM s WHERE hs6 IN {_sql_list(plan.target)}"""
    )
    # 3. Reliability scores from pair × period totals (the iteration runs in numpy).
    pp = con.execute(
        f"""WITH pp AS (
                SELECT exporter, importer, period, sum(xv) AS x, count(xv) AS n_x,
                       sum(mv / (1 + {MARGIN})) AS m, count(mv) AS n_m
                FROM tagged WHERE NOT is_rec GROUP BY ALL),
            ax AS (SELECT DISTINCT exporter, period FROM pp WHERE n_x > 0),
            am AS (SELECT DISTINCT importer, period FROM pp WHERE n_m > 0)
            SELECT exporter, importer, coalesce(sum(x), 0) AS x, coalesce(sum(m), 0) AS m
            FROM pp SEMI JOIN ax USING (exporter, period) SEMI JOIN am USING (importer, period)
            WHERE exporter <> importer GROUP BY ALL"""
    ).fetchnumpy()
    ex, im = reliability_scores(
        np.asarray(pp["exporter"]), np.asarray(pp["importer"]), pp["x"], pp["m"]
    )
    con.register(
        "scores_arrow",
        pa.table(
            {
                "country": [*ex, *im],
                "role": ["x"] * len(ex) + ["m"] * len(im),
                "score": [*ex.values(), *im.values()],
            }
        ),
    )
    con.execute("CREATE TEMP TABLE scores AS SELECT * FROM scores_arrow")
    w = (
        f"coalesce(1 / (1 + exp(coalesce(sm.score, {_median_finite(im)}) "
        f"- coalesce(sx.score, {_median_finite(ex)}))), 0.5)"
    )
    # 4. Mirror pairs with best values, labelled by side and summed over bloc members.
    con.execute(
        f"""CREATE TEMP TABLE flows AS
            WITH j AS (
                SELECT exporter, importer, hs, period, currency,
                       sum(xv) AS export_value, sum(xk) AS export_kg, sum(mv) AS import_value,
                       sum(mk) AS import_kg, count(*) FILTER (is_x) AS n_x,
                       count(*) FILTER (NOT is_x) AS n_m, bool_or(is_rec) AS rec
                FROM tagged GROUP BY ALL),
            d AS (
                SELECT j.*, import_value / (1 + {MARGIN}) AS m_fob, {w} AS w,
                       CASE WHEN rec THEN 'reconciled' WHEN n_x > 0 AND n_m > 0 THEN 'both'
                            WHEN n_x > 0 THEN 'exporter_only' ELSE 'importer_only' END AS prov
                FROM j
                LEFT JOIN scores sx ON sx.role = 'x' AND sx.country = j.exporter
                LEFT JOIN scores sm ON sm.role = 'm' AND sm.country = j.importer),
            b AS (
                SELECT coalesce(lx.label, exporter) AS src, coalesce(lm.label, importer) AS dst,
                       hs, period, export_value, m_fob, prov,
                       CASE WHEN rec THEN coalesce(export_value, import_value)
                            WHEN export_value IS NOT NULL AND m_fob IS NOT NULL
                            THEN w * export_value + (1 - w) * m_fob
                            ELSE coalesce(export_value, m_fob) END AS best_value,
                       CASE WHEN export_kg IS NOT NULL AND import_kg IS NOT NULL
                            THEN w * export_kg + (1 - w) * import_kg
                            ELSE coalesce(export_kg, import_kg) END AS best_kg
                FROM d
                LEFT JOIN labels lx ON lx.member = d.exporter
                LEFT JOIN labels lm ON lm.member = d.importer)
            SELECT src, dst, hs, period,
                   coalesce(sum(best_value), 0) AS value, coalesce(sum(best_kg), 0) AS kg,
                   coalesce(sum(best_value) FILTER (best_kg IS NOT NULL), 0) AS value_kg,
                   coalesce(sum(export_value), 0) AS exp_value,
                   coalesce(sum(m_fob), 0) AS imp_value_fob,
                   bool_or(export_value IS NOT NULL) AS has_exp,
                   bool_or(m_fob IS NOT NULL) AS has_imp,
                   string_agg(DISTINCT prov, '+' ORDER BY prov) AS provenance
            FROM b WHERE src <> dst GROUP BY ALL"""
    )

    # 4b. Every country's world trade in each listed product, window means (controls).
    def tot(cond: str, w: str, n: int, fob: bool) -> str:
        v = f"v / (1 + {MARGIN})" if fob else "v"
        return f"coalesce(sum({v}) FILTER ({cond} AND win = '{w}'), 0) / {n}"

    parts = []
    for w, n in (("b", nb), ("p", np_)):
        parts += [
            tot("role = 'e' AND is_x", w, n, False) + f" AS own_exp_{w}",
            tot("role = 'i' AND NOT is_x", w, n, True) + f" AS own_imp_{w}",
            tot("role = 'e' AND NOT is_x", w, n, True) + f" AS mir_exp_{w}",
            tot("role = 'i' AND is_x", w, n, False) + f" AS mir_imp_{w}",
        ]
    con.execute(
        f"""CREATE TEMP TABLE world AS
            WITH t AS (
                SELECT *, coalesce(xv, mv) AS v,
                       CASE WHEN period BETWEEN DATE '{b0}' AND DATE '{b1}' THEN 'b'
                            WHEN period BETWEEN DATE '{p0}' AND DATE '{p1}' THEN 'p' END AS win
                FROM tagged),
            u AS (SELECT exporter AS country, hs, is_x, v, win, 'e' AS role FROM t
                  UNION ALL SELECT importer, hs, is_x, v, win, 'i' FROM t)
            SELECT country, hs, {", ".join(parts)} FROM u GROUP BY country, hs"""
    )
    # 5. The destination's trade in all other products (a control).
    con.execute(
        f"""CREATE TEMP TABLE other AS
            WITH r AS (
                SELECT * FROM {src}
                WHERE frequency = 'M' AND period BETWEEN DATE '{b0}' AND DATE '{p1}'
                  AND substr(hs, 1, 6) NOT IN {_sql_list(plan.superset)}
                  AND (reporter IN {_sql_list(plan.dest_members)}
                       OR partner IN {_sql_list(plan.dest_members)})),
            x AS (SELECT reporter AS exporter, partner AS importer, period, sum(value) AS x
                  FROM r WHERE flow IN {EXPORTS} GROUP BY ALL),
            m AS (SELECT partner AS exporter, reporter AS importer, period,
                         sum(value) / (1 + {MARGIN}) AS m
                  FROM r WHERE flow IN {IMPORTS} GROUP BY ALL),
            j AS (
                SELECT coalesce(lx.label, exporter) AS src, coalesce(lm.label, importer) AS dst,
                       period, CASE WHEN x IS NOT NULL AND m IS NOT NULL THEN (x + m) / 2
                                    ELSE coalesce(x, m) END AS value
                FROM x FULL OUTER JOIN m USING (exporter, importer, period)
                LEFT JOIN labels lx ON lx.member = exporter
                LEFT JOIN labels lm ON lm.member = importer)
            SELECT src, dst, period, coalesce(sum(value), 0) AS value
            FROM j WHERE src <> dst GROUP BY ALL"""
    )
    # 6. Hub candidates and per-leg window statistics.
    sides = _sql_list([*plan.origin, *plan.destination])
    hubs = [
        r[0]
        for r in con.execute(
            f"""SELECT DISTINCT CASE WHEN src IN {sides} THEN dst ELSE src END AS c
                FROM flows WHERE src IN {sides} OR dst IN {sides}"""
        ).fetchall()
        if r[0] not in plan.labels and r[0] not in sides and len(r[0]) == 3
    ]
    olab, dlab, hl = _sql_list(plan.origin), _sql_list(plan.destination), _sql_list(hubs)

    def window(w: str, n: int) -> str:
        lo, hi = n // 4, n - n // 4
        return f"""
            coalesce(sum(value) FILTER (win = '{w}'), 0) / {n} AS {w}_mean_v,
            coalesce(sum(value) FILTER (win = '{w}' AND r0 + {n} - k >= {lo}
                                        AND r0 + {n} - k < {hi}), 0) / {hi - lo} AS {w}_lvl_v,
            sqrt(greatest(0, (coalesce(sum(value * value) FILTER (win = '{w}'), 0)
                 - coalesce(sum(value) FILTER (win = '{w}'), 0) ^ 2 / {n}) / {max(n - 1, 1)}))
                 AS {w}_sd_v,
            CASE WHEN sum(kg) FILTER (win = '{w}') > 0
                 THEN sum(value_kg) FILTER (win = '{w}') / sum(kg) FILTER (win = '{w}')
                 END AS {w}_uv"""

    con.execute(
        f"""CREATE TEMP TABLE stats AS
            WITH l AS (
                SELECT *, CASE WHEN period BETWEEN DATE '{b0}' AND DATE '{b1}' THEN 'b'
                               WHEN period BETWEEN DATE '{p0}' AND DATE '{p1}' THEN 'p' END AS win
                FROM flows
                WHERE (src IN {olab} AND (dst IN {hl} OR dst IN {dlab}))
                   OR (src IN {hl} AND dst IN {dlab})),
            r AS (
                SELECT *, row_number() OVER (PARTITION BY src, dst, hs, win ORDER BY value) - 1
                              AS r0,
                          count(*) OVER (PARTITION BY src, dst, hs, win) AS k
                FROM l)
            SELECT src, dst, hs, {window("b", nb)}, {window("p", np_)},
                   coalesce(max(value) FILTER (win = 'p'), 0) AS p_max_v,
                   count(*) FILTER (win = 'p' AND value > 0) AS p_nz,
                   coalesce(sum(exp_value) FILTER (win = 'p' AND has_exp AND has_imp), 0) AS p_exp,
                   coalesce(sum(imp_value_fob) FILTER (win = 'p' AND has_exp AND has_imp), 0)
                       AS p_imp,
                   string_agg(DISTINCT provenance, '+' ORDER BY provenance) FILTER (win = 'p')
                       AS provenance
            FROM r GROUP BY src, dst, hs"""
    )
    n_hubs = len(hubs)

    def summary() -> Summary:
        s = con.execute(
            """SELECT count(*), sum(b_mean_v), sum(b_lvl_v), sum(p_lvl_v), sum(p_sd_v),
                      sum(p_uv) FILTER (NOT isnan(p_uv)), sum(p_nz), sum(p_exp) FROM stats"""
        ).fetchone()
        o = con.execute("SELECT count(*), sum(value) FROM other").fetchone()
        keys = ("legs", "b_mean_v", "b_lvl_v", "p_lvl_v", "p_sd_v", "p_uv", "p_nz", "p_exp")
        return {
            "hubs": n_hubs,
            **dict(zip(keys, (float(v) for v in s), strict=True)),
            "other_rows": o[0],
            "other_value": float(o[1]),
        }

    return summary


# ============================================================================ pandas
def _pd_read(ctx: Ctx, columns: list[str] | None = None) -> Any:
    from pathlib import Path

    import pandas as pd

    path = Path(ctx.path)
    files = sorted(path.parent.glob(path.name))
    frames = [pd.read_parquet(f, columns=columns) for f in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def pandas_read(ctx: Ctx) -> Callable[[], Summary]:
    df = _pd_read(ctx)
    hs6 = df["hs"].str.slice(0, 6)
    mapped = hs6.map(ctx.plan.hs_map).fillna(hs6)
    df["hs_original"] = df["hs"]
    df["hs"] = hs6.where(df["hs_vintage"] != "HS2022", mapped)
    df["hs_vintage"] = "HS2017"

    def summary() -> Summary:
        return {
            "rows": len(df),
            "changed": int((df["hs"] != df["hs_original"]).sum()),
            "value": float(df["value"].sum()),
            "codes": int(df["hs"].nunique()),
        }

    return summary


def _pd_sides(df: Any, keys: list[str]) -> tuple[Any, Any]:
    """Exporter-side and importer-side rows renamed to (exporter, importer)."""
    is_x = df["flow"].isin(EXPORTS)
    x = df[is_x].rename(columns={"reporter": "exporter", "partner": "importer"})
    m = df[~is_x].rename(columns={"reporter": "importer", "partner": "exporter"})
    return x, m


def _pd_derived(j: Any, w: Any) -> Any:
    import numpy as np

    x, m, xk, mk = j["export_value"], j["import_value"], j["export_kg"], j["import_kg"]
    mf = m / (1 + MARGIN)
    j["cif_fob_margin"] = MARGIN
    j["import_value_fob"] = mf
    j["gap"] = mf - x
    j["rel_gap"] = (mf - x) / np.fmax(x, mf).where(x.notna() & mf.notna())
    j["log_ratio"] = np.log((mf / x).where((x > 0) & (m > 0)))
    tot = x + mf
    j["sym_gap"] = ((x - mf).abs() / tot).where(tot > 0)
    top = np.fmax(xk, mk).where(xk.notna() & mk.notna())
    j["qty_agreement"] = (1 - (mk - xk).abs() / top).where(top > 0)
    j["export_uv"] = (x / xk).where(xk > 0)
    j["import_uv"] = (m / mk).where(mk > 0)
    j["uv_ratio"] = (j["import_uv"] / j["export_uv"]).where(j["export_uv"] > 0)
    prov = np.where(
        j["rec"],
        "reconciled",
        np.where(
            (j["n_x"] > 0) & (j["n_m"] > 0),
            "both",
            np.where(j["n_x"] > 0, "exporter_only", "importer_only"),
        ),
    )
    j["provenance"] = prov
    j["export_weight"] = w
    both = x.notna() & mf.notna()
    best = (w * x + (1 - w) * mf).where(both, x.fillna(mf))
    j["best_value"] = best.where(~j["rec"].astype(bool), x.fillna(m))
    j["best_kg"] = (w * xk + (1 - w) * mk).where(xk.notna() & mk.notna(), xk.fillna(mk))
    j["uv_in_band"] = (j["uv_ratio"] > 0.75) & (j["uv_ratio"] < 1.75)
    return j


def _pd_pair(df: Any, keys: list[str]) -> Any:
    """Per-side groupby and an outer merge (the pandas idiom)."""
    x, m = _pd_sides(df, keys)
    x = x.assign(rec=x["source"] == "baci")
    m = m.assign(rec=m["source"] == "baci")
    gx = x.groupby(keys, observed=True, sort=False).agg(
        export_value=("value", "sum"),
        _cx=("value", "count"),
        export_kg=("net_weight_kg", "sum"),
        _cxk=("net_weight_kg", "count"),
        n_x=("value", "size"),
        rec_x=("rec", "any"),
    )
    gm = m.groupby(keys, observed=True, sort=False).agg(
        import_value=("value", "sum"),
        _cm=("value", "count"),
        import_kg=("net_weight_kg", "sum"),
        _cmk=("net_weight_kg", "count"),
        n_m=("value", "size"),
        rec_m=("rec", "any"),
    )
    j = gx.join(gm, how="outer").reset_index()
    for v, c in (
        ("export_value", "_cx"),
        ("import_value", "_cm"),
        ("export_kg", "_cxk"),
        ("import_kg", "_cmk"),
    ):
        j[v] = j[v].where(j[c] > 0)
    j["n_x"] = j["n_x"].fillna(0).astype("int64")
    j["n_m"] = j["n_m"].fillna(0).astype("int64")
    j["rec"] = j["rec_x"].fillna(False).astype(bool) | j["rec_m"].fillna(False).astype(bool)
    return j.drop(columns=["_cx", "_cm", "_cxk", "_cmk", "rec_x", "rec_m"])


def pandas_mirror(ctx: Ctx) -> Callable[[], Summary]:
    df = _pd_read(ctx)
    df["frequency"] = df["frequency"].astype(str)
    keys = ["exporter", "importer", "hs", "frequency", "period", "currency"]
    j = _pd_derived(_pd_pair(df, keys), 0.5)
    j["n_export_records"], j["n_import_records"] = j["n_x"], j["n_m"]

    def summary() -> Summary:
        return {
            "rows": len(j),
            "both": int((j["provenance"] == "both").sum()),
            "best_value": float(j["best_value"].sum()),
            "gap": float(j["gap"].sum()),
            "sym_gap": float(j["sym_gap"].sum()),
            "qty_agreement": float(j["qty_agreement"].sum()),
            "in_band": int(j["uv_in_band"].sum()),
            "n_records": int((j["n_x"] + j["n_m"]).sum()),
        }

    return summary


def pandas_legs(ctx: Ctx) -> Callable[[], Summary]:
    import pandas as pd

    plan = ctx.plan
    df = _pd_read(ctx)
    df["frequency"] = df["frequency"].astype(str)
    df["flow"] = df["flow"].astype(str)
    # 1. Coverage and the data's months.
    df["_exp"] = df["flow"].isin(EXPORTS)
    reports = df.groupby(["frequency", "reporter", "period"], sort=False).agg(
        exp=("_exp", "any"), imp=("_exp", lambda s: (~s).any())
    )
    months = reports.reset_index()
    months = months.loc[months["frequency"] == "M", "period"]
    first, last = months.min(), months.max()
    b0, b1, p0, p1 = windows(plan.event, _date(first), _date(last))
    nb, np_ = _months(b0, b1), _months(p0, p1)
    per = df["period"]
    base = df[
        (df["frequency"] == "M") & (per >= pd.Timestamp(b0)) & (per <= pd.Timestamp(p1))
        if per.dtype.kind == "M"
        else (df["frequency"] == "M") & (per >= b0) & (per <= p1)
    ]
    hs6 = base["hs"].str.slice(0, 6)
    listed = hs6.isin(plan.superset)
    # 2. Listed products, harmonised.
    s = base[listed].copy()
    h = hs6[listed]
    s["hs"] = h.where(s["hs_vintage"] != "HS2022", h.map(plan.hs_map).fillna(h))
    s = s[s["hs"].isin(plan.target)]
    keys = ["exporter", "importer", "hs", "period", "currency"]
    # 3. Reliability from pair × period totals.
    x, m = _pd_sides(s, keys)
    px = x.groupby(["exporter", "importer", "period"]).agg(
        x=("value", "sum"), n_x=("value", "count")
    )
    pm = m.groupby(["exporter", "importer", "period"]).agg(
        m=("value", "sum"), n_m=("value", "count")
    )
    pm["m"] = pm["m"] / (1 + MARGIN)
    pp = px.join(pm, how="outer").reset_index()
    ax = pp.loc[pp["n_x"] > 0, ["exporter", "period"]].drop_duplicates()
    am = pp.loc[pp["n_m"] > 0, ["importer", "period"]].drop_duplicates()
    pp = pp[pp["exporter"] != pp["importer"]]
    pp = pp.merge(ax, on=["exporter", "period"]).merge(am, on=["importer", "period"])
    pairs = pp.groupby(["exporter", "importer"], as_index=False)[["x", "m"]].sum()
    ex, im = reliability_scores(
        pairs["exporter"].to_numpy(str), pairs["importer"].to_numpy(str),
        pairs["x"].to_numpy(float), pairs["m"].to_numpy(float),
    )  # fmt: skip
    # 4. Mirror pairs with best values, labelled, members summed.
    j = _pd_pair(s, keys)
    ax_ = j["exporter"].map(ex).fillna(_median_finite(ex))
    am_ = j["importer"].map(im).fillna(_median_finite(im))
    w = (1 / (1 + np.exp(am_ - ax_))).fillna(0.5)
    j = _pd_derived(j, w)
    j["src"] = j["exporter"].map(plan.labels).fillna(j["exporter"])
    j["dst"] = j["importer"].map(plan.labels).fillna(j["importer"])
    j = j[j["src"] != j["dst"]]
    j["_vkg"] = j["best_value"].where(j["best_kg"].notna())
    j["_hx"] = j["export_value"].notna()
    j["_hm"] = j["import_value_fob"].notna()
    flows = j.groupby(["src", "dst", "hs", "period"], as_index=False, sort=False).agg(
        value=("best_value", "sum"),
        kg=("best_kg", "sum"),
        value_kg=("_vkg", "sum"),
        exp_value=("export_value", "sum"),
        imp_value_fob=("import_value_fob", "sum"),
        has_exp=("_hx", "any"),
        has_imp=("_hm", "any"),
        provenance=("provenance", lambda p: "+".join(sorted(set(p)))),
    )
    # 5. The destination's trade in all other products.
    o = base[~listed]
    o = o[o["reporter"].isin(plan.dest_members) | o["partner"].isin(plan.dest_members)]
    ox, om = _pd_sides(o, keys)
    gx = ox.groupby(["exporter", "importer", "period"]).agg(x=("value", "sum"))
    gm = om.groupby(["exporter", "importer", "period"]).agg(m=("value", "sum")) / (1 + MARGIN)
    oj = gx.join(gm, how="outer").reset_index()
    oj["value"] = oj[["x", "m"]].mean(axis=1)
    oj["src"] = oj["exporter"].map(plan.labels).fillna(oj["exporter"])
    oj["dst"] = oj["importer"].map(plan.labels).fillna(oj["importer"])
    other = (
        oj[oj["src"] != oj["dst"]].groupby(["src", "dst", "period"], as_index=False)["value"].sum()
    )
    # 6. Hubs and leg statistics.
    lab = set(plan.origin) | set(plan.destination)
    touch = flows[flows["src"].isin(lab) | flows["dst"].isin(lab)]
    other_side = touch["dst"].where(touch["src"].isin(lab), touch["src"])
    hubs = sorted(
        c for c in set(other_side) if c not in lab and c not in plan.labels and len(c) == 3
    )
    f = flows
    leg = (f["src"].isin(plan.origin) & (f["dst"].isin(hubs) | f["dst"].isin(plan.destination))) | (
        f["src"].isin(hubs) & f["dst"].isin(plan.destination)
    )
    lr = f[leg].copy()
    p = lr["period"]
    pb0, pb1, pp0, pp1 = (
        (pd.Timestamp(d) for d in (b0, b1, p0, p1)) if p.dtype.kind == "M" else (b0, b1, p0, p1)
    )
    lr["win"] = np.where((p >= pb0) & (p <= pb1), "b", np.where((p >= pp0) & (p <= pp1), "p", ""))
    g = ["src", "dst", "hs", "win"]
    lr = lr.sort_values("value", kind="stable")
    lr["r0"] = lr.groupby(g, sort=False).cumcount()
    lr["k"] = lr.groupby(g, sort=False)["value"].transform("size")
    parts = []
    for wname, n in (("b", nb), ("p", np_)):
        lo, hi = n // 4, n - n // 4
        sub = lr[lr["win"] == wname].copy()
        rank = sub["r0"] + n - sub["k"]
        sub["_mid"] = sub["value"].where((rank >= lo) & (rank < hi), 0.0)
        sub["_sq"] = sub["value"] ** 2
        a = sub.groupby(["src", "dst", "hs"]).agg(
            s=("value", "sum"), mid=("_mid", "sum"), ss=("_sq", "sum"),
            kg=("kg", "sum"), vkg=("value_kg", "sum"),
        )  # fmt: skip
        out = pd.DataFrame(index=a.index)
        out[f"{wname}_mean_v"] = a["s"] / n
        out[f"{wname}_lvl_v"] = a["mid"] / (hi - lo)
        var = ((a["ss"] - a["s"] ** 2 / n) / max(n - 1, 1)).clip(lower=0)
        out[f"{wname}_sd_v"] = np.sqrt(var)
        out[f"{wname}_uv"] = (a["vkg"] / a["kg"]).where(a["kg"] > 0)
        if wname == "p":
            both = sub[sub["has_exp"] & sub["has_imp"]]
            out["p_max_v"] = sub.groupby(["src", "dst", "hs"])["value"].max()
            out["p_nz"] = (sub["value"] > 0).groupby([sub["src"], sub["dst"], sub["hs"]]).sum()
            out["p_exp"] = both.groupby(["src", "dst", "hs"])["exp_value"].sum()
            out["p_imp"] = both.groupby(["src", "dst", "hs"])["imp_value_fob"].sum()
            out["provenance"] = sub.groupby(["src", "dst", "hs"])["provenance"].agg(
                lambda v: "+".join(sorted(set(v)))
            )
        parts.append(out)
    stats = parts[0].join(parts[1], how="outer")
    fill0 = [c for c in stats.columns if c.endswith(("_mean_v", "_lvl_v", "_sd_v"))]
    stats[fill0] = stats[fill0].fillna(0.0)
    stats[["p_max_v", "p_nz", "p_exp", "p_imp"]] = stats[
        ["p_max_v", "p_nz", "p_exp", "p_imp"]
    ].fillna(0)

    def summary() -> Summary:
        return {
            "hubs": len(hubs),
            "legs": len(stats),
            "b_mean_v": float(stats["b_mean_v"].sum()),
            "b_lvl_v": float(stats["b_lvl_v"].sum()),
            "p_lvl_v": float(stats["p_lvl_v"].sum()),
            "p_sd_v": float(stats["p_sd_v"].sum()),
            "p_uv": float(stats["p_uv"].sum()),
            "p_nz": float(stats["p_nz"].sum()),
            "p_exp": float(stats["p_exp"].sum()),
            "other_rows": len(other),
            "other_value": float(other["value"].sum()),
        }

    return summary


def _date(v: Any) -> dt.date:
    return v.date() if hasattr(v, "date") and not isinstance(v, dt.date) else v  # type: ignore[no-any-return]


# ============================================================================ registry
STAGES: Final[dict[str, dict[str, Contender]]] = {
    "read": {
        "polars": polars_read,
        "polars (read_trade)": polars_read_trade,
        "duckdb": duckdb_read,
        "pandas": pandas_read,
    },
    "mirror": {
        "polars": polars_mirror,
        "polars (reliability)": polars_mirror_reliability,
        "duckdb": duckdb_mirror,
        "duckdb (union)": duckdb_mirror_union,
        "pandas": pandas_mirror,
    },
    "legs": {"polars": polars_legs, "duckdb": duckdb_legs, "pandas": pandas_legs},
    "scan": {
        "polars": polars_scan,
        "polars (every product)": polars_scan_every_product,
        "polars (in-memory engine)": polars_scan_in_memory,
        "polars (DataFrame input)": polars_scan_eager,
        "polars (path)": polars_scan_path,
        "polars (path: scan_trade)": polars_scan_scan_trade,
    },
}

#: Contenders that do a different job (not compared with the others' results).
OTHER_WORK: Final = frozenset({("scan", "polars (every product)")})

#: Contenders that stream, so they run on inputs larger than memory (``run.py`` runs
#: only these above 50M rows).
STREAMING: Final = frozenset(
    {("scan", "polars"), ("scan", "polars (path)"), ("scan", "polars (path: scan_trade)")}
)

#: Measurements of ideas, not targets (``run.py --stages keys``).
EXPERIMENTS: Final[dict[str, dict[str, Contender]]] = {
    "keys": {
        "polars String keys": keys_string,
        "polars Categorical keys": keys_categorical,
        "polars Enum keys": keys_enum,
        "polars integer month key": keys_int_month,
    },
}
