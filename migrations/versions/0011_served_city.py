"""The city whose data a database holds, so a service set up for another city refuses it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "served_city",
        sa.Column("singleton", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint("singleton", name=op.f("ck_served_city_one_row")),
        sa.PrimaryKeyConstraint("singleton", name=op.f("pk_served_city")),
        comment="所属城市 / The city profile (layers/cities) this database's data belongs to",
    )


def downgrade() -> None:
    op.drop_table("served_city")
