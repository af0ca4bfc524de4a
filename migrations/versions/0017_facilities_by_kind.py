"""Service facilities indexed by kind and place together, for "the nearest of this kind".

Coverage gaps and the estate dossier ask, per estate and service kind, for the nearest
facilities of that kind (``ORDER BY geom <-> point LIMIT 8``). On the geometry index alone the
scan walks facilities of every kind in distance order and drops the others: ~100 rows, each
read from the table, to keep 8. With the kind in the same GiST index (btree_gist) the scan
only meets facilities of that kind: coverage gaps city-wide at scale 1, 3.9 → 2.3 s.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX ix_service_facilities_kind_geom ON service_facilities USING gist (kind, geom)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_service_facilities_kind_geom")
