"""What a layer is: its fields, their types, labels, vocabularies and visibility."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from layers.vocabulary import Vocabulary

STORAGE_SRID = 4326
WEB_MERCATOR_COLUMN = "geom_3857"  # a layer's stored copy for tiles (``stores_web_mercator``)
# The field that places a row in a district: the pages' district filter reads it, and a
# zoomed-out tile keeps its clusters apart by it so that the filter still works.
DISTRICT_FIELD = "district_code"
WEB_MERCATOR_HALF = 20037508.342789244  # metres from the equator to the matrix's edge
TILE_EXTENT = 4096  # units across a vector tile
# A search entry whose label holds Latin letters: the predicate of the partial index that
# finds them (migration 0023), which ``spatial.search`` writes the same so that it is used.
SEARCH_LATIN_LABEL = "label ~ '[A-Za-z]'"


def tile_unit_m(z: int) -> float:
    """One vector tile unit at zoom ``z``, in Web Mercator metres (a sixteenth of a pixel)."""
    return 2 * WEB_MERCATOR_HALF / (TILE_EXTENT * 2.0**z)


def band_column(zoom: int) -> str:
    """The column of an outline kept simplified for tiles up to ``zoom`` (``tile_bands``)."""
    return f"geom_z{zoom}"


class Visibility(IntEnum):
    """Who may see a layer or a field; a caller sees everything at or below its own level."""

    PUBLIC = 0
    INTERNAL = 1
    PRIVATE = 2


class Role(StrEnum):
    """Who a caller is; ``api.access`` turns a role into the levels it sees."""

    ANONYMOUS = "anonymous"
    PLANNER = "planner"
    RESPONSIBLE_PLANNER = "responsible_planner"  # bound to one or more streets
    ADMIN = "admin"


EDITED_BY_ADMIN = frozenset({Role.ADMIN})
EDITED_BY_PLANNERS = EDITED_BY_ADMIN | {Role.PLANNER}
EDITED_IN_STREETS = EDITED_BY_PLANNERS | {Role.RESPONSIBLE_PLANNER}
NOT_EDITABLE: frozenset[Role] = frozenset()  # written by OneMap itself


class FieldType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    BIGINT = "bigint"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    JSON = "json"
    TEXT_ARRAY = "text[]"


# What the database stores in each integer type: a value outside it is refused, not sent.
INTEGER_RANGES = {
    FieldType.INTEGER: (-(2**31), 2**31 - 1),
    FieldType.BIGINT: (-(2**63), 2**63 - 1),
}
MAX_ID = INTEGER_RANGES[FieldType.BIGINT][1]  # feature ids are bigint


class GeometryType(StrEnum):
    POINT = "Point"
    LINESTRING = "LineString"
    POLYGON = "Polygon"
    MULTIPOLYGON = "MultiPolygon"

    @property
    def dimension(self) -> int:
        """0 for points, 1 for lines, 2 for areas."""
        return {"Point": 0, "LineString": 1}.get(self.value, 2)


@dataclass(frozen=True, slots=True)
class Field:
    """One attribute of a layer.

    ``references`` names a ``layer.field`` this one points to (a foreign key);
    ``minimum``/``maximum`` bound numbers and are enforced by the database too;
    ``maintained`` fields are kept by OneMap itself (a trigger) and written by nobody else;
    an ``author`` field holds who wrote the row: OneMap fills it with the writer's name.
    """

    name: str
    type: FieldType
    label_zh: str
    label_en: str
    visibility: Visibility = Visibility.INTERNAL
    vocabulary: Vocabulary | None = None
    required: bool = False
    unique: bool = False
    index: bool = False
    references: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""
    maintained: bool = False
    author: bool = False


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer (an OGC collection): one table, its fields and how it is shown.

    ``themes`` are the vocabulary fields a map may colour the layer by (the first is the
    default); ``key_fields`` are shown in popups and listings; ``time_field`` answers the
    OGC ``datetime`` parameter. ``editors`` are the roles that may write features through the
    API (a responsible planner only inside their streets); none for a system-written layer.
    """

    name: str
    title_zh: str
    title_en: str
    description: str
    fields: tuple[Field, ...]
    geometry_type: GeometryType | None = None
    visibility: Visibility = Visibility.INTERNAL
    themes: tuple[str, ...] = ()
    key_fields: tuple[str, ...] = ()
    time_field: str | None = None
    min_zoom: int = 0
    max_zoom: int = 22
    # Tiles simplify lines and outlines to a tile unit (Douglas-Peucker) before ST_AsMVTGeom
    # snaps them to the tile's grid. Off for small footprints (estates, buildings): the grid
    # alone gives a tile within 1 % of the size (at z14-z16 the same bytes), 10-20 % sooner.
    tile_simplify: bool = True
    # Keep the geometry in EPSG:3857 too (``geom_3857``, a generated column the database
    # keeps current on every write), so a tile transforms no feature: for the dense layers
    # whose tiles are asked most (a z14 buildings tile's statement 2.3 -> 2.0 ms).
    stores_web_mercator: bool = False
    # Zoom bands of large outlines (district, street): for each zoom b here the outline is
    # kept simplified to a tile unit at b, in EPSG:3857 (``geom_z{b}``, a generated column
    # the database recomputes on every write). A tile at zoom z starts from the band of the
    # least b >= z instead of the whole outline (a z8 districts tile 10.9 -> 5.5 ms).
    tile_bands: tuple[int, ...] = ()
    # Points zoomed out: below ``cluster_below`` a tile draws one point per cell of an
    # eighth of the tile (32 px) and district, at the cell's points' centre, with their
    # number (``cluster_count``) and most common theme value: thousands of overlapping
    # circles at a city view say nothing a count does not.
    cluster_below: int | None = None
    # Features drawn only from a zoom on, as (field, term, zoom): local roads from z12, as
    # basemaps do (a z10 roads tile of the city centre held 7,261 segments, 230 kB).
    tile_from_zoom: tuple[tuple[str, str, int], ...] = ()
    group: str = "records"
    editors: frozenset[Role] = EDITED_BY_ADMIN
    # On the pages: a spatial layer is drawn on the one map (/map) unless ``on_map`` is off,
    # in ``map_order`` (lowest first, ties in registry order), ticked at start if
    # ``map_shown``; ``basemap`` layers are drawn together under every page instead.
    on_map: bool = True
    map_order: int = 100
    map_shown: bool = False
    basemap: bool = False
    # Free-text search (``/search``, ``q=``): ``search`` are the text fields matched, the first
    # being the feature's name; ``search_within`` is a reference whose target's name comes
    # first (a building "5号楼" of the estate "建国西里" is found as "建国西里5号楼").
    search: tuple[str, ...] = ()
    search_within: str | None = None
    # A reference whose feature's popup lists this record's dates as its history (a
    # building's popup shows its elevator retrofit: requested, approved, started, in service).
    history_of: str | None = None
    # Names written on the map: ``label`` is the field shown, at zooms ``label_zooms``
    # (first and last, inclusive): district names zoomed out, building numbers zoomed in.
    label: str | None = None
    label_zooms: tuple[int, int] = (0, 22)
    fields_by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"layer {self.name}: duplicate field names")
        for reserved in ("id", "geom"):
            if reserved in names:
                raise ValueError(f"layer {self.name}: {reserved!r} is reserved")
        object.__setattr__(self, "fields_by_name", {f.name: f for f in self.fields})
        for name in (*self.themes, *self.key_fields, *filter(None, [self.time_field])):
            if name not in self.fields_by_name:
                raise ValueError(f"layer {self.name}: unknown field {name!r}")
        self._check_search()
        if self.tile_bands and (
            list(self.tile_bands) != sorted(set(self.tile_bands))
            or self.geometry_type in (None, GeometryType.POINT)
            or not self.tile_simplify
        ):
            raise ValueError(f"layer {self.name}: tile_bands are rising zooms of simplified "
                             "lines or outlines")  # fmt: skip
        if self.cluster_below is not None and self.geometry_type is not GeometryType.POINT:
            raise ValueError(f"layer {self.name}: only points are clustered")
        for name, code, _ in self.tile_from_zoom:
            f = self.fields_by_name.get(name)
            if f is None or f.vocabulary is None or code not in f.vocabulary.codes:
                raise ValueError(f"layer {self.name}: tile_from_zoom names a term of a field")
            if f.visibility > self.visibility:  # what a tile leaves out would tell the value
                raise ValueError(f"layer {self.name}: tile_from_zoom's field {name!r} is less "
                                 "visible than its layer")  # fmt: skip

    def clusters_at(self, z: int) -> bool:
        """Whether a tile at zoom ``z`` draws this layer's points as clusters."""
        return self.cluster_below is not None and z < self.cluster_below

    def tile_band(self, z: int) -> int | None:
        """The band a tile at zoom ``z`` starts from, if any (see ``tile_bands``)."""
        return next((b for b in self.tile_bands if b >= z), None)

    def _check_search(self) -> None:
        for name in self.search:
            f = self.fields_by_name.get(name)
            if f is None or f.type is not FieldType.TEXT:
                raise ValueError(f"layer {self.name}: search field {name!r} is not a text field")
            if f.visibility > self.visibility:  # whoever sees the layer may see what matched
                raise ValueError(f"layer {self.name}: search field {name!r} is not visible "
                                 "to everyone who sees the layer")  # fmt: skip
        if self.search_within is not None:
            f = self.fields_by_name.get(self.search_within)
            if not self.search or f is None or not (f.references or "").endswith(".id"):
                raise ValueError(f"layer {self.name}: search_within must reference an id")
        if self.label is not None:
            f = self.fields_by_name.get(self.label)
            if f is None or f.type is not FieldType.TEXT or not self.is_spatial:
                raise ValueError(f"layer {self.name}: label must be a text field of a map layer")
            if f.visibility > self.visibility:
                raise ValueError(f"layer {self.name}: label {self.label!r} is less visible "
                                 "than its layer")  # fmt: skip
        if self.history_of is not None:
            f = self.fields_by_name.get(self.history_of)
            if f is None or not (f.references or "").endswith(".id"):
                raise ValueError(f"layer {self.name}: history_of must reference an id")

    @property
    def search_parent(self) -> str | None:
        """The layer whose name prefixes this one's in search (``search_within``'s target)."""
        if self.search_within is None:
            return None
        return (self.fields_by_name[self.search_within].references or "").split(".")[0]

    @property
    def is_spatial(self) -> bool:
        return self.geometry_type is not None

    def visible_fields(self, level: Visibility) -> tuple[Field, ...]:
        """The fields a caller at ``level`` may see (none if the layer itself is above it)."""
        if self.visibility > level:
            return ()
        return tuple(f for f in self.fields if f.visibility <= level)

    def writable_fields(self, level: Visibility) -> tuple[Field, ...]:
        """The fields a writer at ``level`` may set: the visible ones OneMap does not keep."""
        return tuple(f for f in self.visible_fields(level) if not f.maintained)
