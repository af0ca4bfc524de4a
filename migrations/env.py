"""Alembic environment: migrates the layer registry's tables (GeoAlchemy2 aware)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from migrations.options import CONFIGURE

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        # Running the plain `alembic` command: resolve the database like the CLI does.
        from database import resolve_database_url
        from database.settings import DatabaseSettings, to_sqlalchemy_url

        url = to_sqlalchemy_url(resolve_database_url(DatabaseSettings()))
    return url


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
