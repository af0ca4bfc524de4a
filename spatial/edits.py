"""Writing single features (OGC API Features Part 4), checked like an import and audited.

A body is a GeoJSON Feature. Its properties go through ``spatial.validate`` (the same checks a
file import runs: types, vocabularies, bounds, required fields, geometry type, validity and
place), its references are looked up, and the write, the history record (who, when, before,
after) and the layer-version bump (a trigger) commit together or not at all.

Optimistic concurrency: a feature's ETag is a hash of the feature as the caller reads it
(``spatial.features.representation_tag``); an edit whose ``If-Match`` names another one
than the feature's current representation (in the body's CRS), checked under the row's lock,
gets 412.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from layers import REGISTRY, STORAGE_SRID, Layer, Visibility
from layers.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from spatial import audit
from spatial import crs as crs_mod
from spatial.features import FeatureQuery, feature_text, representation_tag
from spatial.scope import StreetScope, level_on_row, row_in_scope
from spatial.validate import as_parameter, city_extent_async, validate


@dataclass(frozen=True)
class Editor:
    """Who writes, what they may see, and where (a responsible planner's streets)."""

    name: str
    level: Visibility
    scope: StreetScope | None = None


@dataclass(frozen=True)
class Written:
    id: int


async def _check_unchanged(
    conn: psycopg.AsyncConnection, layer: Layer, fid: int, editor: Editor,
    if_match: str | None, crs: crs_mod.Crs,
) -> None:  # fmt: skip
    """412 unless ``If-Match`` names the feature as the editor now reads it (or ``*``)."""
    if if_match is None:
        return
    tags = [t.strip() for t in if_match.split(",")]  # If-Match compares strong tags only
    if "*" in tags:
        return
    q = FeatureQuery(layer=layer, level=editor.level, crs=crs, ids=(fid,), scope=editor.scope)
    text = await feature_text(conn, q)
    current = representation_tag(text) if text is not None else None
    if current not in tags:
        raise PreconditionFailed(f"feature {fid} changed since you read it (now {current})")


def _feature_body(body: Any) -> tuple[dict[str, Any], Any]:
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput('the body must be a GeoJSON Feature ({"type": "Feature", ...})')
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput("properties must be a JSON object")
    return props, body.get("geometry", ...)  # ... = not given (PATCH keeps the geometry)


def _geometry(layer: Layer, value: Any, content_crs: crs_mod.Crs) -> Any:
    """The shapely geometry in storage coordinates, or None for a non-spatial layer."""
    if not layer.is_spatial:
        if value not in (None, ...):
            raise InvalidInput(f"{layer.name!r} has no geometry; send null")
        return None
    if not isinstance(value, dict):
        raise InvalidInput("geometry: a GeoJSON geometry object is required")
    try:
        geom = shapely.from_geojson(json.dumps(value))
    except Exception:  # shapely's GEOS errors
        raise InvalidInput("geometry: not a valid GeoJSON geometry") from None
    if content_crs.flip:  # authority axis order (north, east) to x = east
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    crs_mod.check_coordinates(geom, content_crs, "geometry")
    if content_crs.uri != crs_mod.DEFAULT.uri:
        web = content_crs if content_crs.shift else None
        geom = crs_mod.to_storage(np.array([geom]), f"EPSG:{content_crs.srid}", web)[0]
    return geom


async def _checked(
    conn: psycopg.AsyncConnection, layer: Layer, row: dict[str, Any], geom: Any
) -> tuple[dict[str, Any], bytes | None]:
    """The row as stored, or InvalidInput naming every problem (ingest's checks)."""
    import pandas as pd  # 0.2 s to import: not for every start of the command line

    frame = pd.DataFrame({f.name: [row.get(f.name)] for f in layer.fields})
    geoms = np.array([geom], dtype=object) if layer.is_spatial else None
    extent = await city_extent_async(conn) if geom is not None else None
    good, problems = validate(frame, geoms, layer, make_valid=False, extent=extent)
    if problems:
        raise InvalidInput("; ".join(f"{p.field}: {p.reason}" for p in problems))
    values = {name: column[0] for name, column in good.columns.items() if name != "geom"}
    for f in layer.fields:
        value = values.get(f.name)
        if f.references and value is not None:
            table, column = f.references.split(".")
            cur = await conn.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} = %s)").format(
                    sql.Identifier(table), sql.Identifier(column)
                ),
                (value,),
            )
            found = await cur.fetchone()
            if not (found and found[0]):
                raise InvalidInput(f"{f.name}: {value} is not a {table}.{column}")
    wkb = shapely.to_wkb(good.columns["geom"][0]) if layer.is_spatial else None
    return values, wkb


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


async def _current(
    conn: psycopg.AsyncConnection, layer: Layer, fid: int
) -> tuple[dict[str, Any], Any]:
    """The stored row (fields) and its geometry (shapely), locked for the edit."""
    names = [f.name for f in layer.fields]
    geom = sql.SQL("ST_AsBinary(geom)" if layer.is_spatial else "NULL")
    cur = await conn.execute(
        sql.SQL("SELECT {}{} FROM {} WHERE id = %s FOR UPDATE").format(
            geom,
            sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(n)) for n in names),
            sql.Identifier(layer.name),
        ),
        (fid,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"feature {fid} not found in {layer.name!r}")
    shape = shapely.from_wkb(bytes(row[0])) if row[0] is not None else None
    return dict(zip(names, row[1:], strict=True)), shape


def _merge(
    layer: Layer, editor: Editor, stored: dict[str, Any], props: dict[str, Any], replace: bool
) -> dict[str, Any]:
    """The full row after the edit: hidden and maintained fields keep their stored values.

    A maintained field may be sent back as it was read (a client's round trip), not changed.
    """
    visible = {f.name for f in layer.visible_fields(editor.level)}
    writable = {f.name for f in layer.writable_fields(editor.level)}
    unknown = sorted(set(props) - visible)
    if unknown:
        raise InvalidInput(f"unknown properties: {', '.join(unknown)}")
    kept = sorted(n for n in set(props) - writable if props[n] != stored.get(n))
    if kept:
        raise InvalidInput(f"{', '.join(kept)}: kept by OneMap from other records, not written")
    row = dict(stored)
    if replace:
        row.update(dict.fromkeys(writable))
    row.update({n: v for n, v in props.items() if n in writable})
    for f in layer.fields:
        if f.author:  # who wrote it: the caller on create, the first writer after that
            row[f.name] = stored.get(f.name) or editor.name
            if f.name in props and props[f.name] not in (None, row[f.name]):
                raise InvalidInput(f"{f.name}: OneMap records who wrote it ({row[f.name]})")
    return row


async def _write_row(
    conn: psycopg.AsyncConnection, layer: Layer, values: dict[str, Any], wkb: bytes | None,
    fid: int | None,
) -> int:  # fmt: skip
    names = list(values)
    params = [as_parameter(layer.fields_by_name[n], values[n]) for n in names]
    columns = [sql.Identifier(n) for n in names]
    placeholders: list[sql.Composable] = [sql.SQL("%s")] * len(names)
    if layer.is_spatial:
        columns.append(sql.Identifier("geom"))
        placeholders.append(sql.SQL("ST_GeomFromWKB(%s, {})").format(sql.Literal(STORAGE_SRID)))
        params.append(wkb)
    table = sql.Identifier(layer.name)
    if fid is None:
        statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
            table, sql.SQL(", ").join(columns), sql.SQL(", ").join(placeholders)
        )
    else:
        sets = [sql.SQL("{} = {}").format(c, p) for c, p in zip(columns, placeholders, strict=True)]
        statement = sql.SQL(
            "UPDATE {} SET {}, updated_at = now() WHERE id = %s RETURNING id"
        ).format(table, sql.SQL(", ").join(sets))
        params.append(fid)
    cur = await conn.execute(statement, params)
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def _snapshot(values: dict[str, Any] | None, geom: Any) -> dict[str, Any] | None:
    if values is None:
        return None
    out = {k: _plain(v) for k, v in values.items()}
    if geom is not None:
        out["geometry"] = json.loads(shapely.to_geojson(geom))
    return out


async def _record(
    conn: psycopg.AsyncConnection, layer: Layer, fid: int, action: str, editor: Editor,
    before: dict[str, Any] | None, after: dict[str, Any] | None,
) -> None:  # fmt: skip
    await conn.execute(*audit.one(layer, fid, action, editor.name, before, after))


async def _check_references(
    conn: psycopg.AsyncConnection, layer: Layer, values: dict[str, Any], editor: Editor
) -> None:
    """A responsible planner's row may only point at rows inside their streets.

    Without this, an opinion in their street could be attached to another district's
    project, and a request to another street's estate, and count there.
    """
    if editor.scope is None:
        return
    for f in layer.fields:
        value = values.get(f.name)
        if not f.references or value is None:
            continue
        target, column = f.references.split(".")
        if column != "id" or target not in REGISTRY:  # codes: the row's own scope covers them
            continue
        if not await row_in_scope(conn, REGISTRY[target], int(value), editor.scope):
            raise Forbidden(f"{f.name}: {target} {value} is outside your streets")


async def _check_scope(
    conn: psycopg.AsyncConnection, layer: Layer, fid: int, editor: Editor, *, stored: bool
) -> None:
    """A responsible planner edits inside their streets only.

    A stored row outside them is not found when the caller cannot see such rows at all.
    """
    if editor.scope is None or await row_in_scope(conn, layer, fid, editor.scope):
        return
    if stored and editor.scope.limits_rows(layer):
        raise NotFound(f"feature {fid} not found in {layer.name!r}")
    raise Forbidden(f"feature {fid} of {layer.name!r} is (or would be) outside your streets")


async def create(
    conn: psycopg.AsyncConnection, layer: Layer, editor: Editor, body: Any,
    content_crs: crs_mod.Crs = crs_mod.DEFAULT,
) -> Written:  # fmt: skip
    props, geometry = _feature_body(body)
    row = _merge(layer, editor, {}, props, replace=True)
    geom = _geometry(layer, None if geometry is ... else geometry, content_crs)
    async with conn.transaction():
        values, wkb = await _checked(conn, layer, row, geom)
        await _check_references(conn, layer, values, editor)
        fid = await _write_row(conn, layer, values, wkb, None)
        await _check_scope(conn, layer, fid, editor, stored=False)
        await _record(conn, layer, fid, "insert", editor, None, _snapshot(values, geom))
    return Written(fid)


async def update(
    conn: psycopg.AsyncConnection, layer: Layer, editor: Editor, fid: int, body: Any,
    *, replace: bool, if_match: str | None, content_crs: crs_mod.Crs = crs_mod.DEFAULT,
) -> Written:  # fmt: skip
    """PUT (``replace``: fields not sent become empty) or PATCH (merge)."""
    props, geometry = _feature_body(body)
    async with conn.transaction():
        stored, stored_geom = await _current(conn, layer, fid)
        await _check_scope(conn, layer, fid, editor, stored=True)
        await _check_unchanged(conn, layer, fid, editor, if_match, content_crs)
        row = _merge(layer, editor, stored, props, replace=replace)
        if geometry is ... and not replace:
            geom = stored_geom
        else:
            geom = _geometry(layer, None if geometry is ... else geometry, content_crs)
        values, wkb = await _checked(conn, layer, row, geom)
        await _check_references(conn, layer, values, editor)
        await _write_row(conn, layer, values, wkb, fid)
        await _check_scope(conn, layer, fid, editor, stored=False)
        await _record(conn, layer, fid, "update", editor,
                      _snapshot(stored, stored_geom), _snapshot(values, geom))  # fmt: skip
    return Written(fid)


async def delete(
    conn: psycopg.AsyncConnection, layer: Layer, editor: Editor, fid: int, if_match: str | None
) -> Written:
    async with conn.transaction():
        stored, stored_geom = await _current(conn, layer, fid)
        await _check_scope(conn, layer, fid, editor, stored=True)
        await _check_unchanged(conn, layer, fid, editor, if_match, crs_mod.DEFAULT)
        try:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(layer.name)), (fid,)
            )
        except psycopg.errors.ForeignKeyViolation:
            raise InvalidInput(
                f"feature {fid} is referenced by other features; change or delete those first"
            ) from None
        await _record(conn, layer, fid, "delete", editor, _snapshot(stored, stored_geom), None)
    return Written(fid)


async def history(
    conn: psycopg.AsyncConnection, layer: Layer, fid: int, level: Visibility,
    scope: StreetScope | None, limit: int = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """The changes of one feature, newest first, showing only the fields the caller may see."""
    here = await level_on_row(conn, layer, fid, level, scope)
    if layer.visibility > here:  # an internal row outside a responsible planner's streets
        raise NotFound(f"feature {fid} not found in {layer.name!r}")
    visible = {f.name for f in layer.visible_fields(here)} | {"geometry"}
    cur = await conn.execute(
        sql.SQL("SELECT action, actor, changed_at, before, after, note FROM change_history WHERE ")
        + audit.OF_FEATURE
        + sql.SQL(" ORDER BY changed_at DESC, id DESC LIMIT %(limit)s"),
        {"layer": layer.name, "fid": fid, "limit": limit},
    )
    changes = await cur.fetchall()
    if not changes:  # a deleted feature keeps its history; one that never was has none
        exists = await conn.execute(
            sql.SQL("SELECT FROM {} WHERE id = %s").format(sql.Identifier(layer.name)), (fid,)
        )
        if await exists.fetchone() is None:
            raise NotFound(f"feature {fid} not found in {layer.name!r}, nor in its history")
    out = []
    for action, actor, changed_at, before, after, note in changes:
        out.append({
            "action": action,
            "actor": actor,
            "changedAt": changed_at.isoformat(),
            "note": note,  # an import's file, an analysis's batch
            "before": {k: v for k, v in before.items() if k in visible} if before else None,
            "after": {k: v for k, v in after.items() if k in visible} if after else None,
        })  # fmt: skip
    return out
