"""The ledger (one map, one ledger, item 35) and the district scoreboard (item 3).

The ledger adds up, street by street (or district by district for the whole city), what the
map shows: estates by status, their area and households, walk-ups and elevator retrofits,
idle space and the floor area converted, projects and their budgets, and — for callers who
may see them — maintenance funds. The scoreboard ranks districts on a year's plan: estates
planned, started and finished, the money, and what residents said (requests resolved,
satisfaction).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import psycopg

from analyses.fields import terms_of
from analyses.model import (
    Area,
    check_area_exists,
    column,
    length_inside,
    plain,
    statement,
    unprepared,
    values_list,
)
from layers.vocabulary import MATERIAL_DESIGN_LIFE
from spatial.spreadsheet import spreadsheet_safe

LEDGER = statement(
    """
WITH units AS (
    SELECT CASE WHEN %(district)s::text IS NULL AND %(street)s::text IS NULL
                THEN d.code ELSE s.code END AS code,
           CASE WHEN %(district)s::text IS NULL AND %(street)s::text IS NULL
                THEN d.name_zh ELSE s.name_zh END AS name_zh,
           s.code AS street_code,
           CASE WHEN %(district)s::text IS NULL AND %(street)s::text IS NULL
                THEN d.geom ELSE s.geom END AS shape
    FROM streets s JOIN districts d ON d.code = s.district_code
    WHERE (%(district)s::text IS NULL OR s.district_code = %(district)s)
      AND (%(street)s::text IS NULL OR s.code = %(street)s)
), e AS (
    SELECT u.code AS unit, e.* FROM units u JOIN estates e ON e.street_code = u.street_code
), b AS (
    SELECT e.unit, b.* FROM e JOIN buildings b ON b.estate_id = e.id
), shapes AS (
    SELECT DISTINCT ON (code) code, shape FROM units
), pipes AS (  -- each segment cut at the unit's outline: streets add up to the district
    SELECT v.code AS unit, sum({part}) AS m,
           sum({part}) FILTER (WHERE p.install_year + l.years <= %(year)s) AS aged_m
    FROM shapes v JOIN pipelines p ON p.geom && v.shape AND ST_Intersects(p.geom, v.shape)
    JOIN (VALUES {life}) AS l(material, years) ON l.material = p.material
    GROUP BY 1
)
SELECT u.code, min(u.name_zh),
    (SELECT count(*) FROM e WHERE e.unit = u.code),
    (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n FROM e
        WHERE e.unit = u.code GROUP BY 1) x),
    (SELECT round(sum(area_m2)::numeric) FROM e WHERE e.unit = u.code),
    (SELECT round(sum(floor_area_m2)::numeric) FROM e WHERE e.unit = u.code),
    (SELECT sum(households) FROM e WHERE e.unit = u.code),
    (SELECT count(*) FROM b WHERE b.unit = u.code),
    (SELECT count(*) FROM b WHERE b.unit = u.code AND NOT b.has_elevator AND b.floors >= 4),
    (SELECT json_object_agg(elevator_stage, n) FROM (SELECT elevator_stage, count(*) n FROM b
        WHERE b.unit = u.code AND elevator_stage IS NOT NULL GROUP BY 1) x),
    (SELECT count(*) FROM idle_parcels p JOIN e ON e.id = p.estate_id WHERE e.unit = u.code),
    (SELECT round(coalesce(sum(p.added_floor_area_m2), 0)::numeric) FROM idle_parcels p
        JOIN e ON e.id = p.estate_id WHERE e.unit = u.code
        AND p.status IN ('converting', 'in_use')),
    (SELECT count(*) FROM projects p JOIN units v ON v.street_code = p.street_code
        WHERE v.code = u.code),
    (SELECT round(coalesce(sum(p.budget_cny), 0)::numeric) FROM projects p
        JOIN units v ON v.street_code = p.street_code WHERE v.code = u.code),
    coalesce((SELECT round(coalesce(m, 0)::numeric) FROM pipes WHERE pipes.unit = u.code), 0),
    coalesce((SELECT round(coalesce(aged_m, 0)::numeric) FROM pipes WHERE pipes.unit = u.code),
             0),
    (SELECT round(coalesce(sum(maintenance_fund_initial), 0)::numeric) FROM e
        WHERE e.unit = u.code),
    (SELECT round(coalesce(sum(maintenance_fund_balance), 0)::numeric) FROM e
        WHERE e.unit = u.code)
FROM units u GROUP BY u.code ORDER BY u.code
""",
    life=values_list(MATERIAL_DESIGN_LIFE),
    part=length_inside(column("v", "shape")),
)

# (key, Chinese, English) of each ledger column; the fund columns are private.
COLUMNS = (
    ("code", "代码", "Code"), ("name_zh", "名称", "Name"), ("estates", "小区数", "Estates"),
    ("estates_by_status", "按状态", "By status"), ("area_m2", "占地面积", "Area (m²)"),
    ("floor_area_m2", "建筑面积", "Floor area (m²)"), ("households", "户数", "Households"),
    ("buildings", "楼栋数", "Buildings"), ("walkups", "无电梯多层", "Walk-ups"),
    ("elevator_stages", "加梯进展", "Elevator stages"),
    ("idle_parcels", "闲置空间", "Idle parcels"),
    ("added_floor_area_m2", "新增面积", "Added floor area (m²)"),
    ("projects", "项目数", "Projects"), ("budget_cny", "投资", "Budget (CNY)"),
    ("pipes_m", "管线长度", "Pipelines (m)"),
    # Past design life only: aging_pipes also counts poor pipes and grey cast-iron gas.
    ("aged_pipes_m", "超设计年限管线", "Past design life (m)"),
    ("fund_initial_cny", "维修资金初始", "Fund, initial (CNY)"),
    ("fund_balance_cny", "维修资金余额", "Fund, balance (CNY)"),
)  # fmt: skip
PRIVATE_COLUMNS = ("fund_initial_cny", "fund_balance_cny")
# Counts by a vocabulary's terms: in a workbook, one numeric column per term, named in words
# (a cell "accepted 29; candidate 20" could be neither read by a planner nor summed).
BY_TERM = {"estates_by_status": ("estates", "status"),
           "elevator_stages": ("buildings", "elevator_stage")}  # fmt: skip


async def ledger(
    conn: psycopg.AsyncConnection, district: str | None, street: str | None, private: bool
) -> list[dict[str, Any]]:
    """One row per street of the area (per district for the whole city)."""
    await check_area_exists(conn, Area(district, street))
    year = dt.date.today().year
    with unprepared(conn):  # one statement for every area: planned for this one (Analysis.run)
        cur = await conn.execute(LEDGER, {"district": district, "street": street, "year": year})
    keys = [c[0] for c in COLUMNS]
    rows = [dict(zip(keys, map(plain, r), strict=True)) for r in await cur.fetchall()]
    if not private:
        for row in rows:
            for key in PRIVATE_COLUMNS:
                row.pop(key)
    return rows


def ledger_xlsx(rows: list[dict[str, Any]], district: str | None, street: str | None) -> bytes:
    """The ledger as a workbook: Chinese and English headers, one row per street or district."""
    from openpyxl import Workbook  # 0.14 s to import: only when a workbook is asked for
    from openpyxl.styles import Font

    title = f"OneMap 台账 Ledger · {street or district or '全市 city'} · {dt.date.today()}"
    book = Workbook()
    sheet = book.active
    sheet.title = "台账 Ledger"
    columns = _sheet_columns([c for c in COLUMNS if rows and c[0] in rows[0]] or list(COLUMNS))
    sheet.append([spreadsheet_safe(title)])
    sheet.append([zh for _, _, zh, _ in columns])
    sheet.append([en for _, _, _, en in columns])
    for cell in (*sheet[1], *sheet[2], *sheet[3]):
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(row, key, term) for key, term, _, _ in columns])
    sheet.freeze_panes = "C4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_columns(columns: list[tuple[str, str, str]]) -> list[tuple[str, str | None, str, str]]:
    """(key, term or None, Chinese header, English header) of each workbook column.

    A count by terms (``BY_TERM``) becomes a column per term.
    """
    out: list[tuple[str, str | None, str, str]] = []
    for key, zh, en in columns:
        if key not in BY_TERM:
            out.append((key, None, zh, en))
            continue
        for code, (_, term_zh, term_en) in terms_of(*BY_TERM[key]).items():
            out.append((key, code, f"{zh}·{term_zh}", f"{en}: {term_en}"))
    return out


def _cell(row: dict[str, Any], key: str, term: str | None) -> Any:
    """A row's value in a column; a term's count is 0 where the row has none."""
    value = row.get(key) if term is None else (row.get(key) or {}).get(term, 0)
    return spreadsheet_safe(value)


SCOREBOARD = """
WITH planned AS (
    SELECT e.* FROM estates e JOIN plan_batches pb ON pb.id = e.plan_batch_id
    WHERE pb.year = %(year)s
), requests AS (
    SELECT e.district_code, r.* FROM resident_requests r JOIN estates e ON e.id = r.estate_id
    WHERE extract(year FROM r.received_on) = %(year)s
)
SELECT d.code, d.name_zh,
    (SELECT count(*) FROM planned p WHERE p.district_code = d.code),
    (SELECT count(*) FROM planned p WHERE p.district_code = d.code
        AND p.status IN ('in_progress', 'completed', 'accepted')),
    (SELECT count(*) FROM planned p WHERE p.district_code = d.code
        AND p.status IN ('completed', 'accepted')),
    (SELECT round(coalesce(sum(pr.budget_cny), 0)::numeric) FROM projects pr
        JOIN plan_batches pb ON pb.id = pr.plan_batch_id
        WHERE pb.year = %(year)s AND pr.district_code = d.code),
    (SELECT count(*) FROM requests r WHERE r.district_code = d.code),
    (SELECT count(*) FROM requests r WHERE r.district_code = d.code
        AND r.status IN ('resolved', 'closed')),
    (SELECT round(avg(r.satisfaction)::numeric, 2) FROM requests r
        WHERE r.district_code = d.code),
    (SELECT count(*) FROM opinions o JOIN projects pr ON pr.id = o.project_id
        WHERE pr.district_code = d.code AND extract(year FROM o.requested_on) = %(year)s
        AND coalesce(o.issued_on, %(today)s::date) > o.due_on),
    (SELECT count(*) FROM opinions o JOIN projects pr ON pr.id = o.project_id
        WHERE pr.district_code = d.code AND extract(year FROM o.requested_on) = %(year)s)
FROM districts d ORDER BY d.code
"""


SCORE_PARTS = ("started_share", "progress", "on_time_share", "resolved_share", "satisfaction")


def _score(row: dict[str, Any]) -> float | None:
    """The mean of what a district can be judged on so far, each part 0–1.

    Estates started and finished of those planned, opinions on time, requests resolved,
    satisfaction (of 5). In February nothing is finished yet, but work starts, opinions are
    due and residents call: the ranking means something all year. Equal scores share a rank.
    """
    parts = [row[k] / 5 if k == "satisfaction" else row[k] for k in SCORE_PARTS
             if row[k] is not None]  # fmt: skip
    return round(sum(parts) / len(parts), 3) if parts else None


async def scoreboard(conn: psycopg.AsyncConnection, year: int, today: Any) -> list[dict[str, Any]]:
    """Per district: the year's plan and how far it got, money, and residents' view; ranked."""
    cur = await conn.execute(SCOREBOARD, {"year": year, "today": today})
    rows = []
    for (
        code,
        name,
        planned,
        started,
        finished,
        budget,
        asked,
        resolved,
        happy,
        late,
        opinions,
    ) in await cur.fetchall():
        rows.append({
            "district_code": code, "name_zh": name, "planned": planned, "started": started,
            "finished": finished, "progress": round(finished / planned, 3) if planned else None,
            "started_share": round(started / planned, 3) if planned else None,
            "budget_cny": float(budget), "requests": asked,
            "resolved_share": round(resolved / asked, 3) if asked else None,
            "satisfaction": float(happy) if happy is not None else None,
            "opinions": opinions, "late_opinions": late,
            "on_time_share": round(1 - late / opinions, 3) if opinions else None,
        })  # fmt: skip
    for row in rows:
        row["score"] = _score(row)
    ranked = sorted(
        rows, key=lambda r: (r["score"] is None, -(r["score"] or 0), r["district_code"])
    )
    for position, row in enumerate(ranked, 1):
        previous = ranked[position - 2] if position > 1 else None
        tied_above = previous is not None and previous["score"] == row["score"]
        row["rank"] = previous["rank"] if previous is not None and tied_above else position
    for row in ranked:
        row["tied"] = sum(r["rank"] == row["rank"] for r in ranked) > 1
    return ranked
