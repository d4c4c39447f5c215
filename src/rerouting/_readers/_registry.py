"""The one registry of input formats: name, header test, staging and field map.

``rerouting._io.FORMATS``, format detection, ``read_trade(format=...)`` and the CLI's
``--format`` choices all derive from :data:`READERS`. Adding a format means one module
with a ``Reader`` and one line here (CONTRIBUTING.md has the recipe).
"""

from __future__ import annotations

from typing import Final

from rerouting._readers import baci, comext, comtrade, tidy
from rerouting._readers._reader import Reader

__all__ = ["READERS", "Reader", "get_reader", "reader_for_headers"]


#: In detection order: the first reader whose ``matches`` holds reads the file.
READERS: Final[tuple[Reader, ...]] = (
    baci.READER,
    comtrade.READER_CURRENT,
    comtrade.READER_LEGACY,
    comext.READER_BULK,
    tidy.READER,
    comext.READER_BROWSER,
)


def get_reader(name: str) -> Reader | None:
    return next((r for r in READERS if r.name == name), None)


def reader_for_headers(normalised: set[str]) -> Reader | None:
    return next((r for r in READERS if r.matches(normalised)), None)
