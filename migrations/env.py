"""Alembic environment: migrates the layer registry's tables (GeoAlchemy2 aware)."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from layers import metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        # Running the plain `alembic` command: resolve the database like the CLI does.
        from api.database import resolve_database_url
        from api.settings import DatabaseSettings, to_sqlalchemy_url

        url = to_sqlalchemy_url(resolve_database_url(DatabaseSettings()))
    return url


def _include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    # Tables that PostGIS itself creates are not ours to manage.
    if type_ == "table" and name in {"spatial_ref_sys"}:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


CONFIGURE = {
    "target_metadata": metadata,
    "compare_type": True,
    "include_object": _include_object,
    "process_revision_directives": alembic_helpers.writer,
    "render_item": alembic_helpers.render_item,
}


def run_migrations_offline() -> None:
    context.configure(url=_url(), literal_binds=True, **CONFIGURE)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **CONFIGURE)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, **CONFIGURE)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
