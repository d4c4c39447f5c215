"""The offline HTML report of a scan and the notebook view of a ``RouteTable``.

``RouteTable.to_html`` and ``RouteTable._repr_html_`` call these; see
``docs/report.md`` for what the report contains.
"""

from __future__ import annotations

from rerouting._report._html import render_html, repr_html, write_html

__all__ = ["render_html", "repr_html", "write_html"]
