"""The database schema as SQLAlchemy tables: every layer's, and the system tables.

Alembic compares the database with this (``migrations/``, the no-drift test). Nothing the
service or the command line runs imports it: SQLAlchemy and GeoAlchemy2 cost each process
0.4 s to import, and at run time the registry (``layers``) says all there is to know.
"""

from layers.schema import accounts, holidays, jobs, search, served_city
from layers.schema.layer_tables import LAYER_VERSIONS, TABLES, table_of
from layers.schema.metadata import metadata

__all__ = [
    "LAYER_VERSIONS",
    "TABLES",
    "accounts",
    "holidays",
    "jobs",
    "metadata",
    "search",
    "served_city",
    "table_of",
]
