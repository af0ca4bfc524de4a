"""An import's new features are recorded as runs of ids, not one history row per feature.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "change_history",
        sa.Column(
            "last_feature_id", sa.BigInteger(), nullable=True, comment="末要素 / Last feature"
        ),
    )
    op.create_index(
        op.f("ix_change_history_last_feature_id"), "change_history", ["last_feature_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_change_history_last_feature_id"), table_name="change_history")
    op.drop_column("change_history", "last_feature_id")
