"""The route table's columns as a reader sees them: meaning, unit, order and rounding.

One home for what each column of ``routes.csv`` means: ``rerouting columns`` prints it,
``docs/columns.md`` is generated from it (a test keeps the page equal to it), and the
exporters order and round columns by it. Feature meanings come from
:data:`rerouting.features.REGISTRY`, gate and evidence-term meanings from the default
score's own definitions (:data:`rerouting._score.GATES`, :data:`rerouting._score.TERMS`),
and the units of the features from their registry entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import polars as pl

from rerouting._score import GATES, TERMS
from rerouting.features import RATIO_CAP, REGISTRY

if TYPE_CHECKING:
    from rerouting._result import RouteTable

__all__ = [
    "COLUMNS",
    "LEADING",
    "Column",
    "Precision",
    "columns_markdown",
    "describe",
    "readable_routes",
]

#: How a column is rounded: money and kg to whole units, measures to 4 significant digits.
Kind = Literal["key", "text", "flag", "count", "money", "kg", "measure"]
Precision = Literal["short", "full"]

#: Significant digits kept for ratios, shares, scores and correlations.
SIGNIFICANT: Final = 4


@dataclass(frozen=True)
class Column:
    """One column of the route table.

    Attributes:
        name: The column name.
        meaning: One line: what the number says.
        unit: Its unit (``currency`` means the table's currency column).
        kind: How it is rounded (see :data:`Kind`).
    """

    name: str
    meaning: str
    unit: str
    kind: Kind


_SCORE = "0–1"

#: What a reader needs first, in this order (those present in a table).
LEADING: Final = (
    Column("rank", "rank by the chosen score (1 = most suspicious)", "rank", "count"),
    Column("route", "origin → hub → destination", "ISO3 codes or bloc names", "key"),
    Column("hs", "product code, HS6 in the scan's vintage", "HS code", "key"),
    Column("description", "product description of the HS code", "text", "text"),
    Column(
        "score",
        "the chosen score (default: the learned score; the evidence score where a hub leg "
        "is nobody's statistic)",
        _SCORE,
        "measure",
    ),
    Column(
        "priority",
        "the default order: score × (value at stake / the scan's largest)^0.1",
        _SCORE,
        "measure",
    ),
    Column(
        "value_at_stake",
        "min(pass-through bound, new trade on the hub legs) per year: an upper bound",
        "currency per year",
        "money",
    ),
    *(Column(f.name, f.doc, f.unit, f.kind) for f in REGISTRY if f.name == "pass_through"),
    Column("currency", "currency of every money column (ISO 4217)", "ISO 4217 code", "text"),
    Column("explanation", "plain-language account of what moved", "text", "text"),
    Column("missing_legs", "legs no side reports (null: all reported)", "text", "text"),
)

_KEYS: Final = (
    Column("origin", "origin country or bloc", "ISO3 code or bloc name", "key"),
    Column("hub", "hub (third country)", "ISO3 code", "key"),
    Column("destination", "destination country or bloc", "ISO3 code or bloc name", "key"),
    Column(
        "material",
        "materiality at or above the scenario's min_value",
        "true/false",
        "flag",
    ),
    Column("capped", "ratio columns of this row at the ×100 cap (null: none)", "text", "text"),
)


def _rest() -> tuple[Column, ...]:
    features = tuple(
        Column(f.name, f.doc, f.unit, f.kind) for f in REGISTRY if f.name != "pass_through"
    )
    gates = (
        Column(
            "gate", "product of the gate factors: 0 blocks the score", "multiplier 0–1", "measure"
        ),
        *(Column(f"gate_{g.name}", g.doc, "multiplier 0–1", "measure") for g in GATES),
    )
    contrib = tuple(
        Column(f"contrib_{t.name}", f"{t.doc} (weight {t.weight:g})", "score points", "measure")
        for t in TERMS
    )
    others = (
        Column(
            "evidence_score",
            "gate × weighted mean of the evidence terms (the contrib_* columns sum to it)",
            _SCORE,
            "measure",
        ),
        Column(
            "iforest_score",
            "IsolationForest anomaly score of the features (only with the isolation-forest scorer)",
            _SCORE,
            "measure",
        ),
        Column(
            "learned_score",
            "gradient-boosted trees, monotone in the evidence, on the features and the gate "
            "factors and terms, fitted on development worlds (docs/detection.md#learned-score)",
            _SCORE,
            "measure",
        ),
        Column(
            "ec_surge",
            "EC rule: the flow via the hub ≥ +100% on its baseline and > 1m a year; "
            "ordered by its yearly excess (≥ 0.5 exactly when the flag holds)",
            _SCORE,
            "measure",
        ),
        Column(
            "freund",
            "Freund C2 ∧ C4 ∧ T > 0, ordered by T (≥ 0.5 exactly when the flag holds)",
            _SCORE,
            "measure",
        ),
        Column(
            "both_up",
            "both hub legs above their baseline means, ordered by the smaller leg's excess "
            "(≥ 0.5 exactly when the flag holds)",
            _SCORE,
            "measure",
        ),
        Column("ec_surge_flag", "the EC surge rule holds", "true/false", "flag"),
        Column("freund_flag", "Freund C2, C4 and T > 0 hold", "true/false", "flag"),
        Column(
            "both_up_flag", "both hub legs are above their baseline means", "true/false", "flag"
        ),
    )
    return (*_KEYS, *features, *gates, *contrib, *others)


#: Every documented column, leading ones first.
COLUMNS: Final[dict[str, Column]] = {c.name: c for c in (*LEADING, *_rest())}

_CAPPED: Final = tuple(f.name for f in REGISTRY if "capped" in f.unit)


def describe(name: str) -> Column | None:
    """The documented column ``name``, or ``None`` if it is not documented."""
    return COLUMNS.get(name)


def _round_significant(col: str, digits: int) -> pl.Expr:
    """``col`` to ``digits`` significant digits (0, null, NaN and ±inf unchanged)."""
    x = pl.col(col)
    finite = x.is_finite() & (x != 0)
    magnitude = x.abs().log10().floor().cast(pl.Int64)
    scale = pl.lit(10.0).pow(pl.lit(digits - 1, dtype=pl.Int64) - magnitude)
    return pl.when(finite).then((x * scale).round(0) / scale).otherwise(x).alias(col)


def readable_routes(table: RouteTable, *, precision: Precision = "short") -> pl.DataFrame:
    """``table.routes`` for a reader: leading columns first, rounded, capped ratios marked.

    Adds ``route`` (origin→hub→destination), ``description``, ``currency`` and
    ``capped``; keeps every other column after them. With ``precision="short"`` money
    and kg are whole units and measures keep 4 significant digits; ``"full"`` keeps
    every digit.
    """
    routes = table._labelled()
    cap = math.log(RATIO_CAP) - 1e-9
    present = [c for c in _CAPPED if c in routes.columns]
    capped = [pl.when(pl.col(c).log().abs() >= cap).then(pl.lit(c)) for c in present]
    currency = table.resolved.currency if table.resolved is not None else None
    out = routes.with_columns(
        route=pl.concat_str(["origin", "hub", "destination"], separator="→"),
        currency=pl.lit(currency, dtype=pl.String),
        capped=pl.concat_list(capped).list.drop_nulls().list.join(", ") if capped else pl.lit(None),
    ).with_columns(pl.when(pl.col("capped") != "").then(pl.col("capped")).alias("capped"))
    # a capped ratio is the cap exactly, not 100.00000000000004
    out = out.with_columns(
        pl.when(pl.col(c).log().abs() >= cap)
        .then(pl.lit(RATIO_CAP) ** pl.col(c).log().sign())
        .otherwise(pl.col(c))
        .alias(c)
        for c in present
    )
    lead = [c.name for c in LEADING if c.name in out.columns]
    out = out.select(*lead, *(c for c in out.columns if c not in lead))
    if precision == "full":
        return out
    rounding = []
    for name, dtype in out.schema.items():
        if not dtype.is_float():
            continue
        kind = COLUMNS[name].kind if name in COLUMNS else "measure"
        if kind in ("money", "kg"):
            x = pl.col(name)
            rounding.append(pl.when(x.is_finite()).then(x.round(0)).cast(pl.Int64).alias(name))
        elif kind == "measure":
            rounding.append(_round_significant(name, SIGNIFICANT))
    return out.with_columns(rounding)


def columns_markdown() -> str:
    """The column dictionary as Markdown (``docs/columns.md`` is this text)."""
    lines = [
        "# Output columns",
        "",
        "<!-- generated by `rerouting columns --markdown`; a test keeps it equal -->",
        "",
        "What each column of `routes.csv` (and of `.json` and `.parquet` outputs) means,",
        "with its unit, in the order the columns come: what a reader needs first, then",
        "every feature. Money columns are in the `currency` column's currency. CSV and JSON",
        "round money and kg to whole units and other measures to 4 significant digits;",
        '`--precision full` (Python: `table.write_csv(path, precision="full")`) keeps',
        "every digit, and Parquet always does. Growth ratios are capped at",
        f"×{RATIO_CAP:g}: a capped value is exactly {RATIO_CAP:g} and the row's `capped`",
        "column names it.",
        "",
        "Print this table with:",
        "",
        "```console",
        "$ rerouting columns",
        "```",
        "",
        "| column | meaning | unit |",
        "|---|---|---|",
    ]
    for c in COLUMNS.values():
        meaning, unit = (text.replace("|", "\\|") for text in (c.meaning, c.unit))
        lines.append(f"| `{c.name}` | {meaning} | {unit} |")
    return "\n".join(lines) + "\n"
