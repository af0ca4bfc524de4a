"""Street scopes: what a responsible planner sees more of inside the streets they serve.

A responsible planner (责任规划师) is appointed to one or more streets. Outside them they see
what the public sees; inside them they see the internal fields and layers too. Whether a row
lies in a street is derived from the registry, never listed per layer:

1. the layer has a field referencing ``streets.code``: that field;
2. it has a geometry: the geometry intersects the streets;
3. it references a layer of rule 1 (``estate_id`` → the estate's street): through it;
4. it references ``districts.code``: the districts of the streets (plan batches);
5. otherwise no row is in scope (the change history, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from layers import Field, Layer, Visibility, get_layer
from spatial.cql import SqlText


@dataclass(frozen=True, slots=True)
class StreetScope:
    """The streets a caller serves and the level they have everywhere else."""

    streets: tuple[str, ...]
    outside: Visibility = Visibility.PUBLIC

    def limits_rows(self, layer: Layer) -> bool:
        """Rows outside the streets are hidden: the layer itself is above ``outside``."""
        return layer.visibility > self.outside

    def inside_only(self, fields: tuple[Field, ...]) -> tuple[Field, ...]:
        """The fields shown only on rows inside the streets."""
        return tuple(f for f in fields if f.visibility > self.outside)


async def row_in_scope(
    conn: psycopg.AsyncConnection, layer: Layer, fid: int, scope: StreetScope
) -> bool:
    """Whether feature ``fid`` of ``layer`` lies in the scope's streets."""
    cur = await conn.execute(
        sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            condition(layer, scope), sql.Identifier(layer.name)
        ),
        (fid,),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def level_on_row(
    conn: psycopg.AsyncConnection, layer: Layer, fid: int, level: Visibility,
    scope: StreetScope | None,
) -> Visibility:  # fmt: skip
    """The level a caller has on one feature: ``level``, or the scope's outside one."""
    if scope is None or await row_in_scope(conn, layer, fid, scope):
        return level
    return scope.outside


def condition(layer: Layer, scope: StreetScope) -> SqlText:
    """A boolean SQL expression over the layer's columns: the row lies in the scope's streets."""
    return condition_over(layer.name, sql.Literal(list(scope.streets)))


def condition_over(name: str, streets: sql.Composable) -> SqlText:
    """The scope condition for layer ``name`` over ``streets`` (a text[] value or placeholder).

    ``FALSE`` when no row of the layer can be in a street scope.
    """
    layer = get_layer(name)
    in_streets = sql.SQL("ANY({}::text[])").format(streets)
    street = _by_street_field(layer)
    if street is not None:
        return sql.SQL("{} = {}").format(sql.Identifier(street.name), in_streets)
    if layer.is_spatial:
        return sql.SQL(
            "ST_Intersects(geom, (SELECT ST_Union(geom) FROM streets WHERE code = {}))"
        ).format(in_streets)
    for f in layer.fields:
        if not f.references:
            continue
        target, column = f.references.split(".")
        via = _by_street_field(get_layer(target))
        if target == "districts":
            return sql.SQL("{} IN (SELECT district_code FROM streets WHERE code = {})").format(
                sql.Identifier(f.name), in_streets
            )
        if via is not None:
            return sql.SQL("{} IN (SELECT {} FROM {} WHERE {} = {})").format(
                sql.Identifier(f.name), sql.Identifier(column), sql.Identifier(target),
                sql.Identifier(via.name), in_streets,
            )  # fmt: skip
    return sql.SQL("FALSE")


def _by_street_field(layer: Layer) -> Field | None:
    return next((f for f in layer.fields if f.references == "streets.code"), None)
