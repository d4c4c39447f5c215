"""The ``rerouting`` command: scan, mirror, validate, lists, demo.

User errors (every ``ReroutingError``) print one line and a hint, and exit with the
error's code; tracebacks only appear with ``--debug``. Exit codes are documented in
``docs/cli.md``: 0 success, 1 internal error, 2 usage or configuration error,
3 input-data error, 4 no usable data after filtering, 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rerouting._atomic import atomic_path
from rerouting._exceptions import ConfigError, ReroutingError, ReroutingWarning
from rerouting._rank import SORTS
from rerouting._score import get_scorer_names

if TYPE_CHECKING:
    import polars as pl

    from rerouting._columns import Precision
    from rerouting._config import Scenario
    from rerouting._engine import LegBuilder
    from rerouting._ingest import FileReport, IngestReport
    from rerouting._io import LazyTradeData, TradeData
    from rerouting._result import RouteTable

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

F = TypeVar("F", bound=Callable[..., Any])

#: C0 and C1 control characters (ESC, BEL, CSI ...) except tab and newline.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(value: object) -> Text:
    """Data as terminal text: no rich markup interpretation, control characters shown as `?`."""
    return Text(_CONTROLS.sub("?", str(value)))


class Ui:
    """Terminal output: rich on stderr for progress and messages, stdout for results."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False, debug: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose or debug
        self.debug = debug
        self.out = Console(highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Show a spinner with elapsed time while a step runs, then a tick line."""
        start = time.perf_counter()
        if self.quiet or not self.err.is_terminal:
            yield
        else:
            with self.err.status(safe(f"{label}…"), spinner="dots"):
                yield
        if not self.quiet:
            line = Text.assemble(("✓ ", "green"), safe(label))
            line.append(f" ({time.perf_counter() - start:.1f}s)", style="dim")
            self.err.print(line)

    def info(self, text: str) -> None:
        if not self.quiet:
            self.err.print(safe(text), soft_wrap=True)

    def detail(self, text: str) -> None:
        if self.verbose and not self.quiet:
            self.err.print(Text(safe(text).plain, style="dim"))


_UI = Ui()


def _format_choices() -> list[str]:
    from rerouting._readers._registry import READERS

    return ["auto", *(r.name for r in READERS)]


def _precision_option(func: F) -> F:
    """Add --precision (rounded or every digit in CSV/JSON route tables)."""
    return click.option(
        "--precision",
        type=click.Choice(["short", "full"]),
        default="short",
        show_default=True,
        help="short: money and kg in whole units, other measures to 4 significant digits "
        "(CSV and JSON; Parquet keeps every digit); full: every digit.",
    )(func)


def _raw_csv_option(func: F) -> F:
    """Add --raw-csv (write CSV cells exactly as they are)."""
    return click.option(
        "--raw-csv",
        is_flag=True,
        help="Write CSV cells as they are; by default cells starting with = + - @ tab or "
        "CR get a leading ' so spreadsheets do not run them as formulas.",
    )(func)


def _output_options(func: F) -> F:
    """Add --quiet/--verbose/--debug to a command."""
    func = click.option("--debug", is_flag=True, help="Show tracebacks for every error.")(func)
    func = click.option("-v", "--verbose", is_flag=True, help="Print more detail.")(func)
    func = click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")(func)
    return func


def _input_options(func: F) -> F:
    """Add the options that control how input files are read."""
    func = click.option(
        "--columns",
        metavar="MAP",
        help="Column mapping for tidy files, canonical=yours pairs: "
        "'period=month,reporter=country,value=usd'.",
    )(func)
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(_format_choices()),
        default="auto",
        show_default=True,
        help="Input format; 'auto' detects it from the header.",
    )(func)
    return func


def _setup(quiet: bool, verbose: bool, debug: bool) -> Ui:
    global _UI
    _UI = Ui(quiet=quiet, verbose=verbose, debug=debug)
    return _UI


def _parse_columns(spec: str | None) -> dict[str, str] | None:
    if not spec:
        return None
    mapping: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                "column mapping must be canonical=yours pairs separated by commas",
                column="--columns",
                value=part,
                hint="e.g. --columns period=month,reporter=country,value=usd",
            )
        mapping[key.strip()] = value.strip()
    return mapping


def _read(
    ui: Ui, inputs: Sequence[str], fmt: str, columns: str | None, *, summary: bool = True
) -> TradeData:
    from rerouting._io import read_trade

    with ui.step(f"Read {_count_files(inputs)}"):
        data = read_trade(list(inputs), format=fmt, columns=_parse_columns(columns))
    ui.info(_formats_line(data.report))
    if summary:
        ui.info(data.report.summary())
    if data.report.rows_read >= _MEMORY_TIP_ROWS:
        ui.info(
            f"tip: {data.report.rows_read:,} rows were read into memory; `rerouting scan` "
            "reads the same files in bounded memory (docs/performance.md)"
        )
    return data


def _count_files(inputs: Sequence[str]) -> str:
    """``5 files`` (what the inputs expand to), for progress lines."""
    from rerouting._readers._source import expand_sources

    n = len(expand_sources(list(inputs)))
    return f"{n} file" if n == 1 else f"{n} files"


def _formats_line(report: IngestReport) -> str:
    """``format: comext (2 files), tidy (1 file)``: what detection chose, always shown."""
    counts: dict[str, int] = {}
    for f in report.files:
        counts[f.format] = counts.get(f.format, 0) + 1
    shown = (f"{k} ({n} file{'s' if n > 1 else ''})" for k, n in counts.items())
    return "format: " + ", ".join(shown)


#: Above this many rows read into memory the CLI points at the bounded-memory scan.
_MEMORY_TIP_ROWS = 20_000_000


def _spool(ui: Ui, inputs: Sequence[str], fmt: str, columns: str | None) -> LazyTradeData:
    """Stage every row once into a temporary Parquet file (every row rule, bounded memory)."""
    from rerouting._io import spool_trade

    with ui.step(f"Read {_count_files(inputs)}"):
        data = spool_trade(list(inputs), format=fmt, columns=_parse_columns(columns))
    ui.info(data.report.summary())
    return data


def _stream(ui: Ui, inputs: Sequence[str], fmt: str, columns: str | None) -> LazyTradeData:
    """Row rules only, in one streaming pass (``scan_trade``): for the Dask engine."""
    from rerouting._io import scan_trade

    if fmt not in ("auto", "tidy"):
        raise ConfigError(
            f"--stream reads tidy tables, not --format {fmt}",
            column="--stream",
            hint="convert once: rerouting validate FILES --format "
            f"{fmt} --output trade.parquet; then scan trade.parquet --stream",
        )
    with ui.step(f"Check {_count_files(inputs)}, streaming"):
        data = scan_trade(list(inputs), columns=_parse_columns(columns))
    ui.info(data.report.summary())
    return data


def _apply_currency(
    ui: Ui, data: TradeData | LazyTradeData, currency: str | None, rates: str | None
) -> TradeData | LazyTradeData:
    """Convert to one currency when asked; refuse to mix currencies silently."""
    from rerouting._io import LazyTradeData as _LazyTradeData
    from rerouting._io import TradeData as _TradeData
    from rerouting._normalise import check_single_currency, convert_currency

    if rates or currency:
        if not currency:
            raise ConfigError(
                "--rates needs --currency to say what to convert to",
                column="--currency",
                hint="e.g. --currency USD --rates rates.csv",
            )
        with ui.step(f"Convert values to {currency}"):
            lazy = convert_currency(data.frame.lazy(), to=currency, rates=rates)
            if isinstance(data, _LazyTradeData):
                return dataclasses.replace(data, frame=lazy)
            return _TradeData(frame=lazy.collect(), report=data.report)
    check_single_currency(data.frame)
    return data


OUTPUT_SUFFIXES = (".csv", ".parquet", ".json")


#: Cell openings a spreadsheet runs as a formula (OWASP "CSV injection").
_FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with ``'`` (OWASP).

    Only String columns change (numbers such as -5 stay numbers); the CSV writer
    then quotes the cell as usual.
    """
    import polars as pl

    text_cols = [c for c, t in frame.schema.items() if t == pl.String]
    if not text_cols:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_cols
    )


def _write(
    result: pl.DataFrame | RouteTable,
    path: str,
    *,
    raw_csv: bool = False,
    precision: Precision = "short",
) -> None:
    """Write a frame or a route table in the format its extension names, atomically.

    The file is written under a temporary name in the same folder and renamed
    into place, so an interrupted write leaves the old file (or none).
    CSV cells that start like a formula are neutralised unless ``raw_csv``. Route
    tables go out readable (:meth:`RouteTable.readable`) in CSV and JSON.
    """
    import json

    import polars as pl

    from rerouting._result import RouteTable as _RouteTable

    _check_output(path)
    target = Path(path)
    suffix = target.suffix.lower()
    with atomic_path(target) as tmp:
        if isinstance(result, _RouteTable) and suffix == ".json":
            result.write_json(tmp, precision=precision)
        elif isinstance(result, _RouteTable) and suffix == ".parquet":
            result.write_parquet(tmp)
        else:
            frame = (
                result.readable(precision=precision) if isinstance(result, _RouteTable) else result
            )
            if suffix == ".parquet":
                frame.write_parquet(tmp)
            elif suffix == ".csv":
                (frame if raw_csv else neutralise_csv(frame)).write_csv(tmp)
            else:
                floats = [c for c, t in frame.schema.items() if t.is_float()]
                clean = frame.with_columns(
                    pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats
                )
                tmp.write_text(
                    json.dumps(clean.to_dicts(), default=str, allow_nan=False), encoding="utf-8"
                )


def _check_output(
    path: str | None, *, option: str = "--output", suffixes: Sequence[str] = OUTPUT_SUFFIXES
) -> None:
    """Fail before the work starts if the output cannot be written."""
    if path is None:
        return
    if Path(path).suffix.lower() not in suffixes:
        raise ConfigError(
            "unknown output format",
            column=option,
            value=path,
            hint=f"name the file {' or '.join(suffixes)}",
        )
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise ConfigError(
            "output folder does not exist", column=option, value=path, hint=f"create {parent} first"
        )


def _scenario(fields: dict[str, Any], config_path: str | None) -> Scenario:
    """The scenario from the flags (and the --config file); errors name the flag."""
    from rerouting._config import Scenario

    try:
        if config_path:
            return Scenario.from_toml(config_path, **fields)
        missing = [f"--{k}" for k in ("origin", "destination", "event") if not fields[k]]
        if missing:
            raise ConfigError(
                f"scan needs {', '.join(missing)}",
                hint="e.g. --origin BLR --destination EU --event 2022-03, or --config scan.toml",
            )
        return Scenario.build(**fields)
    except ConfigError as exc:
        raise _as_flag(exc, fields) from None


def _as_flag(exc: ConfigError, fields: dict[str, Any]) -> ConfigError:
    """The error with its field named as the flag the user typed (``--event``)."""
    if exc.file is not None or exc.column is None or fields.get(exc.column) is None:
        return exc
    return type(exc)(
        exc.message,
        column=f"--{exc.column.replace('_', '-')}",
        value=exc.value,
        hint=exc.hint,
        cli_hint=exc.cli_hint,
    )


def _check_scenario(scenario: Scenario, fields: dict[str, Any], config_path: str | None) -> None:
    """Resolve countries, blocs, hubs and the product list before any data is read.

    These are the scan's own checks (the same functions), run early so that a typo
    fails in a second instead of after the read.
    """
    from rerouting._blocs import resolve_countries
    from rerouting._legs import resolve_sides
    from rerouting._lists import product_list

    def check(name: str, run: Callable[[], object]) -> None:
        try:
            run()
        except ConfigError as exc:
            name = exc.column or name
            from_file = fields.get(name) is None and config_path is not None
            raise type(exc)(
                exc.message,
                file=config_path if from_file else exc.file,
                column=name if from_file else f"--{name.replace('_', '-')}",
                value=exc.value,
                hint=exc.hint,
                cli_hint=exc.cli_hint,
            ) from None

    for side in ("origin", "destination", "hubs"):
        codes: tuple[str, ...] = getattr(scenario, side) or ()
        if codes:
            check(side, functools.partial(resolve_countries, list(codes), at=scenario.event))
    spec = scenario.products
    if spec is not None:
        check("products", lambda: product_list(list(spec) if isinstance(spec, tuple) else spec))
    check("origin", lambda: resolve_sides(scenario))


def _print_routes(ui: Ui, table: RouteTable, top: int, truth: pl.DataFrame | None = None) -> None:
    routes = table.top(top)
    if routes.is_empty():
        ui.out.print("No candidate routes.")
        return
    grid = Table(title=f"Top {len(routes)} of {len(table)} routes", show_lines=False)
    grid.add_column("#", justify="right")
    grid.add_column("route")
    grid.add_column("hs")
    grid.add_column("score", justify="right")
    if truth is not None:
        grid.add_column("truth")
    grid.add_column("explanation", overflow="fold")
    labels = None
    if truth is not None:
        import polars as pl

        labels = routes.join(
            truth.select(
                "hub", "hs", pl.coalesce(pl.col("decoy_type"), pl.col("kind")).alias("_truth")
            ).unique(["hub", "hs"]),
            on=["hub", "hs"],
            how="left",
        )["_truth"].to_list()
    for i, row in enumerate(routes.iter_rows(named=True)):
        cells: list[str | Text] = [
            str(row["rank"]),
            safe(f"{row['origin']}→{row['hub']}→{row['destination']}"),
            safe(row["hs"]),
            f"{row['score']:.2f}",
        ]
        if labels is not None:
            label = labels[i] or "-"
            cells.append(Text(str(label), style="green" if label == "route" else "yellow"))
        cells.append(safe(row.get("explanation") or ""))
        grid.add_row(*cells)
    ui.out.print(grid)


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="rerouting", prog_name="rerouting")
def cli() -> None:
    """Find sanctions circumvention (trade rerouting) in mirror trade statistics.

    Read UN Comtrade, Eurostat Comext, CEPII BACI or tidy CSV/Parquet files, pair the
    mirror sides and rank origin → hub → destination routes whose legs move the way
    rerouting does.

    \b
    Examples:
      rerouting demo
      rerouting validate downloads/
      rerouting scan comtrade/*.csv --origin EU --destination RUS --event 2022-03 \\
          --products chpl --output routes.csv
      rerouting lists
    """


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=False, metavar="INPUT...")
@click.option("--origin", help="Origin: ISO3 codes or bloc names, comma-separated (BLR, EU).")
@click.option("--destination", help="Destination: ISO3 codes or bloc names (EU, RUS).")
@click.option("--event", help="First month under sanctions, YYYY-MM (e.g. 2022-03).")
@click.option("--hubs", help="Candidate hubs, comma-separated ISO3 (default: every country).")
@click.option(
    "--products",
    metavar="NAME|FILE|PREFIXES",
    help="A list name (chpl, chpl-tier1, eu-833, belarus; see `rerouting lists`), "
    "a file with one code per line, or HS prefixes '4407,4412'.",
)
@click.option("--baseline", metavar="START:END", help="Pre-event window (default: 24 months).")
@click.option("--post", metavar="START:END", help="Post-event window (default: to the end).")
@_input_options
@click.option("--currency", help="Report values in this currency (needs --rates if data differ).")
@click.option("--rates", type=click.Path(), help="CSV of exchange rates: currency,period,rate.")
@click.option("--config", "config_path", type=click.Path(), help="A scan.toml with the scenario.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=15,
    show_default=True,
    help="How many routes to print.",
)
@click.option(
    "--scorer", type=click.Choice(get_scorer_names()), help="Which score ranks the routes."
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    help="Order of the routes: priority (evidence, then money; the default), score "
    "(evidence only) or value (value at stake per year).",
)
@click.option("-o", "--output", help="Write all routes here (.csv, .parquet or .json).")
@click.option("--report", "report_path", help="Write an offline HTML report here.")
@click.option(
    "--stream",
    is_flag=True,
    help="With --engine dask: workers read tidy files themselves (row rules only). "
    "Otherwise no effect: every scan reads in bounded memory with every rule.",
)
@click.option(
    "--engine",
    type=click.Choice(["polars", "dask"]),
    help="Where the raw records are processed: one process (polars, the default) or a "
    "Dask cluster (needs rerouting[dask]; docs/scale-out.md).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on this existing Dask scheduler (tcp://host:8786); implies --engine dask.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Start a local Dask cluster of N worker processes; implies --engine dask.",
)
@_precision_option
@_raw_csv_option
@_output_options
def scan(
    inputs: tuple[str, ...],
    origin: str | None,
    destination: str | None,
    event: str | None,
    hubs: str | None,
    products: str | None,
    baseline: str | None,
    post: str | None,
    fmt: str,
    columns: str | None,
    currency: str | None,
    rates: str | None,
    config_path: str | None,
    top: int,
    scorer: str | None,
    sort: str | None,
    output: str | None,
    report_path: str | None,
    stream: bool,
    engine: str | None,
    scheduler: str | None,
    workers: int | None,
    quiet: bool,
    verbose: bool,
    debug: bool,
    raw_csv: bool,
    precision: Precision,
) -> None:
    """Rank likely rerouting routes in trade files.

    INPUT is any mix of files, globs and folders (CSV, CSV.gz, Parquet). Flags
    override the --config file.

    \b
    Examples:
      rerouting scan fixtures/demo/trade.parquet --origin BLR --destination EU \\
          --event 2022-03 --products 4407,4412,3104 --output routes.csv
      rerouting scan comext/ --origin EU --destination RUS --event 2022-03 \\
          --hubs KAZ,KGZ,ARM --products eu-833 --report report.html
      rerouting scan data/ --config scan.toml --scorer freund --top 30
      rerouting scan data/ --config scan.toml --sort value
      rerouting scan world/*.parquet --config scan.toml
      rerouting scan world/*.parquet --config scan.toml --stream --workers 2
      rerouting scan /shared/world/ --config scan.toml --stream --scheduler tcp://host:8786
    """
    from rerouting._scan import scan as run_scan

    ui = _setup(quiet, verbose, debug)
    fields: dict[str, Any] = {
        "origin": origin,
        "destination": destination,
        "event": event,
        "hubs": hubs,
        "products": products,
        "baseline": baseline,
        "post": post,
        "scorer": scorer,
        "currency": currency,
        "sort": sort,
    }
    scenario = _scenario(fields, config_path)
    if not inputs:
        raise ConfigError(
            "scan needs at least one INPUT file, glob or folder",
            hint="e.g. rerouting scan downloads/ --origin ...",
        )
    # Check first, read second: every flag is checked before the (long) read.
    _check_scenario(scenario, fields, config_path)
    _check_output(output)
    _check_output(report_path, option="--report", suffixes=(".html", ".htm"))
    builder = _engine(ui, engine, scheduler, workers)
    if builder == "polars":  # every rule, bounded memory: --stream changes nothing here
        raw: TradeData | LazyTradeData = _spool(ui, inputs, fmt, columns)
    else:  # Dask workers read the input files themselves (docs/scale-out.md)
        raw = _stream(ui, inputs, fmt, columns) if stream else _read(ui, inputs, fmt, columns)
    data = _apply_currency(ui, raw, currency, rates)
    with ui.step("Scan routes"):
        table = run_scan(data, scenario=scenario, engine=builder)
    _print_routes(ui, table, top)
    for note in table.notes:
        ui.info(f"note: {note}")
    if output:
        with ui.step(f"Write {len(table)} routes to {output}"):
            _write(table, output, raw_csv=raw_csv, precision=precision)
    if report_path:
        with ui.step(f"Write report {report_path}"):
            table.to_html(report_path)


def _engine(
    ui: Ui, engine: str | None, scheduler: str | None, workers: int | None
) -> str | LegBuilder:
    """The scan's engine from --engine, --scheduler and --workers."""
    if scheduler is not None and workers is not None:
        raise ConfigError(
            "--scheduler and --workers exclude each other",
            hint="--scheduler tcp://host:8786 runs on that cluster; --workers N starts a local one",
        )
    dask = scheduler is not None or workers is not None
    if engine == "polars" and dask:
        raise ConfigError(
            f"{'--scheduler' if scheduler else '--workers'} needs --engine dask",
            hint="drop --engine polars, or drop --scheduler/--workers",
        )
    if engine != "dask" and not dask:
        return "polars"
    from rerouting._engine import dask_engine

    def progress(phase: str, done: int, total: int) -> None:
        ui.info(f"  {phase}: {done}/{total} partitions")

    return dask_engine(
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        on_dashboard=lambda link: ui.info(f"Dask dashboard: {link}"),
    )


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", required=True, help="Where to write flows (.parquet, .csv, .json).")
@_input_options
@click.option(
    "--cif-fob",
    "cif_fob",
    type=click.FloatRange(0, 0.5),
    default=0.06,
    show_default=True,
    help="CIF/FOB margin used to put imports on an FOB basis.",
)
@click.option(
    "--margin",
    type=click.Choice(["fixed", "pair-median"]),
    default="fixed",
    show_default=True,
    help="Fixed margin, or each pair's median observed margin.",
)
@_raw_csv_option
@_output_options
def mirror(
    inputs: tuple[str, ...],
    output: str,
    fmt: str,
    columns: str | None,
    cif_fob: float,
    margin: str,
    quiet: bool,
    verbose: bool,
    debug: bool,
    raw_csv: bool,
) -> None:
    """Pair exporter and importer reports into one flow table with gaps.

    One row per exporter, importer, product and period: both sides' values and
    kilograms, the CIF→FOB-adjusted import value, gaps, unit values, provenance
    and a best estimate weighted by reporter reliability.

    \b
    Examples:
      rerouting mirror comtrade/ --output flows.parquet
      rerouting mirror data.csv --output flows.csv --margin pair-median
    """
    from rerouting._mirror import mirror as run_mirror

    ui = _setup(quiet, verbose, debug)
    _check_output(output)
    data = _read(ui, inputs, fmt, columns)
    with ui.step("Pair mirror flows"):
        flows = run_mirror(data.frame, cif_fob_margin=cif_fob, margin=margin).collect()  # type: ignore[arg-type]
    ui.info(f"{len(flows):,} flows")
    with ui.step(f"Write {output}"):
        _write(flows, output, raw_csv=raw_csv)


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@_input_options
@click.option("--strict", is_flag=True, help="Also fail when rows were dropped.")
@click.option(
    "-o",
    "--output",
    help="Write the canonical table here (.parquet, .csv or .json); a .parquet file "
    "is the fastest input of later scans.",
)
@_raw_csv_option
@_output_options
def validate(
    inputs: tuple[str, ...],
    fmt: str,
    columns: str | None,
    strict: bool,
    output: str | None,
    quiet: bool,
    verbose: bool,
    debug: bool,
    raw_csv: bool,
) -> None:
    """Read files and print one line per file and the ingest report (kept, dropped by reason).

    Every file is checked, also after a bad one. Exits with the worst file's code: 0 when
    all are usable, 3 on input errors (unreadable file, unknown format, missing columns,
    no usable row), and with --strict also when any row was dropped. With --output it
    also writes the canonical table it read.

    \b
    Examples:
      rerouting validate downloads/
      rerouting validate armenia_cars.csv --format comtrade-legacy
      rerouting validate comext/2022*.dat --output comext-2022.parquet
    """
    from rerouting._exceptions import InputError

    ui = _setup(quiet, verbose, debug)
    _check_output(output)
    try:
        data = _read(ui, inputs, fmt, columns, summary=False)
    except InputError as exc:
        # A bad file: check every file alone, so that the user sees all of them.
        raise _validate_each(ui, inputs, fmt, columns) or exc from None
    report = data.report
    for f in report.files:
        ui.out.print(_file_line(f), soft_wrap=True)
    _print_report(ui, report)
    if report.rows_kept == 0:
        raise InputError("no usable rows in the input", hint="see the drop reasons above")
    empty = [f.path for f in report.files if f.rows_kept == 0]
    if empty:
        raise InputError(
            f"{len(empty)} of {len(report.files)} files have no usable rows",
            value=", ".join(empty),
            hint="see the lines and drop reasons above",
        )
    if strict and report.rows_dropped:
        raise InputError(
            f"{report.rows_dropped:,} rows were dropped (--strict)",
            hint="see the drop reasons above",
        )
    if output:
        with ui.step(f"Write {len(data):,} records to {output}"):
            _write(data.frame, output, raw_csv=raw_csv)


def _file_line(f: FileReport) -> Text:
    dropped = f.rows_read - f.rows_kept
    ok = f.rows_kept > 0
    return Text.assemble(
        ("ok    " if ok else "FAIL  ", "green" if ok else "bold red"),
        safe(
            f"{f.path}: {f.format}, read {f.rows_read:,}, kept {f.rows_kept:,}, "
            f"dropped {dropped:,}" + ("" if ok else " (no usable rows)")
        ),
    )


def _validate_each(
    ui: Ui, inputs: Sequence[str], fmt: str, columns: str | None
) -> ReroutingError | None:
    """Read every file alone and print one line each; return the worst file's error."""
    from rerouting._io import read_trade
    from rerouting._readers._source import expand_sources

    worst: ReroutingError | None = None
    for path in expand_sources(list(inputs)):
        try:
            report = read_trade(path, format=fmt, columns=_parse_columns(columns)).report
        except ReroutingError as exc:
            line = Text.assemble(("FAIL  ", "bold red"), safe(f"{path}: {exc.located()}"))
            ui.out.print(line, soft_wrap=True)
            if worst is None or exc.exit_code > worst.exit_code:
                worst = exc
            continue
        for f in report.files:
            ui.out.print(_file_line(f), soft_wrap=True)
    return worst


def _print_report(ui: Ui, report: IngestReport) -> None:
    grid = Table(title="Ingest report")
    grid.add_column("reason")
    grid.add_column("rows", justify="right")
    grid.add_column("what it means")
    grid.add_column("examples", overflow="fold")
    for row in report.to_frame().iter_rows(named=True):
        examples = ", ".join(list(dict.fromkeys(report.examples.get(row["reason"], ())))[:3])
        grid.add_row(row["reason"], f"{row['rows']:,}", row["description"], safe(examples))
    grid.add_row("[bold]read[/]", f"[bold]{report.rows_read:,}[/]", "", "")
    ui.out.print(grid)


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FOLDER",
    help="A new folder for the canonical Parquet files (year=Y/chapter=CC/...).",
)
@_input_options
@_output_options
def convert(
    inputs: tuple[str, ...],
    output: str,
    fmt: str,
    columns: str | None,
    quiet: bool,
    verbose: bool,
    debug: bool,
) -> None:
    """Read files once, with every check, into canonical Parquet for repeated scans.

    The records are written by year and HS chapter; `rerouting scan FOLDER` then reads
    them without staging, and reads only the chapters of the products it scans.

    \b
    Examples:
      rerouting convert downloads/ --output trade/
      rerouting scan trade/ --origin BLR --destination EU --event 2022-03 --products belarus
    """
    from rerouting._io import write_partitioned

    ui = _setup(quiet, verbose, debug)
    data = _spool(ui, inputs, fmt, columns)
    _print_report(ui, data.report)
    with ui.step(f"Write {data.report.records_out:,} records to {output}"):
        files = write_partitioned(data, output)
    data.close()
    ui.info(f"{len(files):,} Parquet file(s) under {output}")


@cli.command(name="lists", context_settings=CONTEXT)
@_output_options
def lists_(quiet: bool, verbose: bool, debug: bool) -> None:
    """Show the named product lists and country blocs, with sources and sizes.

    \b
    Examples:
      rerouting lists
      rerouting scan data/ --products chpl-tier1 ...
    """
    from rerouting._blocs import list_blocs
    from rerouting._lists import list_catalog

    ui = _setup(quiet, verbose, debug)
    for title, frame in (("Product lists", list_catalog()), ("Blocs", list_blocs())):
        grid = Table(title=title)
        for name in frame.columns:
            grid.add_column(name, overflow="fold")
        for row in frame.iter_rows():
            grid.add_row(*(safe(_short(v)) for v in row))
        ui.out.print(grid)


@cli.command(name="columns", context_settings=CONTEXT)
@click.option("--markdown", is_flag=True, help="Print docs/columns.md (Markdown) instead.")
@_output_options
def columns_(markdown: bool, quiet: bool, verbose: bool, debug: bool) -> None:
    """Show what each column of routes.csv means, with its unit, in output order.

    \b
    Examples:
      rerouting columns
      rerouting columns --markdown > docs/columns.md
    """
    from rerouting._columns import COLUMNS, columns_markdown

    ui = _setup(quiet, verbose, debug)
    if markdown:
        click.echo(columns_markdown(), nl=False)
        return
    grid = Table(title="Columns of routes.csv (docs/columns.md)")
    grid.add_column("column", no_wrap=True)
    grid.add_column("meaning", overflow="fold")
    grid.add_column("unit", overflow="fold")
    for c in COLUMNS.values():
        grid.add_row(c.name, safe(c.meaning), safe(c.unit))
    ui.out.print(grid)


def _short(value: object, width: int = 70) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@cli.command(context_settings=CONTEXT)
@click.option(
    "--direction",
    type=click.Choice(["import-ban", "export-control"]),
    default="import-ban",
    show_default=True,
    help="import-ban: BLR → EU via hubs; export-control: EU → RUS via hubs.",
)
@click.option("--seed", type=int, default=None, help="Seed of the synthetic world (default: demo).")
@click.option("--top", type=click.IntRange(min=1), default=15, show_default=True)
@click.option("-o", "--output", help="Also write the routes (.csv, .parquet, .json).")
@click.option("--report", "report_path", help="Write an offline HTML report here.")
@_precision_option
@_raw_csv_option
@_output_options
def demo(
    direction: str,
    seed: int | None,
    top: int,
    output: str | None,
    report_path: str | None,
    quiet: bool,
    verbose: bool,
    debug: bool,
    raw_csv: bool,
    precision: Precision,
) -> None:
    """Scan the bundled synthetic demo world and show its known truth next to the ranking.

    The world has planted routes and labelled decoys (price shocks, demand booms,
    a hub's own production, HS revisions, one-off shipments): a good ranking puts
    every planted route above every decoy.

    \b
    Examples:
      rerouting demo
      rerouting demo --direction export-control --report demo.html
    """
    from rerouting._scan import scan as run_scan
    from rerouting.synthetic import demo_world

    ui = _setup(quiet, verbose, debug)
    _check_output(output)
    _check_output(report_path, option="--report", suffixes=(".html", ".htm"))
    with ui.step("Build the demo world"):
        world = demo_world(direction=direction, seed=seed)  # type: ignore[arg-type]
    ui.info(f"{world.trade.height:,} records; scenario: {_describe(world.scenario)}")
    with ui.step("Scan routes"):
        table = run_scan(world.trade, scenario=world.scenario)
    _print_routes(ui, table, top, truth=world.truth)
    from rerouting._evaluate import verdict

    ui.out.print(safe(verdict(world.truth, table)), soft_wrap=True)
    if output:
        _write(table, output, raw_csv=raw_csv, precision=precision)
    if report_path:
        with ui.step(f"Write report {report_path}"):
            table.to_html(report_path)


def _describe(scenario: Scenario) -> str:
    hubs = ",".join(scenario.hubs) if scenario.hubs else "all"
    return (
        f"{','.join(scenario.origin)} → [{hubs}] → {','.join(scenario.destination)} "
        f"after {scenario.event:%Y-%m}"
    )


def _print_error(err: ReroutingError) -> None:
    """One ``error:`` line and the hint in CLI terms (flags, not Python keywords)."""
    console = Console(stderr=True, highlight=False)
    console.print(Text.assemble(("error: ", "bold red"), safe(err.located())), soft_wrap=True)
    hint = err.cli_hint or err.hint
    if hint:
        console.print(Text.assemble(("hint: ", "yellow"), safe(hint)), soft_wrap=True)


_SHOW_WARNING = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Our warnings are user-facing notes: one ``note:`` line, no source path; -q hides them."""
    if not issubclass(category, ReroutingWarning):
        _SHOW_WARNING(message, category, filename, lineno, file, line)
        return
    if _UI is not None and _UI.quiet:
        return
    Console(stderr=True, highlight=False).print(
        Text.assemble(("note: ", "cyan"), safe(str(message))), soft_wrap=True
    )


def _remove_spools_on_termination() -> None:
    """On SIGTERM or SIGHUP, remove the scan's temporary files, then end the process.

    The default action of either signal ends the process without running its exit
    handlers, leaving the spooled rows (gigabytes on a large scan) in the temporary
    folder. Python runs signal handlers on the main thread only, between bytecodes, and
    a scan spends minutes inside one polars call, so a thread woken through the signal
    wakeup fd does the work. Exit status 128 + the signal's number, as the shell gives.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    wanted = {signal.SIGTERM, signal.SIGHUP}
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def end(signum: int) -> None:
        from rerouting._readers._spool import remove_spools

        remove_spools()
        os._exit(128 + signum)

    def watch() -> None:
        while True:
            for signum in os.read(read_end, 64):
                if signum in wanted:
                    end(signum)

    for sig in wanted:
        signal.signal(sig, lambda signum, _frame: end(signum))
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=watch, name="rerouting-signals", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``rerouting`` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:  # the command itself, not a call from Python (tests, embedding)
        _remove_spools_on_termination()
    debug = "--debug" in args or os.environ.get("REROUTING_DEBUG") == "1"
    warnings.showwarning = _show_warning
    try:
        cli.main(args=args, prog_name="rerouting", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except ReroutingError as exc:
        if debug:  # the traceback, and still the error's own exit code
            traceback.print_exc()
        _print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        if debug:
            raise
        Console(stderr=True, highlight=False).print(
            Text.assemble(
                ("internal error: ", "bold red"),
                safe(f"{type(exc).__name__}: {exc}\n"),
                ("hint: ", "yellow"),
                "this is a bug in rerouting; rerun with --debug for the traceback and report it",
            )
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_OK)
