"""The stumbles of a newcomer's first hour (issue 17), each pinned by a test."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import rerouting as rr
from rerouting.reference import bloc_members

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def trade() -> rr.TradeData:
    return rr.read_trade(FIXTURES / "formats" / "comext_bulk_v2_full202402_excerpt.csv.gz")


def test_mirror_takes_what_read_trade_returns(trade: rr.TradeData) -> None:
    key = ["exporter", "importer", "hs", "period"]
    got = rr.mirror(trade).collect().sort(key, nulls_last=True)
    assert got.height > 0
    assert got.equals(rr.mirror(trade.frame).collect().sort(key, nulls_last=True))


def test_harmonise_takes_a_trade_data(trade: rr.TradeData) -> None:
    lf, summary = rr.harmonise_hs_with_summary(trade)
    assert lf.collect().height == trade.frame.height
    assert summary.target.startswith("HS")
    assert rr.harmonise_hs(trade).collect().equals(rr.harmonise_hs(trade.frame).collect())


def test_convert_currency_takes_a_trade_data(trade: rr.TradeData) -> None:
    rates = pl.DataFrame({"currency": ["EUR"], "period": ["2024"], "rate": [1.08]})
    usd = rr.convert_currency(trade, to="USD", rates=rates).collect()
    assert usd["currency"].unique().to_list() == ["USD"]


def test_validate_trade_takes_a_trade_data(trade: rr.TradeData) -> None:
    assert rr.validate_trade(trade).ok == rr.validate_trade(trade.frame).ok


def test_lazy_trade_data_is_accepted_too() -> None:
    lazy = rr.scan_trade(FIXTURES / "demo" / "trade.parquet")
    assert isinstance(lazy, rr.LazyTradeData)
    assert rr.validate_trade(lazy).ok


def test_bloc_members_takes_an_iso_string() -> None:
    assert bloc_members("EU", at="2019-06-01") == bloc_members("EU", dt.date(2019, 6, 1))
    assert "GBR" in bloc_members("EU", at="2019-06")
    assert "GBR" not in bloc_members("EU", at="2021-01-01")
    with pytest.raises(rr.ConfigError, match="not a date"):
        bloc_members("EU", at="June 2019")


def test_scenario_misspelt_field_is_a_rerouting_error_with_did_you_mean() -> None:
    with pytest.raises(rr.ConfigError, match="did you mean 'products'"):
        rr.Scenario(prodcts=["441231"])  # type: ignore[call-arg]


def test_scenario_toml_misspelt_key_gets_did_you_mean(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('origin = "BLR"\ndestinaton = "EU"\nevent = "2022-03"\n', encoding="utf-8")
    with pytest.raises(rr.ConfigError, match="did you mean 'destination'"):
        rr.Scenario.from_toml(cfg)


@pytest.mark.parametrize("bad", [42, [42], None])
def test_read_trade_of_a_non_path_is_an_input_error(bad: object) -> None:
    with pytest.raises(rr.InputError, match="needs a path"):
        rr.read_trade(bad)  # type: ignore[arg-type]


def test_json_is_utf8_not_escaped(tmp_path: Path) -> None:
    from rerouting.synthetic import load_world

    demo = load_world(FIXTURES / "demo")
    table = rr.scan(demo.trade, scenario=demo.scenario, hubs=["KAZ"])
    text = table.write_json(tmp_path / "r.json").read_text(encoding="utf-8")
    assert "\\u2192" not in text
    assert "→" in text


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rerouting", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def mixed_frequencies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    df = pl.read_parquet(FIXTURES / "demo" / "trade.parquet")
    annual = df.head(20).with_columns(pl.lit("A").cast(df.schema["frequency"]).alias("frequency"))
    path = tmp_path_factory.mktemp("mixed") / "trade.parquet"
    pl.concat([df, annual]).write_parquet(path)
    return path


def test_cli_warnings_are_note_lines_and_quiet_hides_them(mixed_frequencies: Path) -> None:
    args = ["scan", mixed_frequencies, "--config", FIXTURES / "demo" / "scenario.toml"]
    loud = _cli(*args, "--hubs", "KAZ", cwd=mixed_frequencies.parent)
    assert loud.returncode == 0, loud.stderr
    assert "note: mixed frequencies" in loud.stderr
    assert "Warning" not in loud.stderr  # no category name
    assert ".py:" not in loud.stderr  # no source line
    quiet = _cli(*args, "--hubs", "KAZ", "-q", cwd=mixed_frequencies.parent)
    assert quiet.returncode == 0
    assert "mixed frequencies" not in quiet.stderr


def test_cli_debug_keeps_the_exit_code(tmp_path: Path) -> None:
    args = ("scan", tmp_path / "missing.csv", "--origin", "BLR")
    args += ("--destination", "EU", "--event", "2022-03")
    proc = _cli(*args, "--debug", cwd=tmp_path)
    plain = _cli(*args, cwd=tmp_path)
    assert plain.returncode not in (0, 1)
    assert proc.returncode == plain.returncode
    assert "Traceback" in proc.stderr


def test_an_override_error_does_not_blame_the_config_file() -> None:
    cfg = FIXTURES / "demo" / "scenario.toml"
    with pytest.raises(rr.ConfigError) as err:
        rr.Scenario.from_toml(cfg, baseline="2023-01:2023-06")
    assert err.value.column == "baseline"
    assert "scenario.toml" not in str(err.value)


# ---------------------------------------------------------------- the CLI, in-process
def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run the ``rerouting`` entry point in this process: exit code, stdout, stderr."""
    import warnings

    from rerouting._cli import main

    shown = warnings.showwarning
    try:
        with pytest.raises(SystemExit) as ended:
            main([str(a) for a in args])
    finally:
        warnings.showwarning = shown
    out, err = capsys.readouterr()
    code = ended.value.code
    return (code if isinstance(code, int) else 1), out, err


DEMO = FIXTURES / "demo" / "trade.parquet"
SCENARIO = ("--origin", "BLR", "--destination", "EU", "--event", "2022-03")


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("--origin", "XYZ", "--destination", "EU", "--event", "2022-03"), "option --origin"),
        ((*SCENARIO, "--products", "chpx"), "option --products"),
        ((*SCENARIO, "--products", "no-such-file.txt"), "option --products"),
        ((*SCENARIO, "--hubs", "BLR"), "option --hubs"),
        (("--origin", "BLR", "--destination", "BLR", "--event", "2022-03"), "--destination"),
        ((*SCENARIO, "--report", "no-such-folder/r.html"), "option --report"),
        ((*SCENARIO, "--report", "report.pdf"), "option --report"),
        (("--origin", "BLR", "--destination", "EU", "--event", "2022-13"), "option --event"),
    ],
)
def test_cli_checks_the_scenario_before_reading_the_data(
    flags: tuple[str, ...],
    named: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "scan", DEMO, *flags)
    assert code == 2, err
    assert named in err
    assert "Read" not in err  # failed before the read started
    assert "format:" not in err


def test_cli_blames_the_config_file_for_its_own_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('origin = "BLR"\ndestination = "XYZ"\nevent = "2022-03"\n', encoding="utf-8")
    code, _, err = _run(capsys, "scan", DEMO, "--config", cfg)
    assert code == 2
    assert f"file {cfg}" in err
    assert "column 'destination'" in err
    assert "Read" not in err


@pytest.fixture
def valu_csv(tmp_path: Path) -> Path:
    text = (FIXTURES / "formats" / "tidy_sample.csv").read_text(encoding="utf-8")
    head, _, body = text.partition("\n")
    path = tmp_path / "valu.csv"
    path.write_text(head.replace(",value,", ",valu,") + "\n" + body, encoding="utf-8")
    return path


def test_near_miss_columns_say_which_format_and_what_is_missing(
    valu_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "validate", valu_csv)
    assert code == 3
    assert "looks like tidy, missing 'value' (did you mean 'valu'?)" in err
    # CLI syntax for the CLI ...
    assert "hint: map it: --columns value=valu" in err
    assert "columns={" not in err
    assert "format='" not in err
    # ... and Python syntax for Python
    with pytest.raises(rr.FormatDetectionError) as python:
        rr.read_trade(valu_csv)
    assert "columns={'value': 'valu'}" in str(python.value)
    assert "--columns" not in str(python.value)
    # the hint works
    assert _run(capsys, "validate", valu_csv, "--columns", "value=valu")[0] == 0


def test_a_mapped_column_that_is_not_there_gets_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (FIXTURES / "formats" / "tidy_sample.csv").read_text(encoding="utf-8")
    path = tmp_path / "rep.csv"
    path.write_text(text.replace("reporter", "Reporter ISO3", 1), encoding="utf-8")
    code, _, err = _run(capsys, "validate", path, "--columns", "reporter=Reporter ISO")
    assert code == 3
    assert "column 'Reporter ISO' not found; did you mean 'Reporter ISO3'?" in err
    assert "--columns 'reporter=Reporter ISO3'" in err
    with pytest.raises(rr.SchemaError, match=r"columns=\{'reporter': 'Reporter ISO3'\}"):
        rr.read_trade(path, columns={"reporter": "Reporter ISO"})


def test_no_python_syntax_in_cli_hints_for_unknown_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("x,y\n1,2\n", encoding="utf-8")
    code, _, err = _run(capsys, "validate", path)
    assert code == 3
    assert "--format" in err
    assert "--columns" in err
    assert "format='" not in err
    assert "columns={" not in err


@pytest.fixture
def folder(tmp_path: Path, valu_csv: Path) -> Path:
    d = tmp_path / "downloads"
    d.mkdir()
    (d / "a.csv").write_bytes((FIXTURES / "formats" / "tidy_sample.csv").read_bytes())
    valu_csv.rename(d / "b.csv")
    (d / "c.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    src = FIXTURES / "formats" / "comtrade_plus_armenia_cars_2022.csv"
    (d / "d.csv").write_bytes(src.read_bytes())
    return d


def test_validate_of_a_folder_reports_every_file_and_exits_with_the_worst(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "validate", folder)
    assert code == 3
    lines = {Path(line.split()[1].rstrip(":")).name: line for line in out.splitlines()}
    assert lines["a.csv"].startswith("ok")
    assert "tidy, read 10, kept 5" in lines["a.csv"]
    assert lines["b.csv"].startswith("FAIL")
    assert "did you mean 'valu'" in lines["b.csv"]
    assert lines["c.csv"].startswith("FAIL")
    assert lines["d.csv"].startswith("ok")
    assert "comtrade" in lines["d.csv"]


def test_validate_of_good_files_shows_each_format_and_the_file_count(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "b.csv").unlink()
    (folder / "c.csv").unlink()
    code, out, err = _run(capsys, "validate", folder)
    assert code == 0, err
    assert "Read 2 files" in err  # not "1 input(s)" for a folder
    assert "format: tidy (1 file), comtrade (1 file)" in err  # without -v
    assert sum(line.startswith("ok") for line in out.splitlines()) == 2


def test_examples_are_not_repeated_across_files() -> None:
    from rerouting._ingest import IngestReport

    one = IngestReport(
        rows_read=1, dropped={"commodity_total": 1}, examples={"commodity_total": ("TOTAL",)}
    )
    both = one + one
    assert both.examples["commodity_total"] == ("TOTAL",)
    assert "TOTAL, TOTAL" not in both.summary()


def test_a_product_list_absent_from_the_data_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "scan", DEMO, *SCENARIO, "--products", "chpl", "-q")
    assert code == 4
    assert "none of the 50 codes of product list 'chpl' occur in the data" in err
    assert "no hub trades" not in err
    assert "rerouting lists" in err  # CLI advice


def test_scenario_errors_from_python_are_not_double_wrapped() -> None:
    with pytest.raises(rr.ConfigError) as err:
        rr.Scenario(origin="BLR", destination="EU", event="2022-13")
    assert str(err.value).count("Hint:") == 1
    assert "invalid scenario" not in str(err.value)
    assert err.value.column == "event"


def test_verdict_counts_planted_routes_above_every_decoy() -> None:
    from types import SimpleNamespace

    from rerouting._evaluate import verdict

    key = {"origin": "BLR", "destination": "EU"}
    truth = pl.DataFrame(
        [
            {**key, "hub": "KAZ", "hs": "1", "kind": "route", "decoy_type": None},
            {**key, "hub": "KGZ", "hs": "2", "kind": "route", "decoy_type": None},
            {**key, "hub": "ARM", "hs": "3", "kind": "route", "decoy_type": None},
            {**key, "hub": "UZB", "hs": "4", "kind": "decoy", "decoy_type": "price_shock"},
        ]
    )
    routes = pl.DataFrame(
        [
            {**key, "hub": "KAZ", "hs": "1", "rank": 1},
            {**key, "hub": "UZB", "hs": "4", "rank": 2},
            {**key, "hub": "KGZ", "hs": "2", "rank": 3},
        ]
    )
    line = verdict(truth, SimpleNamespace(routes=routes))  # type: ignore[arg-type]
    assert line.startswith("verdict: 1/3 planted routes rank above every decoy")
    assert "#2 (price_shock: UZB 4)" in line
    assert "1 planted route(s) not found" in line


def test_demo_ends_with_a_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "demo", "-q", "--top", "3")
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"verdict: \d+/8 planted routes rank above every decoy; .*", last), last


# ---------------------------------------------------------------- outputs an analyst can read
@pytest.fixture(scope="module")
def kaz_table() -> rr.RouteTable:
    from rerouting.synthetic import load_world

    demo = load_world(FIXTURES / "demo")
    return rr.scan(demo.trade, scenario=demo.scenario, hubs=["KAZ", "KGZ"])


def test_routes_lead_with_what_a_reader_needs(kaz_table: rr.RouteTable) -> None:
    out = kaz_table.readable()
    lead = [
        "rank",
        "route",
        "hs",
        "description",
        "score",
        "priority",
        "value_at_stake",
        "pass_through",
        "currency",
    ]
    assert out.columns[: len(lead) + 2] == [*lead, "explanation", "missing_legs"]
    assert out["route"][0] == f"{out['origin'][0]}→{out['hub'][0]}→{out['destination'][0]}"
    assert out["currency"].unique().to_list() == ["USD"]
    assert out["description"].null_count() < out.height  # HS descriptions joined
    assert set(kaz_table.routes.columns) <= set(out.columns)  # every feature follows


def test_numbers_are_rounded_and_capped_ratios_marked(kaz_table: rr.RouteTable) -> None:
    from rerouting.features import RATIO_CAP

    short, full = kaz_table.readable(), kaz_table.readable(precision="full")
    assert short.schema["pass_through"] == pl.Int64  # money in whole units
    assert short.schema["oh_excess_kg"] == pl.Int64
    ratios = short["oh_ratio_kg"].drop_nulls()
    assert all(len(f"{abs(x):.6e}".split("e")[0].replace(".", "").rstrip("0")) <= 4 for x in ratios)
    assert (full["score"] != short["score"]).any()  # full keeps the digits
    capped = short.filter(pl.col("capped").str.contains("hd_ratio_kg", literal=True))
    assert capped.height > 0
    assert set(capped["hd_ratio_kg"]) == {RATIO_CAP}  # exactly the cap, not 100.00000000000004
    uncapped = short.filter(pl.col("capped").is_null())
    assert (uncapped["hd_ratio_kg"].drop_nulls() < RATIO_CAP).all()


def test_every_route_column_is_documented(kaz_table: rr.RouteTable) -> None:
    from rerouting._columns import COLUMNS

    undocumented = [c for c in kaz_table.readable().columns if c not in COLUMNS]
    assert undocumented == [], "add them to rerouting._columns (and regenerate docs/columns.md)"
    unitless = [c.name for c in COLUMNS.values() if not c.unit]
    assert unitless == []
    from rerouting._result import OPTIONAL_SCORE_COLUMNS

    # description: added by top(); the optional scores: only when their scorer ranks
    extra = {"description", *OPTIONAL_SCORE_COLUMNS}
    stale = [c for c in COLUMNS if c not in kaz_table.readable().columns and c not in extra]
    assert stale == []


def test_docs_columns_md_is_generated_from_the_code() -> None:
    from rerouting._columns import columns_markdown

    page = (FIXTURES.parent / "docs" / "columns.md").read_text(encoding="utf-8")
    assert page == columns_markdown(), "run: rerouting columns --markdown > docs/columns.md"


def test_columns_command_lists_every_column(capsys: pytest.CaptureFixture[str]) -> None:
    from rerouting._columns import COLUMNS

    code, out, _ = _run(capsys, "columns", "--markdown")
    assert code == 0
    for name in COLUMNS:
        assert f"| `{name}` |" in out


def test_cli_routes_csv_is_readable_and_full_precision_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = FIXTURES / "demo" / "scenario.toml"
    short, full = tmp_path / "short.csv", tmp_path / "full.csv"
    args = ("scan", DEMO, "--config", cfg, "--hubs", "KAZ", "-q")
    assert _run(capsys, *args, "-o", short)[0] == 0
    assert _run(capsys, *args, "-o", full, "--precision", "full")[0] == 0
    header = short.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith(
        "rank,route,hs,description,score,priority,value_at_stake,pass_through,currency,explanation"
    )
    assert "100.00000000000" not in short.read_text(encoding="utf-8")
    a, b = pl.read_csv(short), pl.read_csv(full)
    assert a.width == b.width
    assert (a["score"] - b["score"]).abs().max() < 1e-4  # type: ignore[operator]


# ---------------------------------------------------------------- the report
@pytest.mark.parametrize(
    ("base", "post", "shown"),
    [(100.0, 5.0, "-95%"), (100.0, 240.0, "+140%"), (100.0, 1500.0, "×15"), (0.0, 5.0, "new")],
)
def test_report_changes_read_as_new_or_times(base: float, post: float, shown: str) -> None:
    from rerouting._report._html import fmt_change

    assert fmt_change(base, post) == shown
    assert fmt_change(1.0, 1_022_344.0) == "new"  # not +102234300%


def test_report_warns_of_a_short_baseline_and_names_the_currency(
    kaz_table: rr.RouteTable,
) -> None:
    from rerouting._report._html import render_html

    page = render_html(kaz_table, top=3)
    assert "USD, as in the data" in page
    assert "Before reading" not in page  # 24-month baseline, legs reported
    from rerouting.synthetic import load_world

    demo = load_world(FIXTURES / "demo")
    table = rr.scan(demo.trade, scenario=demo.scenario, hubs=["KAZ"], baseline="2021-12:2022-02")
    page = render_html(table, top=3)
    assert "Before reading" in page
    assert "The baseline is only 3 months long" in page


def test_mixed_currency_hint_is_cli_syntax_for_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = tmp_path / "mixed.csv"
    text = (FIXTURES / "formats" / "tidy_sample.csv").read_text(encoding="utf-8")
    mixed.write_text(text, encoding="utf-8")
    code, _, err = _run(capsys, "scan", mixed, *SCENARIO)
    assert code == 3
    assert "--currency USD --rates FILE" in err
    assert "convert_currency(" not in err
    assert "Python:" not in err
    with pytest.raises(rr.CurrencyError) as python:
        rr.scan(rr.read_trade(mixed), origin="BLR", destination="EU", event="2022-03")
    assert "--currency" not in str(python.value)
