from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerouting import IngestReport
from rerouting._ingest import DROP_REASONS, FileReport


def test_report_must_add_up() -> None:
    with pytest.raises(ValueError, match="accounting is broken"):
        IngestReport(rows_read=10, rows_kept=5, dropped={"duplicate": 4})


def test_summary_and_frame_name_every_reason() -> None:
    report = IngestReport(
        rows_read=10,
        rows_kept=6,
        records_out=5,
        dropped={"aggregate_partner": 3, "unmapped_partner": 1},
        examples={"unmapped_partner": ("999",)},
    )
    text = report.summary()
    assert "read 10 rows" in text
    assert DROP_REASONS["aggregate_partner"] in text
    assert "e.g. 999" in text
    frame = report.to_frame()
    assert frame["rows"].sum() == 10
    assert set(frame["reason"]) == {"kept", "aggregate_partner", "unmapped_partner"}


counts = st.dictionaries(st.sampled_from(sorted(DROP_REASONS)), st.integers(0, 1000), max_size=5)


@given(kept_a=st.integers(0, 1000), drop_a=counts, kept_b=st.integers(0, 1000), drop_b=counts)
def test_combined_reports_still_add_up(
    kept_a: int, drop_a: dict[str, int], kept_b: int, drop_b: dict[str, int]
) -> None:
    a = IngestReport(
        rows_read=kept_a + sum(drop_a.values()),
        rows_kept=kept_a,
        dropped=drop_a,
        files=(FileReport(path="a", format="tidy", rows_read=1, rows_kept=1),),
    )
    b = IngestReport(rows_read=kept_b + sum(drop_b.values()), rows_kept=kept_b, dropped=drop_b)
    total = a + b
    assert total.rows_read == a.rows_read + b.rows_read
    assert total.rows_kept + total.rows_dropped == total.rows_read
