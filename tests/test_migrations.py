import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

import database
from database.settings import to_sqlalchemy_url
from layers import REGISTRY
from layers.schema import metadata
from migrations.options import COMPARE


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(fresh_database):
    url = fresh_database("onemap_migrations")
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
