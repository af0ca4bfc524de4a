"""Which database OneMap talks to, and bringing its schema to the registry's shape."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from database.embedded import EmbeddedCluster
from database.search_index import index_layers
from database.settings import DatabaseSettings, to_conninfo, to_sqlalchemy_url
from layers import REGISTRY
from layers.city import CITY
from layers.errors import DatabaseUnavailable, InvalidInput
from spatial import catalog

if TYPE_CHECKING:
    from alembic.config import Config


class SchemaNotCurrent(DatabaseUnavailable):
    """The database's schema is not the one this OneMap's migrations end at."""


def embedded_cluster(settings: DatabaseSettings) -> EmbeddedCluster:
    return EmbeddedCluster(settings.data_dir, settings.embedded_port)


def resolve_database_url(settings: DatabaseSettings) -> str:
    """The configured server's URL, or the embedded cluster's (which must be running)."""
    if settings.database_url:
        return to_conninfo(settings.database_url)
    return embedded_cluster(settings).url


def check_connection(url: str, timeout_s: int = 5) -> None:
    """Raise ``DatabaseUnavailable`` with one readable line when ``url`` cannot be reached."""
    try:
        with psycopg.connect(url, connect_timeout=timeout_s):
            pass
    except psycopg.OperationalError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[0].rpartition(" failed: ")[2] if lines else "no answer"
        raise DatabaseUnavailable(f"cannot connect to {_redacted(url)}: {reason}") from None


def _redacted(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    user = credentials.partition(":")[0]
    return f"{scheme}://{user + '@' if at else ''}{host}"


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # alembic takes 0.4 s to import; most commands never migrate

    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.set_main_option("sqlalchemy.url", to_sqlalchemy_url(url).replace("%", "%%"))
    return config


def _alembic(url: str, action: str, revision: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, pool  # as alembic: only when migrating

    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)
    finally:
        engine.dispose()


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema at ``url`` to ``revision``; PostGIS must be available there.

    At head, every layer of the registry is versioned too (see ``version_layers``), and the
    searchable ones indexed (``database.search_index``).
    """
    check_connection(url)
    try:
        _alembic(url, "upgrade", revision)
    except Exception as exc:
        if "postgis" in str(exc).lower() and "extension" in str(exc).lower():
            raise DatabaseUnavailable(
                f"PostGIS is not available on {_redacted(url)}: install it on that server "
                "(Debian: apt-get install postgresql-15-postgis-3)"
            ) from None
        raise
    if revision == "head":
        with psycopg.connect(url) as conn:
            version_layers(conn)
            index_layers(conn)
            claim_city(conn)


# Migrations are numbered: revision "0020" is migrations/versions/0020_*.py, each revising
# the one before (tests/test_migrations.py holds Alembic's own head to this).
_MIGRATION_FILE = "[0-9][0-9][0-9][0-9]_*.py"


def migration_head() -> str:
    """The revision this OneMap's migrations end at, without importing Alembic (0.4 s)."""
    versions = files("migrations").joinpath("versions")
    return max(p.name[:4] for p in Path(str(versions)).glob(_MIGRATION_FILE))


def _one_value(conn: psycopg.Connection, table: str, column: str) -> str | None:
    """What a one-row bookkeeping table holds; None before the table exists or has its row."""
    if not catalog.table_exists(conn, table):
        return None
    statement = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(column), sql.Identifier(table))
    row = conn.execute(statement).fetchone()
    return row[0] if row else None


def schema_revision(conn: psycopg.Connection) -> str | None:
    """The revision the database's schema is at; None before any migration."""
    return _one_value(conn, "alembic_version", "version_num")


def check_schema(conn: psycopg.Connection) -> None:
    """Refuse, in one line that says what to do, a database this OneMap cannot work on.

    Without it every command and page failed on "relation … does not exist": an empty
    database (a new cluster, another ``ONEMAP_DATA_DIR``) or one a version behind.
    """
    at, head = schema_revision(conn), migration_head()
    if at == head:
        return
    where = f"the database {conn.info.dbname} on {conn.info.host}:{conn.info.port}"
    if at is None:
        raise SchemaNotCurrent(f"{where} holds no OneMap schema yet (run: onemap db migrate)")
    if at < head:
        raise SchemaNotCurrent(
            f"{where} is at migration {at}, this OneMap needs {head} (run: onemap db migrate)"
        )
    raise SchemaNotCurrent(
        f"{where} is at migration {at}, newer than this OneMap knows ({head}): upgrade OneMap"
    )


def served_city(conn: psycopg.Connection) -> str | None:
    """The city whose data the database holds; None before migration 0011 or any claim."""
    return _one_value(conn, "served_city", "name")


def claim_city(conn: psycopg.Connection) -> None:
    """Record that the data here is ``CITY``'s; refuse a database holding another city's data.

    Measured in this city's Gauss-Kruger zone that data's lengths and areas would be off by
    percents, with nothing to show it; an empty database changes city freely. Read first: on
    a database already claimed (a replica included) nothing is written.
    """
    if not catalog.table_exists(conn, "served_city"):
        return  # a schema before migration 0011: `onemap db migrate` claims it
    held = served_city(conn)
    if held == CITY.name:
        return
    if held is not None and not _layers_empty(conn):
        raise InvalidInput(
            f"this database holds {held}'s data but ONEMAP_CITY is {CITY.name}: "
            f"set ONEMAP_CITY={held}, or start it over for {CITY.name} with `onemap db reset`"
        )
    conn.execute(
        "INSERT INTO served_city (name) VALUES (%s) "
        "ON CONFLICT (singleton) DO UPDATE SET name = excluded.name",
        (CITY.name,),
    )


def _layers_empty(conn: psycopg.Connection) -> bool:
    present = [name for name in REGISTRY if catalog.table_exists(conn, name)]
    return not present or catalog.layers_empty(conn, present)


def version_layers(conn: psycopg.Connection) -> list[str]:
    """Give every registry layer its version row and bump trigger; the layers newly given.

    The version moves on every write to a layer (tile ETags, caches, counts): a layer added
    to the registry gets it here, from the registry, rather than in a hand-written migration
    (migration 0002 did it for the first layers by name).
    """
    added = []
    for name in REGISTRY:
        if not catalog.table_exists(conn, name):
            continue  # its migration is not written yet (tests/test_migrations.py says so)
        conn.execute(
            "INSERT INTO layer_versions (layer) VALUES (%s) ON CONFLICT DO NOTHING", (name,)
        )
        exists = conn.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'onemap_version' AND tgrelid = %s::regclass",
            (name,),
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL(
                    "CREATE TRIGGER onemap_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                    "ON {} FOR EACH STATEMENT EXECUTE FUNCTION onemap_bump_layer_version()"
                ).format(sql.Identifier(name))
            )
            added.append(name)
    return added


def downgrade(url: str, revision: str = "base") -> None:
    _alembic(url, "downgrade", revision)
