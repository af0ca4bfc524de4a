"""Service facilities: the per-kind nearest-first indexes become SP-GiST quad-trees of points.

0018's partial GiST indexes on the geometry answered "the nearest clinic" for each of
Chaoyang's 1,933 estates in twice the time at scale 10 as at scale 1 (the same ~11 pages
read per scan; a leaf of ~190 boxes is measured whole, and more leaves lie near a point in a
bigger index). A quad-tree over PostgreSQL's ``point`` (``layers.nearest_key``) splits space
four ways per level: the elder-care scans for Chaoyang 56 → 20 ms at scale 1 and 113 → 20 ms
at scale 10. PostGIS 3.3's SP-GiST for geometry has no nearest-first search, hence the
``point`` expression. Distances are planar degrees in both, so the same facilities come
first. The names are ``layers.schema.layer_tables.nearest_index``'s.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The service kinds of the vocabulary at this revision (a migration is a snapshot).
KINDS = ("elder_care", "childcare", "meal_aid", "clinic", "sports", "convenience_store",
         "ebike_charging", "fire", "community_center")  # fmt: skip


def upgrade() -> None:
    for kind in KINDS:
        op.execute(f"DROP INDEX ix_service_facilities_kind_{kind}_geom")
        op.execute(
            f"CREATE INDEX ix_service_facilities_kind_{kind}_point ON service_facilities "
            f"USING spgist (point(ST_X(geom), ST_Y(geom))) WHERE kind = '{kind}'"
        )


def downgrade() -> None:
    for kind in KINDS:
        op.execute(f"DROP INDEX ix_service_facilities_kind_{kind}_point")
        op.execute(
            f"CREATE INDEX ix_service_facilities_kind_{kind}_geom ON service_facilities "
            f"USING gist (geom) WHERE kind = '{kind}'"
        )
