"""Reference data: HS nomenclatures and concordances, country blocs, named product lists.

Everything here is shipped with the package (see ``src/rerouting/_data/NOTICE.md``
for sources and licences) and documented in ``docs/reference-data.md``.
"""

from __future__ import annotations

from rerouting._blocs import (
    Bloc,
    bloc_members,
    get_bloc,
    list_blocs,
    member_expr,
    resolve_countries,
)
from rerouting._hs import (
    VINTAGES,
    concordance,
    conversion_table,
    corrections,
    correlation_table,
    hs_description,
    is_split,
    nomenclature,
    normalise_vintage,
    split_codes,
    vintage_for_period,
)
from rerouting._lists import ProductList, list_catalog, list_names, product_list, similar_codes

__all__ = [
    "VINTAGES",
    "Bloc",
    "ProductList",
    "bloc_members",
    "concordance",
    "conversion_table",
    "corrections",
    "correlation_table",
    "get_bloc",
    "hs_description",
    "is_split",
    "list_blocs",
    "list_catalog",
    "list_names",
    "member_expr",
    "nomenclature",
    "normalise_vintage",
    "product_list",
    "resolve_countries",
    "similar_codes",
    "split_codes",
    "vintage_for_period",
]
