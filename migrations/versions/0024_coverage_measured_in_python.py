"""The quad-trees of 0020 and 0021 go: "the nearest facility" is measured in Python now.

Coverage gaps and the estate dossier asked PostgreSQL, per estate and service kind, for the
eight facilities nearest a point of the estate in planar degrees (0020's quad-tree of each
kind), then measured them in metres; the free parcels an estate is offered the same way
(0021's). A scan cost 6.4 µs in the sample city and 7.8 in one ten times as big, and the
eight nearest in degrees did not always hold the nearest in metres. ``analyses.nearness``
reads the facilities and free parcels around the area once, in metres, and measures every
red line against them with shapely's STRtree: exact, and city-wide at scale 1 in a third of
the time. Nothing asks these indexes any more; each one is written to on every facility or
parcel edit.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The service kinds of the vocabulary at this revision (a migration is a snapshot).
KINDS = ("elder_care", "childcare", "meal_aid", "clinic", "sports", "convenience_store",
         "ebike_charging", "fire", "community_center")  # fmt: skip
FREE_PARCELS = "ix_idle_parcels_status_identified_planned_point"


def upgrade() -> None:
    for kind in KINDS:
        op.execute(f"DROP INDEX ix_service_facilities_kind_{kind}_point")
    op.execute(f"DROP INDEX {FREE_PARCELS}")


def downgrade() -> None:
    for kind in KINDS:
        op.execute(
            f"CREATE INDEX ix_service_facilities_kind_{kind}_point ON service_facilities "
            f"USING spgist (point(ST_X(geom), ST_Y(geom))) WHERE kind = '{kind}'"
        )
    op.execute(
        f"CREATE INDEX {FREE_PARCELS} ON idle_parcels "
        "USING spgist (point(ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)))) "
        "WHERE status IN ('identified', 'planned')"
    )
