"""System table for background jobs (file imports): their state, progress and report.

Kept in the database rather than in a process, so that any worker or machine behind the load
balancer answers a job's status URL, and a restart does not forget a report.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from layers.schema.metadata import metadata

STATES = ("queued", "running", "done", "failed")

JOBS = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False, server_default="queued"),
    sa.Column("progress", pg.JSONB, nullable=False, server_default="{}"),
    sa.Column("result", pg.JSONB),
    sa.Column("error", sa.Text),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    # Touched while the job runs: a job whose process died stops being touched.
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("state IN ({})".format(", ".join(f"'{s}'" for s in STATES)), name="state"),
    sa.Index("ix_jobs_owner_created_at", "owner", "created_at"),
    comment="后台任务 / Background jobs",
)
