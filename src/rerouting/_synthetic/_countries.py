"""Countries of the synthetic world: ISO3, economic size, capital coordinates, roles.

Sizes are rounded 2021 GDP in US$ bn and coordinates are the capitals' (lat, lon);
both only need to be roughly right for a gravity model.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "COUNTRIES",
    "EAEU",
    "EU27",
    "HUBS",
    "OTHERS",
    "Country",
    "distance_km",
]

Country = tuple[float, float, float]  # (gdp US$ bn, lat, lon)

#: EU members, largest / most BLR-exposed first so small worlds keep POL, LTU, LVA.
EU27: Final = (
    "DEU", "FRA", "ITA", "ESP", "NLD", "POL", "BEL", "LTU", "LVA", "SWE", "AUT", "CZE",
    "FIN", "DNK", "IRL", "ROU", "PRT", "GRC", "HUN", "SVK", "BGR", "HRV", "SVN", "EST",
    "LUX", "CYP", "MLT",
)  # fmt: skip
HUBS: Final = ("KAZ", "KGZ", "ARM", "GEO", "TUR", "ARE", "UZB", "CHN")
OTHERS: Final = (
    "USA", "IND", "BRA", "JPN", "KOR", "GBR", "CHE", "NOR", "CAN", "MEX", "ZAF", "AUS",
    "IDN", "VNM", "THA", "EGY", "SAU", "SRB", "UKR", "MYS", "SGP", "ISR", "ARG", "CHL",
    "NGA", "PAK", "PHL", "COL", "PER", "MAR", "NZL", "AZE", "MDA", "TJK", "MNG", "HKG",
)  # fmt: skip
#: Eurasian Economic Union: no customs border inside, so its statistics are noisier.
EAEU: Final = frozenset({"RUS", "BLR", "KAZ", "KGZ", "ARM"})

COUNTRIES: Final[dict[str, Country]] = {
    "DEU": (4260, 52.5, 13.4), "FRA": (2960, 48.9, 2.35), "ITA": (2110, 41.9, 12.5),
    "ESP": (1430, 40.4, -3.7), "NLD": (1010, 52.4, 4.9), "POL": (680, 52.2, 21.0),
    "BEL": (600, 50.8, 4.35), "LTU": (66, 54.7, 25.3), "LVA": (39, 56.9, 24.1),
    "SWE": (640, 59.3, 18.1), "AUT": (480, 48.2, 16.4), "CZE": (280, 50.1, 14.4),
    "FIN": (300, 60.2, 24.9), "DNK": (400, 55.7, 12.6), "IRL": (500, 53.3, -6.3),
    "ROU": (285, 44.4, 26.1), "PRT": (250, 38.7, -9.1), "GRC": (215, 38.0, 23.7),
    "HUN": (180, 47.5, 19.0), "SVK": (118, 48.1, 17.1), "BGR": (84, 42.7, 23.3),
    "HRV": (68, 45.8, 16.0), "SVN": (61, 46.1, 14.5), "EST": (37, 59.4, 24.7),
    "LUX": (85, 49.6, 6.1), "CYP": (28, 35.2, 33.4), "MLT": (17, 35.9, 14.5),
    "BLR": (68, 53.9, 27.6), "RUS": (1780, 55.8, 37.6),
    "KAZ": (197, 51.2, 71.4), "KGZ": (9, 42.9, 74.6), "ARM": (14, 40.2, 44.5),
    "GEO": (19, 41.7, 44.8), "TUR": (815, 39.9, 32.9), "ARE": (415, 24.5, 54.4),
    "UZB": (69, 41.3, 69.2), "CHN": (17700, 39.9, 116.4),
    "USA": (23300, 38.9, -77.0), "IND": (3150, 28.6, 77.2), "BRA": (1650, -15.8, -47.9),
    "JPN": (4940, 35.7, 139.7), "KOR": (1810, 37.6, 127.0), "GBR": (3130, 51.5, -0.1),
    "CHE": (800, 46.9, 7.4), "NOR": (480, 59.9, 10.7), "CAN": (2000, 45.4, -75.7),
    "MEX": (1270, 19.4, -99.1), "ZAF": (420, -25.7, 28.2), "AUS": (1550, -35.3, 149.1),
    "IDN": (1190, -6.2, 106.8), "VNM": (366, 21.0, 105.8), "THA": (506, 13.8, 100.5),
    "EGY": (425, 30.0, 31.2), "SAU": (834, 24.7, 46.7), "SRB": (63, 44.8, 20.5),
    "UKR": (200, 50.5, 30.5), "MYS": (373, 3.1, 101.7), "SGP": (397, 1.35, 103.8),
    "ISR": (488, 31.8, 35.2), "ARG": (487, -34.6, -58.4), "CHL": (317, -33.4, -70.6),
    "NGA": (440, 9.1, 7.5), "PAK": (348, 33.7, 73.1), "PHL": (394, 14.6, 121.0),
    "COL": (314, 4.7, -74.1), "PER": (226, -12.0, -77.0), "MAR": (133, 34.0, -6.8),
    "NZL": (250, -41.3, 174.8), "AZE": (55, 40.4, 49.9), "MDA": (14, 47.0, 28.9),
    "TJK": (9, 38.6, 68.8), "MNG": (15, 47.9, 106.9), "HKG": (369, 22.3, 114.2),
}  # fmt: skip


def distance_km(iso3: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """Great-circle distances between capitals (km), floored at 150 km for neighbours."""
    lat = np.radians([COUNTRIES[c][1] for c in iso3])
    lon = np.radians([COUNTRIES[c][2] for c in iso3])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    d: npt.NDArray[np.float64] = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return np.maximum(d, 150.0)
