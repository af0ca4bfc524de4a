"""System tables for who may call the API: users, their role and streets, and their tokens.

Tokens are random 256-bit strings shown once; only their SHA-256 is stored. A slow password
hash would add nothing for keys of that entropy and would cost every request.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from layers.model import Role
from layers.schema.metadata import metadata

ROLES = ", ".join(f"'{r.value}'" for r in Role if r is not Role.ANONYMOUS)

USERS = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("streets", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"role IN ({ROLES})", name="role"),
    sa.CheckConstraint(
        "(role = 'responsible_planner') = (cardinality(streets) > 0)", name="streets"
    ),
    comment="用户 / Users",
)

API_TOKENS = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "user_id",
        sa.BigInteger,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),  # fmt: skip
    sa.Column("token_sha256", sa.Text, nullable=False, unique=True),
    sa.Column("label", sa.Text),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    comment="访问令牌 / API tokens",
)
