"""The city profile: what differs between cities lives in one file, not in the code."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.resources import files

import pyproj
import pytest

from layers.city import CITY, CityProfile, known_cities, load_city, parse_profile
from layers.vocabulary import NETWORK
from tests_support import clean_env, run_onemap


def beijing() -> dict:
    return tomllib.loads(files("layers.cities").joinpath("beijing.toml").read_text("utf-8"))


def test_beijing_is_the_default_and_its_numbers_reach_the_code():
    from analyses import elevators, model, workflow
    from spatial import crs

    assert "beijing" in known_cities() and CITY.name == "beijing"
    assert (CITY.metric_srid, CITY.zone_srid) == (4548, 4527)
    assert model.METRIC_SRID == 4548
    assert elevators.UNIT_PRICES is CITY.unit_prices
    schedule = {p.name: p.default for p in workflow.SCHEDULE_PARAMS}
    assert schedule == {"rainy_season": "06-01/09-15", "winter": "11-15/03-15"}
    assert {c.srid for c in crs.SUPPORTED} >= {4527, 4548}


@pytest.mark.parametrize("meridian", range(75, 136, 3))
def test_the_gauss_kruger_codes_are_the_zones_of_every_chinese_meridian(meridian):
    profile = CityProfile(
        "x", "x", meridian, 30.0, meridian, "06-01/09-15", "11-15/03-15", False, {}
    )
    assert pyproj.CRS.from_epsg(profile.metric_srid).name == (
        f"CGCS2000 / 3-degree Gauss-Kruger CM {meridian}E")  # fmt: skip
    assert pyproj.CRS.from_epsg(profile.zone_srid).name == (
        f"CGCS2000 / 3-degree Gauss-Kruger zone {meridian // 3}")  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mayor": "x"}, "unknown key 'mayor'"),
        ({"central_meridian": 116}, "central_meridian"),
        ({"central_meridian": 150}, "central_meridian"),
        ({"latitude": 80}, "latitude"),
        ({"longitude": 104.0}, "longitude"),
        ({"rainy_season": "June-September"}, "rainy_season"),
        ({"winter": "11-31/03-15x"}, "winter"),
        ({"central_heating": "yes"}, "central_heating"),
        ({"unit_prices": {"gas": 3000.0}}, "unit_prices"),
        ({"unit_prices": dict.fromkeys(NETWORK.codes, -1.0)}, "unit_prices"),
    ],
)
def test_a_wrong_profile_is_refused_by_name(change, message):
    with pytest.raises(ValueError, match=message):
        parse_profile({**beijing(), **change})
    with pytest.raises(ValueError, match="missing 'winter'"):
        parse_profile({k: v for k, v in beijing().items() if k != "winter"})


def test_another_citys_profile_file_changes_the_metric_crs_seasons_and_prices(tmp_path):
    """A Chengdu-like profile (104° E: the 105° E zone; no central heating; its own seasons)."""
    text = (files("layers.cities").joinpath("beijing.toml").read_text("utf-8")
            .replace('name = "beijing"', 'name = "chengdu"')
            .replace("central_meridian = 117", "central_meridian = 105")
            .replace("longitude = 116.4", "longitude = 104.07")
            .replace('rainy_season = "06-01/09-15"', 'rainy_season = "05-15/09-30"')
            .replace("central_heating = true", "central_heating = false")
            .replace("gas = 3000.0", "gas = 2600.0"))  # fmt: skip
    path = tmp_path / "chengdu.toml"
    path.write_text(text, encoding="utf-8")
    assert load_city(str(path)).metric_srid == 4544  # CGCS2000 / 3-degree GK CM 105E
    probe = (
        "from analyses import elevators, model, workflow; from spatial import crs; "
        "print(model.METRIC_SRID, elevators.UNIT_PRICES['gas'], "
        "workflow.SCHEDULE_PARAMS[0].default, sorted(c.srid for c in crs.SUPPORTED))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=clean_env(ONEMAP_CITY=str(path)), check=True).stdout  # fmt: skip
    assert out.split(maxsplit=3)[:3] == ["4544", "2600.0", "05-15/09-30"]
    assert "4523" in out and "4548" not in out  # zone 35 and CM 105E replace Beijing's


@pytest.mark.e2e
@pytest.mark.parametrize("city", ["atlantis", "/nowhere/city.toml"])
def test_an_unknown_city_stops_the_cli_in_one_line(city):
    result = run_onemap("analyses", env={"ONEMAP_CITY": city})
    assert result.returncode == 1
    assert result.stderr.startswith("error: ONEMAP_CITY:") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_city_without_a_winter_stop_counts_no_winter_days():
    """Chengdu's profile: another zone, no heating network, no winter construction stop."""
    import datetime as dt

    from analyses.workflow import overlap_days, parse_window
    from layers.city import load_city

    chengdu = load_city("chengdu")
    assert (chengdu.metric_srid, chengdu.central_heating, chengdu.winter) == (4544, False, "")
    whole_year = (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert overlap_days(*whole_year, parse_window(chengdu.winter, "winter")) == 0
    assert overlap_days(*whole_year, parse_window(chengdu.rainy_season, "rainy_season")) == 122
