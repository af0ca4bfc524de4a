"""The database's lifecycle: settings, the embedded cluster, the URL to use, migrations.

Used by the web app, the CLI and the Alembic environment alike; it imports none of them.
"""

from database.lifecycle import (
    alembic_config,
    check_connection,
    downgrade,
    embedded_cluster,
    migrate,
    resolve_database_url,
)

__all__ = [
    "alembic_config", "check_connection", "downgrade", "embedded_cluster", "migrate",
    "resolve_database_url",
]  # fmt: skip
