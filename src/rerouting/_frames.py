"""What the user has: a polars frame, or the ``TradeData``/``LazyTradeData`` a reader returned."""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

import polars as pl


class _TradeLike(Protocol):
    @property
    def frame(self) -> pl.DataFrame | pl.LazyFrame: ...

    @property
    def report(self) -> Any: ...


#: A canonical trade table as any public function accepts it.
FrameLike: TypeAlias = "pl.DataFrame | pl.LazyFrame | _TradeLike"


def frame_of(trade: FrameLike) -> pl.DataFrame | pl.LazyFrame:
    """The polars frame inside ``trade``: a reader's result is unwrapped, a frame passes."""
    if isinstance(trade, pl.DataFrame | pl.LazyFrame):
        return trade
    frame = getattr(trade, "frame", None)
    if isinstance(frame, pl.DataFrame | pl.LazyFrame) and hasattr(trade, "report"):
        return frame
    return trade  # type: ignore[return-value]  # callers' own type check names the value
