"""The search index's triggers, made from the registry's ``search`` declarations at migrate.

Each searchable layer gets one trigger function and four statement triggers (insert, update,
delete, truncate) that rewrite its rows of ``search_entries`` from the transition tables — a
statement at a time, so a 100,000-row import costs one set-based insert, not 100,000 calls.
A layer searched "within" another (buildings within estates) is re-indexed when that other
layer's rows change, so renaming an estate renames its buildings in search.

A definition that changed since the last migrate (or a layer indexed for the first time) is
rebuilt from the table's rows; otherwise the index is left as the triggers kept it.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from layers import REGISTRY, Layer
from spatial import catalog

ENTRY_COLUMNS = sql.SQL(
    "layer, feature_id, label, detail, haystack, place, extent, pinyin, pinyin_alternate, initials"
)


def searchable_layers() -> list[Layer]:
    return [layer for layer in REGISTRY.values() if layer.search]


def _entries_from(layer: Layer, rows: sql.Composable) -> sql.Composed:
    """SELECT of ``layer``'s search entries for ``rows`` (a table or transition table)."""
    n = sql.Identifier("n")
    label: sql.Composable = sql.SQL("n.{}").format(sql.Identifier(layer.search[0]))
    others = [sql.SQL("n.{}").format(sql.Identifier(f)) for f in layer.search[1:]]
    join: sql.Composable = sql.SQL("")
    detail: sql.Composable = others[0] if others else sql.SQL("NULL")
    parent_name = layer.search_parent
    if parent_name is not None:
        parent = REGISTRY[parent_name]
        join = sql.SQL(" LEFT JOIN {} p ON p.id = n.{}").format(
            sql.Identifier(parent_name), sql.Identifier(layer.search_within or "")
        )
        label = sql.SQL("concat(p.{}, {})").format(sql.Identifier(parent.search[0]), label)
        parent_others = [sql.SQL("p.{}").format(sql.Identifier(f)) for f in parent.search[1:]]
        detail = parent_others[0] if parent_others else detail
        others += parent_others
    geometry = sql.SQL("ST_PointOnSurface(n.geom) AS place, Box2D(n.geom) AS extent")
    if not layer.is_spatial:
        geometry = sql.SQL("NULL::geometry AS place, NULL::box2d AS extent")
    inner = sql.SQL(
        "SELECT {layer} AS layer, n.id AS feature_id, {label} AS label, {detail} AS detail, "
        "concat_ws(' ', {parts}) AS haystack, {geometry} FROM {rows} {n}{join}"
    ).format(
        layer=sql.Literal(layer.name), label=label, detail=detail,
        parts=sql.SQL(", ").join([label, *others]), geometry=geometry, rows=rows, n=n, join=join,
    )  # fmt: skip
    # Set-based: every row's characters looked up in one join; a function call per row
    # costs ~50 µs, 5 s more for a 100,000-row import.
    return sql.SQL(
        "WITH e AS MATERIALIZED ({inner}), "
        "c AS (SELECT e.feature_id, c.ch, c.i FROM e, "
        "      regexp_split_to_table(e.haystack, '') WITH ORDINALITY AS c(ch, i)), "
        "py AS (SELECT c.feature_id, "
        "      string_agg(coalesce(p.syllable, lower(c.ch)), '' ORDER BY c.i) AS pinyin, "
        "      string_agg(coalesce(p.alternate, p.syllable, lower(c.ch)), '' ORDER BY c.i) "
        "        AS pinyin_alternate, "
        "      string_agg(coalesce(left(p.syllable, 1), lower(c.ch)), '' ORDER BY c.i) "
        "        AS initials "
        "      FROM c LEFT JOIN onemap_pinyin_chars p ON p.ch = c.ch GROUP BY c.feature_id) "
        "SELECT e.layer, e.feature_id, e.label, e.detail, e.haystack, e.place, e.extent, "
        "py.pinyin, py.pinyin_alternate, py.initials "
        "FROM e JOIN py USING (feature_id) WHERE e.label IS NOT NULL"
    ).format(inner=inner)


def _insert(layer: Layer, rows: sql.Composable) -> sql.Composed:
    return sql.SQL("INSERT INTO search_entries ({}) {}").format(
        ENTRY_COLUMNS, _entries_from(layer, rows)
    )


def _delete(layer: Layer, rows: sql.Composable) -> sql.Composed:
    return sql.SQL(
        "DELETE FROM search_entries s USING {} o WHERE s.layer = {} AND s.feature_id = o.id"
    ).format(rows, sql.Literal(layer.name))


def _children(layer: Layer) -> list[Layer]:
    return [child for child in searchable_layers() if child.search_parent == layer.name]


def _reindex_children(layer: Layer, updated: sql.Composable) -> list[sql.Composed]:
    """After an update of ``layer``: its children's entries, rebuilt from their rows."""
    parts = []
    for child in _children(layer):
        rows = sql.SQL("(SELECT c.* FROM {} c JOIN {} u ON c.{} = u.id)").format(
            sql.Identifier(child.name), updated, sql.Identifier(child.search_within or "")
        )
        parts += [_delete(child, rows), _insert(child, rows)]
    return parts


def _searched_columns(layer: Layer) -> list[str]:
    """The columns a layer's entries are made of (its parent's are watched on the parent)."""
    columns = ["id", *layer.search]
    if layer.search_within:
        columns.append(layer.search_within)
    if layer.is_spatial:
        columns.append("geom")
    return columns


def _changed(layer: Layer, rows: str, others: str) -> sql.Composed:
    """The rows of transition table ``rows`` with no twin in ``others`` on the searched columns.

    An update that leaves every searched column alone (a building's elevator stage, an
    estate's status) rewrites no entry: most updates are of that kind.
    """
    columns = _searched_columns(layer)
    mine = sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in columns)
    theirs = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in columns)
    return sql.SQL(
        "(SELECT r.* FROM {rows} r WHERE NOT EXISTS (SELECT FROM {others} t "
        "WHERE t.id = r.id AND ({theirs}) IS NOT DISTINCT FROM ({mine})))"
    ).format(rows=sql.SQL(rows), others=sql.SQL(others), mine=mine, theirs=theirs)


def function_name(layer: Layer) -> sql.Identifier:
    return sql.Identifier(f"onemap_search_{layer.name}")


def _planned_each_time(statements: list[sql.Composed]) -> sql.Composed:
    """``statements`` run by EXECUTE, so each is planned for the rows of this statement.

    PL/pgSQL plans a static statement once per session: planned for a one-row edit, joining
    the transition tables of a 40,000-row update took minutes (a nested loop, 40,000²
    comparisons); planned for an import, each later one-row edit hashed whole tables.
    """
    return sql.SQL(" ").join(sql.SQL("EXECUTE $q${}$q$;").format(s) for s in statements)


def trigger_function(layer: Layer) -> sql.Composed:
    old, new = sql.SQL("old_rows"), sql.SQL("new_rows")
    changed_old = _changed(layer, "old_rows", "new_rows")
    changed_new = _changed(layer, "new_rows", "old_rows")
    update = [_delete(layer, changed_old), _insert(layer, changed_new)]
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN "
        "IF TG_OP = 'TRUNCATE' THEN DELETE FROM search_entries WHERE layer = {layer}; "
        "RETURN NULL; END IF; "
        "IF TG_OP = 'DELETE' THEN {delete} END IF; "
        "IF TG_OP = 'INSERT' THEN {insert} END IF; "
        "IF TG_OP = 'UPDATE' THEN {update} END IF; "
        "RETURN NULL; END $fn$"
    ).format(
        name=function_name(layer), layer=sql.Literal(layer.name),
        delete=_planned_each_time([_delete(layer, old)]),
        insert=_planned_each_time([_insert(layer, new)]),
        update=_planned_each_time(update + _reindex_children(layer, changed_new)),
    )  # fmt: skip


_TRIGGERS = (
    ("onemap_search_insert", "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("onemap_search_update", "AFTER UPDATE",
     "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("onemap_search_delete", "AFTER DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ("onemap_search_truncate", "AFTER TRUNCATE", ""),
)  # fmt: skip


def index_layers(conn: psycopg.Connection) -> list[str]:
    """Create or refresh every searchable layer's triggers; the layers whose index was rebuilt.

    Runs after the migrations at head (``database.lifecycle.migrate``), in one transaction.
    """
    rebuilt = []
    with conn.transaction():
        for layer in searchable_layers():
            if not catalog.table_exists(conn, layer.name):
                continue
            function = trigger_function(layer)
            definition = function.as_string(conn)
            conn.execute(function)
            for trigger, when, referencing in _TRIGGERS:
                conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    sql.Identifier(trigger), sql.Identifier(layer.name)))  # fmt: skip
                conn.execute(
                    sql.SQL("CREATE TRIGGER {} {} ON {} {} FOR EACH STATEMENT "
                            "EXECUTE FUNCTION {}()")
                    .format(sql.Identifier(trigger), sql.SQL(when), sql.Identifier(layer.name),
                            sql.SQL(referencing), function_name(layer))
                )  # fmt: skip
            known = conn.execute(
                "SELECT definition FROM search_definitions WHERE layer = %s", (layer.name,)
            ).fetchone()
            if known != (definition,):
                conn.execute("DELETE FROM search_entries WHERE layer = %s", (layer.name,))
                conn.execute(_insert(layer, sql.Identifier(layer.name)))
                conn.execute(
                    "INSERT INTO search_definitions VALUES (%s, %s) "
                    "ON CONFLICT (layer) DO UPDATE SET definition = excluded.definition",
                    (layer.name, definition),
                )
                rebuilt.append(layer.name)
        _forget_unsearched(conn)
    return rebuilt


def _forget_unsearched(conn: psycopg.Connection) -> None:
    """A layer no longer searched: its triggers (with their function) and entries go."""
    names = [layer.name for layer in searchable_layers()]
    stale = conn.execute(
        "SELECT proname FROM pg_proc WHERE proname LIKE 'onemap\\_search\\_%%' "
        "AND NOT substr(proname, 15) = ANY(%s)",
        (names,),
    ).fetchall()
    for (function,) in stale:
        conn.execute(sql.SQL("DROP FUNCTION {}() CASCADE").format(sql.Identifier(function)))
    conn.execute("DELETE FROM search_entries WHERE NOT layer = ANY(%s)", (names,))
    conn.execute("DELETE FROM search_definitions WHERE NOT layer = ANY(%s)", (names,))
