"""The twelve reproducers of issue 14 (hostile input), and its minor ones, as regression tests."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import polars as pl
import pytest
from click.testing import CliRunner

from rerouting import read_trade, scan_trade
from rerouting._cli import cli
from rerouting._exceptions import ConfigError, ParseError, ReroutingError
from rerouting._io import spool_trade

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

HEADER = "period,reporter,partner,flow,hs,value"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def rows(*partners: str, extra: str = "") -> str:
    return "".join(
        f"2022-01,KAZ,{p},import,847130,{100 * (i + 1)}{extra}\n" for i, p in enumerate(partners)
    )


def test_1_stray_quotes_are_reported_with_their_line(tmp_path: Path) -> None:
    src = write(
        tmp_path / "q.csv",
        f"{HEADER},note\n"
        '2022-01,KAZ,DEU,import,847130,100,15" screen\n'
        "2022-01,KAZ,FRA,import,847130,200,b\n"
        '2022-01,KAZ,CHN,import,847130,300,17" screen\n'
        "2022-01,KAZ,USA,import,847130,400,c\n",
    )
    with pytest.raises(ParseError) as info:
        read_trade(src)
    assert info.value.line == 2
    assert info.value.file == str(src)
    assert '15" screen' in str(info.value)


def test_1_properly_quoted_fields_still_read(tmp_path: Path) -> None:
    src = write(
        tmp_path / "ok.csv",
        f'{HEADER},note\n2022-01,KAZ,DEU,import,847130,100,"15"" screen"\n'
        '"2022-01","KAZ","FRA","import","847130","200","b, c"\n',
    )
    assert read_trade(src).report.rows_kept == 2


# The two silent losses of the 20,000-input campaign: quotes that polars reads as
# balanced on every line (so the old record-count check passed) while an RFC 4180
# reader (Python's csv, the campaign's oracle) merges or splits the lines.
BALANCED_STRAY = {
    # text after a closing quote, then a quote opening a field at the line's end:
    # polars read 3 rows, csv 2 (it merges line 3 into the open field)
    "text_after_closing_quote": (
        "period,reporter,partner,flow,hs,value,note,flag,code\n"
        '2022-01,KAZ,DEU,import,847130,100,"spark-ig"nition, 3000cc",True,"C00\n'
        '2022-01,KAZ,FRA,import,847130,200,"cars, big",True,C00\n'
        '2022-01,KAZ,CHN,import,847130,300,"cars, small",True,C00\n',
        '"spark-ig"nition',
    ),
    # a quote inside a quoted field that is not doubled: same row count, but the
    # fields differ between parsers
    "undoubled_quote_in_quoted_field": (
        "period,reporter,partner,flow,hs,value,note,size\n"
        '2022-01,KAZ,DEU,import,847130,100,"cars, "big" ones",x\n'
        '2022-01,KAZ,FRA,import,847130,200,"b,c"\n',
        '"cars, "big" ones"',
    ),
}


@pytest.mark.parametrize("case", sorted(BALANCED_STRAY))
def test_1_balanced_stray_quotes_are_reported_with_line_and_column(
    tmp_path: Path, case: str
) -> None:
    text, shown = BALANCED_STRAY[case]
    src = write(tmp_path / "q.csv", text)
    for reader in (read_trade, scan_trade):
        with pytest.raises(ParseError) as info:
            reader(src)
        assert (info.value.file, info.value.line, info.value.column) == (str(src), 2, "note")
        assert info.value.value.startswith(shown)
        assert info.value.hint


def test_1_quoted_fields_spanning_lines_still_read(tmp_path: Path) -> None:
    src = write(
        tmp_path / "multi.csv",
        f'{HEADER},note\n2022-01,KAZ,DEU,import,847130,100,"two\nlines, ""quoted"""\n'
        "2022-01,KAZ,FRA,import,847130,200,b\n",
    )
    data = read_trade(src)
    assert data.report.rows_read == data.report.rows_kept == 2


@pytest.mark.parametrize("name", ["trade[v2].csv", "exports [2022].csv", "t*.csv", "t?.csv"])
def test_2_paths_are_literal(tmp_path: Path, name: str) -> None:
    write(tmp_path / name, HEADER + "\n" + rows("DEU"))
    write(tmp_path / "trade2.csv", HEADER + "\n" + rows("FRA", "CHN"))
    write(tmp_path / "t1.csv", HEADER + "\n" + rows("FRA", "CHN"))
    data = read_trade(tmp_path / name)
    assert data.frame["partner"].to_list() == ["DEU"]
    lazy = scan_trade(tmp_path / name)
    assert lazy.frame.collect()["partner"].to_list() == ["DEU"]
    folder = read_trade(tmp_path)
    assert folder.report.rows_read == 5
    assert "DEU" in folder.frame["partner"].to_list()


def test_2_parquet_paths_are_literal(tmp_path: Path) -> None:
    read_trade(write(tmp_path / "a.csv", HEADER + "\n" + rows("DEU"))).frame.write_parquet(
        tmp_path / "t[v2].parquet"
    )
    read_trade(write(tmp_path / "b.csv", HEADER + "\n" + rows("FRA"))).frame.write_parquet(
        tmp_path / "t2.parquet"
    )
    assert read_trade(tmp_path / "t[v2].parquet").frame["partner"].to_list() == ["DEU"]
    assert scan_trade(tmp_path / "t[v2].parquet").frame.collect()["partner"].to_list() == ["DEU"]


def test_2_unbalanced_bracket_is_a_file_name(tmp_path: Path) -> None:
    src = write(tmp_path / "a[b.csv", HEADER + "\n" + rows("DEU"))
    assert read_trade(src).report.rows_kept == 1


def test_3_quote_in_header_is_reported(tmp_path: Path) -> None:
    src = write(tmp_path / "h.csv", f'{HEADER},size (")\n' + rows("DEU", "FRA", extra=",x"))
    with pytest.raises(ParseError) as info:
        read_trade(src)
    assert info.value.line == 1


def test_4_cr_only_line_endings(tmp_path: Path) -> None:
    src = write(tmp_path / "mac.csv", (HEADER + "\n" + rows("DEU", "FRA")).replace("\n", "\r"))
    data = read_trade(src)
    assert data.report.rows_read == 2
    assert data.report.rows_kept == 2


def cli_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
    if result.exception and not isinstance(result.exception, ReroutingError | SystemExit):
        raise result.exception
    return result.exit_code, result.output


def run_main(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "rerouting", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_5_brackets_in_paths_and_values_print_verbatim(tmp_path: Path) -> None:
    src = write(tmp_path / "t[v2][x].csv", f"{HEADER},x\n" + rows("DEU", extra=",[/x]"))
    proc = run_main("validate", src)
    assert proc.returncode == 0, proc.stderr
    bad = write(tmp_path / "b[v2].csv", "period,[/x]\n2022,1\n")
    proc = run_main("validate", bad)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr
    assert "b[v2].csv" in proc.stderr.replace("\n", "")
    assert "[/x]" in proc.stderr.replace("\n", "")


def test_6_stream_refuses_ragged_rows_cleanly(tmp_path: Path) -> None:
    src = write(
        tmp_path / "r.csv",
        HEADER + "\n" + rows("DEU") + "2022-01,KAZ,FRA,import,847130,5,extra\n" + rows("CHN"),
    )
    for extra in ((), ("--stream",)):
        proc = run_main(
            "scan", src, "--origin", "KAZ", "--destination", "DEU", "--event", "2022-01", *extra
        )
        assert proc.returncode == 3, proc.stderr
        assert "line 3" in proc.stderr, proc.stderr


def test_7_non_finite_weights_are_dropped_and_json_has_no_nan(tmp_path: Path) -> None:
    src = write(
        tmp_path / "w.csv",
        f"{HEADER},net_weight_kg\n"
        "2022-01,KAZ,DEU,import,847130,1,NaN\n"
        "2022-01,KAZ,FRA,import,847130,1,inf\n"
        "2022-01,KAZ,CHN,import,847130,1,-5\n"
        "2022-01,KAZ,USA,import,847130,1,7\n",
    )
    data = read_trade(src)
    assert data.report.rows_kept == 1
    assert data.report.dropped == {"non_finite_quantity": 2, "negative_quantity": 1}
    out = tmp_path / "o.json"
    frame = pl.DataFrame({"x": [math.nan, 1.0, math.inf]})
    from rerouting._cli import _write

    _write(frame, str(out), raw_csv=False)
    assert json.loads(out.read_text()) == [{"x": None}, {"x": 1.0}, {"x": None}]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n", b"\r\n"])
def test_8_empty_and_bom_only_files(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(ParseError):
        read_trade(write(tmp_path / "e.csv", content))


def test_8_bom_only_baci_country_table(tmp_path: Path) -> None:
    src = write(tmp_path / "BACI_HS17_Y2022_V202401.csv", "t,i,j,k,v,q\n2022,4,8,847130,1.0,2\n")
    write(tmp_path / "country_codes_V202401.csv", b"\xef\xbb\xbf")
    with pytest.raises(ReroutingError):
        read_trade(src)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"])
def test_9_empty_rates_file(tmp_path: Path, content: bytes) -> None:
    from rerouting._normalise import convert_currency

    rates = write(tmp_path / "rates.csv", content)
    frame = read_trade(write(tmp_path / "t.csv", HEADER + "\n" + rows("DEU"))).frame
    with pytest.raises(ReroutingError):
        convert_currency(frame.lazy(), to="EUR", rates=rates).collect()


@pytest.mark.parametrize("reader", [read_trade, spool_trade])
def test_10_sum_overflow_is_refused(tmp_path: Path, reader: Callable[..., object]) -> None:
    # In memory and spooled (the scan's default read), with the file and its line named:
    # the spooled read looks up the files' first rows only when a record overflows.
    head = "typeCode,freqCode,period,reporterCode,partnerCode,flowCode,cmdCode,motCode,primaryValue"
    fine = write(tmp_path / "a.csv", f"{head}\nC,M,202203,398,276,M,847130,1000,5\n")
    src = write(
        tmp_path / "o.csv",
        f"{head}\nC,M,202202,398,276,M,847130,1000,1\n"
        "C,M,202201,398,276,M,847130,1000,1.7e308\nC,M,202201,398,276,M,847130,2000,1.6e308\n",
    )
    with pytest.raises(ParseError) as info:
        reader([fine, src])
    assert info.value.line == 3
    assert str(info.value.file).endswith("o.csv")


def test_10_free_text_currency_is_dropped(tmp_path: Path) -> None:
    src = write(
        tmp_path / "c.csv",
        f"{HEADER},currency\n2022-01,KAZ,DEU,import,847130,1,=CMD|X\n"
        "2022-01,KAZ,FRA,import,847130,1,EUR\n",
    )
    data = read_trade(src)
    assert data.report.dropped == {"bad_currency": 1}
    assert data.frame["currency"].to_list() == ["EUR"]


def test_10_baci_country_table_to_aggregates_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "BACI_HS17_Y2022_V202401.csv", "t,i,j,k,v,q\n2022,4,8,847130,1.0,2\n")
    write(
        tmp_path / "country_codes_V202401.csv",
        "country_code,country_name,country_iso2,country_iso3\n4,A,AF,WLD\n8,B,AL,EUU\n",
    )
    with pytest.raises(ReroutingError) as info:
        read_trade(src)
    assert "WLD" in str(info.value)


def test_11_csv_outputs_neutralise_formulas(tmp_path: Path) -> None:
    src = write(
        tmp_path / "f.csv",
        f"{HEADER},quantity_unit\n"
        '2022-01,KAZ,DEU,import,847130,1,"=HYPERLINK(""http://x"")"\n'
        "2022-01,KAZ,FRA,import,847130,1,@SUM(A1)\n",
    )
    out = tmp_path / "out.csv"
    code, _ = cli_run("validate", str(src), "-o", str(out))
    assert code == 0
    text = out.read_text()
    assert "'=HYPERLINK" in text
    assert "'@SUM" in text
    code, _ = cli_run("validate", str(src), "-o", str(out), "--raw-csv")
    assert code == 0
    assert "'=HYPERLINK" not in out.read_text()


def test_atomic_output_keeps_the_usual_file_mode(tmp_path: Path) -> None:
    # the temporary file is private (0600); the file renamed into place must not be
    src = write(tmp_path / "f.csv", f"{HEADER}\n2022-01,KAZ,DEU,import,847130,1\n")
    out = tmp_path / "out.csv"
    umask = os.umask(0o022)
    try:
        code, _ = cli_run("validate", str(src), "-o", str(out))
    finally:
        os.umask(umask)
    assert code == 0
    assert out.stat().st_mode & 0o777 == 0o644


def test_12_terminal_gets_no_control_characters_or_markup(tmp_path: Path) -> None:
    src = write(
        tmp_path / "t.csv", HEADER + "\n2022-01,\x1b]0;pwned\x07[bold]X,DEU,import,847130,1\n"
    )
    proc = run_main("validate", src)
    assert "\x1b]0;" not in proc.stdout + proc.stderr
    assert "[bold]X" in proc.stdout.replace("\n", "") + proc.stderr


def test_minor_toml_with_bom_and_invalid_dates(tmp_path: Path) -> None:
    from rerouting._config import Scenario, parse_month

    cfg = write(
        tmp_path / "s.toml", b'\xef\xbb\xbforigin = "BLR"\ndestination = "EU"\nevent = "2022-03"\n'
    )
    assert Scenario.from_toml(cfg).event.month == 3
    with pytest.raises(ConfigError):
        parse_month("2022-03-32")
    assert parse_month("2022-02-28").month == 2


def _big_input(tmp_path: Path, n: int = 300_000) -> Path:
    big = tmp_path / "big.csv"
    pl.DataFrame(
        {
            "period": ["2022-01"] * n,
            "reporter": ["KAZ"] * n,
            "partner": ["DEU"] * n,
            "flow": ["import"] * n,
            "hs": [f"{847100 + i % 99:06d}" for i in range(n)],
            "value": [float(i) for i in range(n)],
            "note": [str(i) for i in range(n)],
        }
    ).with_columns(
        period=pl.format("20{}-01", (pl.int_range(n) % 80 + 10).cast(pl.String))
    ).write_csv(big)
    return big


def _kill_mid_write(big: Path, out: Path, sig: int) -> None:
    """Start ``validate -o out`` and send ``sig`` once its temporary file exists."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rerouting", "validate", str(big), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(f".{out.name}.*.part")):
        assert proc.poll() is None, "the run ended before it started writing"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(sig)
    proc.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_write_leaves_old_output(tmp_path: Path, sig: int) -> None:
    big = _big_input(tmp_path)
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    _kill_mid_write(big, out, sig)
    assert out.read_text() == "old\n"
    parts = list(tmp_path.glob(".out.csv.*.part"))
    # SIGINT unwinds and removes its part; SIGKILL cannot, the next write sweeps it
    assert parts == [] if sig == signal.SIGINT else len(parts) == 1
    # killed before any old output existed: no file at all under the final name
    fresh = tmp_path / "fresh.csv"
    _kill_mid_write(big, fresh, sig)
    assert not fresh.exists()
    code, _ = cli_run("validate", str(big), "-o", str(out))
    assert code == 0
    # 80 periods x 99 HS codes: the complete output has every record
    assert pl.read_csv(out).select("period", "hs").n_unique() == 80 * 99
    assert list(tmp_path.glob(".out.csv.*.part")) == []


def test_write_sweeps_only_parts_of_dead_processes(tmp_path: Path) -> None:
    src = write(tmp_path / "f[1].csv", f"{HEADER}\n2022-01,KAZ,DEU,import,847130,1\n")
    out = tmp_path / "o[1].csv"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = write(tmp_path / f".o[1].csv.{int(dead.stdout)}-0000.part", "partial")
    live = write(tmp_path / f".o[1].csv.{os.getpid()}-0000.part", "another writer")
    other = write(tmp_path / f".other.csv.{int(dead.stdout)}-0000.part", "not ours")
    code, _ = cli_run("validate", str(src), "-o", str(out))
    assert code == 0
    assert pl.read_csv(out.read_bytes()).height == 1
    assert not stale.exists()
    assert live.exists()
    assert other.exists()


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_blank_lines_are_dropped_as_empty_rows(tmp_path: Path, ending: str) -> None:
    # The campaign's other silent loss (seed 14, input 1699): a Data Browser file
    # ending in a blank line read 8 rows for the oracle's 7, and blamed the blank
    # one on its indicator ("unsupported_indicator"); tidy files called it bad_period.
    lines = [
        f"{HEADER}",
        "2022-01,KAZ,DEU,import,847130,100",
        "",
        "2022-01,KAZ,FRA,import,847130,2",
    ]
    src = write(tmp_path / "blank.csv", ending.join([*lines, "", ""]))
    data = read_trade(src)
    assert (data.report.rows_read, data.report.rows_kept) == (4, 2)
    assert data.report.dropped == {"empty_row": 2}


def test_trailing_blank_line_in_a_data_browser_file(tmp_path: Path) -> None:
    from tests.fuzz.campaign import oracle_blank, oracle_rows, seeds

    text, _ = seeds()["comext_browser"]
    data = (text.rstrip("\n") + "\n\n").encode()
    src = write(tmp_path / "browser.csv", data)
    got = read_trade(src)
    assert got.report.rows_read == oracle_rows(data) + oracle_blank(data)
    assert got.report.dropped.get("empty_row") == 1


def test_control_bytes_error_names_the_line(tmp_path: Path) -> None:
    # a byte-flipped export: NUL bytes on line 3 once gave an error with no line
    body = rows("DEU", "FRA", "CHN").replace(
        "FRA", "F\x00\x00R\x01\x02\x03\x04\x05\x06\x07\x08\x0e"
    )
    src = write(tmp_path / "flipped.csv", f"{HEADER}\n{body}")
    with pytest.raises(ParseError) as info:
        read_trade(src)
    assert (info.value.file, info.value.line) == (str(src), 3)
    assert info.value.value.startswith(b"2022-01,KAZ,F\x00")
    assert info.value.hint


def test_parser_failure_is_located_by_the_value_it_quotes(tmp_path: Path) -> None:
    from rerouting._readers._source import parse_failure

    src = write(
        tmp_path / "f.csv", f"{HEADER}\n{rows('DEU', 'FRA')}2022-01,KAZ,x\x7fy,import,1,2\n"
    )
    polars_said = pl.exceptions.ComputeError(
        "could not parse `x\x7fy` as dtype `str` at column 'partner' (column number 3)"
    )
    err = parse_failure(str(src), polars_said)
    assert (err.file, err.line, err.column, err.value) == (str(src), 4, "partner", "x\x7fy")
    assert err.hint


def test_cp1252_header_damage_names_line_1(tmp_path: Path) -> None:
    text = f"period,reporter,partnér,flow,hs,value\n{rows('DEU')}"
    src = write(tmp_path / "win.csv", text.encode("cp1252"))
    with pytest.raises(ReroutingError) as info:
        read_trade(src)
    assert (info.value.file, info.value.line) == (str(src), 1)
    assert "partner" in str(info.value)
    assert info.value.hint
