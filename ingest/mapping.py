"""Source columns to registry fields: by a mapping file, or by name and label.

A column matches a field when it equals the field's name, its Chinese label or its English
label (ignoring case and spaces). A YAML or JSON mapping file (``{源列名: field}``) overrides.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from layers import Layer, Visibility
from layers.errors import InvalidInput


def load_mapping(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read the mapping file {path}: {exc}") from None
    if isinstance(data, dict) and "columns" in data:
        data = data["columns"]
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{path}: expected {{source column: field}}, got {json.dumps(data)[:80]}"
        )
    return {str(k): str(v) for k, v in data.items()}


def _key(text: str) -> str:
    return "".join(str(text).split()).casefold()


def match_columns(
    columns: list[str], layer: Layer, mapping: dict[str, str],
    level: Visibility = Visibility.PRIVATE,
) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """({source column: field}, unknown columns), for a writer at ``level``.

    The write rule of single edits holds: a column matched to a field above the writer's
    level refuses the file (not silently dropped); one OneMap keeps itself is left out.
    """
    fields = {f.name for f in layer.fields}
    writable = {f.name for f in layer.writable_fields(level)}
    for source, target in mapping.items():
        if target not in fields:
            raise InvalidInput(f"mapping: {target!r} is not a field of {layer.name}")
        if source not in columns:
            raise InvalidInput(f"mapping: the file has no column {source!r}")
    by_label: dict[str, str] = {}
    for f in layer.fields:
        for label in (f.name, f.label_zh, f.label_en):
            by_label.setdefault(_key(label), f.name)
    matched: dict[str, str] = {}
    unknown = []
    for column in columns:
        found = mapping.get(column) or by_label.get(_key(column))
        if found is None or found in matched.values():
            unknown.append(column)
        elif layer.fields_by_name[found].maintained:
            unknown.append(column)  # OneMap keeps it (an exported file carries it): left out
        elif found not in writable:
            raise InvalidInput(
                f"column {column!r}: the field {found!r} is above your access level; "
                "remove the column or leave it out of the mapping"
            )
        else:
            matched[column] = found
    return matched, unknown
