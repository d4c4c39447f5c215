"""HS nomenclatures (HS2012, HS2017, HS2022) and the UN tables that link them.

Everything here reads the CSVs shipped in ``rerouting/_data`` (see NOTICE.md there)
once and caches the result. Codes are always strings with their leading zeros.

Direction conventions follow the UN Statistics Division tables:

* a *conversion table* maps every code of a newer vintage to exactly one code of an
  older vintage (``from_code`` newer, ``to_code`` older). It is what trade data is
  converted with.
* a *correlation table* lists every (newer, older) pair whose contents overlap, with
  the UN relationship ``1:1``, ``1:n``, ``n:1`` or ``n:n`` (``n`` newer codes on the
  left of the colon).
* :func:`concordance` turns the conversion table round (older → newer): each older
  code with the newer codes whose goods it held. An older code with several newer
  codes is *split* by the revision (:func:`is_split`).

One correction is applied to the UN data as shipped, because it is plainly wrong and
touches the Common High Priority List: HS2022 divided HS2017 subheading 8541.50
("other semiconductor devices") into 8541.51 (semiconductor-based transducers) and
8541.59 (other). The bundled HS2022→HS2017 tables never mention 854150 and convert
both new codes to 851712 (mobile phones), the anchor of a 1,019-pair ``n:n`` block.
We convert 854151 and 854159 to 854150 instead and add the missing correlation
pairs. :func:`corrections` lists every change.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from importlib.resources import files
from typing import TYPE_CHECKING, Final, Literal, overload

import polars as pl

from rerouting._exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "VINTAGES",
    "VINTAGE_START",
    "Vintage",
    "concordance",
    "conversion_table",
    "corrections",
    "correlation_table",
    "hs_description",
    "is_split",
    "merge_families",
    "nomenclature",
    "normalise_vintage",
    "split_codes",
    "vintage_for_period",
    "vintage_for_year",
]

Vintage = Literal["HS2012", "HS2017", "HS2022"]

#: Supported HS vintages, oldest first.
VINTAGES: Final[tuple[Vintage, ...]] = ("HS2012", "HS2017", "HS2022")

#: First day each vintage was in force (1 January of the revision year).
VINTAGE_START: Final[dict[Vintage, dt.date]] = {
    "HS2012": dt.date(2012, 1, 1),
    "HS2017": dt.date(2017, 1, 1),
    "HS2022": dt.date(2022, 1, 1),
}

_NOMENCLATURE_FILES: Final[dict[Vintage, str]] = {
    "HS2012": "comtrade_classification_H4_HS2012.csv",
    "HS2017": "comtrade_classification_H5_HS2017.csv",
    "HS2022": "comtrade_classification_H6_HS2022.csv",
}

# Spellings used by Comtrade (H4..H6), BACI (HS12..HS22) and people.
_ALIASES: Final[dict[str, Vintage]] = {}
for _v, _comtrade in (("HS2012", "H4"), ("HS2017", "H5"), ("HS2022", "H6")):
    _year = _v[2:]
    for _alias in (_v, f"HS{_year[2:]}", _comtrade, _year, f"HS {_year}", f"HS-{_year}"):
        _ALIASES[_alias] = _v  # type: ignore[assignment]

#: Corrections to the UN conversion tables (newer code, older code, why).
_CONVERSION_FIXES: Final[dict[tuple[Vintage, Vintage], dict[str, str]]] = {
    ("HS2022", "HS2017"): {"854151": "854150", "854159": "854150"},
    ("HS2022", "HS2012"): {"854151": "854150", "854159": "854150"},
}
_FIX_REASON: Final = (
    "HS2022 split HS2017/HS2012 8541.50 (other semiconductor devices) into 8541.51 and "
    "8541.59; the bundled UN table omits 854150 and converts both to 851712"
)


def _read_csv(name: str) -> pl.DataFrame:
    data = files("rerouting").joinpath("_data", name).read_bytes()
    return pl.read_csv(io.BytesIO(data), infer_schema=False)


def normalise_vintage(value: str) -> Vintage:
    """Return the canonical name (``HS2012``, ``HS2017``, ``HS2022``) of a vintage.

    Accepts ``HS2017``, ``HS17``, ``H5`` (Comtrade), ``2017`` in any case.

    Raises:
        ConfigError: the vintage is unknown or not shipped (e.g. ``HS2007``).
    """
    key = str(value).strip().upper()
    if key in _ALIASES:
        return _ALIASES[key]
    raise ConfigError(
        "unsupported HS vintage",
        value=value,
        hint=f"use one of {', '.join(VINTAGES)} (Comtrade H4/H5/H6 and BACI HS12/HS17/HS22 "
        "spellings work too); older revisions are not shipped",
    )


@functools.cache
def nomenclature(vintage: str) -> pl.DataFrame:
    """The HS nomenclature of one vintage.

    Args:
        vintage: ``HS2012``, ``HS2017`` or ``HS2022`` (aliases accepted).

    Returns:
        Columns ``code`` (str), ``level`` (Int8: 2, 4 or 6), ``parent`` (str; ``TOTAL``
        for chapters) and ``description`` (str). Source: UN Comtrade classification files.
    """
    v = normalise_vintage(vintage)
    df = _read_csv(_NOMENCLATURE_FILES[v])
    return df.with_columns(pl.col("level").cast(pl.Int8))


@functools.cache
def _codes(vintage: Vintage, level: int = 6) -> pl.Series:
    nom = nomenclature(vintage)
    return nom.filter(pl.col("level") == level)["code"]


def vintage_for_year(year: int) -> Vintage:
    """The HS vintage in force in ``year`` (years before 2017 → ``HS2012``)."""
    if year >= 2022:
        return "HS2022"
    if year >= 2017:
        return "HS2017"
    return "HS2012"


def vintage_for_period(period: pl.Expr | str = "period") -> pl.Expr:
    """The HS vintage in force at each period, as a String expression.

    The expression is named ``hs_vintage``. Periods before 2017-01 → ``HS2012`` (older
    data is labelled HS2012 too, since older revisions are not shipped), 2017-01 …
    2021-12 → ``HS2017``, from 2022-01 → ``HS2022``.

    Args:
        period: A Date expression or column name.
    """
    p = pl.col(period) if isinstance(period, str) else period
    return (
        pl.when(p >= pl.lit(VINTAGE_START["HS2022"]))
        .then(pl.lit("HS2022"))
        .when(p >= pl.lit(VINTAGE_START["HS2017"]))
        .then(pl.lit("HS2017"))
        .when(p.is_not_null())
        .then(pl.lit("HS2012"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("hs_vintage")
    )


@overload
def hs_description(codes: pl.Expr, vintage: str = ...) -> pl.Expr: ...
@overload
def hs_description(codes: pl.Series | Sequence[str], vintage: str = ...) -> pl.Series: ...
def hs_description(
    codes: pl.Expr | pl.Series | Sequence[str], vintage: str = "HS2022"
) -> pl.Expr | pl.Series:
    """Describe HS codes (2, 4 or 6 digits) in one vintage.

    Args:
        codes: An expression (returns an expression) or a Series / sequence of codes
            (returns a Series of the same length). Unknown codes give null.
        vintage: The vintage to read descriptions from.

    Example:
        >>> hs_description(["854231"], "HS2022").item()  # doctest: +ELLIPSIS
        'Electronic integrated circuits; processors and controllers, ...'
    """
    nom = nomenclature(vintage)
    old, new = nom["code"], nom["description"]
    if isinstance(codes, pl.Expr):
        return codes.replace_strict(old, new, default=None, return_dtype=pl.String)
    series = codes if isinstance(codes, pl.Series) else pl.Series("code", list(codes), pl.String)
    return series.replace_strict(old, new, default=None, return_dtype=pl.String).alias(
        "description"
    )


def _check_pair(from_vintage: str, to_vintage: str) -> tuple[Vintage, Vintage]:
    src, dst = normalise_vintage(from_vintage), normalise_vintage(to_vintage)
    if VINTAGES.index(src) < VINTAGES.index(dst):
        raise ConfigError(
            f"the UN tables convert newer codes to older ones, not {src} → {dst}",
            hint=f"use concordance({src!r}, {dst!r}) for the older → newer direction "
            "(one older code may have several newer codes)",
        )
    return src, dst


@functools.cache
def conversion_table(from_vintage: str, to_vintage: str) -> pl.DataFrame:
    """The UN one-to-one conversion table from a newer vintage to an older one.

    Every six-digit code of ``from_vintage`` appears exactly once. The same vintage on
    both sides gives the identity table. See :func:`corrections` for the one pair that
    differs from the UN file.

    Returns:
        Columns ``from_code`` and ``to_code`` (str).

    Raises:
        ConfigError: ``from_vintage`` is older than ``to_vintage``.
    """
    src, dst = _check_pair(from_vintage, to_vintage)
    if src == dst:
        codes = _codes(src)
        return pl.DataFrame({"from_code": codes, "to_code": codes})
    table = _read_csv(f"un_{src.lower()}_to_{dst.lower()}_conversion.csv")
    fixes = _CONVERSION_FIXES.get((src, dst), {})
    if fixes:
        table = table.with_columns(
            pl.col("from_code")
            .replace_strict(list(fixes), list(fixes.values()), default=None)
            .fill_null(pl.col("to_code"))
            .alias("to_code")
        )
    return table


def _relationship(pairs: pl.DataFrame) -> pl.DataFrame:
    """Pair-level UN relationship for (from_code newer, to_code older) pairs."""
    return (
        pairs.unique(maintain_order=True)
        .with_columns(
            n_to=pl.len().over("from_code"),
            n_from=pl.len().over("to_code"),
        )
        .with_columns(
            relationship=pl.when((pl.col("n_from") > 1) & (pl.col("n_to") > 1))
            .then(pl.lit("n:n"))
            .when(pl.col("n_from") > 1)
            .then(pl.lit("n:1"))
            .when(pl.col("n_to") > 1)
            .then(pl.lit("1:n"))
            .otherwise(pl.lit("1:1"))
        )
        .drop("n_to", "n_from")
    )


@functools.cache
def correlation_table(from_vintage: str, to_vintage: str) -> pl.DataFrame:
    """The UN correlation table between a newer and an older vintage.

    HS2022→HS2017 and HS2017→HS2012 are the UN tables as published (with the
    :func:`corrections` pairs added; note HS2022→HS2017 contains large ``n:n`` blocks).
    HS2022→HS2012 is composed from the two, and its ``relationship`` is computed per pair.

    Returns:
        Columns ``from_code`` (newer), ``to_code`` (older) and ``relationship``
        (``1:1``, ``1:n``, ``n:1``, ``n:n``; ``n`` newer codes on the left).
    """
    src, dst = _check_pair(from_vintage, to_vintage)
    if src == dst:
        return conversion_table(src, dst).with_columns(relationship=pl.lit("1:1"))
    if (src, dst) == ("HS2022", "HS2012"):
        first = correlation_table("HS2022", "HS2017").select(
            "from_code", pl.col("to_code").alias("mid")
        )
        second = correlation_table("HS2017", "HS2012").select(
            pl.col("from_code").alias("mid"), "to_code"
        )
        pairs = first.join(second, on="mid").select("from_code", "to_code")
        return _relationship(pairs.sort("from_code", "to_code"))
    table = _read_csv(f"un_{src.lower()}_to_{dst.lower()}_correlation.csv").select(
        "from_code", "to_code", "relationship"
    )
    if (src, dst) == ("HS2022", "HS2017"):
        extra = pl.DataFrame(
            {
                "from_code": list(_CONVERSION_FIXES[(src, dst)]),
                "to_code": list(_CONVERSION_FIXES[(src, dst)].values()),
                "relationship": ["n:n"] * len(_CONVERSION_FIXES[(src, dst)]),
            }
        )
        table = pl.concat([table, extra]).unique(["from_code", "to_code"], maintain_order=True)
    return table


def corrections() -> pl.DataFrame:
    """Every place where rerouting's tables differ from the bundled UN files.

    Returns:
        Columns ``from_vintage``, ``to_vintage``, ``from_code``, ``un_to_code``,
        ``to_code`` and ``reason``.
    """
    rows: list[tuple[str, str, str, str | None, str, str]] = []
    for (src, dst), fixes in _CONVERSION_FIXES.items():
        un = _read_csv(f"un_{src.lower()}_to_{dst.lower()}_conversion.csv")
        un_map = dict(zip(un["from_code"], un["to_code"], strict=True))
        rows.extend(
            (src, dst, new, un_map.get(new), old, _FIX_REASON) for new, old in fixes.items()
        )
    return pl.DataFrame(
        rows,
        schema=["from_vintage", "to_vintage", "from_code", "un_to_code", "to_code", "reason"],
        orient="row",
    )


@functools.cache
def concordance(old_vintage: str, new_vintage: str) -> pl.DataFrame:
    """Older → newer codes: for each older code, the newer codes holding its goods.

    Built from the conversion table turned round (every newer code belongs to exactly
    one older code, so the newer codes are partitioned cleanly). Older codes that no
    newer code converts to (codes deleted by the revision) fall back to the correlation
    table. HS2017 ``300219`` appears in neither bundled HS2022 table and has no row.

    Args:
        old_vintage: The older vintage (e.g. ``HS2017``).
        new_vintage: The newer vintage (e.g. ``HS2022``).

    Returns:
        Columns ``old_code``, ``new_code``, ``n_new`` (newer codes for this older code)
        and ``via`` (``conversion`` or ``correlation``), sorted by ``old_code``.
    """
    new, old = _check_pair(new_vintage, old_vintage)
    conv = conversion_table(new, old).select(
        pl.col("to_code").alias("old_code"), pl.col("from_code").alias("new_code")
    )
    orphans = _codes(old).filter(~_codes(old).is_in(conv["old_code"].implode()))
    corr = (
        correlation_table(new, old)
        .filter(pl.col("to_code").is_in(orphans.implode()))
        .select(pl.col("to_code").alias("old_code"), pl.col("from_code").alias("new_code"))
    )
    both = pl.concat(
        [
            conv.with_columns(via=pl.lit("conversion")),
            corr.with_columns(via=pl.lit("correlation")),
        ]
    )
    return (
        both.with_columns(n_new=pl.len().over("old_code").cast(pl.UInt32))
        .select("old_code", "new_code", "n_new", "via")
        .sort("old_code", "new_code")
    )


def split_codes(old_vintage: str = "HS2017", new_vintage: str = "HS2022") -> pl.DataFrame:
    """Older codes that the revision split into several newer codes.

    Example: HS2017 ``854150`` → HS2022 ``854151``, ``854159``; ``854140`` →
    ``854141``, ``854142``, ``854143``, ``854149``.

    Returns:
        Columns ``old_code`` and ``new_codes`` (list of str, sorted).
    """
    return (
        concordance(old_vintage, new_vintage)
        .filter(pl.col("n_new") > 1)
        .group_by("old_code", maintain_order=True)
        .agg(pl.col("new_code").sort().alias("new_codes"))
    )


def is_split(
    code: pl.Expr | str = "hs", old_vintage: str = "HS2017", new_vintage: str = "HS2022"
) -> pl.Expr:
    """Boolean expression: is this ``old_vintage`` HS6 code split in ``new_vintage``?

    Codes that are not six-digit ``old_vintage`` codes give ``False``.
    """
    expr = pl.col(code) if isinstance(code, str) else code
    split = split_codes(old_vintage, new_vintage)["old_code"]
    return expr.is_in(split.implode()).fill_null(False)


@functools.cache
def merge_families(old_vintage: str, new_vintage: str) -> dict[str, str]:
    """Older codes that must be read together across a revision, mapped to one code.

    A revision can delete an older code and move its goods into newer codes that the
    UN conversion table maps back to *other* older codes (HS2017 ``620112`` went into
    HS2022 ``620130``, which converts to HS2017 ``620192``). Harmonised to the older
    vintage, the goods of ``620112`` then read "vanished" from 2022 and ``620192``
    reads "jumped". Such codes form a family (the connected parts of the graph
    "deleted code → its newer codes → the older codes they convert to", the method of
    Pierce & Schott 2012, docs/methods.md#detection-changes-of-the-second-wave, followed within
    the deleted code's heading); every member
    maps to one representative: the smallest member code that the revision kept.

    Returns:
        ``{member: representative}`` for every member of a family of two or more codes
        (representatives map to themselves).
    """
    new, old = _check_pair(new_vintage, old_vintage)
    conc = concordance(old, new)
    deleted = conc.filter(pl.col("via") == "correlation")
    back = dict(conversion_table(new, old).iter_rows())
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            c = parent[c]
        return c

    # Follow a deleted code into newer codes of its own heading; a move to another
    # heading counts only when it is the only one (a few goods of many codes went to
    # HS2022's new e-waste heading 8549: that is not a merge of those codes).
    same = pl.col("new_code").str.slice(0, 4) == pl.col("old_code").str.slice(0, 4)
    deleted = deleted.filter(same | (~same.any().over("old_code") & (pl.col("n_new") == 1)))
    for code, successor in deleted.select("old_code", "new_code").iter_rows():
        target = back.get(successor)
        if target is not None and target != code:
            a, b = find(code), find(target)
            if a != b:
                parent[max(a, b)] = min(a, b)
    gone = set(deleted["old_code"])
    groups: dict[str, list[str]] = {}
    for c in list(parent):
        groups.setdefault(find(c), []).append(c)
    out: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        kept = sorted(m for m in members if m not in gone) or sorted(members)
        out.update(dict.fromkeys(members, kept[0]))
    return out
