"""Named product lists (CHPL, EU Reg. 833/2014, Belarus measures) and user lists.

A :class:`ProductList` is a tuple of digit-string *prefixes* (HS2, HS4, HS6, CN8 ...)
plus where it comes from and how sure we are of it. ``product_list(spec)`` builds one
from a list name, a file, a comma-separated string or a sequence of codes.
``ProductList.expr`` turns it into a vectorised polars filter.

Sources, sizes and the verified/approximate status of every list are documented in
``docs/reference-data.md``. The Belarus list mixes verified codes with approximate
headings; each code carries a ``confidence`` (``verified``, ``derived`` or
``approximate``) and ``belarus-verified`` keeps only the first two.
"""

from __future__ import annotations

import difflib
import functools
import io
import re
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._exceptions import ConfigError, UnknownListError
from rerouting._hs import (
    VINTAGES,
    Vintage,
    concordance,
    conversion_table,
    correlation_table,
    merge_families,
    nomenclature,
    normalise_vintage,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "CONFIDENCE_LEVELS",
    "ProductList",
    "list_catalog",
    "list_names",
    "product_list",
    "similar_codes",
]

#: Confidence levels, strongest first.
CONFIDENCE_LEVELS: Final = ("verified", "derived", "approximate")

_VALID_LENGTHS: Final = frozenset({2, 4, 6, 8, 9, 10, 12})
_EX = re.compile(r"^\s*ex\b\s*", re.IGNORECASE)
_JUNK = re.compile(r"[\s.\u00a0\u202f'\"]")


def _frozen(mapping: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


def _by_length(codes: Sequence[str]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for c in codes:
        out.setdefault(len(c), []).append(c)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class ProductList:
    """A list of product-code prefixes with its provenance.

    Attributes:
        name: Short name (``chpl``, ``eu-833``, a file name ...).
        codes: Unique digit-string prefixes (leading zeros kept), in list order. Empty
            means *every product*.
        vintage: HS vintage the codes are written in (``HS2022``), ``None`` if unknown.
            CN codes carry the HS vintage their first six digits belong to.
        source: Where the list comes from.
        description: One sentence on what it covers.
        tiers: Named subsets (CHPL tiers ``1``, ``2``, ``3A`` ...; Belarus measures
            ``potash-2021``, ``wood`` ...), each a tuple of codes from ``codes``.
        confidence: Per-code ``verified`` / ``derived`` / ``approximate``; codes absent
            from it are as reliable as the ``source``.
        notes: Caveats a user should read before relying on the list.
    """

    name: str
    codes: tuple[str, ...]
    vintage: str | None = None
    source: str = ""
    description: str = ""
    tiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    confidence: Mapping[str, str] = field(default_factory=dict, hash=False)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Mappings are frozen too, so a ProductList can be shared safely.
        object.__setattr__(self, "tiers", _frozen(self.tiers))
        object.__setattr__(self, "confidence", _frozen(self.confidence))

    @property
    def is_all(self) -> bool:
        """Whether the list means every product (no codes)."""
        return not self.codes

    def __len__(self) -> int:
        return len(self.codes)

    def __contains__(self, code: object) -> bool:
        """Whether ``code`` starts with one of the list's prefixes."""
        return self.is_all or (isinstance(code, str) and code.startswith(tuple(self.codes)))

    def tier(self, name: str) -> ProductList:
        """The sub-list of one tier or group (several joined by ``+``, e.g. ``3A+3B``)."""
        keys = [k.strip() for k in name.split("+")]
        missing = [k for k in keys if k not in self.tiers]
        if missing:
            raise UnknownListError(
                f"{self.name} has no tier {missing[0]!r}",
                value=name,
                hint=f"tiers: {', '.join(self.tiers) or '(none)'}",
            )
        chosen = {k: self.tiers[k] for k in keys}
        codes = tuple(dict.fromkeys(c for k in keys for c in self.tiers[k]))
        return replace(
            self,
            name=f"{self.name}-tier{'+'.join(keys).lower()}",
            codes=codes,
            tiers=chosen,
            confidence={c: v for c, v in self.confidence.items() if c in codes},
            description=f"{self.description} — tier(s) {', '.join(keys)}",
        )

    # -- expressions --------------------------------------------------------------
    def __or__(self, other: ProductList) -> ProductList:
        """The union of two lists (``chpl | product_list("belarus-wood")``)."""
        if self.is_all or other.is_all:
            return self if self.is_all else other
        vintages = {p.vintage for p in (self, other)}
        tiers: dict[str, tuple[str, ...]] = dict(self.tiers)
        for key, codes in other.tiers.items():
            tiers[key if key not in tiers else f"{other.name}:{key}"] = codes
        confidence = dict(self.confidence)
        for code, level in other.confidence.items():
            confidence[code] = _weakest(confidence.get(code), level)
        return ProductList(
            name=f"{self.name}+{other.name}",
            codes=tuple(dict.fromkeys((*self.codes, *other.codes))),
            vintage=vintages.pop() if len(vintages) == 1 else None,  # None if mixed
            source="; ".join(dict.fromkeys(p.source for p in (self, other) if p.source)),
            description=f"{self.description} + {other.description}",
            tiers=tiers,
            confidence=confidence,
            notes=tuple(dict.fromkeys((*self.notes, *other.notes))),
        )

    def expr(
        self, col: str | pl.Expr = "hs", *, partial: bool = True, vintage: str | None = None
    ) -> pl.Expr:
        """Vectorised filter: does the code in ``col`` fall in the list?

        A data code matches when it starts with a listed prefix (``854231`` matches
        ``8542``; ``44071190`` matches ``44``). With ``partial=True`` (default) a data
        code of six or more digits also matches when a *more detailed* listed code falls
        inside it: an HS6 row ``310420`` matches the CN8 code ``31042010``. Such rows are
        only partly covered (see :meth:`coverage_expr`). HS2/HS4 rows never match
        more detailed codes.

        Args:
            col: Column name or expression holding digit-string codes.
            partial: Also match six-plus-digit data codes that contain a listed code.
            vintage: The HS vintage of the data (e.g. the ``target`` of
                :func:`rerouting._normalise.harmonise_hs`); when given and different from
                the list's, the list is first converted with :meth:`to_hs6`.
        """
        if (
            vintage is not None
            and not self.is_all
            and (self.vintage is None or normalise_vintage(vintage) != self.vintage)
        ):
            return self.to_hs6(vintage).expr(col, partial=partial)
        code = pl.col(col) if isinstance(col, str) else col
        if self.is_all:
            return pl.lit(True)
        parts = [self._full(code)]
        if partial:
            parts.append(self._partial(code))
        return pl.any_horizontal(parts).fill_null(False)

    def _full(self, code: pl.Expr) -> pl.Expr:
        return pl.any_horizontal(
            code.str.slice(0, n).is_in(pl.Series(group, dtype=pl.String).implode())
            for n, group in _by_length(self.codes).items()
        ).fill_null(False)

    def _partial(self, code: pl.Expr) -> pl.Expr:
        lengths = sorted({len(c) for c in self.codes})
        parts = []
        for n in range(6, max(lengths)):
            heads = sorted({c[:n] for c in self.codes if len(c) > n})
            if heads:
                parts.append(
                    (code.str.len_chars() == n)
                    & code.is_in(pl.Series(heads, dtype=pl.String).implode())
                )
        if not parts:
            return pl.lit(False)
        return pl.any_horizontal(parts).fill_null(False)

    def coverage_expr(self, col: str | pl.Expr = "hs") -> pl.Expr:
        """``full`` (inside a listed prefix), ``partial`` (contains a listed code) or null."""
        code = pl.col(col) if isinstance(col, str) else col
        if self.is_all:
            return pl.lit("full")
        return (
            pl.when(self._full(code))
            .then(pl.lit("full"))
            .when(self._partial(code))
            .then(pl.lit("partial"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )

    def tier_expr(self, col: str | pl.Expr = "hs") -> pl.Expr:
        """The tier/group of each code (longest matching prefix wins), null outside."""
        code = pl.col(col) if isinstance(col, str) else col
        label = {c: t for t, codes in self.tiers.items() for c in codes}
        if not label:
            return pl.lit(None, dtype=pl.String)
        groups = _by_length(list(label))
        return pl.coalesce(
            code.str.slice(0, n).replace_strict(
                group, [label[c] for c in group], default=None, return_dtype=pl.String
            )
            for n, group in sorted(groups.items(), reverse=True)
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per code: ``code``, ``tier``, ``confidence``."""
        label = {c: t for t, codes in self.tiers.items() for c in codes}
        return pl.DataFrame(
            {
                "code": list(self.codes),
                "tier": [label.get(c) for c in self.codes],
                "confidence": [self.confidence.get(c) for c in self.codes],
            },
            schema={"code": pl.String, "tier": pl.String, "confidence": pl.String},
        )

    # -- vintages -----------------------------------------------------------------
    def to_hs6(self, vintage: str) -> ProductList:
        """The list as six-digit codes of ``vintage``.

        Each code is read in the list's vintage (or, if it does not exist there, in the
        newest shipped vintage that has it, since consolidated legal lists mix CN
        versions). CN8/national codes are cut to HS6 (the HS6 then covers more than the
        list). HS2/HS4 prefixes stay prefixes when they hold the same HS6 codes in both
        vintages (so HS4 data rows still match) and are expanded to their mapped HS6
        codes otherwise. Newer → older uses the
        UN conversion table (many-to-one: HS2022 ``854151`` and ``854159`` both become
        HS2017 ``854150``); older → newer uses :func:`rerouting._hs.concordance` (an
        older code gives every newer code that holds part of it).
        """
        if self.is_all:
            return replace(self, vintage=normalise_vintage(vintage))
        target = normalise_vintage(vintage)
        label = {c: t for t, codes in self.tiers.items() for c in codes}
        out: dict[str, None] = {}
        tiers: dict[str, dict[str, None]] = {t: {} for t in self.tiers}
        confidence: dict[str, str] = {}
        unknown: list[str] = []
        cut = 0
        for code in self.codes:
            source = _vintage_of(code, self.vintage, target)
            if source is None:
                unknown.append(code)
                continue
            cut += len(code) > 6
            mapped = _map_hs6(_expand(code, source), source, target)
            if len(code) < 6 and _same_heading(code, source, target, mapped):
                mapped = [code]  # keep the prefix, so HS2/HS4 data rows still match
            else:
                mapped = _with_families(mapped, target)
            for new in mapped:
                out[new] = None
                if code in label:
                    tiers[label[code]][new] = None
                if code in self.confidence:
                    confidence[new] = _weakest(confidence.get(new), self.confidence[code])
        notes = list(self.notes)
        if cut:
            notes.append(
                f"{cut} codes longer than six digits were cut to HS6; those HS6 codes "
                "cover more goods than the list"
            )
        if unknown:
            notes.append(
                f"{len(unknown)} codes exist in no shipped HS vintage and were left out: "
                + ", ".join(unknown[:10])
            )
        return ProductList(
            name=self.name,
            codes=tuple(out),
            vintage=target,
            source=self.source,
            description=self.description,
            tiers={t: tuple(c) for t, c in tiers.items() if c},
            confidence=confidence,
            notes=tuple(notes),
        )


def _weakest(a: str | None, b: str) -> str:
    if a is None:
        return b
    return max(a, b, key=lambda x: CONFIDENCE_LEVELS.index(x) if x in CONFIDENCE_LEVELS else 9)


@functools.cache
def _hs_codes(vintage: Vintage) -> frozenset[str]:
    return frozenset(nomenclature(vintage)["code"])


@functools.cache
def _hs6_under(vintage: Vintage) -> dict[str, tuple[str, ...]]:
    """HS2 and HS4 prefix → its HS6 codes."""
    six = nomenclature(vintage).filter(pl.col("level") == 6)["code"].to_list()
    out: dict[str, list[str]] = {}
    for c in six:
        out.setdefault(c[:2], []).append(c)
        out.setdefault(c[:4], []).append(c)
    return {k: tuple(v) for k, v in out.items()}


def _vintage_of(code: str, declared: str | None, target: Vintage) -> Vintage | None:
    key = code[:6] if len(code) >= 6 else code
    first = normalise_vintage(declared) if declared else target
    for v in (first, *reversed(VINTAGES)):
        if key in _hs_codes(v):
            return v
    return None


def _expand(code: str, vintage: Vintage) -> tuple[str, ...]:
    """The HS6 codes a prefix stands for in ``vintage`` (a longer code: its HS6)."""
    if len(code) >= 6:
        return (code[:6],)
    return _hs6_under(vintage).get(code, ())


def _same_heading(prefix: str, src: Vintage, dst: Vintage, mapped: Sequence[str]) -> bool:
    """Whether ``prefix`` covers the same goods in both vintages.

    True when its HS6 codes map onto exactly the target's HS6 codes under the prefix,
    or when no UN correlation pair links the prefix to codes outside it (the HS6
    breakdown changed inside the heading only, e.g. 6201 in HS2022).
    """
    if src == dst or set(mapped) == set(_expand(prefix, dst)):
        return True
    return prefix in _closed_prefixes(*sorted((src, dst), key=VINTAGES.index, reverse=True))


@functools.cache
def _closed_prefixes(newer: Vintage, older: Vintage) -> frozenset[str]:
    pairs = correlation_table(newer, older)
    out: set[str] = set()
    for n in (2, 4):
        inside = pairs.with_columns(
            a=pl.col("from_code").str.slice(0, n), b=pl.col("to_code").str.slice(0, n)
        )
        leaking = set(
            inside.filter(pl.col("a") != pl.col("b"))
            .select(pl.concat_list("a", "b"))
            .to_series()
            .explode()
        )
        out |= set(inside["a"]) - leaking
    return frozenset(out)


@functools.cache
def _down(src: Vintage, dst: Vintage) -> dict[str, str]:
    table = conversion_table(src, dst)
    return dict(zip(table["from_code"], table["to_code"], strict=True))


@functools.cache
def _up(src: Vintage, dst: Vintage) -> dict[str, tuple[str, ...]]:
    table = concordance(src, dst).group_by("old_code").agg(pl.col("new_code").sort())
    return dict(zip(table["old_code"], map(tuple, table["new_code"]), strict=True))


def _with_families(codes: Sequence[str], target: Vintage) -> list[str]:
    """``codes`` and the other members of their merge families in ``target``.

    Data harmonised to ``target`` reads a family as its representative code
    (:func:`rerouting._hs.merge_families`), so a list naming one member must keep the
    representative, and the members too for data that never crossed the revision.
    """
    families: dict[str, str] = {}
    for newer in VINTAGES[VINTAGES.index(target) + 1 :]:
        families.update(merge_families(target, newer))
    out: dict[str, None] = {}
    for c in codes:
        out[c] = None
        rep = families.get(c)
        if rep is not None:
            out.update(dict.fromkeys(sorted(m for m, r in families.items() if r == rep)))
    return list(out)


def _map_hs6(codes: Sequence[str], src: Vintage, dst: Vintage) -> list[str]:
    if src == dst:
        return list(codes)
    if VINTAGES.index(src) > VINTAGES.index(dst):
        down = _down(src, dst)
        return [down.get(c, c) for c in codes]
    up = _up(src, dst)
    return [n for c in codes for n in up.get(c, (c,))]


# -- named lists -----------------------------------------------------------------------

_CHPL_SOURCE: Final = (
    "Common High Priority List (BIS/EU/UK/Japan), version of 2024-02-23; EU Annex XL "
    "of Reg. (EU) 833/2014; transcribed from the BIS CHPL page"
)
_CHPL_TIERS: Final = {
    "TIER_1": "1",
    "TIER_2": "2",
    "TIER_3_A": "3A",
    "TIER_3_B": "3B",
    "TIER_4_A": "4A",
    "TIER_4_B": "4B",
}
_EU833_SOURCE: Final = (
    "Council Regulation (EU) 833/2014 annexes, consolidated text of 2022-10-07, via "
    "github.com/vzemlys/ruimpeks (MIT)"
)


def _read_data(name: str) -> pl.DataFrame:
    raw = files("rerouting").joinpath("_data", name).read_bytes()
    return pl.read_csv(io.BytesIO(raw), infer_schema=False)


def _chpl() -> ProductList:
    df = _read_data("chpl_common_high_priority_list_hs6.csv")
    tiers: dict[str, list[str]] = {}
    for code, tier in zip(df["hs6"], df["tier"], strict=True):
        tiers.setdefault(_CHPL_TIERS[tier], []).append(code)
    return ProductList(
        name="chpl",
        codes=tuple(dict.fromkeys(df["hs6"])),
        vintage="HS2022",
        source=_CHPL_SOURCE,
        description="Common High Priority List: 50 HS6 battlefield items in tiers 1-4",
        tiers={t: tuple(tiers[t]) for t in ("1", "2", "3A", "3B", "4A", "4B")},
        notes=(
            "CHPL codes are HS2022; use .to_hs6('HS2017') for data reported in HS2017 "
            "(854151/854159 ← 854150, 854149 ← 854140, 852589 ← 852580, 880730 ← 880330, "
            "854800 ← 854890)",
        ),
    )


def _eu833() -> ProductList:
    codes = _read_data("eu_reg833_2014_annex_cn_codes_as_of_2022-10-07.csv")["code"]
    # Two CN8 codes of chapter 01 lost their leading zero in the source file.
    fixed = [c.zfill(8) if len(c) == 7 else c for c in codes]
    return ProductList(
        name="eu-833",
        codes=tuple(dict.fromkeys(fixed)),
        vintage="HS2022",
        source=_EU833_SOURCE,
        description="CN8 codes and HS4 headings in the annexes of EU Reg. 833/2014 "
        "(Russia) as of 2022-10-07",
        notes=(
            "Annex numbers are not recorded and packages after 2022-10-07 are missing",
            "Mostly CN 2022 codes; about 40 older CN codes (HS2017 based, e.g. 8803, "
            "44129490) are kept as published and read in HS2017 by .to_hs6()",
            "2 codes (0101 21 00, 0101 29 90) were zero-padded: the source lost the leading zero",
        ),
    )


# (group, codes, confidence, note) for EU Reg. (EC) 765/2006 as amended (Belarus).
_BELARUS: Final[tuple[tuple[str, tuple[str, ...], str, str], ...]] = (
    (
        "potash-2021",
        ("31042010", "31042090", "31052010", "31052090", "31056000", "31059020", "31059080"),
        "verified",
        "Reg. (EU) 2021/1030 (from 2021-06-25), annex codes as quoted by ICIS/Argus; "
        "31059020 and 31059080 are 'ex' codes (only products containing potassium "
        "chloride), so the full codes over-cover them",
    ),
    (
        "potash-2022",
        ("31042050",),
        "derived",
        "Reg. (EU) 2022/355 (from 2022-03-02) extended the ban to all potassium chloride; "
        "31042050 is the remaining CN subdivision of 3104 20 (annex not seen)",
    ),
    (
        "wood",
        ("44",),
        "verified",
        "Reg. (EU) 2022/355 (from 2022-03-02): all of CN chapter 44 (PIORIN: 'kod celny 44')",
    ),
    (
        "cement",
        ("2523",),
        "approximate",
        "Reg. (EU) 2022/355 bans cement products; heading 2523 is an assumption, annex not seen",
    ),
    (
        "iron-steel",
        ("72", "73"),
        "approximate",
        "Reg. (EU) 2022/355 bans iron and steel products; the annex lists subsets of "
        "chapters 72 and 73 that were not seen, so whole chapters over-cover",
    ),
    (
        "rubber",
        ("4011", "4012", "4013"),
        "approximate",
        "Reg. (EU) 2022/355 bans rubber products (tyres); headings 4011-4013 are an "
        "assumption, annex not seen",
    ),
    (
        "mineral-fuels",
        ("27",),
        "approximate",
        "petroleum products (2021/1030), extended to mineral fuels, bituminous "
        "substances and gaseous hydrocarbons (2022/355); the annex lists subsets of "
        "chapter 27 that were not seen",
    ),
    (
        "tobacco",
        ("2401", "4813"),
        "approximate",
        "goods used to make tobacco products (2021/1030, 2022/355); the annex was not "
        "seen: unmanufactured tobacco (2401) and cigarette paper (4813) are assumptions "
        "and other inputs (acetate tow, filters, machinery) may be listed",
    ),
)
_BELARUS_SOURCE: Final = (
    "Council Regulation (EC) 765/2006 as amended by Reg. (EU) 2021/1030 and 2022/355 "
    "(docs/methods.md#product-lists, docs/methods.md#product-lists); not an official consolidated "
    "annex"
)


def _belarus(name: str, groups: Sequence[str], description: str) -> ProductList:
    chosen = [g for g in _BELARUS if g[0] in groups]
    codes = tuple(c for _, cs, _, _ in chosen for c in cs)
    approximate = [g for g, _, conf, _ in chosen if conf == "approximate"]
    notes = [f"{g}: {note}" for g, _, _, note in chosen]
    if approximate:
        notes.insert(
            0,
            "APPROXIMATE parts (" + ", ".join(approximate) + ") are guesses at annexes "
            "that were not seen; use belarus-verified for the verified codes only",
        )
    return ProductList(
        name=name,
        codes=codes,
        vintage="HS2022",
        source=_BELARUS_SOURCE,
        description=description,
        tiers={g: cs for g, cs, _, _ in chosen},
        confidence={c: conf for _, cs, conf, _ in chosen for c in cs},
        notes=tuple(notes),
    )


_CHPL_MEANING: Final = {
    "1": "integrated circuits, highest concern",
    "2": "wireless, GNSS and passive electronic components",
    "3A": "further electronic components",
    "3B": "mechanical and other components",
    "4A": "electronics manufacturing and test equipment",
    "4B": "CNC machine tools and parts (added Feb 2024)",
}


def _chpl_tier(base: ProductList, *keys: str) -> ProductList:
    sub = base.tier("+".join(keys))
    digits = "".join(dict.fromkeys(k[0] for k in keys))
    suffix = digits if len(keys) > 1 else keys[0].lower()
    meaning = "; ".join(_CHPL_MEANING[k] for k in keys)
    return replace(
        sub, name=f"chpl-tier{suffix}", description=f"CHPL tier {suffix.upper()}: {meaning}"
    )


@functools.cache
def _named() -> dict[str, ProductList]:
    chpl = _chpl()
    lists: dict[str, ProductList] = {"chpl": chpl}
    lists["chpl-tier1"] = _chpl_tier(chpl, "1")
    lists["chpl-tier2"] = _chpl_tier(chpl, "2")
    lists["chpl-tier3"] = _chpl_tier(chpl, "3A", "3B")
    lists["chpl-tier4"] = _chpl_tier(chpl, "4A", "4B")
    for key in ("3A", "3B", "4A", "4B"):
        lists[f"chpl-tier{key.lower()}"] = _chpl_tier(chpl, key)
    lists["eu-833"] = _eu833()
    all_groups = [g for g, *_ in _BELARUS]
    lists["belarus"] = _belarus(
        "belarus",
        all_groups,
        "EU import bans on Belarus (Reg. 765/2006): potash, wood, cement, iron and steel, "
        "tyres, mineral fuels, tobacco inputs; partly approximate",
    )
    lists["belarus-verified"] = _belarus(
        "belarus-verified",
        [g for g, _, conf, _ in _BELARUS if conf != "approximate"],
        "Belarus measures with verified or derived codes only: potash (2021, 2022) and wood",
    )
    lists["belarus-wood"] = _belarus(
        "belarus-wood", ["wood"], "EU import ban on Belarusian wood (CN chapter 44), 2022-03"
    )
    lists["belarus-potash"] = _belarus(
        "belarus-potash",
        ["potash-2021", "potash-2022"],
        "EU import ban on Belarusian potash (2021/1030, extended by 2022/355)",
    )
    return lists


def list_names() -> tuple[str, ...]:
    """Names of the built-in product lists."""
    return tuple(_named())


def list_catalog() -> pl.DataFrame:
    """The built-in product lists (for ``rerouting lists``).

    Returns:
        Columns ``name``, ``n_codes``, ``vintage``, ``source``, ``description``.
    """
    rows = [(p.name, len(p.codes), p.vintage, p.source, p.description) for p in _named().values()]
    return pl.DataFrame(
        rows,
        schema={
            "name": pl.String,
            "n_codes": pl.Int64,
            "vintage": pl.String,
            "source": pl.String,
            "description": pl.String,
        },
        orient="row",
    )


# -- user lists ------------------------------------------------------------------------

_CODE_COLUMNS: Final = (
    "code",
    "hs",
    "hs6",
    "hs_code",
    "hscode",
    "cn",
    "cn8",
    "cn_code",
    "product",
    "product_code",
    "commodity_code",
    "cmdcode",
    "codes",
)
_TIER_COLUMNS: Final = ("tier", "group")


def _clean(token: str) -> str:
    return _JUNK.sub("", _EX.sub("", token))


def _check(code: str, raw: str, *, file: str | None, row: int | None, column: str | None) -> str:
    if code.isdigit() and len(code) in _VALID_LENGTHS:
        return code
    if code.isdigit() and len(code) in {3, 5, 7}:
        hint = (
            f"{len(code)} digits: a code that lost its leading zero (e.g. in Excel)? "
            f"write it as {code.zfill(len(code) + 1)}"
        )
    else:
        hint = "codes are 2, 4, 6, 8 or 10 digits; 'ex', spaces and dots are ignored"
    raise ConfigError("not a product code", file=file, row=row, column=column, value=raw, hint=hint)


def _in_some_vintage(code: str) -> bool:
    """A chapter, heading or subheading of some shipped vintage (longer codes: their HS6)."""
    return any(code[:6] in _hs_codes(v) for v in VINTAGES)


def _check_known(codes: Sequence[str], rows: Sequence[int | None], *, file: str | None) -> None:
    """Refuse codes that exist in no shipped HS vintage: they would match no record."""
    bad = [(c, r) for c, r in zip(codes, rows, strict=True) if not _in_some_vintage(c)]
    if not bad:
        return
    shown = ", ".join(c if r is None or file is None else f"{c} (row {r})" for c, r in bad[:10])
    more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
    vintages = ", ".join(VINTAGES)
    raise ConfigError(
        f"{len(bad)} of {len(codes)} product code(s) match no HS code in any vintage "
        f"({vintages}): {shown}{more}",
        file=file,
        row=bad[0][1] if file is not None else None,
        column="products" if file is None else None,
        value=bad[0][0],
        hint="fix or remove them: codes are HS chapters, headings or subheadings (CN8/HS10 "
        "codes by their first six digits), e.g. scan(..., products='4407,4412'); look codes "
        "up in rerouting.reference.nomenclature('HS2022'); named lists: "
        "rerouting.reference.list_names()",
        cli_hint="fix or remove them: codes are HS chapters, headings or subheadings (CN8/HS10 "
        "codes by their first six digits), e.g. --products 4407,4412; named lists: "
        "`rerouting lists`",
    )


def _from_codes(tokens: Sequence[str], name: str, *, what: str) -> ProductList:
    codes: dict[str, None] = {}
    for i, raw in enumerate(tokens, start=1):
        cleaned = _clean(str(raw))
        if not cleaned:
            continue
        codes[_check(cleaned, str(raw), file=None, row=i, column=what)] = None
    if not codes:
        raise ConfigError("the product list is empty", value=name, hint="give at least one code")
    _check_known(list(codes), [None] * len(codes), file=None)
    return ProductList(name=name, codes=tuple(codes), source=what, description="user codes")


def _from_file(path: Path) -> ProductList:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "cannot read the product list file",
            file=where,
            hint=f"{exc}; give a text file with one code per line or a CSV with a code column",
        ) from exc
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    first = lines[0] if lines else ""
    sep = next((s for s in (",", ";", "\t") if s in first), None)
    codes: dict[str, None] = {}
    rows: dict[str, int] = {}
    tiers: dict[str, dict[str, None]] = {}
    if sep is None:
        for lineno, line in enumerate(text.splitlines(), start=1):
            raw = line.strip()
            if not raw or raw.startswith("#"):
                continue
            cleaned = _clean(raw)
            if lineno == 1 and not any(ch.isdigit() for ch in cleaned):
                continue  # a header such as "code"
            code = _check(cleaned, raw, file=where, row=lineno, column=None)
            codes[code] = None
            rows.setdefault(code, lineno)
    else:
        df = pl.read_csv(io.StringIO(text), separator=sep, infer_schema=False, comment_prefix="#")
        lower = {c.strip().lower(): c for c in df.columns}
        column = next((lower[c] for c in _CODE_COLUMNS if c in lower), None)
        if column is None:
            raise ConfigError(
                "the product list CSV has no code column",
                file=where,
                hint=f"name one column 'code' (or hs, hs6, cn8); columns: {', '.join(df.columns)}",
            )
        tier_col = next((lower[c] for c in _TIER_COLUMNS if c in lower), None)
        tier_values = df[tier_col].to_list() if tier_col else [None] * df.height
        for i, (raw, tier) in enumerate(zip(df[column], tier_values, strict=True)):
            if raw is None or not raw.strip():
                continue
            code = _check(_clean(raw), raw, file=where, row=i + 2, column=column)
            codes[code] = None
            rows.setdefault(code, i + 2)
            if tier:
                tiers.setdefault(tier.strip(), {})[code] = None
    if not codes:
        raise ConfigError(
            "the product list file has no codes", file=where, hint="one HS/CN code per line"
        )
    _check_known(list(codes), [rows[c] for c in codes], file=where)
    return ProductList(
        name=path.stem,
        codes=tuple(codes),
        source=where,
        description=f"codes from {path.name}",
        tiers={t: tuple(c) for t, c in tiers.items()},
    )


def product_list(spec: str | Path | Sequence[str] | ProductList | None) -> ProductList:
    """Build a product list from a name, a file, a string of codes or a sequence.

    Args:
        spec: One of

            * ``None``: every product;
            * a built-in name (``chpl``, ``chpl-tier1`` … ``chpl-tier4``,
              ``chpl-tier3a`` …, ``eu-833``, ``belarus``, ``belarus-verified``,
              ``belarus-wood``, ``belarus-potash``), any case;
            * a path to a text file (one code per line, ``#`` comments) or a CSV with a
              ``code`` column (optional ``tier`` column);
            * a comma-separated string of HS/CN prefixes, e.g. ``"4407, 4412, ex 8541 10"``,
              possibly mixed with list names (``"chpl-tier1, belarus-wood, 8471"``:
              the union);
            * a sequence of codes;
            * a :class:`ProductList` (returned as is).

            ``ex``, spaces and dots are stripped; leading zeros are kept.

    Raises:
        UnknownListError: the name matches no list (the hint gives close names).
        ConfigError: a code is malformed (naming file, line and value) or a file is
            missing or unreadable.
    """
    if spec is None:
        return ProductList(name="all", codes=(), description="every product")
    if isinstance(spec, ProductList):
        return spec
    if isinstance(spec, Path):
        return _file_or_error(spec)
    if isinstance(spec, str):
        text = spec.strip()
        named = _named().get(text.lower())
        if named is not None:
            return named
        path = Path(text).expanduser()
        if path.is_file():
            return _from_file(path)
        tokens = [t.strip() for t in re.split(r"[,;]", text) if t.strip()]
        if len(tokens) > 1 and any(t.lower() in _named() for t in tokens):
            return _mixed(tokens)
        if tokens and all(any(ch.isdigit() for ch in _clean(t)) for t in tokens):
            return _from_codes(tokens, name="codes", what="products")
        if path.suffix.lower() in {".txt", ".csv", ".tsv", ".lst"} or "/" in text or "\\" in text:
            return _file_or_error(path)
        close = difflib.get_close_matches(text.lower(), list(_named()), n=3, cutoff=0.5)
        guess = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownListError(
            "no product list by that name",
            value=spec,
            hint=f"{guess}lists: {', '.join(_named())}; or give a file or HS codes "
            "(e.g. 4407,4412)",
        )
    return _from_codes([str(s) for s in spec], name="codes", what="products")


def _mixed(tokens: Sequence[str]) -> ProductList:
    """Union of named lists and loose codes, e.g. ``chpl-tier1, belarus-wood, 8471``."""
    lists = [_named()[t.lower()] for t in tokens if t.lower() in _named()]
    loose = [t for t in tokens if t.lower() not in _named()]
    for token in loose:
        if not _clean(token).isdigit():
            close = difflib.get_close_matches(token.lower(), list(_named()), n=3, cutoff=0.5)
            guess = f"did you mean {', '.join(close)}? " if close else ""
            raise UnknownListError(
                "no product list by that name",
                value=token,
                hint=f"{guess}lists: {', '.join(_named())}",
            )
    if loose:
        lists.append(_from_codes(loose, name="codes", what="products"))
    combined = lists[0]
    for other in lists[1:]:
        combined = combined | other
    return combined


def _file_or_error(path: Path) -> ProductList:
    if not path.is_file():
        raise ConfigError(
            "product list file not found",
            file=str(path),
            hint="give a list name (see `rerouting lists`), HS codes, or an existing file",
        )
    return _from_file(path)


def similar_codes(products: ProductList | str, vintage: str = "HS2022") -> ProductList:
    """Placebo/control list: the other HS6 codes in the same HS4 headings.

    For CHPL this is the "similar" class of docs/methods.md#product-lists (e.g. 847141, 847149,
    847190 next to 847150/847180). Codes of the list itself are excluded.

    Args:
        products: A product list or anything :func:`product_list` accepts.
        vintage: The HS vintage to express both lists in.
    """
    plist = product_list(products)
    if plist.is_all:
        raise ConfigError("'every product' has no similar codes", hint="give a list, e.g. chpl")
    six = plist.to_hs6(vintage)
    target = normalise_vintage(vintage)
    own = {c for code in six.codes for c in _expand(code, target)}
    headings = dict.fromkeys(c[:4] for c in sorted(own))
    under = _hs6_under(target)
    codes = tuple(c for h in headings for c in under.get(h, ()) if c not in own)
    return ProductList(
        name=f"{plist.name}-similar",
        codes=codes,
        vintage=target,
        source=f"derived from {plist.name} and the {target} nomenclature",
        description=f"HS6 codes sharing an HS4 heading with {plist.name}, not in it",
    )
