"""Measuring from red lines to the nearest things, in metres (``analyses.nearness``)."""

import itertools
import math

import numpy as np
import shapely

from analyses import nearness
from tests_support import run_async


def square(x: float, y: float, side: float = 100.0) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def test_metres_are_rounded_as_postgresql_rounds_them():
    """Halves away from zero, as ``round(numeric)`` did when PostgreSQL measured them
    (Python's and numpy's ``round`` give 0.5 → 0 and 2.5 → 2)."""
    assert nearness.rounded([0.5, 1.5, 2.5, 999.49, 0.0]).tolist() == [1, 2, 3, 999, 0]
    assert nearness.whole_metres(np.array([2.5, math.nan])) == [3, None]  # NaN: none


def test_the_nearest_is_measured_from_the_red_line_not_a_point_of_it():
    """A long estate: the facility beside its far end is nearer than one beside its middle
    point would suggest."""
    estate = shapely.box(0, 0, 2000, 50)
    beside_the_end, off_the_middle = shapely.Point(1990, 150), shapely.Point(1000, 400)
    tree = shapely.STRtree([off_the_middle, beside_the_end])
    assert nearness.nearest(tree, np.array([estate])).tolist() == [100.0]


def test_nothing_of_a_kind_is_nan_and_within_is_false():
    empty = shapely.STRtree([])
    outlines = np.array([square(0, 0)])
    assert math.isnan(nearness.nearest(empty, outlines)[0])
    assert nearness.within(empty, outlines, 800.0).tolist() == [False]


def test_offers_are_the_nearest_within_the_distance_by_whole_metres_then_id():
    outline = square(0, 0)
    # 10.4 and 9.6 m are both 10 whole metres: the lower id first, whatever the tree's order.
    parcels = [square(110.4, 0, 5), square(109.6, 0, 5), square(105, 0, 5), square(1200, 0, 5)]
    ids = np.array([7, 3, 9, 1])
    tree = shapely.STRtree(parcels)
    offers = nearness.nearest_within(tree, ids, np.array([outline, square(5000, 0)]), 1000, 2)
    assert offers == [[(2, 5), (1, 10)], []]
    assert nearness.nearest_within(tree, ids, np.array([outline]), 1000, 0) == [[]]
    everything = nearness.nearest_within(tree, ids, np.array([outline]), 2000, 9)
    assert [ids[i] for i, _ in everything[0]] == [9, 3, 7, 1]


def test_a_part_of_the_city_asks_ever_farther_then_the_whole_city():
    around = nearness.FacilitiesAround(None, ("clinic",), (0.0, 0.0, 1.0, 1.0))  # type: ignore[arg-type]
    reaches = around.reaches()
    assert reaches[0] == nearness.FIRST_REACH_M and reaches[-1] == math.inf
    assert all(b == a * nearness.REACH_GROWTH for a, b in itertools.pairwise(reaches[:-1]))
    assert reaches[-2] <= nearness.LAST_REACH_M
    city = nearness.FacilitiesAround(None, ("clinic",), None)  # type: ignore[arg-type]
    assert city.reaches() == [math.inf]


def test_the_box_of_a_reach_grows_every_side():
    assert nearness.metric_box((10.0, 20.0, 30.0, 40.0), 5.0) == {
        "x0": 5.0, "y0": 15.0, "x1": 35.0, "y1": 45.0,
    }  # fmt: skip


def _measured(facilities: list[shapely.Geometry], outlines: list, walk_m: float) -> list[float]:
    """``nearest_beyond`` over a city whose clinics are ``facilities`` (no database)."""
    city = nearness.FacilitiesAround(None, ("clinic",), None)  # type: ignore[arg-type]
    city._trees[math.inf] = {"clinic": shapely.STRtree(facilities)}
    return run_async(city.nearest_beyond(np.array(outlines), walk_m))["clinic"].tolist()


def test_a_nearest_beyond_the_part_around_the_outlines_comes_from_the_whole_city():
    """The part of the city's tree around a chunk of estates holds a clinic 49 km from the
    second estate; the one 9 km away lies outside that part, and is the answer."""
    near_first = shapely.Point(600, 50)  # 500 m east of the first estate
    far_east = shapely.Point(50_100 + 9_000, 50)  # 9 km east of the second
    outlines = [square(0, 0), square(50_000, 0)]
    assert _measured([near_first, far_east], outlines, 0.0) == [500.0, 9_000.0]
    assert _measured([near_first, far_east], outlines, 800.0) == [800.0, 9_000.0]
    assert all(math.isnan(m) for m in _measured([], outlines, 800.0))  # none in the city
