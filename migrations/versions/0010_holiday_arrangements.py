"""Official holiday arrangements an admin loads for years chinese_calendar does not know yet.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holiday_arrangements",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("loaded_by", sa.Text(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("year", "day", name=op.f("pk_holiday_arrangements")),
        comment="节假日安排 / Official holiday arrangements loaded by an admin",
    )


def downgrade() -> None:
    op.drop_table("holiday_arrangements")
