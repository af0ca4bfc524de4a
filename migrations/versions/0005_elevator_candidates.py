"""Elevator stage ``candidate``: a building the screening found feasible, before any request.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "requested", "consulting", "designing", "publicised", "approved", "under_construction",
    "in_service", "suspended", "not_feasible",
)  # fmt: skip
AFTER = ("candidate", *BEFORE)
CHECKS = (("elevator_retrofits", "stage"), ("buildings", "elevator_stage"))


def _replace(stages: tuple[str, ...]) -> None:
    codes = ", ".join(f"'{s}'" for s in stages)
    for table, column in CHECKS:
        name = f"ck_{table}_{column}_vocab"
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IN ({codes}))")


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM elevator_retrofits WHERE stage = 'candidate'")
    _replace(BEFORE)
