"""Country codes and names to ISO 3166 alpha-3, vectorised.

Trade files name countries in many ways: UN Comtrade area codes (which are not
ISO numeric: USA is 842, France 251, India 699), ISO alpha-2 with Eurostat
quirks (``EL`` for Greece, ``XK`` for Kosovo, ``QU``..``QZ`` for "not
specified"), or English/French labels with parentheticals
("Russian Federation (Russia)", "Belarus (Belorussia)").

Every helper here resolves each *distinct* value once, in Python, and applies
the result to the data with ``replace_strict`` / joins, so the cost does not grow
with the number of rows.

Each value resolves to one of three statuses:

* ``country``: an ISO3 code (or ``XKX`` for Kosovo);
* ``aggregate``: a group of countries or a non-country area (World, EU27,
  Areas nes, bunkers, confidential partner) - readers drop these rows as
  ``aggregate_reporter`` / ``aggregate_partner``;
* ``unmapped``: nothing matched - readers drop these rows as
  ``unmapped_reporter`` / ``unmapped_partner`` and show the values.

Sources: ``_data/comtrade_reporter_areas.csv`` and ``comtrade_partner_areas.csv``
(UN Comtrade+ reference tables), ``_data/datahub_country-codes.csv`` (ISO 3166,
UNTERM and CLDR names) and pycountry, plus the alias table below.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "AGGREGATE",
    "AGGREGATE_CODES",
    "COMTRADE_WORLD",
    "COUNTRY",
    "ISO3_CODES",
    "UNMAPPED",
    "comtrade_code_to_iso3",
    "comtrade_codes_status",
    "country_label_table",
    "is_aggregate_code",
    "iso2_to_iso3",
    "names_to_iso3",
    "normalise_name",
]

COUNTRY: Final = "country"
AGGREGATE: Final = "aggregate"
UNMAPPED: Final = "unmapped"

Scheme = Literal["auto", "comtrade", "iso2", "iso3", "name"]

_DATA = Path(__file__).parent / "_data"

# Comtrade areas whose table entry carries no usable ISO3, but that are one country.
_COMTRADE_OVERRIDES: Final[dict[str, str]] = {
    "490": "TWN",  # "Other Asia, nes" is Taiwan in Comtrade practice
    "412": "XKX",  # Kosovo (user-assigned code, as used by the World Bank and the EU)
    "457": "MYS",  # Sarawak
    "459": "MYS",  # Peninsula Malaysia
    "461": "MYS",  # Sabah
    "835": "TZA",  # Tanganyika
    "836": "TZA",  # Zanzibar and Pemba
    "647": "JPN",  # Ryukyu Islands
    "488": "UMI",  # Midway Islands
    "872": "UMI",  # Wake Island
    "381": "ITA",  # Italy in legacy Comtrade downloads (now 380)
}

# Former countries that keep their ISO 3166-3 alpha-3 codes in trade data.
_HISTORIC_ISO3: Final = frozenset(
    {"ANT", "CSK", "DDR", "PCI", "PCZ", "SCG", "SUN", "VDR", "YMD", "YUG", "XKX"}
)

# ISO alpha-2 codes that Eurostat (or others) spell differently.
_ISO2_EXTRA: Final[dict[str, str]] = {
    "EL": "GRC",  # Eurostat's code for Greece
    "UK": "GBR",  # Eurostat's code for the United Kingdom in some tables
    "XK": "XKX",  # Kosovo
    "XI": "GBR",  # United Kingdom (Northern Ireland), since 2021
    "XU": "GBR",  # United Kingdom (excluding Northern Ireland), since 2021
    "XS": "SRB",  # Serbia, Eurostat code before RS existed
    "XM": "MNE",  # Montenegro, Eurostat code before ME existed
    "TP": "TLS",  # East Timor (old code)
    "ZR": "COD",  # Zaire (old code)
}

#: Codes that are groups or non-country areas, never a country: Eurostat geonomenclature
#: codes that are not countries (confidential, not specified, stores and provisions, high
#: seas), EU/euro-area/world totals, and the ISO-like codes statistics use for them
#: (UN Comtrade ``_X`` "Areas, nes", WITS ``W00`` World, BACI-style ``EUN``/``ZZZ``...).
#: Readers drop these partners as aggregates; :mod:`rerouting._validate` flags them in a
#: canonical table; a scan never takes one for a hub.
AGGREGATE_CODES: Final = frozenset(
    {
        "QP", "QQ", "QR", "QS", "QU", "QV", "QW", "QX", "QY", "QZ",  # Eurostat
        "EU", "EA", "EZ", "EU27", "EU28", "EU27_2020", "EU28_2013", "EU27_2007",
        "EA19", "EA20", "EXT_EU27_2020", "INT_EU27_2020", "EXT_EU28", "INT_EU28",
        "EXT_EU", "INT_EU", "EXTRA_EU", "INTRA_EU", "WORLD", "WLD", "W00", "_X",
        "X1", "X2", "XX", "XA", "XB", "XC", "XL", "XO", "XP", "XR", "XZ",
        "EUR", "EUU", "EU2", "EUN", "EMU", "EAR", "OAS", "ZZZ", "XXX", "NES",
        "TOTAL", "ALL",
    }
)  # fmt: skip

#: UN Comtrade's area code of the World (partner totals, and "no second partner").
COMTRADE_WORLD: Final = "0"

# Labels that official tables do not carry (normalised form -> ISO3).
_ALIASES: Final[dict[str, str]] = {
    "russia": "RUS",
    "russian federation": "RUS",
    "belorussia": "BLR",
    "byelorussia": "BLR",
    "belarus": "BLR",
    "kyrgyz republic": "KGZ",
    "kyrgyzstan": "KGZ",
    "turkiye": "TUR",
    "turkey": "TUR",
    "czechia": "CZE",
    "czech republic": "CZE",
    "korea republic of": "KOR",
    "republic of korea": "KOR",
    "rep of korea": "KOR",
    "south korea": "KOR",
    "korea south": "KOR",
    "korea democratic people s republic of": "PRK",
    "dem people s rep of korea": "PRK",
    "north korea": "PRK",
    "moldova republic of": "MDA",
    "republic of moldova": "MDA",
    "moldova": "MDA",
    "other asia nes": "TWN",
    "other asia not elsewhere specified": "TWN",
    "taiwan": "TWN",
    "chinese taipei": "TWN",
    "separate customs territory of taiwan penghu kinmen and matsu": "TWN",
    "hong kong": "HKG",
    "china hong kong sar": "HKG",
    "macao": "MAC",
    "macau": "MAC",
    "china macao sar": "MAC",
    "iran": "IRN",
    "iran islamic republic of": "IRN",
    "syria": "SYR",
    "laos": "LAO",
    "lao people s democratic republic": "LAO",
    "vietnam": "VNM",
    "viet nam": "VNM",
    "ivory coast": "CIV",
    "cote d ivoire": "CIV",
    "cape verde": "CPV",
    "cabo verde": "CPV",
    "swaziland": "SWZ",
    "eswatini": "SWZ",
    "macedonia": "MKD",
    "north macedonia": "MKD",
    "the former yugoslav republic of macedonia": "MKD",
    "burma": "MMR",
    "myanmar": "MMR",
    "bolivia": "BOL",
    "venezuela": "VEN",
    "tanzania": "TZA",
    "united republic of tanzania": "TZA",
    "vatican": "VAT",
    "holy see": "VAT",
    "eire": "IRL",
    "ireland": "IRL",
    "great britain": "GBR",
    "uk": "GBR",
    "united kingdom": "GBR",
    "usa": "USA",
    "us": "USA",
    "united states": "USA",
    "united states of america": "USA",
    "kosovo": "XKX",
    "palestine": "PSE",
    "state of palestine": "PSE",
    "occupied palestinian territory": "PSE",
    "bosnia herzegovina": "BIH",
    "dominican rep": "DOM",
    "central african rep": "CAF",
    "dem rep of the congo": "COD",
    "congo democratic republic of": "COD",
    "democratic republic of the congo": "COD",
    "congo republic of": "COG",
    "micronesia": "FSM",
    "saint helena": "SHN",
    "falkland islands": "FLK",
    "netherlands antilles": "ANT",
    "serbia and montenegro": "SCG",
    "ussr": "SUN",
    "soviet union": "SUN",
    "yugoslavia": "YUG",
    "czechoslovakia": "CSK",
    "german democratic republic": "DDR",
    "germany": "DEU",
    "france": "FRA",
    "italy": "ITA",
    "spain": "ESP",
    "belgium": "BEL",
    "netherlands": "NLD",
    "greece": "GRC",
    "norway": "NOR",
    "switzerland": "CHE",
    "biélorussie": "BLR",
    "russie federation de": "RUS",
    "turquie": "TUR",
    "royaume uni": "GBR",
    "etats unis": "USA",
    "virgin islands united states": "VIR",
    "us virgin islands": "VIR",
    "virgin islands british": "VGB",
    "cap vert": "CPV",
    "timor oriental": "TLS",
    "east timor": "TLS",
    "korea dpr of": "PRK",
    "dpr korea": "PRK",
    "monako": "MCO",
    "bouvet": "BVT",
    "eastern samoa": "ASM",
    "kirgizia": "KGZ",
    "kirghizia": "KGZ",
    "moldavia": "MDA",
    "byelorussian ssr": "BLR",
    "dprk": "PRK",
    "sar hong kong": "HKG",
    "hong kong sar": "HKG",
    "sar macao": "MAC",
    "salvador": "SLV",
}

# Normalised labels of groups and non-country areas (whole-word patterns).
_AGGREGATE_NAME_RE: Final = re.compile(
    r"\b(world|monde|total|european union|union europeenne|euro area|zone euro|eurozone"
    r"|eu ?2[5-8]|ue ?2[5-8]|ea ?\d\d|extra eu|intra eu|extra ue|intra ue|non eu"
    r"|not specified|not elsewhere specified|non specifies|non determines|non precises"
    r"|nes|n e s|areas|stores and provisions|avitaillement|high seas|haute mer|bunkers"
    r"|free zones|special categories|countries and territories|pays et territoires"
    r"|africa|afrique|asia|asie|europe|america|amerique|oceania|oceanie|opec|asean"
    r"|mercosur|efta|aele|cis|eaeu|rest of|others?|other countries|non eaeu|non eu"
    r"|commonwealth of independent states|eurasian economic union|economic union"
    r"|customs union|gulf cooperation council|special categories|unknown|organisation"
    r"|organization|cooperation)\b"
)

_ISO3_RE: Final = re.compile(r"^[A-Z]{3}$")


def normalise_name(name: str) -> str:
    """Normalise a country label for matching.

    Removes parentheticals (also nested), accents, punctuation and case, and
    spells out ``St``/``&``: ``"Russian Federation (Russia)"`` ->
    ``"russian federation"``, ``"Türkiye"`` -> ``"turkiye"``.

    Args:
        name: A country label.

    Returns:
        The normalised label (possibly empty).
    """
    text = name.replace("’", "'").replace("‘", "'").replace("`", "'")
    previous = None
    while previous != text:  # innermost parentheses first, so nesting is handled
        previous = text
        text = re.sub(r"\([^()]*\)", " ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ")
    text = re.sub(r"[\W_]+", " ", text).strip()
    text = re.sub(r"^st ", "saint ", text)
    text = re.sub(r" st ", " saint ", text)
    return text


@lru_cache(maxsize=1)
def _datahub() -> pl.DataFrame:
    return pl.read_csv(_DATA / "datahub_country-codes.csv", infer_schema=False)


@lru_cache(maxsize=1)
def _iso3_codes() -> frozenset[str]:
    codes = {c for c in _datahub()["ISO3166-1-Alpha-3"].drop_nulls().to_list() if c}
    return frozenset(codes | _HISTORIC_ISO3)


@lru_cache(maxsize=1)
def _iso2_map() -> dict[str, str]:
    frame = _datahub().select("ISO3166-1-Alpha-2", "ISO3166-1-Alpha-3").drop_nulls()
    mapping = {
        a2.strip(): a3 for a2, a3 in frame.iter_rows() if a2 and a2.strip() and _ISO3_RE.match(a3)
    }
    mapping.update(_ISO2_EXTRA)
    return mapping


@lru_cache(maxsize=1)
def _iso_numeric_map() -> dict[str, str]:
    frame = _datahub().select("ISO3166-1-numeric", "ISO3166-1-Alpha-3").drop_nulls()
    return {str(int(n)): a3 for n, a3 in frame.iter_rows() if n.strip().isdigit()}


def _status_from_table(iso3: str | None, group: str | None) -> tuple[str | None, str]:
    if group == "True":
        return None, AGGREGATE
    if iso3 and _ISO3_RE.match(iso3) and iso3 not in AGGREGATE_CODES:
        return iso3, COUNTRY
    return None, AGGREGATE


@lru_cache(maxsize=2)
def _comtrade_table(role: str) -> dict[str, tuple[str | None, str]]:
    """Comtrade area code -> (iso3, status). ``role`` is ``reporter`` or ``partner``."""
    first, second = (
        ("comtrade_partner_areas.csv", "comtrade_reporter_areas.csv")
        if role == "partner"
        else ("comtrade_reporter_areas.csv", "comtrade_partner_areas.csv")
    )
    table: dict[str, tuple[str | None, str]] = {}
    # ISO numeric first, then the Comtrade tables override it (they know 842 etc.).
    for code, iso3 in _iso_numeric_map().items():
        table[code] = (iso3, COUNTRY)
    for name in (second, first):
        frame = pl.read_csv(_DATA / name, infer_schema=False)
        for code, iso3, group in frame.select("comtrade_code", "iso_3", "group").iter_rows():
            table[str(int(code))] = _status_from_table(iso3, group)
    for code, iso3 in _COMTRADE_OVERRIDES.items():
        table[code] = (iso3, COUNTRY)
    table[COMTRADE_WORLD] = (None, AGGREGATE)
    return table


@lru_cache(maxsize=1)
def _name_table() -> dict[str, str]:
    """Normalised label -> ISO3 from every shipped source; aliases win."""
    import pycountry

    names: dict[str, str] = {}

    def add(label: str | None, iso3: str | None) -> None:
        if label and iso3 and _ISO3_RE.match(iso3):
            key = normalise_name(label)
            if key:
                names.setdefault(key, iso3)

    for alias, iso3 in _ALIASES.items():
        names[normalise_name(alias)] = iso3
    for file in ("comtrade_partner_areas.csv", "comtrade_reporter_areas.csv"):
        frame = pl.read_csv(_DATA / file, infer_schema=False)
        for country, note, iso3, group in frame.select(
            "country", "note", "iso_3", "group"
        ).iter_rows():
            if group != "True" and iso3 and iso3 not in AGGREGATE_CODES:
                add(country, iso3)
                add(note, iso3)
    name_columns = [
        "official_name_en",
        "UNTERM English Short",
        "UNTERM English Formal",
        "CLDR display name",
        "official_name_fr",
        "UNTERM French Short",
        "UNTERM French Formal",
        "official_name_ru",
        "UNTERM Russian Short",
        "UNTERM Russian Formal",
    ]
    dh = _datahub()
    for row in dh.select(["ISO3166-1-Alpha-3", *name_columns]).iter_rows():
        iso3 = row[0]
        for label in row[1:]:
            add(label, iso3)
    for country in pycountry.countries:
        add(country.name, country.alpha_3)
        add(getattr(country, "official_name", None), country.alpha_3)
        add(getattr(country, "common_name", None), country.alpha_3)
    return names


def _resolve_one(value: str, scheme: Scheme, role: str) -> tuple[str | None, str]:
    raw = value.strip()
    if not raw:
        return None, UNMAPPED
    upper = raw.upper()
    if scheme in ("auto", "comtrade") and re.fullmatch(r"\d+(\.0+)?", raw):
        code = str(int(float(raw))) if "." in raw else str(int(raw))
        found = _comtrade_table(role).get(code)
        return found if found is not None else (None, UNMAPPED)
    if scheme == "comtrade":
        return _resolve_one(raw, "auto", role)  # e.g. ISO text in a code column
    if upper in AGGREGATE_CODES or upper.startswith(("EU2", "EA1", "EA2", "EXT_", "INT_")):
        return None, AGGREGATE
    if upper == "S19":  # Comtrade's ISO-like code for 490 "Other Asia, nes"
        return "TWN", COUNTRY
    if _ISO3_RE.match(upper) and upper in _iso3_codes():
        return upper, COUNTRY
    if re.fullmatch(r"[A-Z]\d{1,2}", upper):  # Comtrade region codes: R4, A79, E19, F97
        return None, AGGREGATE
    if len(upper) == 2 and upper.isalpha():
        iso3 = _iso2_map().get(upper)
        if iso3 is not None:
            return iso3, COUNTRY
        if upper.startswith(("Q", "X")):
            return None, AGGREGATE
        return None, UNMAPPED
    if scheme in ("iso2", "iso3") and len(upper) <= 3:
        return None, UNMAPPED
    key = normalise_name(raw)
    iso3 = _name_table().get(key)
    if iso3 is not None:
        return iso3, COUNTRY
    # "Korea (DPRK)": the label outside the parentheses is ambiguous, the inside is not.
    for inner in re.findall(r"\(([^()]*)\)", raw):
        iso3 = _name_table().get(normalise_name(inner))
        if iso3 is not None and not _AGGREGATE_NAME_RE.search(key):
            return iso3, COUNTRY
    if _AGGREGATE_NAME_RE.search(key) or upper.startswith("_"):
        return None, AGGREGATE
    return None, UNMAPPED


def country_label_table(
    values: Iterable[str | None] | pl.Series,
    *,
    scheme: Scheme = "auto",
    role: Literal["reporter", "partner"] = "partner",
) -> pl.DataFrame:
    """Resolve distinct country values to ISO3 with a status.

    Args:
        values: Codes or names (duplicates and nulls are fine; each distinct value
            is resolved once).
        scheme: What the values are: ``comtrade`` area codes, ``iso2``, ``iso3``,
            ``name`` labels, or ``auto`` (digits are Comtrade/ISO numeric codes,
            two letters ISO2, three letters ISO3, anything else a name).
        role: Comtrade has separate reporter and partner tables (they differ for
            a few aggregates such as 97 "European Union").

    Returns:
        One row per distinct non-null value: ``value`` (String), ``iso3`` (String,
        null unless a country) and ``status`` (``country``, ``aggregate`` or
        ``unmapped``).
    """
    series = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
    uniques = series.cast(pl.String).drop_nulls().unique().to_list()
    rows = [(v, *_resolve_one(v, scheme, role)) for v in uniques]
    return pl.DataFrame(
        rows,
        schema={"value": pl.String, "iso3": pl.String, "status": pl.String},
        orient="row",
    )


def names_to_iso3(names: pl.Series) -> pl.Series:
    """Map country labels (or codes) to ISO3; aggregates and unknowns become null.

    ``"Russian Federation (Russia)"`` -> ``RUS``, ``"Belarus (Belorussia)"`` ->
    ``BLR``, ``"Korea, Republic of (South Korea)"`` -> ``KOR``, ``"Türkiye"`` ->
    ``TUR``. Each distinct label is resolved once.

    Args:
        names: Labels as found in the file.

    Returns:
        A String series of the same length and name.
    """
    table = country_label_table(names, scheme="name")
    mapping = dict(zip(table["value"].to_list(), table["iso3"].to_list(), strict=True))
    return names.cast(pl.String).replace_strict(mapping, default=None, return_dtype=pl.String)


def iso2_to_iso3(codes: pl.Expr | str) -> pl.Expr:
    """ISO alpha-2 (Eurostat flavour: ``EL``, ``XK``, ``XI``) to ISO3; others null.

    Args:
        codes: A String expression or column name.

    Returns:
        A String expression.
    """
    expr = pl.col(codes) if isinstance(codes, str) else codes
    return (
        expr.cast(pl.String)
        .str.strip_chars()
        .str.to_uppercase()
        .replace_strict(_iso2_map(), default=None, return_dtype=pl.String)
    )


def _comtrade_code_expr(codes: pl.Expr | str) -> pl.Expr:
    expr = pl.col(codes) if isinstance(codes, str) else codes
    # "0842" and "842.0" (Excel) are both 842; "0" stays "0".
    return (
        expr.cast(pl.String)
        .str.strip_chars()
        .str.replace(r"\.0+$", "")
        .str.replace(r"^0+(\d)", "$1")
    )


def comtrade_code_to_iso3(
    codes: pl.Expr | str, *, role: Literal["reporter", "partner"] = "partner"
) -> pl.Expr:
    """UN Comtrade area code to ISO3 (842 -> USA, 251 -> FRA, 490 -> TWN).

    Aggregates (0 World, 899 Areas nes, 97 EU) and unknown codes give null; use
    :func:`comtrade_codes_status` to tell them apart.

    Args:
        codes: A String/integer expression or column name.
        role: Use the reporter or the partner table.

    Returns:
        A String expression.
    """
    table = _comtrade_table(role)
    mapping = {code: iso3 for code, (iso3, status) in table.items() if status == COUNTRY}
    return _comtrade_code_expr(codes).replace_strict(mapping, default=None, return_dtype=pl.String)


def comtrade_codes_status(
    codes: pl.Expr | str, *, role: Literal["reporter", "partner"] = "partner"
) -> pl.Expr:
    """``country``, ``aggregate`` or ``unmapped`` for UN Comtrade area codes.

    Args:
        codes: A String/integer expression or column name.
        role: Use the reporter or the partner table.

    Returns:
        A String expression (null where the code is null).
    """
    table = _comtrade_table(role)
    mapping = {code: status for code, (_, status) in table.items()}
    expr = _comtrade_code_expr(codes)
    return (
        pl.when(expr.is_null())
        .then(pl.lit(None, pl.String))
        .otherwise(expr.replace_strict(mapping, default=UNMAPPED, return_dtype=pl.String))
    )


def is_aggregate_code(codes: pl.Expr | str, *, scheme: Scheme = "comtrade") -> pl.Expr:
    """True where a code is a group or non-country area (World, EU, Areas nes, QU...).

    Args:
        codes: A String expression or column name.
        scheme: ``comtrade`` area codes, or ``iso2``/``iso3`` codes.

    Returns:
        A Boolean expression.
    """
    if scheme == "comtrade":
        return comtrade_codes_status(codes) == AGGREGATE
    expr = pl.col(codes) if isinstance(codes, str) else codes
    text = expr.cast(pl.String).str.strip_chars().str.to_uppercase()
    return (
        text.is_in(sorted(AGGREGATE_CODES))
        | text.str.starts_with("_")
        | (
            (text.str.len_chars() == 2)
            & text.str.contains("^[QX]")
            & ~text.is_in(sorted(_ISO2_EXTRA))
        )
    )


ISO3_CODES: Final = _iso3_codes()
