"""The city a deployment serves: one profile per city, ``layers/cities/NAME.toml``.

What differs between cities and is not data: the metric CRS (the CGCS2000 3-degree
Gauss-Kruger system of the central meridian nearest the city), the rainy season and the winter
construction stop, whether there is a central heating network, unit prices. Chosen with
``ONEMAP_CITY``: a shipped city's name (default ``beijing``) or the path of a profile file; a
wrong name or profile stops the process with one line.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from layers.vocabulary import NETWORK

_WINDOW = re.compile(
    r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])/(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
)
_KEYS = {"name", "name_zh", "central_meridian", "latitude", "longitude", "rainy_season", "winter",
         "central_heating", "unit_prices"}  # fmt: skip


@dataclass(frozen=True)
class CityProfile:
    name: str
    name_zh: str
    central_meridian: int  # degrees east, a multiple of 3
    latitude: float  # of the centre, for rough areas in degrees
    longitude: float  # of the centre, where a map with nothing to show looks
    rainy_season: str  # MM-DD/MM-DD
    winter: str  # MM-DD/MM-DD, may end in the next year; "" where winter stops no works
    central_heating: bool
    unit_prices: dict[str, float]  # CNY per metre of pipe moved, by network

    @property
    def metric_srid(self) -> int:
        """EPSG of "CGCS2000 / 3-degree Gauss-Kruger CM nnnE" (4534 is CM 75E)."""
        return 4534 + (self.central_meridian - 75) // 3

    @property
    def zone(self) -> int:
        return self.central_meridian // 3

    @property
    def zone_srid(self) -> int:
        """The same projection with the zone number in front of the easting (4513 is zone 25)."""
        return 4513 + self.central_meridian // 3 - 25

    @property
    def m2_per_deg2(self) -> float:
        """Square metres in a square degree near the city (a rough bound is all limits need)."""
        return 111_320.0**2 * math.cos(math.radians(self.latitude))


@functools.cache
def known_cities() -> tuple[str, ...]:
    """The cities shipped with OneMap (listed once: the generator asks per estate)."""
    names = (p.name for p in files("layers.cities").iterdir())
    return tuple(sorted(n.removesuffix(".toml") for n in names if n.endswith(".toml")))


def parse_profile(document: dict[str, Any]) -> CityProfile:
    """A profile checked field by field; ValueError names the first wrong one."""
    if unknown := set(document) - _KEYS:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
    if missing := _KEYS - set(document):
        raise ValueError(f"missing {sorted(missing)[0]!r}")
    cm = document["central_meridian"]
    if not isinstance(cm, int) or cm % 3 or not 75 <= cm <= 135:
        raise ValueError("central_meridian: a multiple of 3 from 75 to 135 (China's 3° zones)")
    latitude = document["latitude"]
    if not isinstance(latitude, int | float) or not 18 <= latitude <= 54:
        raise ValueError("latitude: degrees north, 18 to 54")
    longitude = document["longitude"]
    if not isinstance(longitude, int | float) or not abs(longitude - cm) <= 3:
        raise ValueError("longitude: degrees east, within 3° of central_meridian")
    for key in ("rainy_season", "winter"):
        value = document[key]
        if key == "winter" and value == "":  # a mild south: no winter construction stop
            continue
        if not isinstance(value, str) or not _WINDOW.match(value):
            raise ValueError(
                f"{key}: expected MM-DD/MM-DD" + (' (or "")' if key == "winter" else "")
            )
    if not isinstance(document["central_heating"], bool):
        raise ValueError("central_heating: true or false")
    prices = document["unit_prices"]
    if not isinstance(prices, dict) or set(prices) != set(NETWORK.codes):
        raise ValueError(f"unit_prices: one price for each network {sorted(NETWORK.codes)}")
    if not all(isinstance(v, int | float) and 0 <= v <= 1e7 for v in prices.values()):
        raise ValueError("unit_prices: CNY per metre, 0 to 10,000,000")
    return CityProfile(
        str(document["name"]), str(document["name_zh"]), cm, float(latitude), float(longitude),
        document["rainy_season"], document["winter"], document["central_heating"],
        {k: float(v) for k, v in prices.items()},
    )  # fmt: skip


def load_city(name: str) -> CityProfile:
    """A city shipped with OneMap by name, or a city's own profile by its path (``*.toml``)."""
    if name.endswith(".toml"):
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {name}: {exc}") from None
    elif name in known_cities():
        return _shipped(name)
    else:
        raise ValueError(f"no profile for {name!r}; known: {', '.join(known_cities())}")
    return parse_profile(tomllib.loads(text))


@functools.cache
def _shipped(name: str) -> CityProfile:
    """A shipped city's profile, read once (the sample generator asks for it per estate)."""
    text = files("layers.cities").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse_profile(tomllib.loads(text))


try:
    CITY = load_city(os.environ.get("ONEMAP_CITY") or "beijing")
except (ValueError, tomllib.TOMLDecodeError) as exc:
    raise SystemExit(f"error: ONEMAP_CITY: {exc}") from None
