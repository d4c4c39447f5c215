"""Vectorised generator behind :func:`rerouting.synthetic.make_world`.

Three layers, each a handful of numpy array operations (loops run over products, routes
and batches, never over rows):

1. **True flows**: a gravity model gives every (exporter, importer, product) series a
   monthly level; seasonality, trend, a 2020 dip, lognormal noise and lumpy activity
   turn it into an (series x month) array of FOB values, and unit values into kilograms.
2. **Effects** (core products only): the sanctioned direct flows collapse after the
   event, planted routes add flows on both legs, decoys add their own signatures.
3. **Reporting**: each active cell is reported by the exporter (FOB) and by the importer
   (CIF = FOB x (1 + margin)) with reporter-specific noise and gaps, in HS2017 before
   2022 and HS2022 from January 2022 (split codes become several rows); the sanctioned
   reporter goes silent after the event.

``docs/synthetic.md`` documents every formula and parameter.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from rerouting._exceptions import ConfigError
from rerouting._synthetic._countries import COUNTRIES, EAEU, EU27, HUBS, OTHERS, distance_km
from rerouting._synthetic._products import (
    CONTROL_POOL,
    SANCTIONED_POOL,
    SPLIT_POOL,
    nomenclature,
    unit_value,
)
from rerouting.schema import CANONICAL_COLUMNS, CANONICAL_SCHEMA, FLOW_DTYPE, FREQUENCY_DTYPE

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["DECOY_TYPES", "Direction", "Spec", "WorldParts", "generate"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Direction = Literal["import-ban", "export-control"]

DECOY_TYPES: Final = (
    "hub_production",
    "hub_demand",
    "demand_boom",
    "price_shock",
    "hs_split",
    "one_off",
    "coincidence",
)

# Gravity model (log US$ per month): ll = K0 + a_p + 0.8 ln gdp_i + 0.8 ln gdp_j - ln dist
# + rca_ip + pref_jp + affinity_ij + eps.  K0 puts DEU -> FRA of a typical HS6 near $3m.
_K0: Final = 6.3
_EXIST_AT: Final = math.log(30_000.0)  # series exists with p=0.5 at $30k/month
_ACTIVE_AT: Final = math.log(150_000.0)  # a month is active with p=0.5 at $150k/month
_PI_RANGE: Final = (0.05, 0.97)
MARGIN_RANGE: Final = (0.02, 0.12)
_BATCH: Final = 48  # background products per batch
_SPLIT_YEAR: Final = dt.date(2022, 1, 1)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _sigmoid(x: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------
# Specification and layout
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """Validated arguments of ``make_world``."""

    seed: int
    direction: Direction
    start: dt.date
    end: dt.date
    event: dt.date
    n_products: int
    n_other_countries: int
    eu_members: int
    n_routes: int
    decoys_per_type: int
    rows: int | None
    split_route: bool
    diversion: float
    max_lag: int = 3
    max_ramp: int = 6


@dataclass(frozen=True)
class Layout:
    """Countries, months and reporter behaviour of one world."""

    iso: tuple[str, ...]
    group: tuple[str, ...]
    members: I64
    hubs: I64
    origin_side: I64
    dest_side: I64
    silent: Bool
    lg: F64
    ldist: F64
    affinity: F64
    eaeu_pair: Bool
    noise: F64
    miss: F64
    margin: F64
    gap: Bool  # [C, T] months in which a reporter published nothing at all
    months: tuple[dt.date, ...]
    e: int
    t22: int
    moy: F64
    years: F64
    dip: F64

    @property
    def n_countries(self) -> int:
        return len(self.iso)

    @property
    def n_months(self) -> int:
        return len(self.months)

    def pos(self, iso3: str) -> int:
        return self.iso.index(iso3)


def _months(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    n = (end.year - start.year) * 12 + end.month - start.month + 1
    return tuple(
        dt.date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1)
        for k in range(n)
    )


def _layout(spec: Spec) -> Layout:
    rng = _rng(spec.seed, 0)
    members = EU27[: spec.eu_members]
    if spec.direction == "import-ban":
        sanctioned, extra = "BLR", "RUS"
    else:
        sanctioned, extra = "RUS", "BLR"
    others = (*OTHERS[: spec.n_other_countries], extra)
    iso = (*members, sanctioned, *HUBS, *others)
    group = (
        *("eu",) * len(members),
        "sanctioned",
        *("hub",) * len(HUBS),
        *("other",) * len(others),
    )
    c = len(iso)
    idx = {k: n for n, k in enumerate(iso)}
    mem = np.arange(len(members), dtype=np.int64)
    hubs = np.array([idx[h] for h in HUBS], dtype=np.int64)
    if spec.direction == "import-ban":
        origin_side, dest_side = np.array([idx["BLR"]], dtype=np.int64), mem
    else:
        origin_side, dest_side = mem, np.array([idx["RUS"]], dtype=np.int64)
    silent = np.zeros(c, dtype=bool)
    silent[idx[sanctioned]] = True

    lg = np.log(np.array([COUNTRIES[k][0] for k in iso], dtype=np.float64))
    dist = distance_km(iso)
    ldist = np.log(dist)
    eaeu = np.array([k in EAEU for k in iso])
    is_eu = np.array([g == "eu" for g in group])
    eaeu_pair = eaeu[:, None] & eaeu[None, :]
    affinity = 1.5 * eaeu_pair + 0.8 * (is_eu[:, None] & is_eu[None, :])
    # Belarus' EU neighbours buy most of its wood, potash and steel.
    for near in ("POL", "LTU", "LVA"):
        if near in idx:
            affinity[idx["BLR"], idx[near]] += 1.0
            affinity[idx[near], idx["BLR"]] += 1.0

    lo_hi = {
        "eu": (0.02, 0.05),
        "sanctioned": (0.04, 0.08),
        "hub": (0.04, 0.10),
        "other": (0.03, 0.08),
    }
    miss_lo_hi = {
        "eu": (0.005, 0.03),
        "sanctioned": (0.02, 0.05),
        "hub": (0.03, 0.12),
        "other": (0.01, 0.06),
    }
    noise = np.array([rng.uniform(*lo_hi[g]) for g in group])
    miss = np.array([rng.uniform(*miss_lo_hi[g]) for g in group])
    lo, hi = MARGIN_RANGE
    span = (ldist - math.log(150.0)) / (math.log(20_000.0) - math.log(150.0))
    margin = np.clip(lo + (hi - lo) * span + rng.normal(0.0, 0.01, (c, c)), lo, hi)

    months = _months(spec.start, spec.end)
    gap_rate = {"eu": 0.0, "sanctioned": 0.01, "hub": 0.03, "other": 0.015}
    gap = rng.random((c, len(months))) < np.array([gap_rate[g] for g in group])[:, None]
    e = months.index(spec.event)
    t22 = next((k for k, m in enumerate(months) if m >= _SPLIT_YEAR), len(months))
    moy = np.array([m.month - 1 for m in months], dtype=np.float64)
    years = np.arange(len(months), dtype=np.float64) / 12.0
    dip_by_month = {dt.date(2020, 4, 1): 0.75, dt.date(2020, 5, 1): 0.8, dt.date(2020, 6, 1): 0.9}
    dip = np.array([dip_by_month.get(m, 1.0) for m in months])
    return Layout(
        iso=iso,
        group=group,
        members=mem,
        hubs=hubs,
        origin_side=origin_side,
        dest_side=dest_side,
        silent=silent,
        lg=lg,
        ldist=ldist,
        affinity=affinity,
        eaeu_pair=eaeu_pair,
        noise=noise,
        miss=miss,
        margin=margin,
        gap=gap,
        months=months,
        e=e,
        t22=t22,
        moy=moy,
        years=years,
        dip=dip,
    )


# --------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------


@dataclass
class Block:
    """Products generated together, with their gravity and reporting parameters."""

    codes: list[str]
    a: F64
    uv: F64
    amp: F64
    phase: F64
    rca: F64  # [P, C]
    pref: F64  # [P, C]
    uvx: F64  # [P, C] exporter-specific unit-value deviation (log)
    eps: F64  # [P, C, C] pair noise of the level
    children: list[tuple[str, ...]]
    shares: list[F64]
    flat: Bool  # [P] no trend (decoy products)
    calm: F64  # [P] multiplier of the monthly noise (steady contracts)

    @property
    def n(self) -> int:
        return len(self.codes)


def _block(codes: Sequence[str], c: int, rng: np.random.Generator, uv_sd: float) -> Block:
    nom = nomenclature()
    p = len(codes)
    a = rng.normal(0.0, 0.8, p)
    uv = np.array([unit_value(k) for k in codes]) * np.exp(rng.normal(0.0, uv_sd, p))
    amp = rng.uniform(0.0, 0.3, p)
    phase = rng.uniform(0.0, 12.0, p)
    rca = rng.normal(0.0, 1.2, (p, c))
    pref = rng.normal(0.0, 0.6, (p, c))
    uvx = rng.normal(0.0, 0.2, (p, c))
    eps = rng.normal(0.0, 1.0, (p, c, c))
    children = [nom.splits.get(k, ()) for k in codes]
    shares = [rng.dirichlet(np.full(len(k), 2.0)) if k else np.ones(0) for k in children]
    return Block(
        codes=list(codes),
        a=a,
        uv=uv,
        amp=amp,
        phase=phase,
        rca=rca,
        pref=pref,
        uvx=uvx,
        eps=eps,
        children=children,
        shares=shares,
        flat=np.zeros(p, dtype=bool),
        calm=np.ones(p),
    )


def _loglevel(block: Block, lay: Layout) -> F64:
    ll = (
        _K0
        + block.a[:, None, None]
        + 0.8 * lay.lg[None, :, None]
        + 0.8 * lay.lg[None, None, :]
        - lay.ldist[None, :, :]
        + lay.affinity[None, :, :]
        + block.rca[:, :, None]
        + block.pref[:, None, :]
        + block.eps
    )
    diag = np.arange(lay.n_countries)
    ll[:, diag, diag] = -np.inf
    return ll


def _activity(ll: F64) -> F64:
    return np.clip(_sigmoid((ll - _ACTIVE_AT) / 1.2), *_PI_RANGE)


def _row_weight(block: Block, lay: Layout) -> F64:
    """Expected reports per active month-series, per (product, exporter, importer)."""
    t, e = lay.n_months, lay.e
    months_x = np.where(lay.silent, e, t).astype(np.float64)
    rep = (1 - lay.miss) * months_x
    base = rep[:, None] + rep[None, :]  # [C, C]
    post22 = max(0, t - lay.t22) / t
    kids = np.array([max(1, len(k)) for k in block.children], dtype=np.float64)
    return (1.0 + (kids - 1.0) * post22)[:, None, None] * base[None, :, :] / t


def _expected_rows(ll: F64, forced: Bool, floor: F64, delta: float, weight: F64, t: int) -> float:
    q = np.where(forced, 1.0, _sigmoid(ll - _EXIST_AT + delta))
    pi = np.maximum(_activity(ll), floor)
    return float(np.sum(q * pi * weight) * t)


# --------------------------------------------------------------------------------------
# Series and true flows
# --------------------------------------------------------------------------------------


@dataclass
class Flows:
    """True monthly flows of one block: series (rows) x months (columns)."""

    p: I64
    i: I64
    j: I64
    uv: F64
    E: F64  # expected counterfactual value
    V: F64  # true FOB value
    K: F64  # true kilograms
    xfac: F64 | None = None  # exporter's report / truth (hub under-reports exports)
    mfac: F64 | None = None  # importer's report / truth (hub under-reports imports)
    sure: Bool | None = None  # cells both sides always report (one-off shipments)
    keys: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def find(self, p: int, i: int, j: int, c: int) -> int:
        k = (p * c + i) * c + j
        pos = int(np.searchsorted(self.keys, k))
        if pos < len(self.keys) and self.keys[pos] == k:
            return pos
        return -1


def _flows(
    block: Block,
    lay: Layout,
    ll: F64,
    forced: Bool,
    floor: F64,
    delta: float,
    rng_s: np.random.Generator,
    rng_c: np.random.Generator,
) -> Flows:
    c = lay.n_countries
    q = np.where(forced, 1.0, _sigmoid(ll - _EXIST_AT + delta))
    exist = (rng_s.random(ll.shape) < q) & np.isfinite(ll)
    p, i, j = (x.astype(np.int64) for x in np.nonzero(exist))
    lls = ll[p, i, j]
    pi = np.maximum(_activity(lls), floor[p, i, j])
    sigma = (0.15 + 0.35 * (1.0 - pi)) * block.calm[p]
    g = np.where(block.flat[p], 0.0, rng_s.normal(0.02, 0.05, len(p)))
    uv = block.uv[p] * np.exp(block.uvx[p, i] + rng_s.normal(0.0, 0.05, len(p)))

    t = lay.n_months
    season = 1.0 + block.amp[p][:, None] * np.sin(
        2.0 * np.pi * (lay.moy[None, :] - block.phase[p][:, None]) / 12.0
    )
    e_val = np.exp(lls)[:, None] * season * np.exp(g[:, None] * lay.years[None, :]) * lay.dip
    active = rng_c.random((len(p), t)) < pi[:, None]
    noise = np.exp(sigma[:, None] * rng_c.standard_normal((len(p), t)))
    v = np.where(active, e_val / pi[:, None] * noise, 0.0)
    kg_sd = 0.08 * block.calm[p][:, None]
    k = v / (uv[:, None] * np.exp(kg_sd * rng_c.standard_normal((len(p), t))))
    keys = (p * c + i) * c + j
    return Flows(p=p, i=i, j=j, uv=uv, E=e_val, V=v, K=k, keys=keys)


# --------------------------------------------------------------------------------------
# Core world: product roles, routes, decoys
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    p: int
    hub: int
    strength: float
    lag: int
    ramp: int
    underreport: float | None  # share of the rerouted value the hub declares
    markup: float


@dataclass(frozen=True)
class Decoy:
    kind: str
    p: int
    hub: int
    size: float
    ramp: int | None = None
    lag: int | None = None
    month: int | None = None
    # coincidence only: the second leg's own share of L, start and ramp; kg out / kg in;
    # unit value out / unit value in (the hub's own grade)
    size2: float | None = None
    start: int | None = None
    start2: int | None = None
    ramp2: int | None = None
    mass_ratio: float | None = None
    uv_ratio: float | None = None


@dataclass
class Core:
    block: Block
    role: list[str]
    listed: Bool
    binding: Bool
    routes: list[Route]
    decoys: list[Decoy]
    collapse_floor: F64
    collapse_wind: I64
    top: dict[int, I64]  # product -> destination-side (import-ban) or origin-side members


_HUB_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    # KAZ KGZ ARM GEO TUR ARE UZB CHN
    "import-ban": (0.25, 0.15, 0.08, 0.08, 0.15, 0.07, 0.10, 0.12),
    "export-control": (0.18, 0.15, 0.15, 0.08, 0.14, 0.10, 0.08, 0.12),
}


def _core_products(spec: Spec, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Pick HS2017 codes and assign roles (``route``, ``decoy:<type>``, ``collapse``...)."""
    d = spec.direction
    n_two = spec.n_routes // 4
    n_rp = spec.n_routes - n_two
    n_collapse = max(2, n_rp // 2) if spec.n_routes else 2
    dpt = spec.decoys_per_type
    splits = list(SPLIT_POOL[d])
    rng.shuffle(splits)
    use_split_route = spec.split_route and n_rp >= 2 and len(splits) > dpt
    if dpt > len(splits) - int(use_split_route):
        raise ConfigError(
            "too many decoys per type for the available HS split codes",
            column="decoys_per_type",
            value=dpt,
            hint=f"use at most {len(splits) - int(use_split_route)} for {d}",
        )
    pool = list(SANCTIONED_POOL[d])
    rng.shuffle(pool)
    n_listed = n_rp + len(DECOY_TYPES) * dpt + n_collapse
    n_stable = n_listed - dpt - int(use_split_route)
    if n_stable > len(pool) or spec.n_products < n_listed + 3:
        raise ConfigError(
            "n_products is too small for the routes and decoys asked for",
            column="n_products",
            value=spec.n_products,
            hint=f"use n_products >= {n_listed + 3} (routes, {len(DECOY_TYPES)}x"
            f"{dpt} decoys, {n_collapse} collapse-only and 3 controls) or fewer routes/decoys",
        )
    stable = iter(pool[:n_stable])
    split_iter = iter(splits)
    codes: list[str] = []
    roles: list[str] = []
    for k in range(n_rp):
        use_split = use_split_route and k == n_two  # a single-hub route on a split code
        codes.append(next(split_iter) if use_split else next(stable))
        roles.append("route")
    for kind in DECOY_TYPES:
        for _ in range(dpt):
            codes.append(next(split_iter) if kind == "hs_split" else next(stable))
            roles.append(f"decoy:{kind}")
    for _ in range(n_collapse):
        codes.append(next(stable))
        roles.append("collapse")
    controls = list(CONTROL_POOL[d])
    head, tail = controls[:3], controls[3:]  # the leading-zero codes always stay
    rng.shuffle(tail)
    n_ctrl = spec.n_products - len(codes)
    ctrl = (head + tail)[:n_ctrl]
    if len(ctrl) < n_ctrl:
        extra = sorted(nomenclature().stable - set(codes) - set(ctrl))
        ctrl += list(rng.choice(extra, n_ctrl - len(ctrl), replace=False))
    codes += ctrl
    roles += ["control"] * len(ctrl)
    return codes, roles


def _core(spec: Spec, lay: Layout) -> tuple[Core, F64, Bool, F64]:
    """Build the core block, its planted routes and decoys, and the forced series."""
    rng = _rng(spec.seed, 1)
    codes, roles = _core_products(spec, rng)
    c = lay.n_countries
    block = _block(codes, c, _rng(spec.seed, 2), uv_sd=0.25)
    p_n = block.n
    listed = np.array([r != "control" for r in roles])
    non_binding = {"decoy:demand_boom", "decoy:price_shock"}
    binding = np.array([r != "control" and r not in non_binding for r in roles])
    # Decoys are "otherwise flat": no trend, mild seasonality, so only their signature moves.
    flat = np.array([r.startswith("decoy:") for r in roles])
    block.flat = flat
    block.amp = np.where(flat, np.minimum(block.amp, 0.1), block.amp)
    # Decoy goods move under steady contracts (price shocks: bulk goods, even steadier).
    block.calm = np.where([r == "decoy:price_shock" for r in roles], 0.4, np.where(flat, 0.6, 1.0))
    # The sanctioned side is a big supplier (import ban) or buyer (export control) of
    # listed goods; otherwise there would be nothing to reroute.
    if spec.direction == "import-ban":
        block.rca[listed, lay.origin_side[0]] += 3.0
        block.pref[np.ix_(listed, lay.dest_side)] += 0.5
    else:
        block.rca[np.ix_(listed, lay.origin_side)] += 1.0
        block.pref[listed, lay.dest_side[0]] += 1.5
    ll = _loglevel(block, lay)
    forced = np.zeros(ll.shape, dtype=bool)
    floor = np.zeros(ll.shape)

    hw = np.array(_HUB_WEIGHTS[spec.direction])
    hw = hw / hw.sum()

    def pick_hubs(k: int, *, outside_eaeu: bool = False) -> list[int]:
        w = hw.copy()
        if outside_eaeu:
            w[[lay.iso[h] in EAEU for h in lay.hubs]] = 0.0
            w /= w.sum()
        return [int(lay.hubs[x]) for x in rng.choice(len(lay.hubs), k, replace=False, p=w)]

    ib = spec.direction == "import-ban"
    o_single = int(lay.origin_side[0])
    d_single = int(lay.dest_side[0])
    top: dict[int, I64] = {}
    lift_direct = np.log([3e6, 1.5e6, 0.8e6])
    for p in np.flatnonzero(listed).tolist():
        # Listed goods matter: the biggest direct partners trade at least ~$1-3m a month.
        if ib:  # direct BLR -> EU members, biggest first
            order = lay.dest_side[np.argsort(-ll[p, o_single, lay.dest_side], kind="stable")]
            tops = order[:3]
            k = len(tops)
            ll[p, o_single, tops] = np.maximum(
                ll[p, o_single, tops], lift_direct[:k] + rng.normal(0, 0.3, k)
            )
            forced[p, o_single, tops] = True
            floor[p, o_single, tops] = 0.6
            if spec.diversion > 0 and binding[p]:
                ru = lay.pos("RUS")
                forced[p, o_single, ru] = True
                floor[p, o_single, ru] = 0.6
        else:  # direct EU members -> RUS
            order = lay.origin_side[np.argsort(-ll[p, lay.origin_side, d_single], kind="stable")]
            tops = order[:3]
            k = len(tops)
            ll[p, tops, d_single] = np.maximum(
                ll[p, tops, d_single], lift_direct[:k] + rng.normal(0, 0.3, k)
            )
            forced[p, tops, d_single] = True
            floor[p, tops, d_single] = 0.6
        top[p] = tops.astype(np.int64)

    def force_legs(p: int, h: int, fl: float, lift: float | None = None) -> None:
        tops = top[p]
        if lift is not None:  # decoys must be visible to tempt a naive rule
            legs = (
                [(o_single, h)] + [(h, int(m)) for m in tops]
                if ib
                else [(int(m), h) for m in tops] + [(h, d_single)]
            )
            for i, j in legs:
                ll[p, i, j] = max(ll[p, i, j], lift + float(rng.normal(0, 0.4)))
        if ib:
            forced[p, o_single, h] = True
            forced[p, h, tops] = True
            floor[p, o_single, h] = np.maximum(floor[p, o_single, h], fl)
            floor[p, h, tops] = np.maximum(floor[p, h, tops], fl)
        else:
            forced[p, tops, h] = True
            forced[p, h, d_single] = True
            floor[p, tops, h] = np.maximum(floor[p, tops, h], fl)
            floor[p, h, d_single] = np.maximum(floor[p, h, d_single], fl)

    def cap_legs(
        p: int, h: int, strength: float, legs: tuple[int, ...] = (1, 2), most: float = 1.0
    ) -> None:
        """Keep the hub's own baseline on a leg below the amount planted on it.

        A route hidden under a big hub's normal trade (say China's) would be labelled
        but undetectable; here each leg, summed over the bloc's members, at least roughly
        doubles in expectation.
        """
        direct = ll[p, o_single, lay.dest_side] if ib else ll[p, lay.origin_side, d_single]
        expected = float(
            (np.exp(direct) * np.maximum(_sigmoid(direct - _EXIST_AT), forced_q(p))).sum()
        )
        cap = strength * expected * float(rng.uniform(0.4, 1.0)) * most
        for leg in legs:
            if (leg == 1) == ib:  # the single series: BLR -> hub or hub -> RUS
                i, j = (o_single, h) if ib else (h, d_single)
                ll[p, i, j] = min(ll[p, i, j], math.log(cap))
                continue
            sel = (h, lay.dest_side) if ib else (lay.origin_side, h)
            lv = ll[p, sel[0], sel[1]]
            base = float((np.exp(lv) * _sigmoid(lv - _EXIST_AT)).sum())
            if base > cap:  # scale the whole bloc's baseline down
                ll[p, sel[0], sel[1]] = lv - math.log(base / cap)

    def forced_q(p: int) -> F64:
        """1.0 where a direct series is forced to exist, else 0.0."""
        sel = forced[p, o_single, lay.dest_side] if ib else forced[p, lay.origin_side, d_single]
        out: F64 = sel.astype(np.float64)
        return out

    routes: list[Route] = []
    route_products = [p for p, r in enumerate(roles) if r == "route"]
    n_two = spec.n_routes // 4
    # about a third of the routes run through a hub that under-reports
    hiding = set(rng.choice(spec.n_routes, round(spec.n_routes / 3), replace=False).tolist())
    for k, p in enumerate(route_products):
        hubs = pick_hubs(2 if k < n_two else 1)
        if len(hubs) == 2:
            s1 = round(float(rng.uniform(0.1, 0.5)), 3)
            strengths = [s1, round(float(rng.uniform(0.1, max(0.1001, 0.8 - s1))), 3)]
        else:
            strengths = [round(float(rng.uniform(0.1, 0.8)), 3)]
        for h, s in zip(hubs, strengths, strict=True):
            under = round(float(rng.uniform(0.3, 0.7)), 2) if len(routes) in hiding else None
            routes.append(
                Route(
                    p=p,
                    hub=h,
                    strength=s,
                    lag=int(rng.integers(0, spec.max_lag + 1)),
                    ramp=int(rng.integers(1, spec.max_ramp + 1)),
                    underreport=under,
                    markup=round(float(rng.uniform(0.02, 0.08)), 3),
                )
            )
            cap_legs(p, h, s)
            force_legs(p, h, 0.2)

    decoys: list[Decoy] = []
    t_post = lay.n_months - lay.e
    for p, r in enumerate(roles):
        if not r.startswith("decoy:"):
            continue
        kind = r.split(":", 1)[1]
        # Decoy goods trade steadily (few empty months), so a flat leg looks flat.
        floor[p] = np.maximum(floor[p], 0.7)
        # Price shocks sit on a hub outside the EAEU, whose kilograms are measured well
        # enough to show they stay flat.
        h = pick_hubs(1, outside_eaeu=kind == "price_shock")[0]
        if kind in ("hub_production", "hub_demand"):
            d = Decoy(kind, p, h, float(rng.uniform(0.3, 0.8)), ramp=int(rng.integers(1, 7)))
            force_legs(p, h, 0.97, lift=math.log(3e5))
            # the surging leg must surge visibly, as a route's would
            cap_legs(p, h, d.size, legs=(2,) if kind == "hub_production" else (1,), most=0.5)
        elif kind == "demand_boom":
            d = Decoy(kind, p, h, float(rng.uniform(1.8, 2.6)), ramp=int(rng.integers(2, 7)))
        elif kind == "price_shock":
            d = Decoy(kind, p, h, float(rng.uniform(2.3, 3.0)), ramp=int(rng.integers(1, 3)))
            floor[p] = np.maximum(floor[p], 0.9)
        elif kind == "one_off":
            lo, hi = min(2, t_post - 1), max(min(2, t_post - 1) + 1, t_post - 2)
            month = lay.e + int(rng.integers(lo, hi))
            d = Decoy(
                kind, p, h, float(rng.uniform(3.0, 6.0)), lag=int(rng.integers(0, 2)), month=month
            )
        elif kind == "coincidence":
            d = _coincidence(p, h, t_post, rng)
            force_legs(p, h, 0.97, lift=math.log(3e5))
            # both legs must rise visibly, each by its own planted amount
            cap_legs(p, h, d.size, legs=(1,), most=0.5)
            cap_legs(p, h, d.size2 or 0.0, legs=(2,), most=0.5)
        else:  # hs_split
            d = Decoy(kind, p, h, 0.0)
        decoys.append(d)
        if kind not in ("hub_production", "hub_demand", "coincidence"):
            force_legs(p, h, 0.97, lift=math.log(3e5))

    wind = rng.integers(0, 3, p_n).astype(np.int64)
    cfloor = np.where(rng.random(p_n) < 0.3, 0.0, rng.uniform(0.0, 0.1, p_n))
    role_names = [r.split(":", 1)[0] for r in roles]
    core = Core(
        block=block,
        role=role_names,
        listed=listed,
        binding=binding,
        routes=routes,
        decoys=decoys,
        collapse_floor=cfloor,
        collapse_wind=wind,
        top=top,
    )
    return core, ll, forced, floor


def _coincidence(p: int, h: int, t_post: int, rng: np.random.Generator) -> Decoy:
    """Draw a coincidence decoy: two unrelated rises on the hub's two legs.

    The hub's own demand for the origin's goods (leg 1) and the hub's own production
    sold to the destination (leg 2, a different grade) start and ramp independently,
    at least 4 months apart (beyond the scan's 3-month lag window), and their masses
    differ by a factor of 3-6 in either direction. The larger leg in value carries
    30-80% of the lost direct flow on average over the post window.
    """
    last = max(1, min(8, t_post - 3))  # latest start, months after the event
    start = int(rng.integers(0, last + 1))
    far = [s for s in range(last + 1) if abs(s - start) >= 4]
    start2 = int(rng.choice(far)) if far else min(start + 4, t_post - 1)
    mass = float(rng.uniform(3.0, 6.0)) ** (1 if rng.random() < 0.5 else -1)
    uv = float(rng.uniform(1.8, 3.0)) ** (1 if rng.random() < 0.5 else -1)
    big = float(rng.uniform(0.3, 0.8))
    vr = mass * uv  # value out / value in
    size, size2 = (big / vr, big) if vr >= 1 else (big, big * vr)
    return Decoy(
        "coincidence",
        p,
        h,
        round(size, 4),
        ramp=int(rng.integers(1, 7)),
        size2=round(size2, 4),
        start=start,
        start2=start2,
        ramp2=int(rng.integers(3, 10)),
        mass_ratio=round(mass, 3),
        uv_ratio=round(uv, 3),
    )


def _ramp(lay: Layout, months: int, start: int | None = None) -> F64:
    k = np.arange(lay.n_months) - (lay.e if start is None else start)
    return np.clip((k + 1) / max(1, months), 0.0, 1.0)


def _shift(x: F64, lag: int) -> F64:
    if lag == 0:
        return x.copy()
    out = np.zeros_like(x)
    out[lag:] = x[:-lag]
    return out


def _apply_effects(core: Core, fl: Flows, ll: F64, lay: Layout, spec: Spec) -> None:
    """Collapse, planted routes and decoys, in place on the core flows."""
    rng = _rng(spec.seed, 5)
    c, t, e = lay.n_countries, lay.n_months, lay.e
    block = core.block
    ib = spec.direction == "import-ban"
    is_origin = np.zeros(c, dtype=bool)
    is_origin[lay.origin_side] = True
    is_dest = np.zeros(c, dtype=bool)
    is_dest[lay.dest_side] = True
    o_single, d_single = int(lay.origin_side[0]), int(lay.dest_side[0])
    post = np.arange(t) >= e
    xfac = np.ones_like(fl.V)
    mfac = np.ones_like(fl.V)

    def underreport(fac: F64, s: int, base: F64, added: F64, share: float) -> None:
        """The hub declares its normal trade in full but only ``share`` of the rerouted."""
        tot = base + added
        fac[s] = np.where(tot > 0, (base + share * added) / np.maximum(tot, 1e-9), 1.0)

    sure = np.zeros(fl.V.shape, dtype=bool)

    def uv_of(p: int, i: int) -> float:
        return float(block.uv[p] * np.exp(block.uvx[p, i]))

    def add(p: int, i: int, j: int, value: F64, kg: F64) -> None:
        s = fl.find(p, i, j, c)
        if s < 0:  # forced series always exist; anything else is a bug
            raise AssertionError(f"series {p},{i},{j} missing")
        fl.V[s] += value
        fl.K[s] += kg

    def scale(rows: Bool, factor: F64, *, kg: bool = True) -> None:
        fl.V[rows] *= factor
        if kg:
            fl.K[rows] *= factor

    def weights(p: int) -> tuple[I64, F64]:
        """The biggest direct partners share the diverted goods by their expected size."""
        tops = core.top[p]
        lv = ll[p, o_single, tops] if ib else ll[p, tops, d_single]
        w = np.exp(lv - lv.max())
        return tops, w / w.sum()

    # 1. Direct flows of binding sanctioned products collapse.
    lost: dict[int, F64] = {}
    for p in np.flatnonzero(core.binding).tolist():
        k = np.arange(t) - e
        wind = int(core.collapse_wind[p])
        cf = float(core.collapse_floor[p])
        f = np.where(k < 0, 1.0, cf + (1 - cf) * np.clip(1 - (k + 1) / (wind + 1), 0, 1))
        rows = (fl.p == p) & is_origin[fl.i] & is_dest[fl.j]
        lost[p] = (fl.E[rows] * (1.0 - f)).sum(axis=0)
        scale(rows, f)
        if ib and spec.diversion > 0:  # part of the lost sales go to Russia instead
            ru = lay.pos("RUS")
            div = spec.diversion * lost[p] * np.exp(rng.normal(0, 0.15, t))
            add(p, o_single, ru, div, div / uv_of(p, o_single))

    # 2. Planted routes: origin -> hub and hub -> destination both carry the diverted goods.
    for r in core.routes:
        p, h = r.p, r.hub
        a1 = r.strength * lost[p] * _ramp(lay, r.ramp) * np.exp(rng.normal(0, 0.12, t)) * post
        tops, w = weights(p)
        if ib:
            uv_o = uv_of(p, o_single)
            add(p, o_single, h, a1, a1 / uv_o)
            kg1 = a1 / uv_o
        else:
            kg1 = np.zeros(t)
            for m, wm in zip(tops, w, strict=True):
                uv_m = uv_of(p, int(m))
                s1 = fl.find(p, int(m), h, c)
                base1 = fl.V[s1].copy()
                add(p, int(m), h, wm * a1, wm * a1 / uv_m)
                kg1 = kg1 + wm * a1 / uv_m
                # Russia publishes nothing, so the hub hides its imports instead: the EU
                # records exports that never "arrive" (lost in transit).
                if r.underreport is not None:
                    underreport(mfac, s1, base1, wm * a1, r.underreport)
        a2 = _shift(a1, r.lag) * (1 + r.markup) * np.exp(rng.normal(0, 0.05, t))
        kg2 = _shift(kg1, r.lag)
        targets = (
            [(int(m), float(wm)) for m, wm in zip(tops, w, strict=True)]
            if ib
            else [(d_single, 1.0)]
        )
        for j, wj in targets:
            s = fl.find(p, h, j, c)
            base = fl.V[s].copy()
            add(p, h, j, wj * a2, wj * kg2)
            if r.underreport is not None and ib:
                underreport(xfac, s, base, wj * a2, r.underreport)

    # 3. Decoys.
    for d in core.decoys:
        p, h = d.p, d.hub
        tops, w = weights(p)
        if d.kind in ("hub_production", "hub_demand"):
            ramp = _ramp(lay, d.ramp or 1)
            amount = d.size * lost[p] * ramp * np.exp(rng.normal(0, 0.12, t)) * post
            if d.kind == "hub_production":  # the hub's own new output, sold everywhere
                uv_h = uv_of(p, h)
                tg = (
                    [(int(m), float(wm)) for m, wm in zip(tops, w, strict=True)]
                    if ib
                    else [(d_single, 1.0)]
                )
                for j, wj in tg:
                    add(p, h, j, wj * amount, wj * amount / uv_h)
                rows = (fl.p == p) & (fl.i == h) & ~is_dest[fl.j] & ~is_origin[fl.j]
            else:  # the hub's own demand, bought from everyone
                if ib:
                    add(p, o_single, h, amount, amount / uv_of(p, o_single))
                else:
                    for m, wm in zip(tops, w, strict=True):
                        add(p, int(m), h, wm * amount, wm * amount / uv_of(p, int(m)))
                rows = (fl.p == p) & (fl.j == h) & ~is_origin[fl.i]
            scale(rows, 1.0 + 0.6 * ramp)
        elif d.kind == "coincidence":
            assert d.start is not None
            assert d.start2 is not None
            assert d.size2 is not None
            assert d.uv_ratio is not None
            # Two unrelated stories: levels, not the lost flow's month-by-month shape,
            # and each leg with its own start, ramp and noise.
            # Sizes are post-window means, so the masses stay 3-6x apart over the window
            # a scan compares, whatever the starts.
            level = float(lost[p][e:].mean())
            r1 = _ramp(lay, d.ramp or 1, e + d.start)
            r2 = _ramp(lay, d.ramp2 or 1, e + d.start2)
            a1 = d.size * level * r1 / r1[e:].mean() * np.exp(rng.normal(0, 0.2, t))
            a2 = d.size2 * level * r2 / r2[e:].mean() * np.exp(rng.normal(0, 0.2, t))
            if ib:  # the hub's consumers buy the origin's goods at the origin's price
                uv_in = uv_of(p, o_single)
                add(p, o_single, h, a1, a1 / uv_in)
            else:
                uv_in = float(sum(wm * uv_of(p, int(m)) for m, wm in zip(tops, w, strict=True)))
                for m, wm in zip(tops, w, strict=True):
                    add(p, int(m), h, wm * a1, wm * a1 / uv_of(p, int(m)))
            # the hub's own output: another grade, uv_ratio times the origin's unit value
            uv_out = uv_in * d.uv_ratio
            tg = (
                [(int(m), float(wm)) for m, wm in zip(tops, w, strict=True)]
                if ib
                else [(d_single, 1.0)]
            )
            for j, wj in tg:
                add(p, h, j, wj * a2, wj * a2 / uv_out)
        elif d.kind == "demand_boom":
            scale(fl.p == p, 1.0 + (d.size - 1.0) * _ramp(lay, d.ramp or 1))
        elif d.kind == "price_shock":
            scale(fl.p == p, 1.0 + (d.size - 1.0) * _ramp(lay, d.ramp or 1), kg=False)
        elif d.kind == "one_off":
            assert d.month is not None
            # "huge": several months of the lost direct flow and ~10x the legs' normal month
            if ib:
                rows1 = (fl.p == p) & (fl.i == o_single) & (fl.j == h)
                rows2 = (fl.p == p) & (fl.i == h) & is_dest[fl.j]
            else:
                rows1 = (fl.p == p) & is_origin[fl.i] & (fl.j == h)
                rows2 = (fl.p == p) & (fl.i == h) & (fl.j == d_single)
            normal = max(fl.E[rows1, :e].sum(axis=0).mean(), fl.E[rows2, :e].sum(axis=0).mean())
            size = d.size * max(float(lost[p][e:].mean()), 3.0 * float(normal))
            spike = np.zeros(t)
            spike[d.month] = size
            m0 = int(tops[0])
            i_in = o_single if ib else m0
            j_out = m0 if ib else d_single
            uv_o = uv_of(p, i_in)
            add(p, i_in, h, spike, spike / uv_o)
            month_out = min(d.month + (d.lag or 0), t - 1)
            out = np.zeros(t)
            out[month_out] = size
            add(p, h, j_out, out * 1.04, out / uv_o)
            # a shipment this size makes it into both sides' statistics
            sure[fl.find(p, i_in, h, c), d.month] = True
            sure[fl.find(p, h, j_out, c), month_out] = True
    fl.xfac = xfac
    fl.mfac = mfac
    fl.sure = sure


# --------------------------------------------------------------------------------------
# Reporting layer
# --------------------------------------------------------------------------------------


@dataclass
class Codebook:
    """Every code string used, and per product its HS2017 code and HS2022 children."""

    strings: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def id(self, code: str) -> int:
        if code not in self.index:
            self.index[code] = len(self.strings)
            self.strings.append(code)
        return self.index[code]


def _report(
    fl: Flows, block: Block, lay: Layout, book: Codebook, rng: np.random.Generator
) -> dict[str, npt.NDArray[np.generic]]:
    """Turn true flows into exporter and importer reports (numpy columns)."""
    e, t22 = lay.e, lay.t22
    s, t = np.nonzero(fl.V > 0)
    # whether each side publishes the record is decided per true flow, so the HS2022
    # pieces of a split code are published (or missing) together
    u_pub = rng.random((2, len(s)))
    v = fl.V[s, t]
    kg = fl.K[s, t]
    xf = fl.xfac[s, t] if fl.xfac is not None else None
    mf = fl.mfac[s, t] if fl.mfac is not None else None
    sure = fl.sure[s, t] if fl.sure is not None else np.zeros(len(s), dtype=bool)
    p = fl.p[s]

    # HS vintage: HS2017 before 2022, HS2022 after; split codes become several rows.
    pre_id = np.array([book.id(k) for k in block.codes], dtype=np.int64)
    n_kids = np.array([max(1, len(k)) for k in block.children], dtype=np.int64)
    maxk = int(n_kids.max())
    kid_id = np.repeat(pre_id[:, None], maxk, axis=1)
    kid_share = np.zeros((block.n, maxk))
    kid_share[:, 0] = 1.0
    for q, kids in enumerate(block.children):
        if kids:
            kid_id[q, : len(kids)] = [book.id(k) for k in kids]
            kid_share[q, : len(kids)] = block.shares[q]
    reps = np.where(t >= t22, n_kids[p], 1)
    cell = np.repeat(np.arange(len(s)), reps)
    first = np.cumsum(reps) - reps
    ordinal = np.arange(len(cell)) - np.repeat(first, reps)
    split = reps[cell] > 1
    share = np.where(split, kid_share[p[cell], ordinal], 1.0)
    share_v = share * np.where(split, np.exp(rng.normal(0, 0.15, len(cell))), 1.0)
    share_k = share_v * np.where(split, np.exp(rng.normal(0, 0.05, len(cell))), 1.0)
    tot_v = np.add.reduceat(share_v, first) if len(first) else share_v
    tot_k = np.add.reduceat(share_k, first) if len(first) else share_k
    share_v = share_v / np.repeat(tot_v, reps)
    share_k = share_k / np.repeat(tot_k, reps)
    code = np.where(t[cell] >= t22, kid_id[p[cell], ordinal], pre_id[p[cell]])
    s, t = s[cell], t[cell]
    v, kg = v[cell] * share_v, kg[cell] * share_k
    xf = xf[cell] if xf is not None else None
    mf = mf[cell] if mf is not None else None
    sure = sure[cell]
    u_pub = u_pub[:, cell]
    i, j = fl.i[s], fl.j[s]

    n = len(s)
    pair_eaeu = lay.eaeu_pair[i, j]
    parts = []
    for k_side, side in enumerate(("export", "import")):
        rep, par = (i, j) if side == "export" else (j, i)
        sd = np.where(pair_eaeu, np.maximum(lay.noise[rep], 0.18), lay.noise[rep])
        miss = np.minimum(lay.miss[rep] * np.where(pair_eaeu, 2.0, 1.0), 0.25)
        published = ((u_pub[k_side] >= miss) & ~lay.gap[rep, t]) | sure
        keep = published & ~(lay.silent[rep] & (t >= e))
        if side == "export":
            val = v * np.exp(sd * rng.standard_normal(n))
            wt = kg * np.exp(1.5 * sd * rng.standard_normal(n))
            if xf is not None:
                val, wt = val * xf, wt * xf
        else:
            val = v * (1.0 + lay.margin[i, j]) * np.exp(sd * rng.standard_normal(n))
            wt = kg * np.exp(1.5 * sd * rng.standard_normal(n))
            if mf is not None:
                val, wt = val * mf, wt * mf
        wt = np.where(rng.random(n) < 0.02, np.nan, wt)  # some records lack a weight
        parts.append(
            {
                "t": t[keep],
                "reporter": rep[keep],
                "partner": par[keep],
                "flow": np.full(int(keep.sum()), 0 if side == "import" else 1, dtype=np.int64),
                "hs": code[keep],
                "value": np.maximum(np.round(val[keep]), 1.0),
                "kg": np.maximum(np.round(wt[keep], 1), 0.1),
            }
        )
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def _frame(cols: dict[str, npt.NDArray[np.generic]], lay: Layout, book: Codebook) -> pl.DataFrame:
    epoch = dt.date(1970, 1, 1)
    days = pl.Series([(m - epoch).days for m in lay.months], dtype=pl.Int32).cast(pl.Date)
    t = pl.Series(cols["t"].astype(np.uint32))
    iso = pl.Series(list(lay.iso), dtype=pl.String)
    vint = pl.Series(["HS2022" if k >= lay.t22 else "HS2017" for k in range(lay.n_months)])
    df = pl.DataFrame(
        {
            "period": days.gather(t),
            "frequency": pl.repeat(pl.lit("M", dtype=FREQUENCY_DTYPE), len(t), eager=True),
            "reporter": iso.gather(pl.Series(cols["reporter"].astype(np.uint32))),
            "partner": iso.gather(pl.Series(cols["partner"].astype(np.uint32))),
            "flow": pl.Series(["import", "export"])
            .cast(FLOW_DTYPE)
            .gather(pl.Series(cols["flow"].astype(np.uint32))),
            "hs": pl.Series(book.strings, dtype=pl.String).gather(
                pl.Series(cols["hs"].astype(np.uint32))
            ),
            "value": pl.Series(cols["value"], dtype=pl.Float64),
            "net_weight_kg": pl.Series(cols["kg"], dtype=pl.Float64, nan_to_null=True),
            "hs_vintage": vint.gather(t),
        }
    )
    return df.with_columns(
        currency=pl.lit("USD"),
        quantity=pl.lit(None, dtype=pl.Float64),
        quantity_unit=pl.lit(None, dtype=pl.String),
        source=pl.lit("synthetic"),
    ).select([pl.col(k).cast(CANONICAL_SCHEMA[k]) for k in CANONICAL_COLUMNS])


# --------------------------------------------------------------------------------------
# Size calibration and the driver
# --------------------------------------------------------------------------------------


@dataclass
class WorldParts:
    """Everything :func:`rerouting.synthetic.make_world` packages into a ``World``."""

    trade: pl.DataFrame
    layout: Layout
    core: Core
    background: list[str]
    background_delta: float
    core_delta: float
    rows_expected: float


def _solve(f: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    """Bisection for an increasing function ``f`` on [lo, hi]."""
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _background_pool(spec: Spec, used: set[str]) -> list[str]:
    nom = nomenclature()
    pool = sorted((nom.stable | set(nom.splits)) - used)
    order = _rng(spec.seed, 90).permutation(len(pool))
    return [pool[k] for k in order]


def _bg_block(spec: Spec, codes: list[str], b: int, c: int) -> Block:
    return _block(codes, c, _rng(spec.seed, 100, b), uv_sd=0.6)


def generate(spec: Spec) -> WorldParts:
    """Generate the whole world for ``spec`` (see module docstring)."""
    lay = _layout(spec)
    core, ll, forced, floor = _core(spec, lay)
    t = lay.n_months
    weight = _row_weight(core.block, lay)
    free = ~forced

    def core_rows(delta: float) -> float:
        return _expected_rows(ll, forced, floor, delta, weight, t)

    core_delta = 0.0
    bg_codes: list[str] = []
    bg_delta = 0.0
    expected = core_rows(0.0)
    if spec.rows is not None:
        if spec.rows <= expected:
            core_delta = _solve(core_rows, float(spec.rows), -30.0, 0.0) if free.any() else 0.0
            expected = core_rows(core_delta)
        else:
            bg_codes, bg_delta, expected = _plan_background(
                spec, lay, set(core.block.codes), spec.rows - expected, expected
            )
    book = Codebook()
    frames = []
    fl = _flows(
        core.block, lay, ll, forced, floor, core_delta, _rng(spec.seed, 3), _rng(spec.seed, 4)
    )
    _apply_effects(core, fl, ll, lay, spec)
    frames.append(_frame(_report(fl, core.block, lay, book, _rng(spec.seed, 6)), lay, book))
    del fl
    pool = _background_pool(spec, set(core.block.codes)) if bg_codes else []
    for b in range(math.ceil(len(bg_codes) / _BATCH)):
        codes = pool[b * _BATCH : (b + 1) * _BATCH]
        block = _bg_block(spec, codes, b, lay.n_countries)
        keep = codes[: max(0, min(_BATCH, len(bg_codes) - b * _BATCH))]
        block = _truncate(block, len(keep))
        llb = _loglevel(block, lay)
        zero = np.zeros(llb.shape)
        flb = _flows(
            block,
            lay,
            llb,
            np.zeros(llb.shape, dtype=bool),
            zero,
            bg_delta,
            _rng(spec.seed, 101, b),
            _rng(spec.seed, 102, b),
        )
        frames.append(_frame(_report(flb, block, lay, book, _rng(spec.seed, 103, b)), lay, book))
    trade = pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]
    return WorldParts(
        trade=trade,
        layout=lay,
        core=core,
        background=bg_codes,
        background_delta=bg_delta,
        core_delta=core_delta,
        rows_expected=expected,
    )


def _truncate(block: Block, n: int) -> Block:
    if n == block.n:
        return block
    return Block(
        codes=block.codes[:n],
        a=block.a[:n],
        uv=block.uv[:n],
        amp=block.amp[:n],
        phase=block.phase[:n],
        rca=block.rca[:n],
        pref=block.pref[:n],
        uvx=block.uvx[:n],
        eps=block.eps[:n],
        children=block.children[:n],
        shares=block.shares[:n],
        flat=block.flat[:n],
        calm=block.calm[:n],
    )


def _plan_background(
    spec: Spec, lay: Layout, used: set[str], need: float, core_expected: float
) -> tuple[list[str], float, float]:
    """Choose how many background products (and how dense) give ``need`` more rows."""
    pool = _background_pool(spec, used)
    t = lay.n_months
    per_product: list[F64] = []
    lls: list[F64] = []
    total = 0.0
    b = 0
    while total < need and b * _BATCH < len(pool):
        codes = pool[b * _BATCH : (b + 1) * _BATCH]
        block = _bg_block(spec, codes, b, lay.n_countries)
        llb = _loglevel(block, lay)
        w = _row_weight(block, lay)
        q = _sigmoid(llb - _EXIST_AT)
        rows = (q * _activity(llb) * w).sum(axis=(1, 2)) * t
        per_product.append(rows)
        lls.append(llb.astype(np.float32))
        total += float(rows.sum())
        b += 1
    flat = np.concatenate(per_product)
    cum = np.cumsum(flat)
    if cum[-1] >= need:
        n = int(np.searchsorted(cum, need)) + 1
        return pool[:n], 0.0, core_expected + float(cum[n - 1])
    # Every code is used: make the background network denser instead.
    weights = []
    for k in range(len(lls)):
        codes = pool[k * _BATCH : (k + 1) * _BATCH]
        weights.append(_row_weight(_bg_block(spec, codes, k, lay.n_countries), lay))

    def rows_at(delta: float) -> float:
        return sum(
            float((_sigmoid(llb - _EXIST_AT + delta) * _activity(llb) * w).sum()) * t
            for llb, w in zip(lls, weights, strict=True)
        )

    delta = _solve(rows_at, need, 0.0, 12.0)
    return pool, delta, core_expected + rows_at(delta)
