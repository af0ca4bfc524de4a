"""Estates and buildings keep a Web Mercator copy of their geometry for tiles.

A generated column: PostgreSQL recomputes it on every write, so it cannot go stale, and a
tile transforms no feature.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPIES = {"estates": "MULTIPOLYGON", "buildings": "POLYGON"}


def upgrade() -> None:
    for table, geometry_type in COPIES.items():
        op.add_column(
            table,
            sa.Column(
                "geom_3857",
                Geometry(geometry_type, srid=3857, spatial_index=False),
                sa.Computed("ST_Transform(geom, 3857)", persisted=True),
                comment="Web Mercator copy for tiles / 瓦片用投影副本",
            ),
        )


def downgrade() -> None:
    for table in COPIES:
        op.drop_column(table, "geom_3857")
