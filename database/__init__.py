"""The database's lifecycle: settings, the embedded cluster, the URL to use, migrations.

Used by the web app, the CLI and the Alembic environment alike; it imports none of them.
"""

from database.lifecycle import (
    SchemaNotCurrent,
    alembic_config,
    check_connection,
    check_schema,
    claim_city,
    downgrade,
    embedded_cluster,
    migrate,
    migration_head,
    resolve_database_url,
    schema_revision,
    served_city,
)

__all__ = [
    "SchemaNotCurrent", "alembic_config", "check_connection", "check_schema", "claim_city",
    "downgrade", "embedded_cluster", "migrate", "migration_head", "resolve_database_url",
    "schema_revision", "served_city",
]  # fmt: skip
