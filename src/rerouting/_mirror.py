"""Mirror pairing: put what the exporter says next to what the importer says.

Every trade flow can be reported twice: by the exporter (FOB, by last known
destination) and by the importer (CIF, by origin). :func:`mirror` turns the
canonical trade table into one row per (exporter, importer, hs, frequency,
period) with both sides, their gap on a common FOB basis, unit-value and
quantity consistency, which side the row comes from, and a best estimate that
leans on the more reliable reporter. See ``docs/mirror.md`` for the formulas
and their sources.

The formulas are ``pl.Expr`` factories of the public
:mod:`rerouting.mirror_formulas`, usable on any frame.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final, Literal

import polars as pl

from rerouting._config import parse_month, parse_window
from rerouting._exceptions import ConfigError, InputError, SchemaError
from rerouting._frames import FrameLike, frame_of
from rerouting._mirror_reliability import PAIR_PERIOD_SCHEMA, reliability_from_pair_periods
from rerouting.mirror_formulas import (
    absolute_gap,
    cif_to_fob,
    log_mirror_ratio,
    quantity_agreement,
    relative_gap,
    symmetric_gap,
    unit_value,
    uv_in_band,
    uv_ratio,
)
from rerouting.schema import FLOW_DTYPE, FREQUENCY_DTYPE, RECONCILED_SOURCES

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "FLOW_COLUMNS",
    "KEY",
    "PROVENANCE_DTYPE",
    "arrival_ratio",
    "mirror",
    "reporter_reliability",
]

#: Where a flow-table row's numbers come from.
PROVENANCE_DTYPE: Final = pl.Enum(["both", "exporter_only", "importer_only", "reconciled"])

#: The key of the flow table: one row per key (and currency).
KEY: Final = ("exporter", "importer", "hs", "frequency", "period")

#: Columns of the flow table, in order, with their dtypes.
FLOW_COLUMNS: Final[dict[str, pl.DataType]] = {
    "exporter": pl.String(),
    "importer": pl.String(),
    "hs": pl.String(),
    "frequency": FREQUENCY_DTYPE,
    "period": pl.Date(),
    "currency": pl.String(),
    "export_value": pl.Float64(),
    "export_kg": pl.Float64(),
    "import_value": pl.Float64(),
    "import_kg": pl.Float64(),
    "cif_fob_margin": pl.Float64(),
    "import_value_fob": pl.Float64(),
    "gap": pl.Float64(),
    "rel_gap": pl.Float64(),
    "log_ratio": pl.Float64(),
    "sym_gap": pl.Float64(),
    "qty_agreement": pl.Float64(),
    "export_uv": pl.Float64(),
    "import_uv": pl.Float64(),
    "uv_ratio": pl.Float64(),
    "uv_in_band": pl.Boolean(),
    "provenance": PROVENANCE_DTYPE,
    "exporter_score": pl.Float64(),
    "importer_score": pl.Float64(),
    "export_weight": pl.Float64(),
    "best_value": pl.Float64(),
    "best_kg": pl.Float64(),
    "n_export_records": pl.UInt32(),
    "n_import_records": pl.UInt32(),
}

_EXPORT_FLOWS: Final = ("export", "re-export")
_MAX_PAIR_MARGIN: Final = 0.20  # Growth Lab caps tau at 0.20
_REQUIRED: Final = ("period", "frequency", "reporter", "partner", "flow", "hs", "value")

# --------------------------------------------------------------------------------------
# Input preparation
# --------------------------------------------------------------------------------------


def _as_lazy(trade: FrameLike, *, what: str = "trade") -> pl.LazyFrame:
    trade = frame_of(trade)
    if isinstance(trade, pl.DataFrame):
        return trade.lazy()
    if isinstance(trade, pl.LazyFrame):
        return trade
    raise InputError(
        f"{what} must be a polars DataFrame or LazyFrame",
        value=type(trade).__name__,
        hint="pass rerouting.read_trade(...)'s result or a canonical pl.DataFrame",
    )


def _bloc_map(blocs: Mapping[str, Sequence[str]]) -> dict[str, str]:
    member_to_bloc: dict[str, str] = {}
    for bloc, members in blocs.items():
        if isinstance(members, str):
            raise ConfigError(
                f"members of bloc {bloc!r} must be a list of ISO3 codes, not one string",
                column="blocs",
                value=members,
                hint=f'write blocs={{"{bloc}": ["AUT", "BEL", ...]}}',
            )
        for member in members:
            other = member_to_bloc.get(member)
            if other is not None and other != bloc:
                raise ConfigError(
                    f"country {member!r} is in two blocs, {other!r} and {bloc!r}",
                    column="blocs",
                    value=member,
                    hint="each country may belong to one bloc per call",
                )
            member_to_bloc[member] = bloc
    return member_to_bloc


def _prepare(
    trade: FrameLike,
    *,
    include_re_exports: bool,
    blocs: Mapping[str, Sequence[str]] | None,
) -> tuple[pl.LazyFrame, bool]:
    """Side-tag canonical rows: one row per record with exporter/importer and split values.

    Returns the lazy frame and whether it carries a reconciled-source flag.
    """
    trade = frame_of(trade)
    lf = _as_lazy(trade)
    schema = lf.collect_schema()
    missing = [c for c in _REQUIRED if c not in schema]
    if missing:
        raise SchemaError.from_missing_columns(missing, list(schema))
    for col in ("reporter", "partner", "hs"):
        if schema[col] != pl.String:
            raise SchemaError(
                f"column {col!r} must be a string column",
                column=col,
                value=str(schema[col]),
                hint="use the canonical schema (rerouting.schema.CANONICAL_SCHEMA); "
                "HS codes are strings so leading zeros survive",
            )
    if isinstance(trade, pl.DataFrame):
        _check_values(trade)

    flow = pl.col("flow").cast(FLOW_DTYPE)
    if not include_re_exports:
        lf = lf.filter(flow != "re-export")
    is_x = flow.is_in(_EXPORT_FLOWS)
    none = pl.lit(None, pl.Float64)
    kg = pl.col("net_weight_kg").cast(pl.Float64) if "net_weight_kg" in schema else none
    value = pl.col("value").cast(pl.Float64)
    common: dict[str, pl.Expr] = {
        "hs": pl.col("hs"),
        "frequency": pl.col("frequency").cast(FREQUENCY_DTYPE),
        "period": pl.col("period").cast(pl.Date),
        "currency": pl.col("currency") if "currency" in schema else pl.lit(None, pl.String),
    }
    has_source = "source" in schema
    if has_source:
        common["is_rec"] = pl.col("source").is_in(sorted(RECONCILED_SOURCES))
    # Two renaming selections, concatenated, were measured cheaper than building the
    # exporter/importer columns row by row with when/then (no new strings are made).
    exports = lf.filter(is_x).select(
        exporter=pl.col("reporter"),
        importer=pl.col("partner"),
        **common,
        is_x=pl.lit(True),
        xv=value,
        mv=none,
        xk=kg,
        mk=none,
    )
    imports = lf.filter(~is_x).select(
        exporter=pl.col("partner"),
        importer=pl.col("reporter"),
        **common,
        is_x=pl.lit(False),
        xv=none,
        mv=value,
        xk=none,
        mk=kg,
    )
    tagged = pl.concat([exports, imports])
    if blocs:
        mapping = _bloc_map(blocs)
        tagged = tagged.with_columns(
            pl.col("exporter").replace(mapping), pl.col("importer").replace(mapping)
        )
    return tagged, has_source


def _check_values(df: pl.DataFrame) -> None:
    """Eager checks that are cheap on a materialised frame (skipped for LazyFrames)."""
    if df.schema["flow"] == pl.String:
        bad = df.filter(~pl.col("flow").is_in(list(FLOW_DTYPE.categories)))
        if bad.height:
            raise SchemaError(
                "unknown flow value",
                column="flow",
                value=bad.item(0, "flow"),
                hint="flows must be one of import, export, re-import, re-export",
            )
    if df.schema["frequency"] == pl.String:
        bad = df.filter(~pl.col("frequency").is_in(["M", "A"]))
        if bad.height:
            raise SchemaError(
                "unknown frequency value",
                column="frequency",
                value=bad.item(0, "frequency"),
                hint="frequency must be M (monthly) or A (annual)",
            )


def _aggregate(side_tagged: pl.LazyFrame, *, has_source: bool) -> pl.LazyFrame:
    """Sum both sides per key in one group_by over the side-tagged union.

    One hash aggregation over the union was measured faster than aggregating
    each side and joining them with a full outer join (see docs/mirror.md).
    Currency is part of the key so values in different currencies never mix.
    """
    aggs = [
        pl.col("xv").sum().alias("export_value"),
        pl.col("xv").count().alias("_cx"),
        pl.col("mv").sum().alias("import_value"),
        pl.col("mv").count().alias("_cm"),
        pl.col("xk").sum().alias("export_kg"),
        pl.col("xk").count().alias("_cxk"),
        pl.col("mk").sum().alias("import_kg"),
        pl.col("mk").count().alias("_cmk"),
        pl.col("is_x").sum().cast(pl.UInt32).alias("n_export_records"),
        pl.len().cast(pl.UInt32).alias("_n"),
    ]
    if has_source:
        aggs.append(pl.col("is_rec").any().alias("_rec"))
    out = side_tagged.group_by([*KEY, "currency"]).agg(aggs)
    # A side without any value is missing, not zero: sums of nothing become null.
    return out.with_columns(
        export_value=pl.when(pl.col("_cx") > 0).then("export_value"),
        import_value=pl.when(pl.col("_cm") > 0).then("import_value"),
        export_kg=pl.when(pl.col("_cxk") > 0).then("export_kg"),
        import_kg=pl.when(pl.col("_cmk") > 0).then("import_kg"),
        n_import_records=pl.col("_n") - pl.col("n_export_records"),
        _rec=pl.col("_rec") if has_source else pl.lit(False),
    )


def _pair_period_totals(
    side_tagged: pl.LazyFrame, *, has_source: bool, margin: float
) -> pl.LazyFrame:
    """Country-pair × period totals for the reliability scores (no product detail)."""
    lf = side_tagged.filter(~pl.col("is_rec")) if has_source else side_tagged
    return (
        lf.group_by("exporter", "importer", "frequency", "period", "currency")
        .agg(
            x=pl.col("xv").sum(),
            n_x=pl.col("xv").count().cast(pl.UInt32),
            m_fob=(pl.col("mv") / (1.0 + margin)).sum(),
            n_m=pl.col("mv").count().cast(pl.UInt32),
        )
        .with_columns(pl.col("frequency").cast(pl.String))
        .select(list(PAIR_PERIOD_SCHEMA))
    )


def _check_margin(value: float) -> None:
    if not 0.0 <= value <= 0.5:
        raise ConfigError(
            "cif_fob_margin must be between 0 and 0.5",
            column="cif_fob_margin",
            value=value,
            hint="the IMF default is 0.06; GFI's fitted margins range about 0–0.20",
        )


def _validate_reliability_table(table: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("country", "role", "score") if c not in table.columns]
    if missing:
        raise SchemaError.from_missing_columns(missing, table.columns)
    roles = set(table.get_column("role").cast(pl.String).unique().to_list())
    if not roles <= {"exporter", "importer"}:
        raise SchemaError(
            "reliability table has an unknown role",
            column="role",
            value=sorted(str(r) for r in roles - {"exporter", "importer"}),
            hint="role must be 'exporter' or 'importer' (see reporter_reliability)",
        )
    out = table.select(
        pl.col("country").cast(pl.String),
        pl.col("role").cast(pl.String),
        pl.col("score").cast(pl.Float64),
    )
    dupes = out.filter(pl.struct("country", "role").is_duplicated())
    if dupes.height:
        raise SchemaError(
            "reliability table has more than one score for a country and role",
            column="country",
            value=f"{dupes.item(0, 'country')} ({dupes.item(0, 'role')})",
            hint="keep one row per country and role",
        )
    return out


def _score_expr(column: str, table: pl.DataFrame, role: str) -> pl.Expr:
    """Map countries to their score for ``role``; unknown countries get the role median."""
    part = table.filter(pl.col("role") == role, pl.col("score").is_finite())
    if part.height == 0:
        return pl.lit(None, pl.Float64)
    median = float(part.get_column("score").median())  # type: ignore[arg-type]
    return pl.col(column).replace_strict(
        part.get_column("country"),
        part.get_column("score"),
        default=median,
        return_dtype=pl.Float64,
    )


def _prov(name: str) -> pl.Expr:
    # typed literal: no per-row string is built and cast
    return pl.lit(name, dtype=PROVENANCE_DTYPE)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def mirror(
    trade: FrameLike,
    *,
    cif_fob_margin: float = 0.06,
    margin: Literal["fixed", "pair-median"] = "fixed",
    reliability: bool | pl.DataFrame = True,
    include_re_exports: bool = True,
    blocs: Mapping[str, Sequence[str]] | None = None,
) -> pl.LazyFrame:
    """Pair exporter and importer reports into one flow table.

    Canonical rows map to the flow key as follows: ``export`` and ``re-export``
    (the latter if ``include_re_exports``) → exporter = reporter, importer =
    partner; ``import`` and ``re-import`` → importer = reporter, exporter =
    partner. Records for the same key and side are summed. Annual and monthly
    records never pair (``frequency`` is part of the key), nor do different
    currencies.

    Args:
        trade: The canonical trade table (``rerouting.schema``), eager or lazy.
        cif_fob_margin: CIF/FOB margin τ; ``M_fob = M / (1 + τ)`` (IMF DOTS: 0.06).
        margin: ``"fixed"`` uses ``cif_fob_margin`` everywhere; ``"pair-median"``
            uses, per exporter-importer pair, ``exp(median ln(M/X)) − 1`` over the
            records both sides report, clipped to [0, 0.20] (Growth Lab's cap),
            falling back to ``cif_fob_margin`` for pairs with no such record.
        reliability: ``True`` computes reporter scores from the data
            (:func:`reporter_reliability`, fixed margin); a DataFrame with
            ``country, role, score`` uses those; ``False`` weights both sides equally.
        include_re_exports: Count ``re-export`` records as exports.
        blocs: ``{"EU": ["AUT", "BEL", ...]}``: member codes are replaced by the bloc
            name on both sides before summing (intra-bloc trade becomes bloc→bloc).

    Returns:
        A LazyFrame with the columns of :data:`FLOW_COLUMNS`. Computing scores
        (``reliability=True``) runs one small aggregation eagerly; the rest is lazy.

    Raises:
        SchemaError: required columns are missing or have the wrong type.
        ConfigError: the margin or bloc mapping is invalid.
        CurrencyError: values come in several currencies (checked while scoring).
    """
    _check_margin(cif_fob_margin)
    if margin not in ("fixed", "pair-median"):
        raise ConfigError(
            "margin must be 'fixed' or 'pair-median'",
            column="margin",
            value=margin,
            hint="'fixed' applies cif_fob_margin everywhere (IMF 6%)",
        )
    tagged, has_source = _prepare(trade, include_re_exports=include_re_exports, blocs=blocs)
    flows = _aggregate(tagged, has_source=has_source)

    if margin == "pair-median":
        both = (pl.col("export_value") > 0) & (pl.col("import_value") > 0) & ~pl.col("_rec")
        pair_margin = (
            flows.filter(both)
            .group_by("exporter", "importer")
            .agg(
                _tau=((pl.col("import_value") / pl.col("export_value")).log().median().exp() - 1.0)
            )
            .with_columns(pl.col("_tau").clip(0.0, _MAX_PAIR_MARGIN))
        )
        flows = flows.join(pair_margin, on=["exporter", "importer"], how="left").with_columns(
            cif_fob_margin=pl.col("_tau").fill_null(cif_fob_margin)
        )
    else:
        flows = flows.with_columns(cif_fob_margin=pl.lit(cif_fob_margin, pl.Float64))

    table: pl.DataFrame | None = None
    if isinstance(reliability, pl.LazyFrame):
        reliability = reliability.collect()
    if isinstance(reliability, pl.DataFrame):
        table = _validate_reliability_table(reliability)
    elif reliability is True:
        pp = _pair_period_totals(tagged, has_source=has_source, margin=cif_fob_margin).collect()
        table = reliability_from_pair_periods(pp)
    elif reliability is not False:
        raise ConfigError(
            "reliability must be True, False or a table of scores",
            column="reliability",
            value=reliability,
            hint="pass reporter_reliability(trade) or a DataFrame with country, role, score",
        )
    if table is not None:
        table = table.with_columns(pl.col("role").cast(pl.String))
        a_x = _score_expr("exporter", table, "exporter")
        a_m = _score_expr("importer", table, "importer")
    else:
        a_x = a_m = pl.lit(None, pl.Float64)

    n_x, n_m = pl.col("n_export_records"), pl.col("n_import_records")
    x, m_fob = pl.col("export_value"), pl.col("import_value_fob")
    xk, mk = pl.col("export_kg"), pl.col("import_kg")
    w = pl.col("export_weight")
    flows = flows.with_columns(
        import_value_fob=cif_to_fob("import_value", "cif_fob_margin"),
        export_uv=unit_value("export_value", "export_kg"),
        import_uv=unit_value("import_value", "import_kg"),
        qty_agreement=quantity_agreement("export_kg", "import_kg"),
        provenance=pl.when("_rec")
        .then(_prov("reconciled"))
        .when((n_x > 0) & (n_m > 0))
        .then(_prov("both"))
        .when(n_x > 0)
        .then(_prov("exporter_only"))
        .otherwise(_prov("importer_only")),
        exporter_score=a_x,
        importer_score=a_m,
        # w = e^{A_X} / (e^{A_X} + e^{A_M}) written as a logistic so large scores cannot overflow
        export_weight=(
            1.0 / (1.0 + (a_m - a_x).exp()) if table is not None else pl.lit(0.5, pl.Float64)
        ).fill_null(0.5),
    ).with_columns(
        gap=absolute_gap(x, m_fob),
        rel_gap=relative_gap(x, m_fob),
        log_ratio=log_mirror_ratio(x, m_fob),
        sym_gap=symmetric_gap(x, m_fob),
        uv_ratio=uv_ratio("export_uv", "import_uv"),
        best_value=pl.when(pl.col("_rec"))
        .then(pl.coalesce(x, pl.col("import_value")))
        .when(x.is_not_null() & m_fob.is_not_null())
        .then(w * x + (1.0 - w) * m_fob)
        .otherwise(pl.coalesce(x, m_fob)),
        best_kg=pl.when(xk.is_not_null() & mk.is_not_null())
        .then(w * xk + (1.0 - w) * mk)
        .otherwise(pl.coalesce(xk, mk)),
    )
    flows = flows.with_columns(uv_in_band=uv_in_band("uv_ratio"))
    return flows.select([pl.col(c).cast(t) for c, t in FLOW_COLUMNS.items()])


def reporter_reliability(
    trade_or_flows: FrameLike,
    *,
    iterations: int = 25,
    cif_fob_margin: float = 0.06,
    min_value: float = 0.0,
    min_partners: int = 1,
) -> pl.DataFrame:
    """Reporter accuracy scores per country and role (Growth Lab style,
    docs/methods.md#reporter-reliability).

    Pair totals over all products: ``s = |X − M_fob| / (X + M_fob)`` for each
    exporter-importer pair, using only periods in which both countries reported
    (a pair reported by one side only gets ``s = 1``). Scores start at 1 and are
    updated ``iterations`` times::

        A_e = n_e / Σ_i s_ei · A_i        A_i = n_i / Σ_e s_ei · A_e

    where ``n`` counts a country's pairs. Higher is more reliable. ``mirror``
    turns them into the weight ``w = e^{A_X} / (e^{A_X} + e^{A_M})`` of the
    exporter's figure in ``best_value``. Reconciled sources (BACI) are left out.

    Args:
        trade_or_flows: The canonical trade table, or a flow table from :func:`mirror`.
        iterations: Number of updates (Growth Lab: 25).
        cif_fob_margin: τ for putting imports on an FOB basis (trade input only;
            a flow table already carries ``import_value_fob``).
        min_value: Pair totals below this count as not reported (Growth Lab: US$10k).
        min_partners: Countries with fewer partners are left out (Growth Lab: 10).

    Returns:
        DataFrame ``country, role, score, n_pairs, mean_discrepancy, reported_value``
        (``role`` is ``exporter`` or ``importer``; ``mean_discrepancy`` is the plain
        average of ``s`` over the country's pairs).
    """
    if iterations < 1:
        raise ConfigError("iterations must be at least 1", column="iterations", value=iterations)
    lf = _as_lazy(trade_or_flows, what="trade_or_flows")
    schema = lf.collect_schema()
    if "import_value_fob" in schema and "exporter" in schema:
        src = lf.filter(pl.col("provenance") != "reconciled") if "provenance" in schema else lf
        pp = (
            src.group_by("exporter", "importer", "frequency", "period", "currency")
            .agg(
                x=pl.col("export_value").sum(),
                n_x=pl.col("export_value").count().cast(pl.UInt32),
                m_fob=pl.col("import_value_fob").sum(),
                n_m=pl.col("import_value_fob").count().cast(pl.UInt32),
            )
            .with_columns(pl.col("frequency").cast(pl.String))
            .select(list(PAIR_PERIOD_SCHEMA))
            .collect()
        )
    else:
        _check_margin(cif_fob_margin)
        tagged, has_source = _prepare(trade_or_flows, include_re_exports=True, blocs=None)
        pp = _pair_period_totals(tagged, has_source=has_source, margin=cif_fob_margin).collect()
    return reliability_from_pair_periods(
        pp, iterations=iterations, min_value=min_value, min_partners=min_partners
    )


def _window(
    value: tuple[dt.date, dt.date] | str | None, field: str
) -> tuple[dt.date, dt.date] | None:
    if value is None:
        return None
    if isinstance(value, tuple) and all(isinstance(v, dt.date) for v in value):
        if len(value) != 2 or value[1] < value[0]:
            raise ConfigError(
                f"{field} must be (start, end) with start <= end", column=field, value=value
            )
        return value
    return parse_window(value, field=field)


def arrival_ratio(
    flows: pl.LazyFrame | pl.DataFrame,
    *,
    event: dt.date | str,
    by: Sequence[str] = ("exporter", "importer"),
    baseline: tuple[dt.date, dt.date] | str | None = None,
    post: tuple[dt.date, dt.date] | str | None = None,
) -> pl.DataFrame:
    """Arrival ratio ("lost in transit") before and after an event
    (docs/methods.md#arrival-ratio-and-lost-in-transit).

    ``AR = Σ M_fob / Σ X`` over a window: how much of what exporters declare
    shows up in the importers' statistics. ``delta = AR_post − AR_pre``, and::

        lost_in_transit = max(0, X_post − M_post) − max(0, X_pre − M_pre) · n_post / n_pre

    (the rise in the unmatched amount, with the baseline scaled to the post
    window's length; FT "ghost trade": LT→KZ 28/9 → 84/11 gives 0.32 → 0.13 and 54).

    Only periods in which the exporter reported some exports *and* the importer
    reported some imports (in the whole flow table, any partner or product) are
    counted: a silent importer is missing data, not lost goods. What that leaves
    out is shown in ``x_skipped`` / ``m_fob_skipped``. Pass the whole flow table
    and choose the grouping with ``by``.

    Args:
        flows: A flow table from :func:`mirror` (one frequency).
        event: When the sanctions took effect. Periods that end before it form
            the default baseline; periods that contain it or start after form
            the default post window (an annual 2022 row counts as post for a
            2022-03 event).
        by: Grouping columns, e.g. ``("exporter", "importer")`` or add ``"hs"``.
        baseline: Inclusive ``(start, end)`` on period start dates, or ``"2019-01:2021-12"``.
        post: Same, for the post window.

    Returns:
        DataFrame with ``by`` columns, ``x_pre, m_fob_pre, ar_pre, x_post, m_fob_post,
        ar_post, delta, lost_in_transit, n_periods_pre, n_periods_post, x_skipped,
        m_fob_skipped``, sorted by ``by``.
    """
    lf = _as_lazy(flows, what="flows")
    schema = lf.collect_schema()
    need = [
        "exporter",
        "importer",
        "frequency",
        "period",
        "export_value",
        "import_value_fob",
        "n_export_records",
        "n_import_records",
        *by,
    ]
    missing = [c for c in dict.fromkeys(need) if c not in schema]
    if missing:
        raise SchemaError.from_missing_columns(missing, list(schema))
    ev = event if isinstance(event, dt.date) else parse_month(event, field="event")
    base_w = _window(baseline, "baseline")
    post_w = _window(post, "post")

    freqs = lf.select(pl.col("frequency").cast(pl.String).unique()).collect().to_series()
    if freqs.len() > 1:
        raise InputError(
            "flow table mixes monthly and annual rows",
            column="frequency",
            value=sorted(freqs.drop_nulls().to_list()),
            hint="filter to one frequency first, e.g. flows.filter(pl.col('frequency') == 'M')",
        )
    next_start = (
        pl.when(pl.col("frequency").cast(pl.String) == "A")
        .then(pl.col("period").dt.offset_by("1y"))
        .otherwise(pl.col("period").dt.offset_by("1mo"))
    )
    p = pl.col("period")
    in_pre = p.is_between(*base_w) if base_w else next_start <= pl.lit(ev)
    in_post = p.is_between(*post_w) if post_w else next_start > pl.lit(ev)

    per = ["frequency", "period"]
    active_x = lf.group_by("exporter", *per).agg(_ax=(pl.col("n_export_records") > 0).any())
    active_m = lf.group_by("importer", *per).agg(_am=(pl.col("n_import_records") > 0).any())
    rows = (
        lf.with_columns(_pre=in_pre, _post=in_post)
        .filter(pl.col("_pre") | pl.col("_post"))
        .join(active_x, on=["exporter", *per], how="left")
        .join(active_m, on=["importer", *per], how="left")
        .with_columns(
            _ok=pl.col("_ax").fill_null(False) & pl.col("_am").fill_null(False),
            _x=pl.col("export_value").fill_null(0.0),
            _m=pl.col("import_value_fob").fill_null(0.0),
        )
    )
    ok_pre = pl.col("_ok") & pl.col("_pre")
    ok_post = pl.col("_ok") & pl.col("_post")
    n_pre = lf.filter(in_pre).select(pl.col("period").n_unique()).collect().item()
    n_post = lf.filter(in_post).select(pl.col("period").n_unique()).collect().item()
    out = (
        rows.group_by(list(by))
        .agg(
            x_pre=pl.col("_x").filter(ok_pre).sum(),
            m_fob_pre=pl.col("_m").filter(ok_pre).sum(),
            x_post=pl.col("_x").filter(ok_post).sum(),
            m_fob_post=pl.col("_m").filter(ok_post).sum(),
            x_skipped=pl.col("_x").filter(~pl.col("_ok")).sum(),
            m_fob_skipped=pl.col("_m").filter(~pl.col("_ok")).sum(),
        )
        .with_columns(
            ar_pre=pl.when(pl.col("x_pre") > 0).then(pl.col("m_fob_pre") / pl.col("x_pre")),
            ar_post=pl.when(pl.col("x_post") > 0).then(pl.col("m_fob_post") / pl.col("x_post")),
            n_periods_pre=pl.lit(n_pre, pl.UInt32),
            n_periods_post=pl.lit(n_post, pl.UInt32),
        )
        .with_columns(
            delta=pl.col("ar_post") - pl.col("ar_pre"),
            lost_in_transit=(pl.col("x_post") - pl.col("m_fob_post")).clip(lower_bound=0.0)
            - (pl.col("x_pre") - pl.col("m_fob_pre")).clip(lower_bound=0.0)
            * (pl.lit(n_post, pl.Float64) / pl.lit(n_pre, pl.Float64) if n_pre else pl.lit(None)),
        )
        .select(
            *by,
            "x_pre",
            "m_fob_pre",
            "ar_pre",
            "x_post",
            "m_fob_post",
            "ar_post",
            "delta",
            "lost_in_transit",
            "n_periods_pre",
            "n_periods_post",
            "x_skipped",
            "m_fob_skipped",
        )
        .sort(list(by))
    )
    return out.collect()
