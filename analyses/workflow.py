"""The workflow checks (seed items 5–7, 17, 21, 24).

Construction windows, opinion deadlines in Chinese working days, long approvals,
maintenance funds and green ratios.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from analyses import holidays, workdays
from analyses.model import ESTATES_IN_AREA, Area, Param, Row, query, statement
from layers.city import CITY
from layers.errors import InvalidInput, shown

PROJECTS_IN_AREA = sql.SQL(
    "(%(district)s::text IS NULL OR p.district_code = %(district)s) "
    "AND (%(street)s::text IS NULL OR p.street_code = %(street)s) "
    "AND (%(estate)s::bigint IS NULL OR p.id = (SELECT project_id FROM estates "
    "WHERE id = %(estate)s))"
)


Window = tuple[tuple[int, int], tuple[int, int]] | None


def parse_window(text: str, name: str) -> Window:
    """``MM-DD/MM-DD`` (the end may fall in the next year, as winter does); ``""``: none."""
    if text == "":  # a city with no such season (Chengdu has no winter construction stop)
        return None
    try:
        start, end = (tuple(int(x) for x in part.split("-")) for part in text.split("/"))
        dt.date(2024, *start)
        dt.date(2024, *end)
    except (ValueError, TypeError):
        raise InvalidInput(f"{name}: expected MM-DD/MM-DD, got {shown(text)}") from None
    return start, end  # type: ignore[return-value]


def overlap_days(start: dt.date, end: dt.date, window: Window) -> int:
    """Days of [start, end] inside the yearly window (none without one)."""
    if window is None:
        return 0
    (m0, d0), (m1, d1) = window
    days = 0
    for year in range(start.year - 1, end.year + 1):
        w0 = dt.date(year, m0, d0)
        w1 = dt.date(year + (1 if (m1, d1) < (m0, d0) else 0), m1, d1)
        lo, hi = max(start, w0), min(end, w1)
        days += max(0, (hi - lo).days + 1)
    return days


SCHEDULED = statement(
    """
SELECT p.id, p.name_zh, p.district_code, p.street_code, p.status, p.start_on, p.end_on,
       ST_AsGeoJSON(p.geom, 7)
FROM projects p
WHERE {projects_in_area} AND p.start_on IS NOT NULL AND p.end_on IS NOT NULL
  AND p.status NOT IN ('completed', 'accepted')
ORDER BY p.id
""",
    projects_in_area=PROJECTS_IN_AREA,
)


async def schedule_conflicts(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> list[Row]:
    """Unfinished projects whose works still ahead fall in the rainy season or winter.

    Only the days from today on count: what is past cannot be rescheduled, and a project
    past its end date is an overrun (``overruns``), not a scheduling question.
    """
    rainy = parse_window(params["rainy_season"], "rainy_season")
    winter = parse_window(params["winter"], "winter")
    today: dt.date = params["today"]
    cur = await conn.execute(SCHEDULED, area.params)
    rows = []
    for pid, name, district, street, status, start, end, geom in await cur.fetchall():
        if end < today:
            continue
        ahead = max(start, today)
        in_rain, in_winter = overlap_days(ahead, end, rainy), overlap_days(ahead, end, winter)
        if in_rain or in_winter:
            rows.append(Row(pid, {
                "project_id": pid, "name_zh": name, "district_code": district,
                "street_code": street, "status": status, "start_on": start.isoformat(),
                "end_on": end.isoformat(), "days_ahead": (end - ahead).days + 1,
                "rainy_season_days": in_rain, "winter_days": in_winter,
                "runs_into": "both" if in_rain and in_winter else "rainy_season" if in_rain
                             else "winter",
            }, geom))  # fmt: skip
    return rows


async def overruns(conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]) -> list[Row]:
    """Unfinished projects past their end date, longest overrun first."""
    today: dt.date = params["today"]
    cur = await conn.execute(SCHEDULED, area.params)
    rows = [
        Row(pid, {
            "project_id": pid, "name_zh": name, "district_code": district,
            "street_code": street, "status": status, "start_on": start.isoformat(),
            "end_on": end.isoformat(), "days_over": (today - end).days,
        }, geom)
        for pid, name, district, street, status, start, end, geom in await cur.fetchall()
        if end < today
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (-r.properties["days_over"], r.id))


OPINIONS = statement(
    """
SELECT o.id, o.project_id, p.name_zh, o.street_code, o.planner, o.requested_on, o.issued_on,
       ST_AsGeoJSON(p.geom, 7)
FROM projects p
-- Each project's opinions by key (OFFSET 0 keeps it a lookup per project of the area):
-- joined, the planner hashed every opinion of the city for one district.
CROSS JOIN LATERAL (SELECT * FROM opinions WHERE project_id = p.id OFFSET 0) o
WHERE {projects_in_area}
ORDER BY o.requested_on, o.id
""",
    projects_in_area=PROJECTS_IN_AREA,
)


async def overdue_opinions(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> list[Row]:
    """Opinions given (or still missing) after ``limit_days`` Chinese working days."""
    today: dt.date = params["today"]
    await holidays.refresh(conn)
    cur = await conn.execute(OPINIONS, area.params)
    rows = []
    for oid, pid, project, street, planner, requested, issued, geom in await cur.fetchall():
        due, certain = workdays.add_workdays(requested, params["limit_days"])
        answered = issued or today
        if answered <= due:
            continue
        rows.append(Row(oid, {
            "opinion_id": oid, "project_id": pid, "project": project, "street_code": street,
            "planner": planner, "requested_on": requested.isoformat(), "due_on": due.isoformat(),
            "due_certain": certain, "issued_on": issued.isoformat() if issued else None,
            "open": issued is None,
            "working_days_late": workdays.workdays_late(due, answered),
        }, geom))  # fmt: skip
    return rows


LONG_APPROVALS = statement(
    """
SELECT p.id,
       json_build_object(
           'project_id', p.id, 'name_zh', p.name_zh, 'district_code', p.district_code,
           'street_code', p.street_code, 'submitted_on', p.submitted_on,
           'approved_on', p.approved_on, 'open', p.approved_on IS NULL,
           'days', coalesce(p.approved_on, %(today)s::date) - p.submitted_on,
           'funding_source', p.funding_source),
       ST_AsGeoJSON(p.geom, 7)
FROM projects p
WHERE {projects_in_area} AND p.submitted_on IS NOT NULL
  AND p.funding_source = 'government' AND p.new_construction IS FALSE
  AND coalesce(p.approved_on, %(today)s::date) - p.submitted_on > %(max_days)s
ORDER BY coalesce(p.approved_on, %(today)s::date) - p.submitted_on DESC, p.id
""",
    projects_in_area=PROJECTS_IN_AREA,
)


# Projects whose approval took (or is taking) more than ``max_days`` calendar days, where the
# seed sets that goal (item 24): government-funded projects that build nothing new. Projects
# whose funding or building is not recorded are not judged (``onemap check`` lists them).
long_approvals = query(LONG_APPROVALS)


def approval_goal_applies(project: dict[str, Any]) -> bool | None:
    """Whether the approval-time goal binds ``project`` (the rule of LONG_APPROVALS).

    None when its funding or building is not recorded.
    """
    funding, builds = project.get("funding_source"), project.get("new_construction")
    if funding is None or builds is None:
        return None
    return funding == "government" and not builds


LOW_FUNDS = statement(
    """
SELECT e.id,
       json_build_object(
           'estate_id', e.id, 'estate_code', e.code, 'name_zh', e.name_zh,
           'district_code', e.district_code, 'street_code', e.street_code,
           'fund_initial_cny', e.maintenance_fund_initial,
           'fund_balance_cny', e.maintenance_fund_balance,
           'ratio', round((e.maintenance_fund_balance / e.maintenance_fund_initial)::numeric, 3)),
       ST_AsGeoJSON(e.geom, 7)
FROM estates e
WHERE {estates_in_area} AND e.maintenance_fund_initial > 0
  AND e.maintenance_fund_balance < %(threshold)s * e.maintenance_fund_initial
ORDER BY e.maintenance_fund_balance / e.maintenance_fund_initial, e.id
""",
    estates_in_area=ESTATES_IN_AREA,
)


# Estates whose maintenance fund is below ``threshold`` of its initial amount.
low_funds = query(LOW_FUNDS)


GREEN_DROPS = statement(
    """
SELECT p.id,
       json_build_object(
           'project_id', p.id, 'name_zh', p.name_zh, 'district_code', p.district_code,
           'street_code', p.street_code, 'status', p.status,
           'green_ratio_before', p.green_ratio_before, 'green_ratio_after', p.green_ratio_after,
           'drop', round((p.green_ratio_before - p.green_ratio_after)::numeric, 4)),
       ST_AsGeoJSON(p.geom, 7)
FROM projects p
WHERE {projects_in_area} AND p.green_ratio_after < p.green_ratio_before
ORDER BY p.green_ratio_before - p.green_ratio_after DESC, p.id
""",
    projects_in_area=PROJECTS_IN_AREA,
)


# Projects whose design lowers the green ratio (it must not drop).
green_ratio_drops = query(GREEN_DROPS)


SCHEDULE_PARAMS = (
    Param("rainy_season", str, CITY.rainy_season, "The flood season (汛期), MM-DD/MM-DD"),
    Param("winter", str, CITY.winter, "Winter construction (冬期施工), MM-DD/MM-DD"),
)
OPINION_PARAMS = (Param("limit_days", int, 5, "Working days a planner has to answer", 1, 60),)
APPROVAL_PARAMS = (Param("max_days", int, 100, "Calendar days an approval may take", 1, 1000),)
FUND_PARAMS = (
    Param("threshold", float, 0.3, "Flag balances below this share of the initial fund", 0, 1),
)
