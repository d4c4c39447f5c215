"""Month arithmetic on first-of-month dates: the one home of period steps."""

from __future__ import annotations

import datetime as dt

__all__ = ["add_months", "count_periods"]


def add_months(d: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``d``'s month (``n`` may be negative)."""
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, 1)


def count_periods(start: dt.date, end: dt.date, step: int) -> int:
    """Periods of ``step`` months from ``start`` to ``end``, both included."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months // step + 1
