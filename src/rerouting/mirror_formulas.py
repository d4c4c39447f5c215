"""The mirror formulas as ``pl.Expr`` factories, usable on any frame.

Each factory takes column names or expressions (numbers where a constant makes
sense), in (exporter, importer) order, and returns a ``pl.Expr``; each docstring
gives the formula, its source and a worked example. :func:`rerouting.mirror`
builds its flow table's gap, ratio and unit-value columns with them
(``docs/mirror.md``, "Formulas and sources")::

    import polars as pl
    from rerouting.mirror_formulas import cif_to_fob, log_mirror_ratio

    df = pl.DataFrame({"export_value": [100.0], "import_value": [84.8]})
    df.with_columns(m_fob=cif_to_fob("import_value", 0.06)).with_columns(
        lr=log_mirror_ratio("export_value", "m_fob")
    )
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "absolute_gap",
    "cif_to_fob",
    "log_mirror_ratio",
    "quantity_agreement",
    "relative_gap",
    "symmetric_gap",
    "unit_value",
    "uv_in_band",
    "uv_ratio",
]

#: A column name or an expression.
IntoExpr = str | pl.Expr
#: A column name, an expression or a number.
IntoNumber = str | pl.Expr | float


def _e(x: IntoNumber) -> pl.Expr:
    if isinstance(x, pl.Expr):
        return x
    if isinstance(x, str):
        return pl.col(x)
    return pl.lit(float(x), dtype=pl.Float64)


def cif_to_fob(import_value: IntoExpr, margin: IntoNumber) -> pl.Expr:
    """Put an importer's CIF value on an FOB basis: ``M_fob = M / (1 + τ)``.

    With the default ``τ = 0.06`` this is the IMF DOTS convention (CIF/FOB = 1.06,
    IMF DOTS Yearbook 2017). GFI's ``gaps.R`` uses the same division with a modelled τ.

    Args:
        import_value: Column name or expression of the CIF import value.
        margin: The CIF/FOB margin τ (a number, or a column/expression per row).

    Example:
        ``cif_to_fob(pl.lit(106.0), 0.06)`` evaluates to ``100.0``.
    """
    return _e(import_value) / (1.0 + _e(margin))


def absolute_gap(x: IntoExpr, m_fob: IntoExpr) -> pl.Expr:
    """Mirror gap ``M_fob − X`` (GFI ``gaps.R``; docs/methods.md#mirror-gaps-and-ciffob-margins).

    Positive: the importer reports more. Negative: the exporter reports more, the
    lost-in-transit direction. Null when either side is null.

    Example:
        ``X = 100, M_fob = 80`` gives ``−20``.
    """
    return _e(m_fob) - _e(x)


def relative_gap(x: IntoExpr, m_fob: IntoExpr) -> pl.Expr:
    """Relative gap ``(M_fob − X) / max(X, M_fob)`` in [−1, 1]
    (docs/methods.md#mirror-gaps-and-ciffob-margins).

    Example:
        ``X = 100, M_fob = 80`` gives ``−0.2``.
    """
    xe, me = _e(x), _e(m_fob)
    return (me - xe) / pl.max_horizontal(xe, me)


def log_mirror_ratio(x: IntoExpr, m_fob: IntoExpr) -> pl.Expr:
    """Log mirror ratio ``ln(M_fob / X)``: the ``log_ratio`` column of the flow table.

    GFI regresses ``ln(v_M/v_X)`` (docs/methods.md#mirror-gaps-and-ciffob-margins).

    Null unless both values are positive (a missing side is no evidence of zero trade).

    Example:
        ``X = 100, M_fob = 50`` gives ``ln 0.5 = −0.693``.
    """
    xe, me = _e(x), _e(m_fob)
    return pl.when((xe > 0) & (me > 0)).then((me / xe).log())


def symmetric_gap(x: IntoExpr, m: IntoExpr) -> pl.Expr:
    """Symmetric discrepancy ``|X − M| / (X + M)`` in [0, 1].

    Growth Lab's ``reporting_discrepancy`` (``trade_analysis_cleaner.py``), there
    computed on pair totals with ``M`` on an FOB basis. Null when ``X + M = 0``.

    Example:
        ``X = 100, M = 60`` gives ``40 / 160 = 0.25``.
    """
    xe, me = _e(x), _e(m)
    total = xe + me
    return pl.when(total > 0).then((xe - me).abs() / total)


def quantity_agreement(q_x: IntoExpr, q_m: IntoExpr) -> pl.Expr:
    """Quantity agreement ``a = 1 − |q_M − q_X| / max(q_M, q_X)`` in [0, 1].

    GFI ``gaps.R`` weights value gaps by this; 1 means both sides report the same
    quantity. Null when either quantity is null or both are 0.

    Example:
        ``q_X = 1000 kg, q_M = 800 kg`` gives ``1 − 200/1000 = 0.8``.
    """
    qx, qm = _e(q_x), _e(q_m)
    top = pl.max_horizontal(qx, qm)
    return pl.when(qx.is_not_null() & qm.is_not_null() & (top > 0)).then(
        1.0 - (qm - qx).abs() / top
    )


def unit_value(value: IntoExpr, kg: IntoExpr) -> pl.Expr:
    """Unit value ``UV = value / kg``; null when ``kg`` is null or not positive.

    Example:
        ``value = 5000, kg = 250`` gives ``20`` per kg.
    """
    ke = _e(kg)
    return pl.when(ke > 0).then(_e(value) / ke)


def uv_ratio(uv_x: IntoExpr, uv_m: IntoExpr) -> pl.Expr:
    """Unit-value ratio ``UV_M / UV_X`` (GFI ``cifob_model.R`` training filter; F2).

    Arguments follow the (exporter, importer) order of the other factories.

    Example:
        ``UV_X = 20, UV_M = 25`` gives ``1.25``.
    """
    ux, um = _e(uv_x), _e(uv_m)
    return pl.when(ux > 0).then(um / ux)


def uv_in_band(ratio: IntoExpr, low: float = 0.75, high: float = 1.75) -> pl.Expr:
    """Whether a unit-value ratio lies strictly inside ``(low, high)``.

    GFI keeps mirror pairs with ``0.75 < UV_M/UV_X < 1.75`` as consistent
    (``cifob_model.R``). Null when the ratio is null.

    Example:
        ``1.25`` → ``True``; ``2.0`` → ``False``; ``0.75`` → ``False``.
    """
    r = _e(ratio)
    return (r > low) & (r < high)
