"""The estate dossier (item 35): everything the map knows about one estate, on one page.

Which sections a caller gets comes from the registry: a section appears when its layer is
visible at the caller's level (for a responsible planner: their level inside their streets,
the public one elsewhere), and shows only the fields visible at that level.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from analyses import holidays, pipes, services, workdays, workflow
from analyses.model import Area, in_scope, plain, rows_of, statement
from analyses.registry import ANALYSES
from layers import REGISTRY, Visibility
from layers.errors import NotFound
from spatial import audit
from spatial.scope import StreetScope, level_on_row

NEAR_M = 300.0  # idle parcels this close belong in the dossier
SERVICE_KINDS = ("elder_care", "childcare", "meal_aid", "clinic", "community_center", "sports")


def _fields(layer: str, level: Visibility) -> set[str]:
    return {f.name for f in REGISTRY[layer].visible_fields(level)}


def _sees(layer: str, level: Visibility) -> bool:
    return REGISTRY[layer].visibility <= level


NEARBY_PARCELS = statement(
    "SELECT p.id, p.kind, p.status, p.proposed_use, p.floor_area_m2, p.added_floor_area_m2, "
    "round(ST_Distance(ST_Transform(p.geom, {srid}), ST_Transform(e.geom, {srid}))::numeric) "
    "AS distance_m FROM idle_parcels p, estates e WHERE e.id = %(id)s "
    "AND (p.estate_id = e.id OR ST_DWithin(p.geom::geography, e.geom::geography, %(near)s)) "
    "AND {in_scope} ORDER BY distance_m, p.id",
    in_scope=in_scope("idle_parcels", "p"),
)


async def _rows(
    conn: psycopg.AsyncConnection, query: str | sql.Composed, params: Any
) -> list[dict]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return [{k: plain(v) for k, v in r.items()} for r in await cur.fetchall()]


# The dossier's map frame: the estate's box grown by MAP_MARGIN of its size, at least
# MAP_MIN_MARGIN_DEG (about 45 m). Its surroundings (public layers: the roads, clipped, and the
# neighbours' buildings) are fetched ROADS_REACH times as far, so that roads run off the edge.
MAP_MARGIN, MAP_MIN_MARGIN_DEG, ROADS_REACH = 0.15, 0.0008 / 1.5, 1.5


def map_margin(width_deg: float, height_deg: float) -> float:
    return max(MAP_MIN_MARGIN_DEG, MAP_MARGIN * max(width_deg, height_deg))


SURROUNDINGS = statement(
    """
WITH frame AS (
    SELECT ST_Expand(box, {reach} * greatest({least}, {margin} * greatest(
               ST_XMax(box) - ST_XMin(box), ST_YMax(box) - ST_YMin(box)))) AS box
    FROM (SELECT ST_Envelope(geom) AS box FROM estates WHERE id = %(id)s) e
)
SELECT 'road' AS kind, r.name_zh, ST_AsGeoJSON(ST_ClipByBox2D(r.geom, f.box), 7)::json AS geometry
FROM roads r, frame f WHERE r.geom && f.box
UNION ALL
SELECT 'building', b.name_zh, ST_AsGeoJSON(b.geom, 7)::json
FROM buildings b, frame f
WHERE b.geom && f.box AND b.estate_id IS DISTINCT FROM %(id)s
""",
    margin=MAP_MARGIN,
    least=MAP_MIN_MARGIN_DEG,
    reach=ROADS_REACH,
)


async def dossier(
    conn: psycopg.AsyncConnection, estate_id: int, level: Visibility,
    scope: StreetScope | None = None,
) -> dict[str, Any]:  # fmt: skip
    level = await level_on_row(conn, REGISTRY["estates"], estate_id, level, scope)
    await holidays.refresh(conn)
    found = await _rows(
        conn,
        "SELECT to_jsonb(e) - 'geom' - 'geom_3857' AS estate, "
        "ST_AsGeoJSON(e.geom, 7)::json AS geometry FROM estates e WHERE id = %s",
        (estate_id,),
    )
    if not found:
        raise NotFound(f"estate {estate_id} not found")
    shown = _fields("estates", level) | {"id"}
    estate = {k: v for k, v in found[0]["estate"].items() if k in shown}
    out: dict[str, Any] = {"estate": estate, "geometry": found[0]["geometry"], "level": level.name}
    cur = await conn.execute(
        "SELECT code, name_zh FROM districts WHERE code = %(d)s "
        "UNION ALL SELECT code, name_zh FROM streets WHERE code = %(s)s",
        {"d": estate.get("district_code"), "s": estate.get("street_code")},
    )
    out["names"] = dict(await cur.fetchall())
    out["buildings"] = await _rows(
        conn,
        "SELECT id, name_zh, floors, has_elevator, elevator_stage, "
        "ST_AsGeoJSON(geom, 7)::json AS geometry FROM buildings WHERE estate_id = %s ORDER BY id",
        (estate_id,),
    )
    out["surroundings"] = await _rows(conn, SURROUNDINGS, {"id": estate_id})
    if _sees("elevator_retrofits", level):
        kept = _fields("elevator_retrofits", level) | {"id"}
        retrofits = await _rows(
            conn,
            "SELECT to_jsonb(r) - 'geom' AS r FROM elevator_retrofits r "
            "JOIN buildings b ON b.id = r.building_id WHERE b.estate_id = %s ORDER BY r.id",
            (estate_id,),
        )
        out["elevator_retrofits"] = [
            {k: v for k, v in row["r"].items() if k in kept} for row in retrofits
        ]
    out["services_nearby"] = await services.services_nearby(conn, estate_id, SERVICE_KINDS)
    if _sees("pipelines", level):
        area, today = Area(estate=estate_id), dt.date.today()
        inside = await pipes.pipes_by_estate(conn, area, {"buffer_m": 50.0, "today": today})
        estate_pipes = rows_of(inside)
        out["pipelines"] = estate_pipes[0].properties["networks"] if estate_pipes else {}
        aged = await pipes.aging_pipes(
            conn, area, {"horizon_years": 0, "limit": 1, "offset": 0, "today": today}
        )
        summary = aged.summary or {}
        out["aging_pipes"] = {  # what lies inside the red line, as the pipelines above
            "count": summary.get("count", 0),
            "priority_1": summary.get("by_priority", {}).get("1", {}).get("count", 0),
            "length_m": summary.get("length_m", 0),
        }
    if _sees("buildings", level) and level >= Visibility.INTERNAL:
        area, today = Area(estate=estate_id), dt.date.today()
        screening = ANALYSES["elevator_screening"]
        out["elevator_screening"] = [
            {k: r.properties[k] for k in ("building_id", "name_zh", "feasible", "reasons",
                                           "recommendation", "consent_ratio",
                                           "shades_north_neighbour", "relocation_cost_cny")}
            for r in rows_of(await screening.run(conn, area, screening.parse_params({}, today)))
        ]  # fmt: skip
        gaps = ANALYSES["coverage_gaps"]
        out["coverage_gaps"] = [
            {"kind": r.properties["kind"], "nearest_m": r.properties["nearest_m"],
             "parcels": [p["id"] for p in r.properties["parcels"]]}
            for r in rows_of(await gaps.run(conn, area, gaps.parse_params({}, today)))
        ]  # fmt: skip
    if _sees("idle_parcels", level):
        out["idle_parcels"] = await _rows(
            conn,
            NEARBY_PARCELS,
            {
                "id": estate_id,
                "near": NEAR_M,
                "scope_streets": list(scope.streets) if scope else None,
            },  # fmt: skip
        )
    if _sees("governance_issues", level):
        out["governance_issues"] = await _rows(
            conn,
            "SELECT id, kind, resolved, resolution, reported_on, resolved_on "
            "FROM governance_issues WHERE estate_id = %s ORDER BY reported_on DESC, id",
            (estate_id,),
        )
    if _sees("resident_requests", level):
        out["resident_requests"] = (await _rows(
            conn,
            "SELECT count(*) AS total, count(*) FILTER (WHERE status IN ('received', "
            "'processing')) AS open, round(avg(satisfaction)::numeric, 2)::float AS satisfaction, "
            "coalesce((SELECT json_object_agg(category, n) FROM (SELECT category, count(*) n "
            "FROM resident_requests WHERE estate_id = %(id)s GROUP BY 1) c), '{}') AS by_category "
            "FROM resident_requests WHERE estate_id = %(id)s",
            {"id": estate_id},
        ))[0]  # fmt: skip
    if _sees("health_checks", level):
        out["health_checks"] = await _rows(
            conn,
            "SELECT checked_on, score, findings FROM health_checks WHERE estate_id = %s "
            "ORDER BY checked_on DESC",
            (estate_id,),
        )
    if _sees("plan_batches", level):
        out["plan_batch"] = next(iter(await _rows(
            conn,
            "SELECT b.id, b.year, b.batch_no, b.name_zh, b.approved_on FROM plan_batches b "
            "JOIN estates e ON e.plan_batch_id = b.id WHERE e.id = %s",
            (estate_id,),
        )), None)  # fmt: skip
    if _sees("projects", level):
        projects_shown = _fields("projects", level)
        project = next(iter(await _rows(
            conn,
            "SELECT to_jsonb(p) - 'geom' AS p FROM projects p JOIN estates e "
            "ON e.project_id = p.id WHERE e.id = %s",
            (estate_id,),
        )), None)  # fmt: skip
        out["project"] = (
            {k: v for k, v in project["p"].items() if k in projects_shown | {"id"}}
            if project else None
        )  # fmt: skip
        out["opinions"] = await _rows(
            conn,
            "SELECT o.id, o.planner, o.requested_on, o.due_on, o.issued_on, o.verdict "
            "FROM opinions o JOIN estates e ON e.project_id = o.project_id WHERE e.id = %s "
            "ORDER BY o.requested_on",
            (estate_id,),
        ) if out["project"] else []  # fmt: skip
        if out["project"]:
            out["project_checks"] = _project_checks(out["project"], out["opinions"])
    if {"maintenance_fund_initial", "maintenance_fund_balance"} <= shown:
        initial = estate.get("maintenance_fund_initial") or 0
        balance = estate.get("maintenance_fund_balance") or 0
        ratio = round(balance / initial, 3) if initial else None
        out["fund"] = {"initial_cny": initial, "balance_cny": balance, "ratio": ratio,
                       "below_30_percent": ratio is not None and ratio < 0.3}  # fmt: skip
    if _sees("change_history", level):
        out["history"] = await _rows(
            conn,
            sql.SQL("SELECT action, actor, changed_at, note FROM change_history WHERE ")
            + audit.OF_FEATURE
            + sql.SQL(" ORDER BY changed_at DESC, id DESC LIMIT 50"),
            {"layer": "estates", "fid": estate_id},
        )
    return out


def _project_checks(project: dict[str, Any], opinions: list[dict[str, Any]]) -> dict[str, Any]:
    """The workflow analyses' verdicts on this estate's project, with their defaults."""
    today, checks = dt.date.today(), dict[str, int | bool | None]()
    start, end = project.get("start_on"), project.get("end_on")
    if start and end:
        span = (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        for name in ("rainy_season", "winter"):
            window = workflow.parse_window(_default(name), name)
            checks[f"{name}_days"] = workflow.overlap_days(*span, window)
    submitted, approved = project.get("submitted_on"), project.get("approved_on")
    if submitted:
        until = dt.date.fromisoformat(approved) if approved else today
        days = (until - dt.date.fromisoformat(submitted)).days
        checks["approval_days"] = days
        applies = workflow.approval_goal_applies(project)
        checks["approval_over_limit"] = (
            None if applies is None else applies and days > _default("max_days")
        )
    before, after = project.get("green_ratio_before"), project.get("green_ratio_after")
    if before is not None and after is not None:
        checks["green_ratio_drops"] = after < before
    for opinion in opinions:
        requested = dt.date.fromisoformat(opinion["requested_on"])
        due, _ = workdays.add_workdays(requested, _default("limit_days"))
        answered = dt.date.fromisoformat(opinion["issued_on"]) if opinion["issued_on"] else today
        opinion["overdue"] = answered > due
    return checks


def _default(param: str) -> Any:
    """A workflow parameter's default, wherever the registry declares it."""
    for analysis in ANALYSES.values():
        if param in analysis.params_by_name:
            return analysis.params_by_name[param].default
    raise KeyError(param)
