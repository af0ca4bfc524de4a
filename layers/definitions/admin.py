"""Administrative units and the road network: the city's frame and the app's own basemap."""

from layers.model import Field, FieldType, GeometryType, Layer, Visibility
from layers.vocabulary import ROAD_CLASS

T, PUBLIC = FieldType, Visibility.PUBLIC

DISTRICTS = Layer(
    name="districts",
    title_zh="区",
    title_en="Districts",
    description="District outlines (区), the top administrative level below the city.",
    geometry_type=GeometryType.MULTIPOLYGON,
    tile_bands=(5, 8, 11),
    visibility=PUBLIC,
    group="admin",
    key_fields=("code", "name_zh", "name_en"),
    search=("name_zh", "name_en"),
    label="name_zh",
    label_zooms=(8, 11),
    fields=(
        Field("code", T.TEXT, "行政区划代码", "Division code", PUBLIC, required=True, unique=True),
        Field("name_zh", T.TEXT, "名称", "Name (Chinese)", PUBLIC, required=True),
        Field("name_en", T.TEXT, "英文名", "Name (English)", PUBLIC),
    ),
    basemap=True,
)

STREETS = Layer(
    name="streets",
    title_zh="街道乡镇",
    title_en="Streets and townships",
    description="Sub-districts (街道) and townships (乡镇); each has one responsible planner.",
    geometry_type=GeometryType.MULTIPOLYGON,
    tile_bands=(8, 11),
    visibility=PUBLIC,
    group="admin",
    min_zoom=8,
    key_fields=("code", "name_zh", "district_code"),
    search=("name_zh", "name_en"),
    label="name_zh",
    label_zooms=(12, 14),
    fields=(
        Field("code", T.TEXT, "街乡代码", "Street code", PUBLIC, required=True, unique=True),
        Field("name_zh", T.TEXT, "名称", "Name (Chinese)", PUBLIC, required=True),
        Field("name_en", T.TEXT, "英文名", "Name (English)", PUBLIC),
        Field(
            "district_code", T.TEXT, "所属区", "District", PUBLIC,
            required=True, references="districts.code",
        ),
        Field("responsible_planner", T.TEXT, "责任规划师", "Responsible planner"),
    ),
    basemap=True,
)  # fmt: skip

ROADS = Layer(
    name="roads",
    title_zh="道路",
    title_en="Roads",
    description="Road centre lines; the basemap and the routes that municipal pipelines follow.",
    geometry_type=GeometryType.LINESTRING,
    visibility=PUBLIC,
    group="admin",
    min_zoom=10,
    tile_from_zoom=(("road_class", "local", 12),),
    themes=("road_class",),
    key_fields=("name_zh", "road_class"),
    label="name_zh",
    label_zooms=(15, 22),
    fields=(
        Field("name_zh", T.TEXT, "路名", "Name (Chinese)", PUBLIC),
        Field("road_class", T.TEXT, "道路等级", "Road class", PUBLIC, ROAD_CLASS, required=True),
        Field("width_m", T.FLOAT, "红线宽度(米)", "Width (m)", PUBLIC, minimum=0),
    ),
    basemap=True,
)
