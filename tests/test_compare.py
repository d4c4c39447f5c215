"""The route-table comparison the equivalence tests rest on can fail."""

from __future__ import annotations

import polars as pl
import pytest
from tests._compare import assert_routes_equal

_REF = pl.DataFrame({"hub": ["KAZ", "KGZ"], "score": [0.5, None], "value": [1e9, 2.0]})


def test_last_bit_differences_within_the_columns_scale_pass() -> None:
    got = _REF.with_columns(pl.col("value") + 1e-4)  # 1e-13 of the column's scale
    assert_routes_equal(_REF, got, "last bits")


@pytest.mark.parametrize(
    "got",
    [
        _REF.with_columns(pl.col("value") + 1.0),  # 1e-9 of the scale
        _REF.with_columns(pl.col("score").fill_null(0.0)),  # a null became a number
        _REF.with_columns(pl.lit("TUR").alias("hub")),  # a key changed
        _REF.drop("value"),  # a column went missing
    ],
)
def test_real_differences_fail(got: pl.DataFrame) -> None:
    with pytest.raises(AssertionError):
        assert_routes_equal(_REF, got, "differs")
