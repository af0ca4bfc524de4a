"""The loaded sample city obeys the geometric rules a planner would expect."""

import pytest

from layers import REGISTRY

SPATIAL = [n for n, layer in REGISTRY.items() if layer.is_spatial]


def scalar(conn, query: str):
    return conn.execute(query).fetchone()[0]


def assert_none(conn, rows: str) -> None:
    """``FROM rows`` lists what breaks a rule: there must be nothing."""
    count = scalar(conn, f"SELECT count(*) FROM {rows}")
    assert count == 0, f"{count} rows break the rule: FROM {' '.join(rows.split())}"


@pytest.mark.parametrize("layer", SPATIAL)
def test_geometries_are_valid_and_in_4326(conn, layer):
    assert scalar(conn, f"SELECT count(*) FROM {layer} WHERE NOT ST_IsValid(geom)") == 0
    assert scalar(conn, f"SELECT count(*) FROM {layer} WHERE ST_SRID(geom) <> 4326") == 0
    assert scalar(conn, f"SELECT count(*) FROM {layer}") > 0


def test_streets_partition_their_district(conn):
    gap = scalar(
        conn,
        """SELECT max(abs(ST_Area(d.geom::geography) - s.area) / ST_Area(d.geom::geography))
           FROM districts d
           JOIN (SELECT district_code, sum(ST_Area(geom::geography)) AS area
                 FROM streets GROUP BY 1) s ON s.district_code = d.code""",
    )
    assert gap < 0.001


def test_estates_lie_in_their_street_and_do_not_overlap(conn):
    assert_none(
        conn,
        """estates e JOIN streets s ON s.code = e.street_code
                           WHERE NOT ST_Within(e.geom, s.geom)""",
    )
    assert_none(
        conn,
        """estates a JOIN estates b
                           ON a.id < b.id AND ST_Intersects(a.geom, b.geom)""",
    )
    assert_none(
        conn,
        """estates e JOIN streets s ON s.code = e.street_code
                           WHERE s.district_code <> e.district_code""",
    )


def test_buildings_lie_in_their_estate_and_do_not_overlap(conn):
    assert_none(
        conn,
        """buildings b JOIN estates e ON e.id = b.estate_id
                           WHERE NOT ST_Within(b.geom, e.geom)""",
    )
    assert_none(
        conn,
        """buildings a JOIN buildings b
                           ON a.id < b.id AND ST_Intersects(a.geom, b.geom)""",
    )


def test_idle_parcels_do_not_cover_buildings(conn):
    assert_none(
        conn,
        """idle_parcels p JOIN buildings b
                           ON ST_Intersects(p.geom, b.geom)""",
    )
    assert_none(
        conn,
        """idle_parcels p JOIN estates e ON e.id = p.estate_id
                           WHERE NOT ST_Within(p.geom, e.geom)""",
    )


def test_elevator_retrofits_stand_in_their_estate_beside_their_building(conn):
    assert_none(
        conn,
        """elevator_retrofits r
                           JOIN estates e ON e.id = r.estate_id
                           WHERE NOT ST_Within(r.geom, e.geom)""",
    )
    far = scalar(
        conn,
        """SELECT max(ST_Distance(r.geom::geography, b.geom::geography))
                          FROM elevator_retrofits r JOIN buildings b ON b.id = r.building_id""",
    )
    assert far < 5


def test_pipelines_cross_estate_red_lines_and_form_connected_networks(conn):
    crossing = scalar(
        conn,
        """SELECT count(*) FROM pipelines p JOIN estates e
                               ON ST_Crosses(p.geom, e.geom)""",
    )
    estates = scalar(conn, "SELECT count(*) FROM estates")
    assert crossing >= 3 * estates  # at least water, drainage and gas enter every estate
    # Networks are noded: every segment shares an end node with another segment of its
    # network (branches end at a building's facade, so one shared end is enough).
    dangling = scalar(
        conn,
        """WITH ends AS (
             SELECT id, network, ST_AsBinary(ST_StartPoint(geom)) AS node FROM pipelines
             UNION ALL
             SELECT id, network, ST_AsBinary(ST_EndPoint(geom)) FROM pipelines),
           degree AS (SELECT network, node, count(*) AS n FROM ends GROUP BY 1, 2)
           SELECT count(*) FROM pipelines p
           WHERE NOT EXISTS (
             SELECT 1 FROM ends e JOIN degree d USING (network, node)
             WHERE e.id = p.id AND d.n > 1)""",
    )
    total = scalar(conn, "SELECT count(*) FROM pipelines")
    assert dangling / total < 0.001


def test_old_walkups_without_elevators_dominate(conn):
    share = scalar(
        conn,
        """SELECT avg((floors BETWEEN 4 AND 7 AND NOT has_elevator)::int)
                            FROM buildings""",
    )
    assert share > 0.6


def test_estate_households_are_the_sum_of_their_buildings(conn):
    assert_none(
        conn,
        """estates e
                           JOIN (SELECT estate_id, sum(households) h FROM buildings GROUP BY 1) b
                           ON b.estate_id = e.id WHERE b.h <> e.households""",
    )
