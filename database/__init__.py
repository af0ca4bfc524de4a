"""The database's lifecycle: settings, the embedded cluster, the URL to use, migrations.

Used by the web app, the CLI and the Alembic environment alike; it imports none of them.
"""

from database.lifecycle import (
    alembic_config,
    check_connection,
    claim_city,
    downgrade,
    embedded_cluster,
    migrate,
    resolve_database_url,
    served_city,
)

__all__ = [
    "alembic_config", "check_connection", "claim_city", "downgrade",
    "embedded_cluster", "migrate", "resolve_database_url", "served_city",
]  # fmt: skip
