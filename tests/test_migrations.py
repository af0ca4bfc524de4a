import json

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

import database
from database.settings import to_sqlalchemy_url
from layers import REGISTRY
from layers.schema import metadata
from migrations.options import COMPARE
from tests_support import BARE, plan_nodes


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(scratch_database):
    url = scratch_database("onemap_migrations", BARE)  # PostGIS installed by the migration
    database.migrate(url)
    assert set(REGISTRY) <= _tables(url)
    database.downgrade(url, "base")
    assert not set(REGISTRY) & _tables(url)
    database.migrate(url)
    assert set(REGISTRY) <= _tables(url)


def test_models_and_migrated_schema_do_not_differ(db_url):
    engine = create_engine(to_sqlalchemy_url(db_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=COMPARE)
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_every_spatial_table_has_a_gist_index(conn):
    rows = conn.execute(
        "SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'"
    ).fetchall()
    spatial = {n for n, layer in REGISTRY.items() if layer.is_spatial}
    assert spatial <= {r[0] for r in rows}


def test_every_layer_table_bumps_its_version_on_write(conn):
    rows = conn.execute(
        "SELECT event_object_table FROM information_schema.triggers "
        "WHERE trigger_name = 'onemap_version'"
    ).fetchall()
    assert set(REGISTRY) <= {r[0] for r in rows}
    before = conn.execute("SELECT version FROM layer_versions WHERE layer = 'roads'").fetchone()[0]
    conn.execute("UPDATE roads SET width_m = width_m WHERE id = 1")
    after = conn.execute("SELECT version FROM layer_versions WHERE layer = 'roads'").fetchone()[0]
    assert after == before + 1


def test_buildings_mirror_their_retrofits_stages_a_statement_at_a_time(conn):
    """A building's ``elevator_stage`` is its retrofit's stage after every kind of write: many
    rows at once, a retrofit moved to another building, a delete; and a retrofit write that
    changes no stage writes no building."""

    def mismatches() -> int:
        return conn.execute(
            "SELECT count(*) FROM buildings b LEFT JOIN elevator_retrofits r "
            "ON r.building_id = b.id WHERE b.elevator_stage IS DISTINCT FROM r.stage"
        ).fetchone()[0]

    first, second = conn.execute(
        "SELECT id, building_id FROM elevator_retrofits ORDER BY id LIMIT 2"
    ).fetchall()
    free = [b for (b,) in conn.execute(
        "SELECT id FROM buildings b WHERE NOT EXISTS (SELECT FROM elevator_retrofits r "
        "WHERE r.building_id = b.id) ORDER BY id LIMIT 3")]  # fmt: skip
    assert mismatches() == 0
    conn.execute("UPDATE elevator_retrofits SET stage = 'suspended' WHERE id IN (%s, %s)",
                 (first[0], second[0]))  # fmt: skip
    assert mismatches() == 0
    untouched = conn.execute("SELECT xmin::text FROM buildings WHERE id = %s", (first[1],))
    before = untouched.fetchone()[0]
    conn.execute("SAVEPOINT s")  # a later transaction id: a write of the building would show
    conn.execute("UPDATE elevator_retrofits SET households_served = 3 WHERE id = %s", (first[0],))
    assert conn.execute("SELECT xmin::text FROM buildings WHERE id = %s",
                        (first[1],)).fetchone()[0] == before  # fmt: skip
    conn.execute(
        "UPDATE elevator_retrofits SET building_id = %s WHERE id = %s", (free[0], first[0])
    )
    assert mismatches() == 0
    assert conn.execute("SELECT elevator_stage FROM buildings WHERE id = %s",
                        (first[1],)).fetchone()[0] is None  # fmt: skip
    conn.execute("DELETE FROM elevator_retrofits WHERE id = %s", (second[0],))
    assert mismatches() == 0
    conn.execute(
        "INSERT INTO elevator_retrofits (building_id, estate_id, district_code, stage, geom) "
        "SELECT b.id, b.estate_id, e.district_code, s, ST_PointOnSurface(b.geom) "
        "FROM buildings b JOIN estates e ON e.id = b.estate_id, "
        "unnest(ARRAY['requested', 'approved']) WITH ORDINALITY AS u(s, i) "
        "WHERE b.id = (ARRAY[%s, %s]::bigint[])[u.i]", (free[1], free[2]))  # fmt: skip
    assert mismatches() == 0
    assert conn.execute("SELECT count(*) FROM buildings WHERE id = ANY(%s) AND elevator_stage "
                        "IS NOT NULL", (free,)).fetchone()[0] == 3  # fmt: skip


def _plans_of_triggers(conn: psycopg.Connection, statement: str) -> list[dict]:
    """The plans of every statement that ``statement``'s triggers ran (auto_explain, JSON)."""
    plans: list[dict] = []

    def keep(diag: psycopg.errors.Diagnostic) -> None:
        text = diag.message_primary or ""
        if "plan:" in text:
            plans.append(json.loads(text.split("plan:", 1)[1])["Plan"])

    conn.add_notice_handler(keep)
    try:
        conn.execute(statement)
    finally:
        conn.remove_notice_handler(keep)
    return plans


def _input(node: dict) -> dict:
    """What a join input reads, through the hash, sort or materialisation in front of it."""
    while node["Node Type"] in ("Hash", "Sort", "Materialize") and len(node["Plans"]) == 1:
        node = node["Plans"][0]
    return node


def test_triggers_plan_each_statement_for_its_own_rows(conn):
    """A write of many rows after a write of one (the same session) joins its transition
    tables by hashing, not with the nested loop planned for one row: a static PL/pgSQL
    statement is planned once per session, and that loop took minutes at 40,000 rows."""
    conn.execute("LOAD 'auto_explain'")
    for setting in ("log_min_duration = 0", "log_nested_statements = on", "log_format = json"):
        conn.execute(f"SET auto_explain.{setting}")
    conn.execute("SET client_min_messages = log")
    conn.execute("UPDATE buildings SET floors = floors WHERE id = (SELECT min(id) FROM buildings)")
    conn.execute("UPDATE elevator_retrofits SET stage = stage WHERE id = "
                 "(SELECT min(id) FROM elevator_retrofits)")  # fmt: skip
    for statement in ("UPDATE buildings SET floors = floors",
                      "UPDATE elevator_retrofits SET stage = 'approved'"):  # fmt: skip
        joins = [
            node for plan in _plans_of_triggers(conn, statement) for node in plan_nodes(plan)
            if [_input(c)["Node Type"] for c in node.get("Plans", [])]
            == ["Named Tuplestore Scan"] * 2
        ]  # fmt: skip
        assert joins, statement  # the triggers did join old and new rows
        assert all(j["Node Type"] != "Nested Loop" for j in joins), (statement, joins)
        # planned for this statement: the transition tables' rows, not the one of before
        assert all(_input(c)["Plan Rows"] > 100 for j in joins for c in j["Plans"]), joins
