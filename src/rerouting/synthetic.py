"""Synthetic trade worlds with known rerouting truth, for tests, benchmarks, docs and demos.

No public labelled data set of sanctions rerouting exists, so :func:`make_world` builds
one: monthly mirror trade statistics (both sides report, CIF vs FOB, noise, gaps, an
HS2017 → HS2022 switch, a sanctioned reporter that goes silent) in which some
origin → hub → destination routes are planted and labelled decoys imitate them::

    from rerouting.synthetic import make_world

    world = make_world(seed=1)
    world.trade        # canonical trade table (rerouting.schema)
    world.truth        # one row per planted route and labelled decoy
    world.scenario     # the Scenario to scan this world with

Everything is reproducible from ``seed``; ``rows`` scales the world from ~10 thousand
to ~50 million rows. See ``docs/synthetic.md`` for every mechanism and parameter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from rerouting._config import Scenario, parse_month
from rerouting._exceptions import ConfigError, SourceNotFoundError
from rerouting._synthetic import _engine
from rerouting._synthetic._engine import DECOY_TYPES, MARGIN_RANGE, Spec
from rerouting._synthetic._products import nomenclature
from rerouting.schema import CANONICAL_SCHEMA

if TYPE_CHECKING:
    import datetime as dt

__all__ = [
    "DECOY_TYPES",
    "DEMO_WORLDS",
    "MARGIN_RANGE",
    "TRUTH_SCHEMA",
    "World",
    "demo_world",
    "load_world",
    "make_world",
]

#: Columns of :attr:`World.truth`. ``decoy_type`` is one of :data:`DECOY_TYPES`; for a
#: ``coincidence`` decoy ``lag`` is null, ``ramp`` is the origin → hub leg's and ``note``
#: gives both legs' starts and ramps, the unit-value ratio and kg out / kg in.
TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "decoy_type": pl.String(),
    "origin": pl.String(),
    "hub": pl.String(),
    "destination": pl.String(),
    "hs": pl.String(),
    "strength": pl.Float64(),
    "lag": pl.Int64(),
    "ramp": pl.Int64(),
    "hub_underreports": pl.Boolean(),
    "note": pl.String(),
}


@dataclass(frozen=True)
class World:
    """A generated world: trade records, the planted truth and how to scan it.

    Attributes:
        trade: Canonical trade table (``rerouting.schema``), ``source="synthetic"``, US$.
        truth: One row per planted route (``kind="route"``) and labelled decoy
            (``kind="decoy"``); columns in :data:`TRUTH_SCHEMA`. ``hs`` is HS2017.
        scenario: The scenario to scan the world with (origin, destination, event,
            ``hubs=None``, ``products`` = the sanctioned HS2017 codes).
        sanctioned: Sanctioned (listed) HS2017 six-digit codes, sorted.
        params: Every generation parameter, and what was derived from it.
        products: One row per product: ``hs`` (HS2017), ``hs2022`` (its code(s) from 2022),
            ``role``, ``listed``, ``binding`` (direct flows collapse), ``unit_value``,
            ``description``.
        margins: CIF/FOB margin per ordered pair (``exporter``, ``importer``,
            ``cif_fob_margin``); importers report FOB x (1 + margin).
        reporters: Per country: ``group``, ``value_noise`` (log sd), ``missing_rate``,
            ``silent_from`` (first month with no reports, or null).
    """

    trade: pl.DataFrame
    truth: pl.DataFrame
    scenario: Scenario
    sanctioned: tuple[str, ...]
    params: dict[str, object]
    products: pl.DataFrame
    margins: pl.DataFrame
    reporters: pl.DataFrame

    def write(self, directory: str | Path, *, compression_level: int = 9) -> Path:
        """Write the world as fixture files and return the directory.

        Files: ``trade.parquet`` (zstd at ``compression_level``), ``truth.csv``,
        ``scenario.toml`` (readable by :meth:`Scenario.from_toml`), ``world.json``
        (params), ``products.csv``, ``margins.csv`` and ``reporters.csv``.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.trade.write_parquet(
            out / "trade.parquet",
            compression="zstd",
            compression_level=compression_level,
            statistics=False,
        )
        self.truth.write_csv(out / "truth.csv")
        (out / "scenario.toml").write_text(_scenario_toml(self.scenario), encoding="utf-8")
        (out / "world.json").write_text(
            json.dumps(self.params, indent=2, default=str) + "\n", encoding="utf-8"
        )
        self.products.with_columns(pl.col("hs2022").list.join(" ")).write_csv(out / "products.csv")
        self.margins.write_csv(out / "margins.csv")
        self.reporters.write_csv(out / "reporters.csv")
        return out


def _scenario_toml(sc: Scenario) -> str:
    def arr(v: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{x}"' for x in v) + "]"

    lines = [
        "# Scenario to scan this synthetic world with (rerouting._config.Scenario.from_toml).",
        "[scenario]",
        f"origin = {arr(sc.origin)}",
        f"destination = {arr(sc.destination)}",
        f'event = "{sc.event:%Y-%m}"',
    ]
    if sc.hubs is not None:
        lines.append(f"hubs = {arr(sc.hubs)}")
    if isinstance(sc.products, tuple):
        lines.append(f"products = {arr(sc.products)}")
    elif sc.products is not None:
        lines.append(f'products = "{sc.products}"')
    return "\n".join(lines) + "\n"


def make_world(
    seed: int = 0,
    *,
    direction: Literal["import-ban", "export-control"] = "import-ban",
    start: str | dt.date = "2019-01",
    end: str | dt.date = "2023-12",
    event: str | dt.date = "2022-03",
    n_products: int = 40,
    n_other_countries: int = 12,
    eu_members: int = 10,
    n_routes: int = 8,
    decoys_per_type: int = 1,
    rows: int | None = None,
    split_route: bool = True,
    diversion: float = 0.3,
    max_lag: int = 3,
    max_ramp: int = 6,
) -> World:
    """Generate a synthetic world of mirror trade statistics with planted rerouting.

    Args:
        seed: Random seed; the same arguments always give identical frames.
        direction: ``"import-ban"`` (Belarus → EU banned, hubs carry BLR goods to the EU)
            or ``"export-control"`` (EU → Russia banned, hubs carry EU goods to Russia).
        start: First month of data.
        end: Last month of data.
        event: First month under sanctions (direct flows collapse from here).
        n_products: Core products: routes, decoys, collapse-only sanctioned products and
            non-sanctioned controls (the rest).
        n_other_countries: Non-hub, non-EU countries (USA, IND, BRA, ...; up to 36).
            Russia (import ban) or Belarus (export control) is always added.
        eu_members: How many EU members take part (1-27, biggest and BLR neighbours first).
        n_routes: Planted routes; every fourth product with a route uses two hubs.
        decoys_per_type: Labelled decoys of each of the seven types
            (:data:`DECOY_TYPES`).
        rows: Target row count (approximate, ±5%). Above the core world's size,
            unlabelled background products (real HS6 codes) are added; below it, the
            core's optional series are thinned. ``None`` keeps the core as is.
        split_route: Plant one single-hub route on a code that HS2022 split, so the
            route only shows after harmonising codes to HS2017.
        diversion: Share of the lost direct flow that the origin sells to Russia
            instead (import ban only; not rerouting, the hub leg to the EU is missing).
        max_lag: Each route's hub→destination leg follows its origin→hub leg by
            0..``max_lag`` months (0-12; goods wait in the hub's warehouses).
        max_ramp: Each route reaches its full size over 1..``max_ramp`` months after
            the event (1-24; new routes are built up, not switched on).

    Returns:
        The :class:`World`.

    Raises:
        ConfigError: a parameter is out of range or the world cannot hold the routes
            and decoys asked for.
    """
    spec = _spec(
        seed=seed,
        direction=direction,
        start=start,
        end=end,
        event=event,
        n_products=n_products,
        n_other_countries=n_other_countries,
        eu_members=eu_members,
        n_routes=n_routes,
        decoys_per_type=decoys_per_type,
        rows=rows,
        split_route=split_route,
        diversion=diversion,
        max_lag=max_lag,
        max_ramp=max_ramp,
    )
    parts = _engine.generate(spec)
    return _package(spec, parts)


def _spec(**kw: Any) -> Spec:
    def bad(column: str, hint: str) -> ConfigError:
        return ConfigError(f"invalid {column}", column=column, value=kw[column], hint=hint)

    if kw["direction"] not in ("import-ban", "export-control"):
        raise bad("direction", 'use "import-ban" or "export-control"')
    start = parse_month(kw["start"], field="start")
    end = parse_month(kw["end"], field="end")
    event = parse_month(kw["event"], field="event")
    months_pre = (event.year - start.year) * 12 + event.month - start.month
    months_post = (end.year - event.year) * 12 + end.month - event.month + 1
    if months_pre < 12:
        raise bad("start", "start at least 12 months before the event")
    if months_post < 6:
        raise bad("end", "end at least 6 months after the event (12+ recommended)")
    if not 1 <= int(kw["eu_members"]) <= 27:
        raise bad("eu_members", "between 1 and 27")
    if not 0 <= int(kw["n_other_countries"]) <= 36:
        raise bad("n_other_countries", "between 0 and 36")
    if not 0 <= int(kw["n_routes"]) <= 24:
        raise bad("n_routes", "between 0 and 24")
    if not 0 <= int(kw["decoys_per_type"]) <= 4:
        raise bad("decoys_per_type", "between 0 and 4")
    if kw["rows"] is not None and not 1_000 <= int(kw["rows"]) <= 100_000_000:
        raise bad("rows", "between 1,000 and 100,000,000 (or None)")
    if not 0.0 <= float(kw["diversion"]) <= 1.0:
        raise bad("diversion", "a share between 0 and 1")
    if not 0 <= int(kw["max_lag"]) <= 12:
        raise bad("max_lag", "between 0 and 12 months")
    if not 1 <= int(kw["max_ramp"]) <= 24:
        raise bad("max_ramp", "between 1 and 24 months")
    return Spec(
        seed=int(kw["seed"]),
        direction=kw["direction"],
        start=start,
        end=end,
        event=event,
        n_products=int(kw["n_products"]),
        n_other_countries=int(kw["n_other_countries"]),
        eu_members=int(kw["eu_members"]),
        n_routes=int(kw["n_routes"]),
        decoys_per_type=int(kw["decoys_per_type"]),
        rows=None if kw["rows"] is None else int(kw["rows"]),
        split_route=bool(kw["split_route"]),
        diversion=float(kw["diversion"]),
        max_lag=int(kw["max_lag"]),
        max_ramp=int(kw["max_ramp"]),
    )


_NOTES = {
    "hub_production": "the hub's own new output: hub → destination rises, origin → hub flat",
    "hub_demand": "the hub's own demand: origin → hub rises, hub → destination flat",
    "demand_boom": "product-wide boom: every flow rises, the direct flow does not collapse",
    "price_shock": "values ×{size:.1f} after the event, kilograms unchanged",
    "hs_split": "HS2022 split the code into {kids}; flat at HS2017 level",
    "one_off": "single shipment in {month} (origin → hub), otherwise flat",
    "coincidence": "unrelated rises: origin → hub (the hub's own demand) from {start}, "
    "ramp {ramp} months; hub → destination (the hub's own output, unit value ×{uv:.2f}) "
    "from {start2}, ramp {ramp2} months; kg out / kg in ≈ {mass:.2f}",
}


def _package(spec: Spec, parts: _engine.WorldParts) -> World:
    lay, core = parts.layout, parts.core
    ib = spec.direction == "import-ban"
    origin_name = "BLR" if ib else "EU"
    dest_name = "EU" if ib else "RUS"
    codes = core.block.codes
    rows: list[dict[str, object]] = []
    for r in core.routes:
        note = f"markup {r.markup:.1%}"
        if r.underreport is not None:
            what = "exports to the EU" if ib else "imports from the EU (lost in transit)"
            note += f"; hub declares {r.underreport:.0%} of the rerouted {what}"
        if core.block.children[r.p]:
            note += f"; reported as {'/'.join(core.block.children[r.p])} from 2022"
        rows.append(
            {
                "kind": "route",
                "decoy_type": None,
                "origin": origin_name,
                "hub": lay.iso[r.hub],
                "destination": dest_name,
                "hs": codes[r.p],
                "strength": r.strength,
                "lag": r.lag,
                "ramp": r.ramp,
                "hub_underreports": r.underreport is not None,
                "note": note,
            }
        )
    for d in core.decoys:
        note = _NOTES[d.kind].format(
            size=d.size,
            kids="/".join(core.block.children[d.p]),
            month=f"{lay.months[d.month]:%Y-%m}" if d.month is not None else "",
            start=f"{lay.months[lay.e + (d.start or 0)]:%Y-%m}",
            start2=f"{lay.months[lay.e + (d.start2 or 0)]:%Y-%m}",
            ramp=d.ramp,
            ramp2=d.ramp2,
            uv=d.uv_ratio or 1.0,
            mass=d.mass_ratio or 1.0,
        )
        rows.append(
            {
                "kind": "decoy",
                "decoy_type": d.kind,
                "origin": origin_name,
                "hub": lay.iso[d.hub],
                "destination": dest_name,
                "hs": codes[d.p],
                "strength": None,
                "lag": d.lag,
                "ramp": d.ramp,
                "hub_underreports": False,
                "note": note,
            }
        )
    truth = (
        pl.DataFrame(rows, schema=TRUTH_SCHEMA, orient="row")
        if rows
        else pl.DataFrame(schema=TRUTH_SCHEMA)
    )
    sanctioned = tuple(sorted(c for c, listed in zip(codes, core.listed, strict=True) if listed))
    scenario = Scenario(
        origin=(origin_name,),
        destination=(dest_name,),
        event=spec.event,
        hubs=None,
        products=sanctioned,
    )
    nom = nomenclature()
    all_codes = [*codes, *parts.background]
    n_core = len(codes)
    products = pl.DataFrame(
        {
            "hs": all_codes,
            "hs2022": [list(nom.splits.get(c, (c,))) for c in all_codes],
            "role": [*core.role, *["background"] * len(parts.background)],
            "listed": [*core.listed.tolist(), *[False] * len(parts.background)],
            "binding": [*core.binding.tolist(), *[False] * len(parts.background)],
            "unit_value": [*core.block.uv.tolist(), *[None] * len(parts.background)],
            "description": [nom.hs2017[c] for c in all_codes],
        },
        schema={
            "hs": pl.String,
            "hs2022": pl.List(pl.String),
            "role": pl.String,
            "listed": pl.Boolean,
            "binding": pl.Boolean,
            "unit_value": pl.Float64,
            "description": pl.String,
        },
    )
    c = lay.n_countries
    margins = pl.DataFrame(
        {
            "exporter": [lay.iso[i] for i in range(c) for j in range(c) if i != j],
            "importer": [lay.iso[j] for i in range(c) for j in range(c) if i != j],
            "cif_fob_margin": [
                round(float(lay.margin[i, j]), 6) for i in range(c) for j in range(c) if i != j
            ],
        }
    )
    reporters = pl.DataFrame(
        {
            "country": list(lay.iso),
            "group": list(lay.group),
            "value_noise": [round(float(x), 6) for x in lay.noise],
            "missing_rate": [round(float(x), 6) for x in lay.miss],
            "silent_from": [spec.event if s else None for s in lay.silent.tolist()],
        },
        schema={
            "country": pl.String,
            "group": pl.String,
            "value_noise": pl.Float64,
            "missing_rate": pl.Float64,
            "silent_from": pl.Date,
        },
    )
    params: dict[str, object] = {
        "seed": spec.seed,
        "direction": spec.direction,
        "start": f"{spec.start:%Y-%m}",
        "end": f"{spec.end:%Y-%m}",
        "event": f"{spec.event:%Y-%m}",
        "n_products": spec.n_products,
        "n_other_countries": spec.n_other_countries,
        "eu_members": spec.eu_members,
        "n_routes": spec.n_routes,
        "decoys_per_type": spec.decoys_per_type,
        "rows": spec.rows,
        "split_route": spec.split_route,
        "diversion": spec.diversion,
        "origin": origin_name,
        "destination": dest_name,
        "silent_reporters": [lay.iso[k] for k in range(c) if lay.silent[k]],
        "countries": list(lay.iso),
        "hubs": [lay.iso[h] for h in lay.hubs],
        "eu": [lay.iso[m] for m in lay.members],
        "cif_fob_margin_range": list(MARGIN_RANGE),
        "core_products": n_core,
        "background_products": len(parts.background),
        "rows_expected": round(parts.rows_expected),
        "rows_generated": parts.trade.height,
        "core_density_shift": round(parts.core_delta, 6),
        "background_density_shift": round(parts.background_delta, 6),
    }
    return World(
        trade=parts.trade,
        truth=truth,
        scenario=scenario,
        sanctioned=sanctioned,
        params=params,
        products=products,
        margins=margins,
        reporters=reporters,
    )


def load_world(directory: str | Path) -> World:
    """Read a world written by :meth:`World.write` (e.g. ``fixtures/demo``).

    Raises:
        SourceNotFoundError: the directory or one of its files is missing.
    """
    d = Path(directory)
    need = (
        "trade.parquet",
        "truth.csv",
        "scenario.toml",
        "world.json",
        "products.csv",
        "margins.csv",
        "reporters.csv",
    )
    for name in need:
        if not (d / name).is_file():
            raise SourceNotFoundError(
                "synthetic world file not found",
                file=str(d / name),
                hint="write one with World.write() or run `python fixtures/make_fixtures.py`",
            )
    trade = pl.read_parquet(d / "trade.parquet")
    trade = trade.select([pl.col(k).cast(v) for k, v in CANONICAL_SCHEMA.items()])
    truth = pl.read_csv(d / "truth.csv", schema=TRUTH_SCHEMA)
    scenario = Scenario.from_toml(d / "scenario.toml")
    params = json.loads((d / "world.json").read_text(encoding="utf-8"))
    products = pl.read_csv(
        d / "products.csv",
        schema_overrides={"hs": pl.String, "hs2022": pl.String},
    ).with_columns(pl.col("hs2022").str.split(" "))
    margins = pl.read_csv(d / "margins.csv")
    reporters = pl.read_csv(d / "reporters.csv", try_parse_dates=True).with_columns(
        pl.col("silent_from").cast(pl.Date)
    )
    sanctioned = scenario.products if isinstance(scenario.products, tuple) else ()
    return World(
        trade=trade,
        truth=truth,
        scenario=scenario,
        sanctioned=tuple(sanctioned),
        params=params,
        products=products,
        margins=margins,
        reporters=reporters,
    )


#: The demo worlds committed under ``fixtures/`` (name -> ``make_world`` arguments).
#: ``rerouting demo`` rebuilds them in memory, so it works from an installed wheel.
DEMO_WORLDS: dict[str, dict[str, Any]] = {
    # Belarus -> EU import ban (wood, potash, steel...), hubs KAZ, KGZ, ARM, GEO, TUR...
    "demo": {
        "seed": 2022,
        "direction": "import-ban",
        "start": "2019-01",
        "end": "2023-12",
        "event": "2022-03",
        "n_products": 32,
        "n_other_countries": 8,
        "eu_members": 8,
        "n_routes": 8,
        "decoys_per_type": 2,
    },
    # EU -> Russia export controls (Common High Priority List goods)
    "demo_export_control": {
        "seed": 2023,
        "direction": "export-control",
        "start": "2020-01",
        "end": "2023-12",
        "event": "2022-03",
        "n_products": 24,
        "n_other_countries": 6,
        "eu_members": 6,
        "n_routes": 6,
        "decoys_per_type": 1,
    },
}


def demo_world(
    direction: Literal["import-ban", "export-control"] = "import-ban", *, seed: int | None = None
) -> World:
    """The demo world of ``direction`` (the one in ``fixtures/``), or another seed of it."""
    name = "demo" if direction == "import-ban" else "demo_export_control"
    args = dict(DEMO_WORLDS[name])
    if seed is not None:
        args["seed"] = seed
    return make_world(**args)
