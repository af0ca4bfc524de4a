"""From an HTTP request to a ``FeatureQuery``: the parameters shared by items and exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from api.access import CallerDep, LayerDep
from api.deps import pooled
from api.openapi import queryable_fields
from api.params import (
    BboxCrsDep,
    BboxDep,
    BboxTooLarge,
    CrsDep,
    DatetimeDep,
    FilterCrsDep,
    PropertiesDep,
    SortbyDep,
    check_bbox,
)
from api.state import state_of
from layers.errors import InvalidInput, shown
from spatial import cql, search
from spatial.features import FeatureQuery
from spatial.validate import city_extent_async

# Parameters the routes read themselves; any other parameter must be a queryable field.
STANDARD = {
    "f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang",
    "filter-crs", "sortby", "properties", "skipGeometry", "format", "q",
}  # fmt: skip


async def base_query(
    request: Request,
    layer: LayerDep,
    caller: CallerDep,
    bbox: BboxDep,
    bbox_crs: BboxCrsDep,
    crs: CrsDep,
    datetime: DatetimeDep,
    sortby: SortbyDep,
    properties: PropertiesDep,
    filter_crs: FilterCrsDep,
    filter_: Annotated[str | None, Query(alias="filter", description="A CQL2 filter")] = None,
    filter_lang: Annotated[
        str, Query(alias="filter-lang", description="cql2-text or cql2-json")
    ] = "cql2-text",
    skip_geometry: Annotated[bool, Query(alias="skipGeometry")] = False,
    q: Annotated[
        str | None,
        Query(
            description="Free text: names, addresses, pinyin or initials; commas separate "
            "alternatives, spaces words that must all be found"
        ),
    ] = None,
) -> FeatureQuery:
    """Everything but paging; raises ``InvalidInput`` naming the first bad parameter."""
    level = caller.level
    comparable = {f.name: f for f in queryable_fields(layer, level)}
    equals = []
    for name, value in request.query_params.multi_items():
        if name in STANDARD:
            continue
        f = comparable.get(name)
        if f is None:
            raise InvalidInput(f"unknown parameter or property {shown(name)}")
        equals.append((name, cql.typed_value(f, value)))
    if bbox is not None:
        limit = state_of(request).features.max_bbox_area_deg2
        try:
            bbox = check_bbox(bbox, bbox_crs, limit)
        except BboxTooLarge:  # cut to the city, whose extent is read only then
            pools = state_of(request).pools
            async with pooled(pools.primary, pools.timeout_s) as conn:
                city = await city_extent_async(conn)
            bbox = check_bbox(bbox, bbox_crs, limit, city)
    compiled = None
    if filter_:
        compiled = cql.compile_filter(cql.parse(filter_, filter_lang), layer, level, filter_crs)
    return FeatureQuery(
        layer=layer,
        level=level,
        bbox=bbox,
        bbox_crs=bbox_crs,
        datetime=datetime,
        equals=tuple(equals),
        filter=compiled,
        text=None if q is None else search.parse_alternatives(q),
        sortby=sortby,
        properties=properties,
        skip_geometry=skip_geometry,
        crs=crs,
        scope=caller.scope,
    )


QueryDep = Annotated[FeatureQuery, Depends(base_query)]
