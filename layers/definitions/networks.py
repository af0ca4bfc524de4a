"""Municipal and estate pipeline networks (items 8 and 33)."""

from layers.model import Field, FieldType, GeometryType, Layer, Visibility
from layers.vocabulary import MATERIAL, NETWORK, PIPE_CONDITION, PIPE_OWNER

T, INTERNAL = FieldType, Visibility.INTERNAL

PIPELINES = Layer(
    name="pipelines",
    title_zh="地下管线",
    title_en="Pipelines",
    description=(
        "Pipe segments between nodes, for every network, along streets and into estates. "
        "Not public: pipeline positions are security-sensitive."
    ),
    geometry_type=GeometryType.LINESTRING,
    visibility=INTERNAL,
    group="networks",
    min_zoom=13,
    themes=("network", "condition"),
    key_fields=("network", "material", "diameter_mm", "install_year", "condition"),
    fields=(
        Field("network", T.TEXT, "管线类别", "Network", INTERNAL, NETWORK,
              required=True, index=True),
        Field("material", T.TEXT, "材质", "Material", INTERNAL, MATERIAL),
        Field("diameter_mm", T.INTEGER, "管径(mm)", "Diameter (mm)", INTERNAL,
              minimum=0, maximum=5000),
        Field("install_year", T.INTEGER, "敷设年份", "Installed", INTERNAL,
              minimum=1900, maximum=2100),
        Field("condition", T.TEXT, "状况", "Condition", INTERNAL, PIPE_CONDITION),
        Field("owner", T.TEXT, "权属", "Owner", INTERNAL, PIPE_OWNER),
        Field("operator", T.TEXT, "管理单位", "Operator", INTERNAL),
        Field("depth_m", T.FLOAT, "埋深(米)", "Depth (m)", INTERNAL, minimum=0),
    ),
    map_order=50,
)  # fmt: skip
