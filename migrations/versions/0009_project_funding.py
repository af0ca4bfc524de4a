"""Projects say who pays and whether they build anything new (seed item 24's 100-day rule).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("funding_source", sa.Text(), nullable=True,
                                        comment="资金来源 / Funding source"))  # fmt: skip
    op.add_column("projects", sa.Column("new_construction", sa.Boolean(), nullable=True,
                                        comment="涉及新建改建 / Builds or rebuilds"))  # fmt: skip
    op.create_check_constraint(
        "ck_projects_funding_source_vocab",
        "projects",
        "funding_source IN ('government', 'mixed', 'private')",
    )


def downgrade() -> None:
    op.drop_constraint("ck_projects_funding_source_vocab", "projects", type_="check")
    op.drop_column("projects", "new_construction")
    op.drop_column("projects", "funding_source")
