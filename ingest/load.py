"""Writing validated rows into a layer, atomically.

COPY into a staging table, check the references in SQL, merge (append, upsert or replace),
and record the change history.

Everything runs in the caller's transaction, so any failure leaves the layer as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import compress
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from layers import STORAGE_SRID, FieldType, Layer
from layers.errors import InvalidInput
from spatial import audit, bulk
from spatial.validate import Problem, Validated, as_parameter

STAGE = "onemap_stage"
MODES = ("append", "upsert", "replace")
REBUILD_INDEXES_FROM = 20_000


def _stage(conn: psycopg.Connection, layer: Layer, columns: list[str]) -> None:
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGE)))
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(STAGE),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier(layer.name),
        )  # fmt: skip
    )
    conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN row_no integer").format(sql.Identifier(STAGE)))


def _column_values(
    layer: Layer, column: str, values: list[Any], wkb: list[bytes | None] | None = None
) -> list[Any]:
    """A column as COPY takes it (geometry as EWKB hex, made for the whole column at once)."""
    if column == "geom":
        return ewkb_hex(np.array(values, dtype=object), STORAGE_SRID, wkb)
    field = layer.fields_by_name[column]
    if field.type is not FieldType.JSON:
        return values  # as they are, without a call for each of a large file's values
    return [as_parameter(field, v) for v in values]


def _plain_2d(wkb: bytes | None) -> bool:
    """Little-endian ISO WKB of a 2D type (1-7): safe to splice an SRID into as it is."""
    return bool(wkb) and wkb[0] == 1 and 1 <= wkb[1] <= 7 and wkb[2:5] == b"\0\0\0"  # type: ignore[index]


def ewkb_hex(
    geoms: np.ndarray, srid: int, source_wkb: list[bytes | None] | None = None
) -> list[str | None]:
    """Hex EWKB for COPY: little-endian WKB with the SRID flag and the SRID spliced in.

    The same bytes as ``to_wkb(set_srid(...), include_srid=True)`` without building a second
    set of geometry objects (a fifth of a large ingest's time). The first 5 bytes (byte order
    and type) are the same for every geometry of one type, so each type's prefix is made once.
    """
    srid_hex = srid.to_bytes(4, "little").hex().upper()
    prefixes: dict[str, str] = {}
    out: list[str | None] = []
    if source_wkb is not None:  # the file's own bytes where they are plain 2D WKB
        reuse = np.array([_plain_2d(w) for w in source_wkb], dtype=bool)
        hexes = np.empty(len(geoms), dtype=object)
        hexes[reuse] = [w.hex() for w in compress(source_wkb, reuse)]  # type: ignore[union-attr]
        hexes[~reuse] = shapely.to_wkb(geoms[~reuse], hex=True, byte_order=1)
        encoded = hexes.tolist()
    else:
        encoded = shapely.to_wkb(geoms, hex=True, byte_order=1).tolist()
    for wkb in encoded:
        if wkb is None:
            out.append(None)
            continue
        head = wkb[:10]
        prefix = prefixes.get(head)
        if prefix is None:  # the type's top byte carries the SRID flag (0x20)
            prefix = prefixes[head] = f"{head[:8]}{int(head[8:10], 16) | 0x20:02X}{srid_hex}"
        out.append(prefix + wkb[10:])
    return out


def reference_problems(conn: psycopg.Connection, layer: Layer, columns: list[str]) -> list[Problem]:
    """Rows whose references point at nothing, found with one query per reference."""
    problems = []
    for f in layer.fields:
        if not f.references or f.name not in columns:
            continue
        table, column = f.references.split(".")
        rows = conn.execute(
            sql.SQL(
                "SELECT s.row_no, s.{f}::text FROM {stage} s WHERE s.{f} IS NOT NULL AND "
                "NOT EXISTS (SELECT 1 FROM {t} WHERE {t}.{c} = s.{f}) ORDER BY 1"
            ).format(
                f=sql.Identifier(f.name),
                stage=sql.Identifier(STAGE),
                t=sql.Identifier(table),
                c=sql.Identifier(column),
            )  # fmt: skip
        ).fetchall()
        problems += [Problem(r[0], f.name, f"{r[1]} is not a {table}.{column}") for r in rows]
    return problems


def _history(layer: Layer, actor: str, note: str) -> dict[str, Any]:
    return {"layer": layer.name, "actor": actor, "note": note}


def _merge(conn: psycopg.Connection, layer: Layer, columns: list[str], mode: str,
           key: str | None, actor: str, note: str) -> tuple[int, int]:  # fmt: skip
    """(inserted, updated); each changed feature gets its history row in the same statement."""
    target, stage = sql.Identifier(layer.name), sql.Identifier(STAGE)
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    params = _history(layer, actor, note)
    if mode == "replace":
        # Writers wait (readers do not): the rows another import or an edit adds meanwhile
        # would outlive the replace, and two replaces at once left both files' rows.
        conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target))
        try:
            conn.execute(
                sql.SQL(
                    "WITH gone AS (DELETE FROM {t} AS tgt RETURNING tgt.id, {snap} AS snap) "
                ).format(t=target, snap=audit.snapshot(layer, "tgt"))
                + audit.INSERT_HISTORY
                + sql.SQL(
                    "SELECT %(layer)s, id, 'delete', %(actor)s, now(), snap, NULL, "
                    "%(note)s FROM gone"
                ),  # fmt: skip
                params,
            )
        except psycopg.errors.ForeignKeyViolation:
            raise InvalidInput(
                f"cannot replace {layer.name}: features of other layers refer to its rows"
            ) from None
    if mode == "upsert":
        assert key is not None
        updates = sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in columns if c != key
        )
        snap = audit.snapshot(layer, "tgt")  # the row before (old) and after (new) the upsert
        statement = sql.SQL(
            "WITH old AS (SELECT tgt.id, {old} AS snap FROM {t} AS tgt JOIN {s} USING ({k})), "
            "new AS (INSERT INTO {t} AS tgt ({n}) SELECT {n} FROM {s} ORDER BY row_no "
            "ON CONFLICT ({k}) DO UPDATE SET {u}, updated_at = now() "
            "RETURNING tgt.id, (tgt.xmax = 0) AS inserted, {new} AS snap) "
        ).format(t=target, n=names, s=stage, k=sql.Identifier(key), u=updates,
                 old=snap, new=snap)  # fmt: skip
        statement += audit.INSERT_HISTORY + sql.SQL(
            "SELECT %(layer)s, new.id, CASE WHEN new.inserted THEN 'insert' ELSE 'update' END, "
            "%(actor)s, now(), old.snap, CASE WHEN new.inserted THEN NULL ELSE new.snap END, "
            "%(note)s FROM new LEFT JOIN old USING (id) RETURNING (action = 'insert')"
        )
        rows = conn.execute(statement, params).fetchall()
        inserted = sum(1 for r in rows if r[0])
        return inserted, len(rows) - inserted
    statement = sql.SQL(
        "WITH new AS (INSERT INTO {t} ({n}) SELECT {n} FROM {s} ORDER BY row_no RETURNING id) "
    ).format(t=target, n=names, s=stage)
    statement += audit.inserted_runs(sql.SQL("SELECT id FROM new"))
    runs = conn.execute(statement + sql.SQL(" RETURNING last_feature_id - feature_id + 1"),
                        params).fetchall()  # fmt: skip
    return sum(n for (n,) in runs), 0


def check_mode(layer: Layer, mode: str, key: str | None) -> None:
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}")
    if mode == "upsert":
        # Not ``id``: a file must not choose the ids of new rows (the sequence would collide).
        unique = sorted(f.name for f in layer.fields if f.unique)
        if key not in unique:
            choices = ", ".join(unique) or f"none on {layer.name}; use append or replace"
            raise InvalidInput(f"upsert needs --key, a unique field: {choices}")


def can_copy_directly(layer: Layer, good: Validated, mode: str) -> bool:
    """Appending rows that reference no other layer needs no staging table."""
    return mode == "append" and not any(
        f.references and f.name in good.columns for f in layer.fields
    )


def copy_direct(
    conn: psycopg.Connection,
    layer: Layer,
    good: Validated,
    actor: str,
    note: str,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    columns = list(good.columns)
    values = [_column_values(layer, c, good.columns[c], good.wkb) for c in columns]
    existing = conn.execute(
        "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", (layer.name,)
    ).fetchone()
    # A load bigger than the table: building its indexes once afterwards is several times
    # cheaper than growing them row by row (readers wait for the commit either way).
    rebuild = len(good) >= REBUILD_INDEXES_FROM and len(good) > (existing[0] if existing else 0)
    last = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(
        sql.Identifier(layer.name))).fetchone()  # fmt: skip
    indexes = bulk.drop_secondary_indexes(conn, layer.name) if rebuild else []
    count = bulk.copy_rows(conn, layer.name, columns, zip(*values, strict=True), on_progress,
                           every=5_000)  # fmt: skip
    bulk.recreate_indexes(conn, indexes)
    record_appended(conn, layer, last[0] if last else 0, actor, note)
    return count


def record_appended(conn: psycopg.Connection, layer: Layer, last: int, actor: str,
                    note: str) -> None:  # fmt: skip
    """History for the rows this transaction added to ``layer`` past id ``last``.

    Found by their ``xmin``; another writer's rows may sit between them, hence runs.
    """
    ours = sql.SQL(
        "SELECT id FROM {} WHERE id > %(last)s "
        "AND xmin::text::bigint = pg_current_xact_id()::text::bigint %% 4294967296"
    ).format(sql.Identifier(layer.name))
    conn.execute(audit.inserted_runs(ours), {**_history(layer, actor, note), "last": last})


def stage(
    conn: psycopg.Connection,
    layer: Layer,
    good: Validated,
    on_progress: Callable[[int], None] | None = None,
) -> list[str]:
    """COPY the rows into a temporary staging table; returns the staged columns."""
    columns = list(good.columns)
    _stage(conn, layer, columns)
    values = [_column_values(layer, c, good.columns[c], good.wkb) for c in columns]
    data = zip(*values, good.numbers, strict=True)
    bulk.copy_rows(conn, STAGE, [*columns, "row_no"], data, on_progress, every=5_000)
    return columns


def merge(conn: psycopg.Connection, layer: Layer, columns: list[str], mode: str,
          key: str | None, actor: str, note: str) -> tuple[int, int]:  # fmt: skip
    """Merge the staging table into the layer: (inserted, updated), with their history."""
    return _merge(conn, layer, columns, mode, key, actor, note)


def record(conn: psycopg.Connection, layer: Layer, actor: str, summary: dict[str, Any]) -> None:
    """The import as a whole: its file and counts (each feature has its own row too)."""
    statement, params = audit.summary(layer, actor, summary, f"ingest of {summary.get('file')}")
    conn.execute(statement, params)


def drop_rows(conn: psycopg.Connection, row_numbers: set[int]) -> None:
    """Remove rows with problems from the staging table (``--skip-invalid``)."""
    conn.execute(sql.SQL("DELETE FROM {} WHERE row_no = ANY(%s)").format(sql.Identifier(STAGE)),
                 (sorted(row_numbers),))  # fmt: skip
