"""Data checks (seed items 5, 24): records that contradict each other, each with its rows.

An estate still ``planned`` in a finished project, an estate ``completed`` in a project not yet
built, an approved project whose planned start has passed without work starting, a finished
project whose estates are not, an opinion whose stored due date breaks the deadline rule. Run
as the ``data_checks`` analysis, or ``onemap check`` (exit 1 when something is found).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from analyses import holidays, workdays
from analyses.fields import terms_of
from analyses.model import ESTATES_IN_AREA, Area, Row, statement
from analyses.workflow import PROJECTS_IN_AREA

# What each check found, in Chinese and English, from the parts its statement returns: a
# planner reads "项目 195 已完工 Project 195: Completed", not "project 195 is completed".
Detail = Callable[[list[Any]], str]


def _words(layer: str, field: str, code: str | None) -> tuple[str, str]:
    """A code of a layer field's vocabulary in words, or "not given"."""
    if code is None:
        return "未填", "not given"
    _, zh, en = terms_of(layer, field)[code]
    return zh, en


def _project_is(parts: list[Any]) -> str:
    project, status = parts
    zh, en = _words("projects", "status", status)
    return f"项目 {project} {zh} Project {project}: {en}"


def _start_passed(parts: list[Any]) -> str:
    return f"计划开工 {parts[0]} Planned start {parts[0]}"


def _estates_unfinished(parts: list[Any]) -> str:
    n = parts[0]
    return f"{n} 个小区未完工 {n} estate{'' if n == 1 else 's'} not finished"


def _funding_unknown(parts: list[Any]) -> str:
    source, builds = parts
    source_zh, source_en = _words("projects", "funding_source", source)
    builds_zh, builds_en = {None: ("未填", "not given"), True: ("是", "yes"),
                            False: ("否", "no")}[builds]  # fmt: skip
    return (f"资金来源 {source_zh}，涉及新建改建 {builds_zh} "
            f"Funding: {source_en}; builds or rebuilds: {builds_en}")  # fmt: skip


def _project_of_estate(*statuses: str) -> sql.Composed:
    """The project of estate ``e`` if its status is one of ``statuses``, looked up by key.

    ``OFFSET 0`` keeps it a lookup per estate of the area: joined, the planner hashed every
    project of the city for a district's few hundred estates (2.5x slower at scale 10).
    """
    return sql.SQL(
        "SELECT p.id, p.status FROM projects p WHERE p.id = e.project_id "
        "AND p.status IN ({}) OFFSET 0"
    ).format(sql.SQL(", ").join(map(sql.Literal, statuses)))


# (check, 中文, English, layer, SQL of (feature id, detail's parts, geometry json) over the
# area, the detail from its parts)
CHECKS: tuple[tuple[str, str, str, str, sql.Composed, Detail], ...] = (
    ("estate_planned_in_finished_project", "项目已完工而小区仍为计划",
     "Estate still planned in a finished project", "estates", statement(
        "SELECT e.id, json_build_array(p.id, p.status), ST_AsGeoJSON(e.geom, 7) "
        "FROM estates e CROSS JOIN LATERAL ({project}) p WHERE {area} "
        "AND e.status IN ('candidate', 'reserve', 'planned')",
        project=_project_of_estate("completed", "accepted"), area=ESTATES_IN_AREA), _project_is),
    ("estate_done_in_unbuilt_project", "项目未施工而小区已完工",
     "Estate completed in a project not yet built", "estates", statement(
        "SELECT e.id, json_build_array(p.id, p.status), ST_AsGeoJSON(e.geom, 7) "
        "FROM estates e CROSS JOIN LATERAL ({project}) p WHERE {area} "
        "AND e.status IN ('completed', 'accepted')",
        project=_project_of_estate("proposed", "approved"), area=ESTATES_IN_AREA), _project_is),
    ("approved_project_start_passed", "已批复项目计划开工日已过仍未开工",
     "Approved project whose planned start has passed", "projects", statement(
        "SELECT p.id, json_build_array(p.start_on), ST_AsGeoJSON(p.geom, 7) "
        "FROM projects p WHERE {area} AND p.status = 'approved' AND p.start_on < %(today)s",
        area=PROJECTS_IN_AREA), _start_passed),
    ("finished_project_unfinished_estates", "项目已完工而其小区未完工",
     "Finished project with estates not finished", "projects", statement(
        "SELECT p.id, json_build_array(count(*)), ST_AsGeoJSON(p.geom, 7) "
        "FROM projects p JOIN estates e ON e.project_id = p.id WHERE {area} "
        "AND p.status IN ('completed', 'accepted') "
        "AND e.status NOT IN ('completed', 'accepted') GROUP BY p.id, p.geom",
        area=PROJECTS_IN_AREA), _estates_unfinished),
    ("project_funding_unknown", "项目资金来源或是否新建未填，审批时限无法判断",
     "Project without funding source or building flag: its approval cannot be judged",
     "projects", statement(
        "SELECT p.id, json_build_array(p.funding_source, p.new_construction), "
        "ST_AsGeoJSON(p.geom, 7) FROM projects p WHERE {area} AND p.submitted_on IS NOT NULL "
        "AND (p.funding_source IS NULL OR p.new_construction IS NULL)",
        area=PROJECTS_IN_AREA), _funding_unknown),
)  # fmt: skip

OPINION_DUES = statement(
    "SELECT o.id, o.requested_on, o.due_on, ST_AsGeoJSON(p.geom, 7) FROM projects p "
    "CROSS JOIN LATERAL (SELECT id, requested_on, due_on FROM opinions "
    "WHERE project_id = p.id AND due_on IS NOT NULL OFFSET 0) o WHERE {area}",
    area=PROJECTS_IN_AREA,
)


async def data_checks(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> list[Row]:
    """One row per contradiction found: which check, which feature, and why."""
    values = {**area.params, "today": params["today"]}
    await holidays.refresh(conn)
    rows = []
    for check, title_zh, title_en, layer, query, detail in CHECKS:
        cur = await conn.execute(query, values)
        for fid, parts, geom in await cur.fetchall():
            rows.append(_row(check, title_zh, title_en, layer, fid, detail(parts), geom))
    cur = await conn.execute(OPINION_DUES, values)
    for fid, requested, due, geom in await cur.fetchall():
        rule, _ = workdays.add_workdays(requested, 5)
        if due != rule:
            rows.append(_row("opinion_due_off_the_rule", "答复期限与规则不符",
                             "Opinion due date off the deadline rule", "opinions", fid,
                             f"记录 {due}，按规则 {rule} Stored {due}, by the rule {rule}",
                             geom))  # fmt: skip
    return rows


def _row(check: str, title_zh: str, title_en: str, layer: str, fid: int, detail: str,
         geometry: Any) -> Row:  # fmt: skip
    return Row(f"{check}:{fid}", {"check": check, "title": f"{title_zh} {title_en}",
                                  "layer": layer, "feature_id": fid, "detail": detail},
               geometry)  # fmt: skip


def summary(rows: list[Row]) -> dict[str, int]:
    """How many rows each check found."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.properties["check"]] = counts.get(r.properties["check"], 0) + 1
    return counts
