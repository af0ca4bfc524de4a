"""The change history: one writer of ``change_history`` rows for edits, imports and analyses.

Every changed feature is recorded: who, when, the action, and for updates and deletes the
feature before (and after) as a snapshot of its registry fields plus its GeoJSON geometry.
Imports write theirs in the same statement as the change (a CTE), so a million-row upsert
is recorded without a round trip per feature. The features an import appends are recorded
as runs of consecutive ids, one row each (``feature_id`` to ``last_feature_id``): who and
which file is all an insert has to say (the row itself is the "after"), and one row per
feature was a fifth of a large import's time.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from layers import Layer
from spatial.cql import SqlText

INSERT_HISTORY = sql.SQL(
    "INSERT INTO change_history (layer, feature_id, action, actor, changed_at, before, after, "
    "note) "
)


INSERT_RUNS = sql.SQL(
    "INSERT INTO change_history (layer, feature_id, last_feature_id, action, actor, changed_at, "
    "note) "
)

# The rows recording one feature's changes: its own, and the runs of ids that include it.
OF_FEATURE = sql.SQL(
    "layer = %(layer)s AND (feature_id = %(fid)s "
    "OR (last_feature_id >= %(fid)s AND feature_id <= %(fid)s))"
)


def inserted_runs(ids: sql.Composable) -> SqlText:
    """Record the ids selected by ``ids`` (a query of one ``id`` column) as inserted runs.

    A run is a set of consecutive ids (gaps-and-islands: ``id - row_number()`` is constant
    along a run); the parameters are ``layer``, ``actor`` and ``note``.
    """
    return INSERT_RUNS + sql.SQL(
        "SELECT %(layer)s, min(id), max(id), 'insert', %(actor)s, now(), %(note)s "
        "FROM (SELECT id, id - row_number() OVER (ORDER BY id) AS run FROM ({}) AS ids) AS runs "
        "GROUP BY run"
    ).format(ids)


def snapshot(layer: Layer, alias: str) -> SqlText:
    """A jsonb snapshot of a row ``alias`` of ``layer``: its fields and GeoJSON geometry."""
    parts: list[sql.Composable] = []
    for f in layer.fields:
        parts += [sql.Literal(f.name), sql.SQL("{}.{}").format(sql.Identifier(alias),
                                                               sql.Identifier(f.name))]  # fmt: skip
    if layer.is_spatial:
        parts += [
            sql.Literal("geometry"),
            sql.SQL("ST_AsGeoJSON({}.geom)::jsonb").format(sql.Identifier(alias)),
        ]
    # jsonb_build_object takes at most 100 arguments: build in chunks and concatenate.
    chunks = [parts[i : i + 100] for i in range(0, len(parts), 100)]
    return sql.SQL(" || ").join(
        sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(c)) for c in chunks
    )


def one(
    layer: Layer, fid: int, action: str, actor: str,
    before: dict[str, Any] | None, after: dict[str, Any] | None, note: str | None = None,
) -> tuple[SqlText, tuple[Any, ...]]:  # fmt: skip
    """The statement and parameters recording one feature's change (single edits)."""
    statement = INSERT_HISTORY + sql.SQL("VALUES (%s, %s, %s, %s, now(), %s, %s, %s)")
    params = (layer.name, fid, action, actor, Jsonb(before) if before else None,
              Jsonb(after) if after else None, note)  # fmt: skip
    return statement, params


def summary(
    layer: Layer, actor: str, after: dict[str, Any], note: str
) -> tuple[SqlText, tuple[Any, ...]]:
    """A row for a whole operation (an import's counts), with no feature of its own."""
    statement = INSERT_HISTORY + sql.SQL("VALUES (%s, NULL, %s, %s, now(), NULL, %s, %s)")
    return statement, (layer.name, "ingest", actor, Jsonb(after), note)
