"""Alembic options shared by env.py and the no-drift test."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import alembic_helpers

from layers.schema import metadata


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # Tables that PostGIS itself creates are not ours to manage.
    if type_ == "table" and name == "spatial_ref_sys":
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


COMPARE: dict[str, Any] = {
    "target_metadata": metadata,
    "compare_type": True,
    "include_object": include_object,
}
CONFIGURE: dict[str, Any] = {
    **COMPARE,
    "process_revision_directives": alembic_helpers.writer,
    "render_item": alembic_helpers.render_item,
}
