import numpy as np
import pytest
from pyproj import Geod

from spatial.gcj02 import bd09_to_gcj02, gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.abs(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def test_beijing_offset_is_about_half_a_kilometre():
    lon, lat = 116.3975, 39.9087  # Tiananmen
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert 480 < metres(lon, lat, g_lon, g_lat) < 640


def test_round_trip_is_under_a_centimetre_across_beijing():
    rng = np.random.default_rng(0)
    lon = rng.uniform(115.4, 117.5, 2_000)
    lat = rng.uniform(39.4, 41.1, 2_000)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01


def test_points_outside_china_are_unchanged():
    lon, lat = wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])
    assert lon.tolist() == [2.35, -74.0] and lat.tolist() == [48.85, 40.7]


def test_bd09_round_trip_and_offset():
    lon, lat = wgs84_to_gcj02(116.3975, 39.9087)
    b_lon, b_lat = gcj02_to_bd09(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(*bd09_to_gcj02(b_lon, b_lat))
    assert metres(116.3975, 39.9087, w_lon, w_lat) < 0.01
    assert metres(116.3975, 39.9087, b_lon, b_lat) == pytest.approx(1380, abs=150)
