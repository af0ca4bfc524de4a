"""System table of official holiday arrangements an admin loaded, one row per special day.

A year is known from its file once loaded (``analyses.holidays``): its holidays are days off,
its make-up days (调休) working days, every other day a weekday or not.
"""

from __future__ import annotations

import sqlalchemy as sa

from layers.schema.metadata import metadata

HOLIDAY_ARRANGEMENTS = sa.Table(
    "holiday_arrangements",
    metadata,
    sa.Column("year", sa.Integer, primary_key=True),  # of the notice; 元旦 may start in December
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("working", sa.Boolean, nullable=False),  # a make-up working day, or a day off
    sa.Column("name", sa.Text),
    sa.Column("loaded_by", sa.Text, nullable=False),
    sa.Column(
        "loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    comment="节假日安排 / Official holiday arrangements loaded by an admin",
)
