"""Service facilities: one GiST index per kind instead of one of every kind with its kind.

"The nearest clinic" (coverage gaps, the estate dossier) now asks each kind as a constant, so
a partial index holding only that kind's facilities serves it. Against 0017's (kind, geom)
index (btree_gist), the nearest-first scans for Chaoyang took half the time at scale 1
(590 → 285 ms for its 7,732 scans), and the index a scan descends no longer holds the other
kinds. The names are ``layers.schema.layer_tables.nearest_index``'s. btree_gist, which 0017
installed for that index alone, goes with it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The service kinds of the vocabulary at this revision (a migration is a snapshot).
KINDS = ("elder_care", "childcare", "meal_aid", "clinic", "sports", "convenience_store",
         "ebike_charging", "fire", "community_center")  # fmt: skip


def upgrade() -> None:
    op.execute("DROP INDEX ix_service_facilities_kind_geom")
    op.execute("DROP EXTENSION btree_gist")
    for kind in KINDS:
        op.execute(
            f"CREATE INDEX ix_service_facilities_kind_{kind}_geom ON service_facilities "
            f"USING gist (geom) WHERE kind = '{kind}'"
        )


def downgrade() -> None:
    for kind in KINDS:
        op.execute(f"DROP INDEX ix_service_facilities_kind_{kind}_geom")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX ix_service_facilities_kind_geom ON service_facilities USING gist (kind, geom)"
    )
