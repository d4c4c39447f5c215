"""Mirror pairing on a synthetic world whose CIF margins, noise and silences are known."""

from __future__ import annotations

import polars as pl
import pytest

from rerouting._mirror import arrival_ratio, mirror, reporter_reliability
from rerouting.synthetic import MARGIN_RANGE, World, make_world


@pytest.fixture(scope="module")
def world() -> World:
    return make_world(seed=1)


@pytest.fixture(scope="module")
def flows(world: World) -> pl.DataFrame:
    return mirror(world.trade, margin="pair-median").collect()


def test_median_mirror_ratio_lies_in_the_planted_margin_range(
    world: World, flows: pl.DataFrame
) -> None:
    lo, hi = MARGIN_RANGE  # importers report FOB × (1 + margin), margin in [0.02, 0.12]
    both = flows.filter(pl.col("provenance") == "both")
    ratio = both.select((pl.col("import_value") / pl.col("export_value")).median()).item()
    assert 1 + lo < ratio < 1 + hi
    # after the fixed IMF 6% the median flow is within a few percent of agreement, and
    # the per-pair margin brings it closer still
    fixed = mirror(world.trade, reliability=False).filter(pl.col("provenance") == "both")
    lr_fixed = fixed.select(pl.col("log_ratio").median()).collect().item()
    lr_pair = both.select(pl.col("log_ratio").median()).item()
    assert abs(lr_fixed) < 0.06
    assert abs(lr_pair) < abs(lr_fixed)


def test_pair_median_margin_recovers_the_planted_margins(world: World, flows: pl.DataFrame) -> None:
    est = flows.group_by("exporter", "importer").agg(
        pl.col("cif_fob_margin").first(), n=(pl.col("provenance") == "both").sum()
    )
    cmp = est.join(world.margins, on=["exporter", "importer"], suffix="_true").filter(
        pl.col("n") >= 20
    )
    assert cmp.height > 500
    err = (pl.col("cif_fob_margin") - pl.col("cif_fob_margin_true")).abs()
    assert cmp.select(err.median()).item() < 0.01
    assert cmp.select(pl.corr("cif_fob_margin", "cif_fob_margin_true")).item() > 0.7


def test_silent_reporter_is_carried_by_its_partners(world: World, flows: pl.DataFrame) -> None:
    silent = world.reporters.filter(pl.col("silent_from").is_not_null())
    country, since = silent.row(0)[0], silent.item(0, "silent_from")
    after = flows.filter(pl.col("period") >= since)
    outgoing = after.filter(pl.col("exporter") == country).get_column("provenance")
    incoming = after.filter(pl.col("importer") == country).get_column("provenance")
    assert outgoing.len() > 0
    assert incoming.len() > 0
    assert set(outgoing.cast(pl.String)) == {"importer_only"}
    assert set(incoming.cast(pl.String)) == {"exporter_only"}
    before = flows.filter(pl.col("period") < since, pl.col("exporter") == country)
    assert (before.get_column("provenance") == "both").mean() > 0.8  # type: ignore[operator]


def test_noisier_reporters_score_lower(world: World) -> None:
    table = reporter_reliability(world.trade).join(world.reporters, on="country")
    by_group = dict(table.group_by("group").agg(pl.col("score").mean()).iter_rows())
    # hubs are generated with more noise and gaps than EU members
    assert by_group["hub"] < by_group["eu"]
    rho = table.filter(pl.col("role") == "exporter").select(
        pl.corr("score", "missing_rate", method="spearman")
    )
    assert rho.item() < -0.3


def test_arrival_ratio_on_the_synthetic_world(world: World, flows: pl.DataFrame) -> None:
    # every pair's arrival ratio sits near 1 when both sides report honestly: the
    # median over pairs before the event is within the noise of agreement
    ar = arrival_ratio(flows.filter(pl.col("frequency") == "M"), event=world.scenario.event).filter(
        pl.col("x_pre") > 0, pl.col("m_fob_pre") > 0
    )
    assert ar.height > 100
    assert ar.select(pl.col("ar_pre").median()).item() == pytest.approx(1.0, abs=0.05)
