"""Country blocs (EU, EAEU, the export-control coalition, hub groups) with membership dates.

Blocs with a changing membership (``EU``, ``EAEU``) carry accession and exit dates;
the others are fixed lists. Countries are ISO 3166 alpha-3 codes. Sources and the
choices made are listed in ``docs/reference-data.md``.

Membership on a *date* (:func:`bloc_members`) is exact. Membership in a *period*
(:func:`member_expr`, against the canonical ``period`` column) is month-granular: a
country counts as a member in a month if it was a member on at least one day of that
month, so the United Kingdom is in ``EU`` for 2020-01 and out from 2020-02. Annual
rows (period = 1 January) are judged by their January.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import io
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, Final

import polars as pl

from rerouting._exceptions import ConfigError, UnknownListError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "Bloc",
    "Membership",
    "bloc_members",
    "get_bloc",
    "list_blocs",
    "member_expr",
    "resolve_countries",
]


@dataclass(frozen=True, slots=True)
class Membership:
    """One country's membership of a bloc; ``None`` dates mean open-ended."""

    iso3: str
    start: dt.date | None = None
    end: dt.date | None = None

    def active(self, at: dt.date) -> bool:
        """Whether the country is a member on ``at`` (both ends inclusive)."""
        return (self.start is None or self.start <= at) and (self.end is None or at <= self.end)


@dataclass(frozen=True, slots=True)
class Bloc:
    """A named group of countries."""

    name: str
    description: str
    source: str
    members: tuple[Membership, ...]
    aliases: tuple[str, ...] = ()
    dated: bool = False

    def at(self, when: dt.date | str | None = None) -> tuple[str, ...]:
        """Member ISO3 codes on ``when`` (a date or ISO string; today if ``None``), sorted."""
        day = _day(when) or dt.date.today()
        return tuple(sorted(m.iso3 for m in self.members if m.active(day)))

    @property
    def ever(self) -> tuple[str, ...]:
        """Every country that has ever been a member, sorted."""
        return tuple(sorted({m.iso3 for m in self.members}))


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _day(when: dt.date | str | None) -> dt.date | None:
    """A date from a ``date``, ``datetime``, ``"2019-06-01"`` or ``"2019-06"``."""
    if when is None or isinstance(when, dt.date):
        return when.date() if isinstance(when, dt.datetime) else when
    if isinstance(when, str):
        text = when.strip()
        try:
            return dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            pass
    raise ConfigError(
        "the date of a bloc's membership is not a date",
        column="at",
        value=when,
        hint='write at="2019-06-01" (or "2019-06", or datetime.date(2019, 6, 1))',
    )


# Accession waves of the EU (Treaty of Rome in force 1958-01-01).
_EU_WAVES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("1958-01-01", ("BEL", "DEU", "FRA", "ITA", "LUX", "NLD")),
    ("1973-01-01", ("DNK", "IRL")),
    ("1981-01-01", ("GRC",)),
    ("1986-01-01", ("ESP", "PRT")),
    ("1995-01-01", ("AUT", "FIN", "SWE")),
    ("2004-05-01", ("CYP", "CZE", "EST", "HUN", "LTU", "LVA", "MLT", "POL", "SVK", "SVN")),
    ("2007-01-01", ("BGR", "ROU")),
    ("2013-07-01", ("HRV",)),
)
_EU: Final = tuple(Membership(c, _d(start)) for start, codes in _EU_WAVES for c in codes)
# The UK joined in 1973 and left the EU at the end of 31 January 2020.
_GBR_EU: Final = Membership("GBR", _d("1973-01-01"), _d("2020-01-31"))
EU27_CODES: Final = tuple(sorted(m.iso3 for m in _EU))

_COALITION_NON_EU: Final = (
    "USA", "GBR", "CAN", "JPN", "KOR", "AUS", "NZL", "NOR", "CHE", "ISL", "LIE", "TWN",
)  # fmt: skip

_TRANSSHIPMENT: Final = (
    "ARM", "BRA", "CHN", "GEO", "IND", "ISR", "KAZ", "KGZ", "MEX",
    "NIC", "SRB", "SGP", "ZAF", "TWN", "TJK", "TUR", "ARE", "UZB",
)  # fmt: skip


def _static(codes: Iterable[str]) -> tuple[Membership, ...]:
    return tuple(Membership(c) for c in sorted(set(codes)))


_BLOCS: Final[tuple[Bloc, ...]] = (
    Bloc(
        "EU",
        "European Union members on the date or in the period (the UK until 2020-01-31)",
        "Accession treaties; UK withdrawal agreement (exit 2020-01-31)",
        (*_EU, _GBR_EU),
        dated=True,
    ),
    Bloc(
        "EU27",
        "The 27 members since 2020-02-01, fixed composition for all periods (Eurostat EU27_2020)",
        "Eurostat EU27_2020 aggregate",
        _static(EU27_CODES),
        aliases=("EU27_2020",),
    ),
    Bloc(
        "EU28",
        "EU27 plus the United Kingdom, fixed composition (Eurostat EU28, 2013-07..2020-01)",
        "Eurostat EU28 aggregate",
        _static((*EU27_CODES, "GBR")),
    ),
    Bloc(
        "EAEU",
        "Eurasian Economic Union: Russia, Belarus, Kazakhstan from 2015-01-01, "
        "Armenia from 2015-01-02, Kyrgyzstan from 2015-08-12",
        "Treaty on the Eurasian Economic Union (2014) and accession treaties",
        (
            Membership("RUS", _d("2015-01-01")),
            Membership("BLR", _d("2015-01-01")),
            Membership("KAZ", _d("2015-01-01")),
            Membership("ARM", _d("2015-01-02")),
            Membership("KGZ", _d("2015-08-12")),
        ),
        aliases=("EEU",),
        dated=True,
    ),
    Bloc(
        "coalition",
        "Global Export Control Coalition against Russia/Belarus: EU27 plus 12 partners "
        "(39 countries), fixed composition",
        "US BIS, EAR Supplement No. 3 to Part 746 (countries excluded from the "
        "Russia/Belarus foreign direct product rules) plus the United States; the count "
        "of 39 is confirmed by the E5/BIS guidance of Sept 2023 "
        "(docs/methods.md#country-groups-and-blocs)",
        _static((*EU27_CODES, *_COALITION_NON_EU)),
        aliases=("GECC", "sanctions-coalition"),
    ),
    Bloc(
        "CCA3",
        "Armenia, Kazakhstan, Kyrgyzstan: EAEU members bordering or close to Russia, the "
        "hub group of the EBRD 'Eurasian roundabout' papers",
        "Chupilkin, Javorcik & Plekhanov (EBRD WP 276, 2023), "
        "docs/methods.md#country-groups-and-blocs",
        _static(("ARM", "KAZ", "KGZ")),
    ),
    Bloc(
        "central-asia-caucasus",
        "Central Asia and South Caucasus hubs: ARM, AZE, GEO, KAZ, KGZ, TJK, UZB",
        "Geographic grouping used by EBRD, BOFIT and the E5 guidance "
        "(docs/methods.md#country-groups-and-blocs)",
        _static(("ARM", "AZE", "GEO", "KAZ", "KGZ", "TJK", "UZB")),
        aliases=("CAC", "hubs-cac"),
    ),
    Bloc(
        "transshipment",
        "FinCEN/BIS 'common transshipment points' for Russia/Belarus export controls "
        "(18 countries)",
        "FinCEN & BIS joint alerts (June 2022; May 2023 supplement), "
        "docs/methods.md#country-groups-and-blocs",
        _static(_TRANSSHIPMENT),
        aliases=("fincen-bis", "transshipment-points"),
    ),
)


@functools.cache
def _by_name() -> dict[str, Bloc]:
    table: dict[str, Bloc] = {}
    for bloc in _BLOCS:
        for key in (bloc.name, *bloc.aliases):
            table[key.upper()] = bloc
    return table


def get_bloc(name: str) -> Bloc:
    """The bloc called ``name`` (case-insensitive, aliases accepted).

    Raises:
        UnknownListError: no bloc by that name; the hint lists close matches.
    """
    bloc = _by_name().get(str(name).strip().upper())
    if bloc is None:
        names = [b.name for b in _BLOCS]
        close = difflib.get_close_matches(str(name).upper(), list(_by_name()), n=3, cutoff=0.5)
        guess = sorted({_by_name()[c].name for c in close})
        hint = f"did you mean {', '.join(guess)}? " if guess else ""
        raise UnknownListError(
            "no bloc by that name", value=name, hint=f"{hint}blocs: {', '.join(names)}"
        )
    return bloc


def bloc_members(name: str, at: dt.date | str | None = None) -> tuple[str, ...]:
    """ISO3 codes of a bloc's members on a date.

    Args:
        name: Bloc name (``EU``, ``EU27``, ``EU28``, ``EAEU``, ``coalition``, ``CCA3``,
            ``central-asia-caucasus``, ``transshipment``) or alias, any case.
        at: The date, or an ISO string (``"2019-06-01"``); ``None`` means today.
            Fixed-composition blocs ignore it.

    Example:
        >>> "GBR" in bloc_members("EU", dt.date(2019, 6, 1))
        True
    """
    return get_bloc(name).at(at)


def list_blocs() -> pl.DataFrame:
    """Every bloc with its current members.

    Returns:
        Columns ``name``, ``members`` (list of ISO3), ``n``, ``dated`` (membership
        changes over time), ``aliases``, ``description``, ``source``.
    """
    rows = [
        {
            "name": b.name,
            "members": list(b.at()),
            "n": len(b.at()),
            "dated": b.dated,
            "aliases": list(b.aliases),
            "description": b.description,
            "source": b.source,
        }
        for b in _BLOCS
    ]
    return pl.DataFrame(rows)


def member_expr(col: str | pl.Expr, bloc: str, *, period: str | pl.Expr = "period") -> pl.Expr:
    """Boolean expression: is the country in ``col`` a member of ``bloc`` in ``period``?

    Month-granular for dated blocs (member on at least one day of the month of
    ``period``); fixed blocs ignore ``period``. Null countries give ``False``.

    Example:
        >>> df.filter(member_expr("partner", "EU"))  # doctest: +SKIP
    """
    b = get_bloc(bloc)
    country = pl.col(col) if isinstance(col, str) else col
    if not b.dated:
        return country.is_in(pl.Series(b.ever).implode()).fill_null(False)
    when = pl.col(period) if isinstance(period, str) else period
    first, last = when.dt.month_start(), when.dt.month_end()
    groups: dict[tuple[dt.date | None, dt.date | None], list[str]] = {}
    for m in b.members:
        groups.setdefault((m.start, m.end), []).append(m.iso3)
    parts = []
    for (start, end), codes in groups.items():
        cond = country.is_in(pl.Series(codes).implode())
        if start is not None:
            cond = cond & (last >= pl.lit(start))
        if end is not None:
            cond = cond & (first <= pl.lit(end))
        parts.append(cond)
    return pl.any_horizontal(parts).fill_null(False)


# -- country codes ---------------------------------------------------------------------

_EXTRA_NAMES: Final[dict[str, str]] = {
    "UK": "GBR",
    "GREAT BRITAIN": "GBR",
    "BRITAIN": "GBR",
    "USA": "USA",
    "US": "USA",
    "UNITED STATES OF AMERICA": "USA",
    "TURKEY": "TUR",
    "KYRGYZ REPUBLIC": "KGZ",
    "UAE": "ARE",
    "CZECH REPUBLIC": "CZE",
    "KOREA": "KOR",
    "RUSSIA": "RUS",
    "IRAN": "IRN",
    "VIETNAM": "VNM",
    "MOLDOVA": "MDA",
    "HONG KONG": "HKG",
    "BELORUSSIA": "BLR",
}


@functools.cache
def _country_table() -> tuple[frozenset[str], dict[str, str], dict[str, str]]:
    """(ISO3 set, ISO2 → ISO3, upper-case name → ISO3) from the bundled ISO table."""
    raw = files("rerouting").joinpath("_data", "datahub_country-codes.csv").read_bytes()
    df = pl.read_csv(io.BytesIO(raw), infer_schema=False)
    iso3 = frozenset(df["ISO3166-1-Alpha-3"].drop_nulls())
    iso2 = dict(zip(df["ISO3166-1-Alpha-2"], df["ISO3166-1-Alpha-3"], strict=True))
    names: dict[str, str] = {}
    for column in ("official_name_en", "CLDR display name", "UNTERM English Short"):
        for name, code in zip(df[column], df["ISO3166-1-Alpha-3"], strict=True):
            if name:
                names.setdefault(name.strip().upper(), code)
    names.update(_EXTRA_NAMES)
    return iso3, {k: v for k, v in iso2.items() if k}, names


def _lookup_country(token: str) -> str | None:
    iso3, iso2, names = _country_table()
    key = token.strip().upper()
    if len(key) == 3 and key in iso3:
        return key
    if len(key) == 2 and key in iso2:
        return iso2[key]
    if key in names:
        return names[key]
    import pycountry

    try:
        found = pycountry.countries.lookup(token.strip())
    except LookupError:
        return None
    code = str(found.alpha_3)
    return code if code in iso3 else None


def resolve_countries(codes: Sequence[str] | str, at: dt.date | None = None) -> tuple[str, ...]:
    """Expand bloc names and check country codes, returning unique ISO3 codes.

    Args:
        codes: ISO3 or ISO2 codes, country names and bloc names (a sequence, or one
            comma-separated string), e.g. ``["EU", "KAZ", "kg", "Armenia"]``.
        at: Date for dated blocs (``EU``, ``EAEU``); ``None`` means today.

    Returns:
        ISO3 codes in first-seen order, without duplicates.

    Raises:
        ConfigError: an entry is neither a bloc nor a country; the hint suggests close
            matches.
    """
    tokens = codes.split(",") if isinstance(codes, str) else list(codes)
    out: dict[str, None] = {}
    for raw in tokens:
        token = str(raw).strip()
        if not token:
            continue
        bloc = _by_name().get(token.upper())
        if bloc is not None:
            out.update(dict.fromkeys(bloc.at(at)))
            continue
        code = _lookup_country(token)
        if code is None:
            raise ConfigError("unknown country or bloc", value=token, hint=_country_hint(token))
        out[code] = None
    return tuple(out)


def _country_hint(token: str) -> str:
    iso3, _, names = _country_table()
    key = token.strip().upper()
    candidates = [*iso3, *names, *_by_name()]
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)
    shown = []
    for c in close:
        if c in _by_name():
            shown.append(f"{_by_name()[c].name} (bloc)")
        elif c in names and c not in iso3:
            shown.append(f"{names[c]} ({c.title()})")
        else:
            shown.append(c)
    guess = f"did you mean {', '.join(dict.fromkeys(shown))}? " if shown else ""
    blocs = ", ".join(b.name for b in _BLOCS)
    return f"{guess}use ISO 3166 alpha-3 codes (e.g. KAZ), alpha-2 (KZ), names, or a bloc: {blocs}"
