"""District and street outlines keep simplified copies for the low zooms' tiles.

Generated columns, as 0013's copies: PostgreSQL recomputes them on every write. Each holds
the outline in EPSG:3857 simplified to one tile unit at its zoom (40075016.69 m / 4096 / 2^z);
a tile at a lower zoom starts from it instead of the whole outline.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BANDS = {"districts": (5, 8, 11), "streets": (8, 11)}


def _unit(zoom: int) -> float:
    return 2 * 20037508.342789244 / (4096 * 2**zoom)


def upgrade() -> None:
    for table, zooms in BANDS.items():
        for zoom in zooms:
            op.add_column(
                table,
                sa.Column(
                    f"geom_z{zoom}",
                    Geometry("MULTIPOLYGON", srid=3857, spatial_index=False),
                    sa.Computed(
                        f"ST_Simplify(ST_Transform(geom, 3857), {_unit(zoom)!r}, true)",
                        persisted=True,
                    ),
                    comment=f"Outline simplified for tiles up to z{zoom} / 瓦片用简化轮廓",
                ),
            )


def downgrade() -> None:
    for table, zooms in BANDS.items():
        for zoom in zooms:
            op.drop_column(table, f"geom_z{zoom}")
