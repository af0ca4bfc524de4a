"""Analyses a planner can act on (issue 18), checked with independent code: no silent cut, one
deadline rule, lengths that add up, overruns apart from conflicts, a scoreboard with ties, and
the data checks."""

import datetime as dt
import re

import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

from analyses.model import METRIC_SRID
from layers.vocabulary import MATERIAL_DESIGN_LIFE
from tests_support import ADMIN_TOKEN, project, run_async, run_onemap

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SAFETY = {"water_supply", "drainage_storm", "drainage_sewer", "drainage_combined", "gas"}


@pytest.fixture(scope="module")
def aged(db_url):
    """The aged pipes by this test's own reading of the rule, with lengths in the city's
    metres (pyproj), as every analysis measures them."""
    with psycopg.connect(db_url) as conn:
        frame = pd.DataFrame(
            conn.execute(
                "SELECT id, network, material, install_year, condition, ST_AsBinary(geom) "
                "FROM pipelines"
            ).fetchall(),
            columns=["id", "network", "material", "install_year", "condition", "wkb"],
        )
    year = dt.date.today().year
    life = frame.material.map(MATERIAL_DESIGN_LIFE)
    over = year - frame.install_year - life
    poor = frame.condition.isin(["poor", "critical"])
    gas_iron = (frame.network == "gas") & (frame.material == "grey_cast_iron")
    keep = life.notna() & ((over >= 0) | poor | gas_iron)
    safety = frame.network.isin(SAFETY)
    critical, poor = frame.condition == "critical", frame.condition == "poor"
    priority = np.select(
        [gas_iron, safety & (critical | ((over >= 0) & poor)), safety & ((over >= 0) | poor)],
        [1, 1, 2], 3,
    )  # fmt: skip
    lengths = shapely.length(project(shapely.from_wkb(frame.wkb.map(bytes)), METRIC_SRID))
    out = frame.assign(priority=priority, length=lengths, life=life, over=over)[keep]
    return out


def metres_by_unit_add_up(units: list[dict], key: str, whole: float, step: float = 0.1) -> None:
    """Units that each round to ``step`` metres add up to ``whole``: every metre in one
    unit, cut at its outline (a pipe once counted whole in every unit it touched; the units
    were once measured in the city's metres and the whole on the ellipsoid, 0.003 % apart)."""
    assert sum(u[key] for u in units) == pytest.approx(whole, abs=step / 2 * (len(units) + 1))


def get(client, path, **params):
    response = client.get(path, params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_aging_pipes_say_how_many_and_how_long_in_all(client, aged):
    body = get(client, "/analyses/aging_pipes", limit=10)
    assert body["numberMatched"] == len(aged) > 10
    assert body["numberReturned"] == 10 and body["truncated"] is True
    summary = body["summary"]
    assert summary["length_m"] == pytest.approx(aged.length.sum(), abs=0.06)
    for priority, group in aged.groupby("priority"):
        got = summary["by_priority"][str(priority)]
        assert got["count"] == len(group)
        assert got["length_m"] == pytest.approx(group.length.sum(), abs=0.06)
    metres_by_unit_add_up(summary["by_unit"], "length_m", summary["length_m"])


def test_grey_cast_iron_gas_is_always_priority_one(client, aged):
    body = get(client, "/analyses/aging_pipes", limit=10_000)
    gas_iron = [r for r in body["rows"] if r["gas_cast_iron"]]
    expected = aged[(aged.network == "gas") & (aged.material == "grey_cast_iron")]
    assert len(gas_iron) == len(expected) > 0
    assert {r["priority"] for r in gas_iron} == {1}


def test_pages_put_together_are_the_whole_answer(client, aged):
    seen, offset, pages = [], 0, 0
    expected = {row.id: row for row in aged.itertuples()}
    while True:
        body = get(client, "/analyses/aging_pipes", limit=5000, offset=offset)
        seen += [r["id"] for r in body["rows"]]
        for r in body["rows"]:  # each pipe as this test judges and measures it
            mine = expected[r["id"]]
            assert (r["priority"], r["design_life"], r["over_by"]) == (
                mine.priority, mine.life, mine.over)  # fmt: skip
            assert abs(r["length_m"] - mine.length) <= 0.06, r["id"]
        pages += 1
        nxt = [link for link in body["links"] if link["rel"] == "next"]
        if not body["truncated"]:
            assert not nxt
            break
        assert nxt and f"offset={offset + 5000}" in nxt[0]["href"]
        assert body["numberMatched"] == len(aged)
        offset += 5000
    assert len(seen) == len(set(seen)) == len(aged) and pages == -(-len(aged) // 5000) > 1
    assert set(seen) == set(aged.id)
    by_id = aged.set_index("id").priority
    priorities = by_id[seen].tolist()
    assert priorities == sorted(priorities)  # most urgent first, across pages


def test_streets_of_a_district_add_up_to_the_district(client, conn):
    city = get(client, "/analyses/aging_pipes", limit=1)["summary"]["by_unit"]
    assert [u["code"] for u in city] == [
        code for (code,) in conn.execute("SELECT code FROM districts ORDER BY code")
    ]  # every district, those without aged pipe as 0
    district = max(city, key=lambda u: u["length_m"])
    streets = get(client, "/analyses/aging_pipes", limit=1, district=district["code"])["summary"]
    streets_of = "SELECT code FROM streets WHERE district_code = %s ORDER BY code"
    codes = [code for (code,) in conn.execute(streets_of, (district["code"],))]
    assert [u["code"] for u in streets["by_unit"]] == codes
    empty = [u for u in streets["by_unit"] if u["touching"] == 0]
    assert empty and all(u["length_m"] == u["priority_1_length_m"] == 0 for u in empty)
    metres_by_unit_add_up(streets["by_unit"], "length_m", district["length_m"])


def test_a_pipe_crossing_an_outline_counts_once_where_its_midpoint_lies(client, conn, aged):
    """Each aged segment's district by this test's own shapely (the midpoint along the line,
    as stored): the districts' counts add up to the city, and a district asked for itself
    gives the city's row for it — where every segment touching a unit counted in it, they
    added up to more than the whole, and a district read longer than its row."""
    lines = shapely.from_wkb(aged.wkb.map(bytes))
    midpoints = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    outlines = {code: shapely.from_wkb(bytes(wkb)) for code, wkb in conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM districts")}  # fmt: skip
    holding = {code: int(shapely.intersects(o, midpoints).sum()) for code, o in outlines.items()}
    touching = {code: int(shapely.intersects(o, lines).sum()) for code, o in outlines.items()}
    assert sum(touching.values()) > len(aged), "no segment crosses: the test would prove nothing"

    city = get(client, "/analyses/aging_pipes", limit=1)
    rows = {u["code"]: u for u in city["summary"]["by_unit"]}
    assert {code: u["count"] for code, u in rows.items()} == holding
    assert {code: u["touching"] for code, u in rows.items()} == touching
    assert sum(holding.values()) == city["summary"]["count"] == city["numberMatched"] == len(aged)

    crossed = max(rows, key=lambda code: rows[code]["touching"] - rows[code]["count"])
    assert rows[crossed]["touching"] > rows[crossed]["count"]
    district = get(client, "/analyses/aging_pipes", limit=1, district=crossed)
    summary = district["summary"]
    assert district["numberMatched"] == rows[crossed]["touching"]  # every one touching is listed
    assert summary["count"] == rows[crossed]["count"]
    assert summary["length_m"] == pytest.approx(rows[crossed]["length_m"], abs=0.2)
    assert sum(p["count"] for p in summary["by_priority"].values()) == summary["count"]
    assert sum(u["count"] for u in summary["by_unit"]) == summary["count"]  # streets tile it
    metres_by_unit_add_up(summary["by_unit"], "length_m", summary["length_m"])


def test_every_analysis_pages_the_same_way(client):
    whole = get(client, "/analyses/pipes_by_estate", limit=10_000)
    assert whole["numberMatched"] == whole["numberReturned"] > 3 and not whole["truncated"]
    page = get(client, "/analyses/pipes_by_estate", limit=3, offset=2, f="geojson")
    assert page["numberMatched"] == whole["numberMatched"] and page["numberReturned"] == 3
    assert [f["id"] for f in page["features"]] == [r["id"] for r in whole["rows"][2:5]]
    rels = {link["rel"] for link in page["links"]}
    assert rels == {"self", "next", "prev"}
    past = get(client, "/analyses/pipes_by_estate", offset=10**6)
    assert past["numberReturned"] == 0 and past["numberMatched"] == whole["numberMatched"]
    for bad in ({"limit": "0"}, {"limit": "10001"}, {"offset": "-1"}, {"limit": "nan"}):
        response = client.get("/analyses/pipes_by_estate", params=bad, headers=ADMIN)
        assert response.status_code == 400, bad


# The order each analysis says its rows come in (Analysis.order), as a sort key of a row.
ORDERS = {
    "by estate id": lambda r: r.get("estate_id", r["id"]),
    "most urgent first": lambda r: (r["priority"], -r["over_by"], r["id"]),
    "by building id": lambda r: r["building_id"],
    "by district code": lambda r: r["district_code"],
    "largest first": lambda r: -r["estates"],
    "by project id": lambda r: r["project_id"],
    "longest overrun first": lambda r: -r["days_over"],
    "earliest requested first": lambda r: r["requested_on"],
    "longest approval first": lambda r: -r["days"],
    "lowest balance first": lambda r: r["ratio"],
    "largest drop first": lambda r: -r["drop"],
}


def test_every_analysis_comes_in_the_order_it_says(client):
    """What the first page of a longer answer holds is what the map says it shows."""
    from analyses.checks import CHECKS
    from analyses.registry import ANALYSES

    for name, analysis in ANALYSES.items():
        wider = {"distance_m": 600} if name == "bundles" else {}  # the test city is sparse
        rows = get(client, f"/analyses/{name}", limit=10_000, **wider)["rows"]
        assert len(rows) > 1, name
        if analysis.order[1] == "by check":  # in the order of the checks' list
            order = [check for check, *_ in CHECKS]
            ranks = [order.index(r["check"]) for r in rows]
        else:
            ranks = [ORDERS[analysis.order[1]](r) for r in rows]
        assert ranks == sorted(ranks), name


def test_the_cli_says_when_there_is_more(db_url):
    env = {"ONEMAP_DATABASE_URL": db_url}
    result = run_onemap("analyse", "aging_pipes", "-p", "limit=5", env=env)
    assert result.returncode == 0, result.stderr
    assert '"numberReturned": 5' in result.stdout and '"truncated": true' in result.stdout
    said = " ".join(result.stderr.split())
    assert "most urgent first; the next: --param offset=5" in said  # which rows, and the rest


def test_one_deadline_rule_for_storage_analysis_and_scoreboard(client, db_url):
    """Stored due dates follow analyses.workdays; the analysis and the scoreboard then count
    the same late opinions (they differed on a third of them when two rules existed)."""

    from analyses import workdays
    from analyses.ledger import scoreboard

    with psycopg.connect(db_url) as conn:
        opinions = conn.execute("SELECT requested_on, due_on FROM opinions").fetchall()
    assert opinions
    assert all(workdays.add_workdays(r, 5)[0] == due for r, due in opinions)
    today = dt.date.today()
    rows = get(client, "/analyses/overdue_opinions", limit=10_000)["rows"]
    for year in {r.year for r, _ in opinions}:
        by_analysis = sum(dt.date.fromisoformat(r["requested_on"]).year == year for r in rows)

        async def board(year=year):
            async with await psycopg.AsyncConnection.connect(db_url) as conn:
                return await scoreboard(conn, year, today)

        assert sum(d["late_opinions"] for d in run_async(board())) == by_analysis, year
    assert all(r["working_days_late"] > 0 for r in rows)  # late means a working day late


def test_ledger_lengths_add_up_from_streets_to_districts_to_the_city(db_url, aged):
    """Each pipe is cut at the unit's outline (it counted whole in every unit it touched)."""
    from analyses.ledger import ledger

    async def rows(district=None):
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            return await ledger(conn, district, None, private=False)

    districts = run_async(rows())
    with psycopg.connect(db_url) as conn:
        wkb = [bytes(r[0]) for r in conn.execute("SELECT ST_AsBinary(geom) FROM pipelines")]
    city_m = shapely.length(project(shapely.from_wkb(wkb), METRIC_SRID)).sum()
    metres_by_unit_add_up(districts, "pipes_m", city_m, step=1)  # the ledger's whole metres
    for district in sorted(districts, key=lambda d: -d["pipes_m"])[:3]:
        streets = run_async(rows(district["code"]))
        metres_by_unit_add_up(streets, "pipes_m", district["pipes_m"], step=1)


def test_pipes_around_an_estate_exclude_its_neighbours(client, db_url):
    """Every estate and network, measured again with shapely in the city's metres: each pipe
    cut by the red line, and by the zone around it less every estate (a neighbour's ground
    is the neighbour's: sums over estates hold) — no index, no PostGIS geometry."""
    with psycopg.connect(db_url) as conn:
        estates = conn.execute("SELECT id, ST_AsBinary(geom) FROM estates ORDER BY id").fetchall()
        pipes = conn.execute("SELECT network, ST_AsBinary(geom) FROM pipelines").fetchall()
    outlines = project(shapely.from_wkb([bytes(wkb) for _, wkb in estates]), METRIC_SRID)
    lines = project(shapely.from_wkb([bytes(wkb) for _, wkb in pipes]), METRIC_SRID)
    networks = [network for network, _ in pipes]
    buffer_m = 300  # wide enough that zones reach neighbours in the (sparse) test city
    rows = get(client, "/analyses/pipes_by_estate", limit=10_000, buffer_m=buffer_m)["rows"]
    assert [r["id"] for r in rows] == [estate_id for estate_id, _ in estates]
    crowded = measured = 0
    for row, outline in zip(rows, outlines, strict=True):
        zone = shapely.buffer(outline, buffer_m)
        neighbours = outlines[shapely.intersects(outlines, zone)]
        crowded += len(neighbours) > 1
        around = zone.difference(shapely.union_all(neighbours))
        expected: dict[str, dict[str, float]] = {}
        for i in shapely.intersects(lines, zone).nonzero()[0]:
            sums = expected.setdefault(networks[i], {"inside_m": 0.0, "outside_m": 0.0})
            sums["inside_m"] += shapely.intersection(lines[i], outline).length
            sums["outside_m"] += shapely.intersection(lines[i], around).length
        assert set(row["networks"]) == set(expected), row["id"]
        for network, sums in expected.items():
            for key, metres in sums.items():
                got = row["networks"][network][key]
                assert got == pytest.approx(metres, abs=0.15), (row["id"], network, key)
                measured += metres > 0
        for key in ("inside_m", "outside_m"):
            whole = sum(sums[key] for sums in expected.values())
            assert row[key] == pytest.approx(whole, abs=0.1 * len(expected) + 0.05), row["id"]
    assert crowded > 0 and measured > len(rows)  # neighbours, and pipes in and around most


@pytest.mark.parametrize("distance_m", [150, 600])
def test_bundles_are_the_groups_of_estates_within_reach_street_by_street(client, db_url,
                                                                          distance_m):  # fmt: skip
    """Recomputed without PostGIS: per street, the estates not in a project and not under
    way, joined whenever two red lines are within ``distance_m`` (shapely, the city's
    metres), chained; every group of two or more is one bundle, with its totals."""
    with psycopg.connect(db_url) as conn:
        estates = conn.execute(
            "SELECT id, street_code, households, building_count, ST_AsBinary(geom) FROM estates "
            "WHERE project_id IS NULL AND status NOT IN ('in_progress', 'completed', 'accepted')"
        ).fetchall()
    outline = dict(zip([e[0] for e in estates], project(
        shapely.from_wkb([bytes(e[4]) for e in estates]), METRIC_SRID), strict=True))  # fmt: skip
    group_of = {e[0]: e[0] for e in estates}

    def root(estate_id: int) -> int:
        while group_of[estate_id] != estate_id:
            estate_id = group_of[estate_id]
        return estate_id

    for a in estates:
        for b in estates:
            near = shapely.distance(outline[a[0]], outline[b[0]]) <= distance_m
            if a[0] < b[0] and a[1] == b[1] and near:
                group_of[root(b[0])] = root(a[0])
    groups: dict[int, list[int]] = {}
    for estate_id in sorted(group_of):
        groups.setdefault(root(estate_id), []).append(estate_id)
    expected = sorted(g for g in groups.values() if len(g) > 1)
    rows = get(client, "/analyses/bundles", limit=10_000, distance_m=distance_m)["rows"]
    assert sorted(r["estate_ids"] for r in rows) == expected != []
    by_id = {e[0]: e for e in estates}
    for r in rows:
        mine = [by_id[i] for i in r["estate_ids"]]
        assert {e[1] for e in mine} == {r["street_code"]} and r["estates"] == len(mine)
        assert r["households"] == sum(e[2] for e in mine)
        assert r["buildings"] == sum(e[3] for e in mine)


def test_overruns_and_conflicts_part_the_unfinished_projects(client, db_url):
    today = dt.date.today()
    with psycopg.connect(db_url) as conn:
        late = {r[0] for r in conn.execute(
            "SELECT id FROM projects WHERE status NOT IN ('completed', 'accepted') "
            "AND start_on IS NOT NULL AND end_on < %s", (today,))}  # fmt: skip
    over = get(client, "/analyses/overruns", limit=10_000)
    assert {r["id"] for r in over["rows"]} == late
    assert all(r["days_over"] == (today - dt.date.fromisoformat(r["end_on"])).days
               for r in over["rows"])  # fmt: skip
    conflicts = get(client, "/analyses/schedule_conflicts", limit=10_000)["rows"]
    assert not {r["id"] for r in conflicts} & late
    assert all(dt.date.fromisoformat(r["end_on"]) >= today for r in conflicts)
    seasons = {(True, False): "rainy_season", (False, True): "winter", (True, True): "both"}
    assert [r["runs_into"] for r in conflicts] == [
        seasons[(r["rainy_season_days"] > 0, r["winter_days"] > 0)] for r in conflicts
    ]
    assert {r["runs_into"] for r in conflicts} >= {"winter", "both"}  # the map's colours


def test_the_scoreboard_ranks_on_what_has_happened_and_shows_ties(db_url):
    from analyses.ledger import SCORE_PARTS, scoreboard

    async def board(year, today):
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            return await scoreboard(conn, year, today)

    # Early in a year nothing is finished: the ranking is not district-code order then.
    rows = run_async(board(2026, dt.date(2026, 2, 15)))
    for row in rows:
        parts = [row[k] / 5 if k == "satisfaction" else row[k] for k in SCORE_PARTS
                 if row[k] is not None]  # fmt: skip
        assert row["score"] == (round(sum(parts) / len(parts), 3) if parts else None)
    scores = [r["score"] for r in rows if r["score"] is not None]
    assert scores == sorted(scores, reverse=True)
    for a, b in zip(rows, rows[1:], strict=False):  # equal scores, equal ranks; else behind
        assert (a["rank"] == b["rank"]) == (a["score"] == b["score"])
        assert a["tied"] == (sum(r["rank"] == a["rank"] for r in rows) > 1)
    assert [r["district_code"] for r in rows] != sorted(r["district_code"] for r in rows)


def test_data_checks_find_each_contradiction_with_its_rows(client, db_url):
    with psycopg.connect(db_url) as conn:
        estates = pd.DataFrame(conn.execute(
            "SELECT id, status, project_id FROM estates").fetchall(),
            columns=["id", "status", "project_id"])  # fmt: skip
        projects = pd.DataFrame(conn.execute(
            "SELECT id, status, start_on FROM projects").fetchall(),
            columns=["project_id", "p_status", "start_on"])  # fmt: skip
    joined = estates.merge(projects, on="project_id")
    finished, done = {"completed", "accepted"}, {"completed", "accepted"}
    expected = {
        "estate_planned_in_finished_project": set(joined[
            joined.status.isin(["candidate", "reserve", "planned"])
            & joined.p_status.isin(finished)].id),
        "estate_done_in_unbuilt_project": set(joined[
            joined.status.isin(done) & joined.p_status.isin(["proposed", "approved"])].id),
        "approved_project_start_passed": set(projects[
            (projects.p_status == "approved")
            & (projects.start_on < dt.date.today())].project_id),
        "finished_project_unfinished_estates": set(joined[
            joined.p_status.isin(finished) & ~joined.status.isin(done)].project_id),
    }  # fmt: skip
    rows = get(client, "/analyses/data_checks", limit=10_000)["rows"]
    found: dict[str, set] = {}
    for r in rows:
        found.setdefault(r["check"], set()).add(r["feature_id"])
    for check, ids in expected.items():
        assert found.get(check, set()) == ids, check
    assert "opinion_due_off_the_rule" not in found  # sample data follow the rule
    result = run_onemap("check", env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == (1 if rows else 0), result.stderr
    assert f"{len(rows)} contradictions found" in result.stdout


def test_data_checks_per_district_find_what_the_city_finds_there(db_url):
    """Estates made to contradict their projects (in a transaction, rolled back) are found
    by the district they lie in and by no other."""
    from analyses.model import Area, rows_of
    from analyses.registry import ANALYSES

    analysis = ANALYSES["data_checks"]
    contradicting = ("estate_planned_in_finished_project", "estate_done_in_unbuilt_project")

    async def go():
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await conn.execute(
                "UPDATE estates e SET status = CASE WHEN p.status IN ('completed', 'accepted') "
                "THEN 'planned' ELSE 'completed' END FROM projects p WHERE p.id = e.project_id "
                "AND p.status IN ('completed', 'accepted', 'proposed', 'approved') "
                "AND e.id % 3 = 0")  # fmt: skip
            cur = await conn.execute("SELECT id, district_code FROM estates")
            district_of = dict(await cur.fetchall())
            found = {}
            for area in (Area(), *(Area(district=d) for d in sorted(set(district_of.values())))):
                rows = rows_of(await analysis.run(conn, area, analysis.parse_params({})))
                found[area.district] = {
                    (r.properties["check"], r.properties["feature_id"]) for r in rows
                    if r.properties["check"] in contradicting
                }  # fmt: skip
            await conn.rollback()
            return district_of, found

    district_of, found = run_async(go())
    city = found.pop(None)
    assert len(city) > 10
    for district, there in found.items():
        assert there == {(c, fid) for c, fid in city if district_of[fid] == district}, district
    assert set().union(*found.values()) == city


def test_every_check_says_what_it_found_in_chinese_and_english(db_url):
    """Each check made to find something (in a transaction, rolled back), its detail in
    words: the statuses and funding by their vocabulary's names, not their codes."""
    from analyses import workdays
    from analyses.checks import CHECKS
    from analyses.model import Area, rows_of
    from analyses.registry import ANALYSES

    analysis = ANALYSES["data_checks"]

    async def go():
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await conn.execute(
                "UPDATE estates e SET status = CASE WHEN p.status IN ('completed', 'accepted') "
                "THEN 'planned' ELSE 'completed' END FROM projects p WHERE p.id = e.project_id "
                "AND p.status IN ('completed', 'accepted', 'proposed', 'approved')")  # fmt: skip
            await conn.execute(
                "UPDATE projects SET funding_source = NULL, new_construction = true "
                "WHERE id = (SELECT min(id) FROM projects WHERE submitted_on IS NOT NULL)"
            )
            cur = await conn.execute(
                "UPDATE opinions SET due_on = requested_on WHERE id = (SELECT min(id) "
                "FROM opinions WHERE due_on IS NOT NULL) RETURNING requested_on"
            )
            (requested,) = await cur.fetchone()
            rows = rows_of(await analysis.run(conn, Area(), analysis.parse_params({})))
            await conn.rollback()
            return requested, rows

    requested, rows = run_async(go())
    said = {}
    for row in rows:
        said.setdefault(row.properties["check"], row.properties["detail"])
    assert set(said) == {check for check, *_ in CHECKS} | {"opinion_due_off_the_rule"}
    for check, detail in said.items():
        assert re.search("[\u4e00-\u9fff]", detail) and re.search("[A-Za-z]", detail), check
        assert "_" not in detail and "None" not in detail, (check, detail)
    assert "资金来源 未填" in said["project_funding_unknown"]
    assert "builds or rebuilds: yes" in said["project_funding_unknown"]
    rule, _ = workdays.add_workdays(requested, 5)
    assert said["opinion_due_off_the_rule"] == (
        f"记录 {requested}，按规则 {rule} Stored {requested}, by the rule {rule}")  # fmt: skip


def test_elevator_screening_recomputed_agrees_with_itself_and_the_records(client, db_url):
    """Shafts placed by this test's own shapely code in EPSG:4548 (outside the middle of the
    north long side): the same buildings fail the red line and the 6 m clearance, the same
    lengths of pipe must move; recorded surveys stand, and what was built passes. The
    calibrated sample city gives every rule work to do."""

    def metric(wkbs):
        return project(shapely.from_wkb(wkbs), 4548)

    with psycopg.connect(db_url) as conn:
        b = conn.execute("SELECT id, estate_id, floors, has_elevator, ST_AsBinary(geom) "
                         "FROM buildings ORDER BY id").fetchall()  # fmt: skip
        estates = dict(conn.execute("SELECT id, ST_AsBinary(geom) FROM estates").fetchall())
        pipes = conn.execute("SELECT network, ST_AsBinary(geom) FROM pipelines").fetchall()
        stages = dict(conn.execute("SELECT building_id, stage FROM elevator_retrofits"))
    shapes = metric(np.array([bytes(r[4]) for r in b], dtype=object))
    estate_shape = {k: metric(bytes(v)) for k, v in estates.items()}
    networks = np.array([p[0] for p in pipes])
    lines = metric(np.array([bytes(p[1]) for p in pipes], dtype=object))
    buildings_tree, pipes_tree = shapely.STRtree(shapes), shapely.STRtree(lines)

    expected, moved = {}, {}
    for k, (bid, estate_id, floors, has_elevator, _) in enumerate(b):
        if floors < 4 or has_elevator:
            continue
        rect = np.asarray(shapely.oriented_envelope(shapes[k]).exterior.coords)[:4]
        edges = [(rect[i], rect[(i + 1) % 4]) for i in range(4)]
        long_sides = sorted(edges, key=lambda e: -np.linalg.norm(e[1] - e[0]))[:2]
        north = max(long_sides, key=lambda e: e[0][1] + e[1][1])
        mid, along = (north[0] + north[1]) / 2, north[1] - north[0]
        along = along / np.linalg.norm(along)
        out = np.array([-along[1], along[0]])
        out = out if np.dot(out, mid - rect.mean(axis=0)) > 0 else -out
        half, deep = along * 1.3, out * 2.4
        shaft = shapely.Polygon([mid - half, mid + half, mid + half + deep, mid - half + deep])
        near = [j for j in buildings_tree.query(shaft.buffer(6.0)) if j != k]
        too_close = any(shapely.distance(shaft, shapes[j]) < 6.0 for j in near)
        outside = not shapely.within(shaft, estate_shape[estate_id])
        expected[bid] = not (too_close or outside or stages.get(bid) == "not_feasible")
        zone = shaft.buffer(1.0, quad_segs=8)  # as PostGIS draws it
        for j in pipes_tree.query(zone):
            length = shapely.length(shapely.intersection(lines[j], zone))
            moved[networks[j]] = moved.get(networks[j], 0.0) + length

    rows = get(client, "/analyses/elevator_screening", limit=10_000)["rows"]
    got = {r["id"]: r for r in rows}
    assert set(got) == set(expected)
    differ = [k for k in expected if got[k]["feasible"] != expected[k]]
    assert len(differ) <= max(1, len(expected) // 1000), differ[:10]
    for network, metres in moved.items():
        theirs = [r["pipes_to_move_m"][network] for r in rows if network in r["pipes_to_move_m"]]
        rounding = 0.05 * len(theirs)  # each building's metres are given to 0.1 m
        assert sum(theirs) == pytest.approx(metres, rel=1e-3, abs=0.5 + rounding), network
    infeasible = sum(not r["feasible"] for r in rows) / len(rows)
    assert 0.03 < infeasible < 0.4  # the calibrated city gives the rules work to do
    feasible = [r for r in rows if r["feasible"]]
    assert np.mean([r["relocation_cost_cny"] > 0 for r in feasible]) > 0.5
    built = {k for k, s in stages.items() if s in ("approved", "under_construction")}
    assert all(got[k]["feasible"] for k in built & set(got))
    surveyed = {k for k, s in stages.items() if s == "not_feasible"}
    assert surveyed and all(not got[k]["feasible"] for k in surveyed & set(got))
