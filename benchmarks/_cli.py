"""The ``cli`` stage: the command a user types, timed whole, against DuckDB on the same file.

Each run is a fresh process under ``/usr/bin/time -v`` (wall time and peak RSS of the
whole process: interpreter start, imports, reading, work, output). The contenders:

``rerouting (FORMAT)``
    ``rerouting scan FILE --origin … --destination … --event … --products … -q``.
``duckdb (FORMAT)``
    A fresh Python process running DuckDB SQL on the same file: the period parsed to a
    date (as the format stores it), per-side ``GROUP BY`` + ``FULL OUTER JOIN`` mirror
    pairing of *every* record, then the pre/post-event aggregation per pair and product.

The files are derived once from the cached generated world (``_data.world_path``) and
kept beside it: the same records in every format.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

#: Formats of the ``cli`` stage, in run order; each is derived from the canonical world.
FORMATS: Final = (
    "tidy-parquet",
    "tidy-csv",
    "canonical-parquet",
    "comtrade-csv",
    "converted-parquet",
    "comext-bulk",
)

_FILES: Final = {
    "tidy-parquet": "tidy.parquet",
    "tidy-csv": "tidy.csv",
    "canonical-parquet": "trade.parquet",
    "comtrade-csv": "comtrade.csv",
    "converted-parquet": "converted",
    "comext-bulk": "comext.dat",
}

#: Columns of the Comext bulk file, in the order of Eurostat's classic ``.dat`` layout
#: (``fixtures/formats/comext_bulk_full202201_excerpt.dat``), without the label and
#: other-classification columns (DECLARANT, PARTNER, PRODUCT_SITC, PRODUCT_CPA..., which
#: the reader does not use).
COMEXT_COLUMNS: Final = (
    "DECLARANT_ISO", "PARTNER_ISO", "TRADE_TYPE", "PRODUCT_NC", "FLOW", "STAT_REGIME",
    "SUPP_UNIT", "PERIOD", "VALUE_IN_EUROS", "QUANTITY_IN_KG", "SUP_QUANTITY",
)  # fmt: skip


def iso3_to_iso2() -> dict[str, str]:
    """ISO3 -> the alpha-2 code Comext writes, from the package's own ISO2 table.

    The inverse of ``rerouting._countries._iso2_map`` (what the Comext reader reads),
    preferring the ISO 3166 code over Eurostat's extra aliases (``UK``, ``XI`` ...): each
    code maps back to its ISO3 by construction. (Greece would be ``GR``
    here, ``EL`` in Eurostat's files; both read as ``GRC``.)
    """
    from rerouting import _countries

    out: dict[str, str] = {}
    extra = set(_countries._ISO2_EXTRA)
    for a2, a3 in sorted(_countries._iso2_map().items(), key=lambda kv: kv[0] in extra):
        out.setdefault(a3, a2)
    return out


def comext_bulk(lf: Any) -> Any:
    """The canonical records as a Comext bulk file (Eurostat's classic ``.dat`` layout).

    * **Every record, not only EU declarants.** A real Comext file holds EU declarants
      only; this one keeps every reporter of the world (ISO2 codes, which the reader takes
      from any country), so that it holds the same records as the other formats: the
      same row count at each size, the same mirror pairs and route table (the world's
      scenario is BLR -> hubs -> EU: an EU-only file would lose the BLR -> hub leg
      entirely) and times comparable format by format.
    * ``PRODUCT_NC``: the HS6 code + ``"00"``, an 8-digit CN code; the scan cuts CN8 to
      HS6 (``_normalise.to_hs6``), and the reader's vintage ``CN`` means "the HS in
      force at the period", which is what the world's ``hs_vintage`` is (HS2017 to 2021,
      HS2022 from 2022; checked here).
    * ``FLOW`` 1 = import, 2 = export. Comext has no re-export/re-import flow code; the
      generated worlds hold none, and a record with one stops the derivation (an
      error, not a silent drop or relabelling).
    * ``PERIOD`` YYYYMM (integer), ``VALUE_IN_EUROS`` the world's value as it is (the
      reader labels it EUR; the world's USD are never converted, so ratios and ranks do
      not change), ``QUANTITY_IN_KG`` the net weight (empty where unknown).
    * ``TRADE_TYPE`` ``I`` (intra-EU27) when both sides are EU27 members, else ``E``;
      ``STAT_REGIME`` 1 (normal trade); ``SUPP_UNIT`` ``NO_SU`` and ``SUP_QUANTITY``
      empty (the world has no supplementary quantities). One row per record, so the
      reader merges no split rows.
    """
    import polars as pl

    from rerouting._blocs import EU27_CODES
    from rerouting._hs import vintage_for_period

    iso2 = iso3_to_iso2()
    eu = pl.Series(sorted(EU27_CODES)).implode()
    bad = lf.select(
        pl.col("flow").is_in(["re-import", "re-export"]).sum().alias("re_flows"),
        (pl.col("hs_vintage") != vintage_for_period("period")).sum().alias("vintage"),
        (pl.col("hs").str.len_bytes() != 6).sum().alias("not_hs6"),
        (pl.col("frequency") != "M").sum().alias("not_monthly"),
    ).collect()
    if any(bad.row(0)):
        raise ValueError(f"records a Comext bulk file cannot hold: {bad.row(0, named=True)}")
    return lf.select(
        pl.col("reporter").replace_strict(iso2).alias("DECLARANT_ISO"),
        pl.col("partner").replace_strict(iso2).alias("PARTNER_ISO"),
        pl.when(pl.col("reporter").is_in(eu) & pl.col("partner").is_in(eu))
        .then(pl.lit("I"))
        .otherwise(pl.lit("E"))
        .alias("TRADE_TYPE"),
        (pl.col("hs") + "00").alias("PRODUCT_NC"),
        pl.col("flow").cast(pl.String).replace_strict({"import": 1, "export": 2}).alias("FLOW"),
        pl.lit(1).alias("STAT_REGIME"),
        pl.lit("NO_SU").alias("SUPP_UNIT"),
        (pl.col("period").dt.year() * 100 + pl.col("period").dt.month()).alias("PERIOD"),
        pl.col("value").alias("VALUE_IN_EUROS"),
        pl.col("net_weight_kg").alias("QUANTITY_IN_KG"),
        pl.lit(None, pl.Float64).alias("SUP_QUANTITY"),
    )


def format_file(canonical: Path, fmt: str) -> Path:
    """The world's records in ``fmt``, written beside ``canonical`` on first use."""
    out = canonical.parent / _FILES[fmt]
    if out.exists():
        return out
    import polars as pl

    lf = pl.scan_parquet(canonical)
    tmp = out.with_suffix(out.suffix + ".tmp")
    if fmt in ("tidy-parquet", "tidy-csv"):
        # What a user's own download/conversion looks like: text months, ISO3 codes.
        tidy = lf.select(
            pl.col("period").dt.strftime("%Y-%m"),
            "reporter",
            "partner",
            pl.col("flow").cast(pl.String),
            "hs",
            "value",
            "net_weight_kg",
        )
        if fmt == "tidy-parquet":
            tidy.sink_parquet(tmp, compression="zstd")
        else:
            tidy.sink_csv(tmp)
    elif fmt == "comtrade-csv":
        flow = {"import": "M", "export": "X", "re-import": "RM", "re-export": "RX"}
        lf.select(
            pl.col("frequency").cast(pl.String).alias("freqCode"),
            pl.col("period").dt.strftime("%Y%m").alias("period"),
            pl.col("reporter").alias("reporterISO"),
            pl.col("partner").alias("partnerISO"),
            pl.col("flow").cast(pl.String).replace_strict(flow).alias("flowCode"),
            pl.col("hs").alias("cmdCode"),
            pl.col("hs_vintage")
            .replace_strict({"HS2017": "H5", "HS2022": "H6"}, default="H5")
            .alias("classificationCode"),
            pl.col("value").alias("primaryValue"),
            pl.col("net_weight_kg").alias("netWgt"),
        ).sink_csv(tmp)
    elif fmt == "comext-bulk":
        comext_bulk(lf).sink_csv(tmp)
    elif fmt == "converted-parquet":
        # What `rerouting convert` writes for repeated scans: a folder by year and chapter.
        cmd = [str(Path(sys.executable).with_name("rerouting")), "convert", str(canonical)]
        subprocess.run([*cmd, "--output", str(tmp), "-q"], check=True)
    else:
        raise ValueError(f"no derived file for {fmt}")
    tmp.rename(out)
    return out


def scan_command(path: Path, scenario: dict[str, Any], src: str | None = None) -> list[str]:
    """The user's command line for one file (``src``: run the package from that folder)."""
    exe = [str(Path(sys.executable).with_name("rerouting"))]
    if src:  # another checkout of the package, e.g. the code before a change
        exe = [sys.executable, "-c", f"import sys; sys.path.insert(0, {src!r}); "
               "from rerouting._cli import main; sys.argv[0] = 'rerouting'; main()"]  # fmt: skip
    products = ",".join(scenario["products"])
    return [
        *exe, "scan", str(path),
        "--origin", ",".join(scenario["origin"]),
        "--destination", ",".join(scenario["destination"]),
        "--event", str(scenario["event"])[:7],
        "--products", products,
        "-q",
    ]  # fmt: skip


# DuckDB: the same file read as stored, then the pairing and the window aggregation.
_VIEW: Final = {
    "canonical-parquet": """
        SELECT period, reporter, partner, CAST(flow AS VARCHAR) AS flow, hs, value,
               net_weight_kg AS kg FROM read_parquet('{path}')""",
    "converted-parquet": """
        SELECT period, reporter, partner, CAST(flow AS VARCHAR) AS flow, hs, value,
               net_weight_kg AS kg
        FROM read_parquet('{path}/**/*.parquet', hive_partitioning = false)""",
    "tidy-parquet": """
        SELECT CAST(strptime(period, '%Y-%m') AS DATE) AS period, reporter, partner, flow, hs,
               value, net_weight_kg AS kg FROM read_parquet('{path}')""",
    "tidy-csv": """
        SELECT CAST(strptime(period, '%Y-%m') AS DATE) AS period, reporter, partner, flow, hs,
               value, net_weight_kg AS kg
        FROM read_csv('{path}', header = true, types = {{'period': 'VARCHAR', 'hs': 'VARCHAR'}})""",
    "comtrade-csv": """
        SELECT CAST(strptime(CAST(period AS VARCHAR), '%Y%m') AS DATE) AS period,
               reporterISO AS reporter, partnerISO AS partner,
               CASE flowCode WHEN 'M' THEN 'import' WHEN 'X' THEN 'export'
                    WHEN 'RM' THEN 're-import' ELSE 're-export' END AS flow,
               cmdCode AS hs, primaryValue AS value, netWgt AS kg
        FROM read_csv('{path}', header = true,
                      types = {{'cmdCode': 'VARCHAR', 'period': 'VARCHAR'}})""",
    # ISO2 codes kept as read (the pairing only needs consistent keys), CN8 cut to HS6.
    "comext-bulk": """
        SELECT CAST(strptime(CAST(PERIOD AS VARCHAR), '%Y%m') AS DATE) AS period,
               DECLARANT_ISO AS reporter, PARTNER_ISO AS partner,
               CASE FLOW WHEN 1 THEN 'import' WHEN 2 THEN 'export' END AS flow,
               left(PRODUCT_NC, 6) AS hs, VALUE_IN_EUROS AS value, QUANTITY_IN_KG AS kg
        FROM read_csv('{path}', header = true,
                      types = {{'PRODUCT_NC': 'VARCHAR', 'FLOW': 'INTEGER', 'PERIOD': 'INTEGER',
                                'DECLARANT_ISO': 'VARCHAR', 'PARTNER_ISO': 'VARCHAR'}})""",
}

_PAIR: Final = """
CREATE TEMP TABLE t AS {view};
CREATE TEMP TABLE result AS
WITH x AS (
    SELECT reporter AS exporter, partner AS importer, hs, period,
           sum(value) AS xv, sum(kg) AS xk FROM t
    WHERE flow IN ('export', 're-export') GROUP BY ALL
), m AS (
    SELECT partner AS exporter, reporter AS importer, hs, period,
           sum(value) AS mv, sum(kg) AS mk FROM t
    WHERE flow IN ('import', 're-import') GROUP BY ALL
), j AS (SELECT * FROM x FULL OUTER JOIN m USING (exporter, importer, hs, period))
SELECT exporter, importer, hs, period >= DATE '{event}' AS post,
       sum(xv) AS xv, sum(mv) AS mv, sum(xk) AS xk, sum(mk) AS mk, count(*) AS months
FROM j GROUP BY ALL;
"""


def duckdb_command(path: Path, fmt: str, scenario: dict[str, Any]) -> list[str]:
    """A fresh Python process running DuckDB's pairing of the file."""
    sql = _PAIR.format(view=_VIEW[fmt].format(path=path), event=str(scenario["event"])[:10])
    code = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(); con.execute('SET threads = 2')\n"
        "con.execute(sys.argv[1])\n"
        "print(json.dumps({'rows': con.execute('SELECT count(*) FROM result').fetchone()[0]}))\n"
    )
    return [sys.executable, "-c", code, sql]


_WALL: Final = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
_RSS: Final = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
_USER: Final = re.compile(r"User time \(seconds\): (\S+)")
_SYS: Final = re.compile(r"System time \(seconds\): (\S+)")


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def timed(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd`` under ``/usr/bin/time -v``: wall, CPU, peak RSS, exit code."""
    import os

    load = os.getloadavg()[0]
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    err = proc.stderr
    wall, rss = _WALL.search(err), _RSS.search(err)
    user, sys_ = _USER.search(err), _SYS.search(err)
    if proc.returncode != 0 or wall is None or rss is None or user is None or sys_ is None:
        tail = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("\t")]
        return {"error": (tail[-1] if tail else f"exit {proc.returncode}")[:200], "load": load}
    return {
        "wall": _seconds(wall.group(1)),
        "cpu": float(user.group(1)) + float(sys_.group(1)),
        "rss_gb": int(rss.group(1)) * 1024 / 1e9,
        "load": load,
        "stdout_tail": proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else [],
    }


def contenders(
    canonical: Path,
    scenario: dict[str, Any],
    formats: list[str],
    before: str | None = None,
    src: str | None = None,
) -> dict[str, Any]:
    """``{name: command}`` for every format: the CLI and DuckDB on the same file.

    ``before``: also the CLI of the package in that ``src`` folder (``before (FORMAT)``),
    e.g. a checkout of the code before a change, interleaved in the same run; ``src``:
    run ``rerouting`` itself from that folder (default: the installed package).
    """
    out: dict[str, list[str]] = {}
    for fmt in formats:
        path = format_file(canonical, fmt)
        if before:
            out[f"before ({fmt})"] = scan_command(path, scenario, before)
        out[f"rerouting ({fmt})"] = scan_command(path, scenario, src)
        out[f"duckdb ({fmt})"] = duckdb_command(path, fmt, scenario)
    return out


if __name__ == "__main__":  # print the commands of one size, for copying
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _data import parse_rows, world_path, world_scenario

    rows = parse_rows(sys.argv[1] if len(sys.argv) > 1 else "1M")
    cmds = contenders(world_path(rows), world_scenario(rows), list(FORMATS))
    print(json.dumps({k: " ".join(v[:4]) + " …" for k, v in cmds.items()}, indent=2))
