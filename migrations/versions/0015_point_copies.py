"""Elevator retrofits and service facilities keep a Web Mercator copy for tiles too.

As 0013 for estates and buildings: a generated column, so a tile (and a zoomed-out tile's
clusters, which read every point of the city at z8) transforms no point.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPIES = ("elevator_retrofits", "service_facilities")


def upgrade() -> None:
    for table in COPIES:
        op.add_column(
            table,
            sa.Column(
                "geom_3857",
                Geometry("POINT", srid=3857, spatial_index=False),
                sa.Computed("ST_Transform(geom, 3857)", persisted=True),
                comment="Web Mercator copy for tiles / 瓦片用投影副本",
            ),
        )


def downgrade() -> None:
    for table in COPIES:
        op.drop_column(table, "geom_3857")
