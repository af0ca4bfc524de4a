"""Analyses are planned for the area they run on.

Their statements serve every area (``%(district)s IS NULL OR …``). Prepared on a pooled
connection that has run them for the city and for districts, PostgreSQL moves them to a
generic plan, and one district then costs a scan of the whole city (BENCHMARKS, "As the data
grows"). So nothing an analysis or the ledger runs is prepared.
"""

from typing import Any

import psycopg
import pytest
from psycopg import sql

from analyses.ledger import ledger
from analyses.model import Area, unprepared
from analyses.registry import ANALYSES
from layers.errors import InvalidInput
from tests_support import plan_nodes, run_async


async def _prepared_after_every_analysis(url: str) -> tuple[list[str], int | None]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        conn.prepare_threshold = 0  # psycopg would prepare each statement at its first run
        cur = await conn.execute("SELECT min(code) FROM districts")
        district = (await cur.fetchone())[0]  # type: ignore[index]
        for analysis in ANALYSES.values():
            for area in (Area(), Area(district=district)):
                await analysis.run(conn, area, analysis.parse_params({}))
        for area_district in (None, district):
            await ledger(conn, area_district, None, private=True)
        await conn.execute("SELECT %s::int + 1", (1,))  # outside: prepared, as asked
        cur = await conn.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in await cur.fetchall()], conn.prepare_threshold


def test_no_statement_of_an_analysis_or_the_ledger_is_prepared(db_url):
    prepared, threshold = run_async(_prepared_after_every_analysis(db_url))
    assert sorted(prepared) == [  # this test's own statements only
        "SELECT $1::int + 1", "SELECT min(code) FROM districts",
        "SELECT statement FROM pg_prepared_statements",
    ]  # fmt: skip
    assert threshold == 0  # the connection's own setting is given back


def test_the_connection_gets_its_setting_back_when_an_analysis_fails(db_url):
    async def failing() -> int | None:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            with pytest.raises(InvalidInput), unprepared(conn):
                assert conn.prepare_threshold is None
                raise InvalidInput("a parameter out of range")
            return conn.prepare_threshold

    assert run_async(failing()) == 5  # psycopg's default


async def analyzed(
    conn: psycopg.AsyncConnection, statement: sql.Composed, values: dict[str, Any]
) -> dict[str, Any]:
    """The plan of ``statement`` as it ran (``EXPLAIN (ANALYZE, FORMAT JSON)``)."""
    explain = sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + statement
    return (await (await conn.execute(explain, values)).fetchone())[0][0]["Plan"]  # type: ignore[index]


def run_once(plan: dict[str, Any]) -> set[str]:
    """The kinds of node that run once, over the whole area (not per estate in a subplan)."""
    return {node["Node Type"] for node in plan_nodes(plan) if node["Actual Loops"] == 1}


async def _aging_plans(url: str, limit: int) -> list[dict]:
    """The plans of aging pipes' three statements, city-wide, for a page of ``limit``."""
    from analyses import pipes

    params = ANALYSES["aging_pipes"].parse_params({"limit": str(limit)})
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        values = await pipes.aging_values(conn, Area(), params)
        return [
            await analyzed(conn, statement, values)
            for statement in (pipes.AGING_PIPES, pipes.AGING_BY_PRIORITY, pipes.AGING_BY_UNIT)
        ]


def test_aging_pipes_keep_and_sort_no_more_than_a_page(db_url):
    """A page's keys are ranked by a bounded sort and only its rows are made; the totals are
    summed as the pipes are read. Before, every aged pipe's properties and outline were kept
    to count them beside the page, and the totals grouped by a sort of every aged pipe: 6 GB
    written to disk city-wide at scale 40."""
    page, by_priority, by_unit = run_async(_aging_plans(db_url, limit=10))
    for plan in (page, by_priority, by_unit):
        for node in plan_nodes(plan):
            if node["Node Type"] in ("Sort", "Incremental Sort"):
                fed = node["Plans"][0]["Actual Rows"] * node["Plans"][0]["Actual Loops"]
                # bounded to the page, or sorting the page or the area's units themselves
                assert node.get("Sort Method") == "top-N heapsort" or fed <= 100, node
    assert "WindowAgg" not in {node["Node Type"] for node in plan_nodes(page)}
    for plan in (by_priority, by_unit):
        assert not run_once(plan) & {"CTE Scan", "Materialize"}, run_once(plan)
