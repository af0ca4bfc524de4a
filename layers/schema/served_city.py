"""System table naming the city whose data a database holds (``database.claim_city``).

One row. A service set up for another city (``ONEMAP_CITY``) refuses the database while it
holds data: measured in the wrong Gauss-Kruger zone, lengths and areas are off by percents.
"""

from __future__ import annotations

import sqlalchemy as sa

from layers.schema.metadata import metadata

SERVED_CITY = sa.Table(
    "served_city",
    metadata,
    sa.Column("singleton", sa.Boolean, primary_key=True, server_default=sa.true()),
    sa.Column("name", sa.Text, nullable=False),
    sa.CheckConstraint("singleton", name="one_row"),
    comment="所属城市 / The city profile (layers/cities) this database's data belongs to",
)
