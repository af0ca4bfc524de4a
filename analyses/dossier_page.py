"""The estate dossier as a page to hand out: every value in words, printable on A4.

Codes become their registry labels (Chinese with English), booleans 是/否, nested records
tables, district and street codes their names; the map is drawn in SVG with a scale bar and
a north arrow, so the page needs no script and no tiles.
"""

from __future__ import annotations

import html
import math
from typing import Any

import shapely

from layers import REGISTRY, Layer

# Which layer each section's rows come from: their fields give the labels and vocabularies.
SECTION_LAYERS = {
    "buildings": "buildings", "idle_parcels": "idle_parcels",
    "governance_issues": "governance_issues", "health_checks": "health_checks",
    "opinions": "opinions", "history": "change_history", "plan_batch": "plan_batches",
    "project": "projects", "resident_requests": "resident_requests",
    "services_nearby": "service_facilities", "coverage_gaps": "service_facilities",
}  # fmt: skip
# Labels of what the analyses add (not registry fields).
LABELS = {
    "id": "编号 Id", "nearest_m": "最近距离 Nearest (m)", "feasible": "具备条件 Feasible",
    "reasons": "原因 Reasons", "recommendation": "建议 Recommendation",
    "relocation_cost_cny": "管线迁改费用 Relocation cost (CNY)", "building_id": "楼栋 Building",
    "inside_m": "红线内 Inside (m)", "outside_m": "红线外 Around (m)", "count": "数量 Count",
    "priority_1": "优先级1 Priority 1", "length_m": "长度 Length (m)", "total": "合计 Total",
    "open": "办理中 Open", "satisfaction": "满意度 Satisfaction",
    "by_category": "按类别 By category", "initial_cny": "初始金额 Initial (CNY)",
    "balance_cny": "余额 Balance (CNY)", "ratio": "余额比例 Balance ratio",
    "below_30_percent": "低于30% Below 30 %", "parcels": "可用闲置空间 Idle parcels",
    "distance_m": "距离 Distance (m)", "overdue": "超期 Overdue",
    "rainy_season_days": "汛期天数 Days in the flood season",
    "winter_days": "冬期天数 Days in winter", "approval_days": "审批天数 Approval days",
    "approval_over_limit": "审批超时 Approval over the limit",
    "green_ratio_drops": "绿地率下降 Green ratio drops", "changed_at": "时间 When",
    "action": "操作 Action", "actor": "操作人 By", "note": "说明 Note",
}  # fmt: skip
WORDS = {"elevator": "加装电梯 Elevator", "stair_climbing_aid": "爬楼辅助 Stair-climbing aid",
         "insert": "新增 Added", "update": "修改 Changed", "delete": "删除 Deleted",
         "ingest": "导入 Imported", "move_batch": "调整批次 Moved batch"}  # fmt: skip


def _all_terms() -> dict[str, str]:
    """Every vocabulary code of the registry with its labels (the first vocabulary wins)."""
    terms: dict[str, str] = {}
    for layer in REGISTRY.values():
        for f in layer.fields:
            for t in f.vocabulary.terms if f.vocabulary else ():
                terms.setdefault(t.code, f"{t.zh} {t.en}")
    return terms


TERMS = _all_terms()
CSS = """
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:2em auto;
max-width:60em;padding:0 1em;font-size:13px;line-height:1.45;color:#222}
h1{font-size:22px;margin:0 0 .3em}h2{font-size:16px;margin:1.2em 0 .3em;break-after:avoid}
table{border-collapse:collapse;margin:.3em 0;width:100%;table-layout:auto}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top;
overflow-wrap:anywhere}th{background:#f5f5f5;font-weight:normal;color:#444}
td table{margin:0}.om-facts th{width:30%}.om-dossier-map svg{max-width:100%;height:auto}
tr{break-inside:avoid}
@page{size:A4;margin:15mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:10.5px}a{color:inherit}}
"""


def _label(layer: Layer | None, key: str) -> str:
    f = layer.fields_by_name.get(key) if layer else None
    if f is not None:
        return f"{f.label_zh} {f.label_en}"
    if key in LABELS:
        return LABELS[key]
    if key in TERMS:  # a dict keyed by codes (networks, request categories)
        return TERMS[key]
    for other in REGISTRY.values():
        if key in other.fields_by_name:
            g = other.fields_by_name[key]
            return f"{g.label_zh} {g.label_en}"
    return key.replace("_", " ")


def _value(layer: Layer | None, key: str, value: Any, names: dict[str, str]) -> str:
    """One value as a person reads it (HTML, escaped)."""
    esc = html.escape
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, dict):
        return _table([value], layer, names, vertical=True)
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return _table(value, layer, names)
        return esc(", ".join(_text(layer, key, v, names) for v in value))
    return esc(_text(layer, key, value, names))


def _text(layer: Layer | None, key: str, value: Any, names: dict[str, str]) -> str:
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "—"
    f = layer.fields_by_name.get(key) if layer else None
    if isinstance(value, str):
        if f is not None and f.vocabulary is not None:
            term = next((t for t in f.vocabulary.terms if t.code == value), None)
            if term is not None:
                return f"{term.zh} {term.en}"
        if key in ("district_code", "street_code") and value in names:
            return f"{names[value]} ({value})"
        return WORDS.get(value) or TERMS.get(value) or value
    return str(value)


def _table(rows: list[dict[str, Any]], layer: Layer | None, names: dict[str, str],
           vertical: bool = False) -> str:  # fmt: skip
    if not rows:
        return "<p>—</p>"
    esc = html.escape
    if vertical:  # one record: a row per field
        record = rows[0]
        body = "".join(f"<tr><th>{esc(_label(layer, k))}</th>"
                       f"<td>{_value(layer, k, v, names)}</td></tr>"
                       for k, v in record.items() if k != "geometry")  # fmt: skip
        return f'<table class="om-facts">{body}</table>'
    keys = [k for k in rows[0] if k != "geometry"]
    head = "".join(f'<th scope="col">{esc(_label(layer, k))}</th>' for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{_value(layer, k, r.get(k), names)}</td>" for k in keys) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def svg_map(d: dict[str, Any], width: int = 480, height: int = 360) -> str:
    """The estate's red line and buildings, numbered, with a scale bar and a north arrow."""
    estate = shapely.geometry.shape(d["geometry"])
    buildings = [shapely.geometry.shape(b["geometry"]) for b in d["buildings"]]
    xmin, ymin, xmax, ymax = estate.bounds
    pad = 0.08 * max(xmax - xmin, ymax - ymin)
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    kx = math.cos(math.radians((ymin + ymax) / 2))  # keep the shape's proportions in degrees
    scale = min(width / ((xmax - xmin) * kx), height / (ymax - ymin))  # px per degree of lat

    def xy(x: float, y: float) -> tuple[float, float]:
        return (x - xmin) * kx * scale, (ymax - y) * scale

    def path(geom: Any) -> str:
        parts = []
        for poly in getattr(geom, "geoms", [geom]):
            for ring in (poly.exterior, *poly.interiors):
                pts = [f"{px:.1f},{py:.1f}" for px, py in (xy(x, y) for x, y in ring.coords)]
                parts.append("M" + " L".join(pts) + " Z")
        return " ".join(parts)

    esc = html.escape
    shapes = [f'<path d="{path(estate)}" fill="#fdf6e3" stroke="#d62728" stroke-width="2"/>']
    for number, (b, info) in enumerate(zip(buildings, d["buildings"], strict=True), 1):
        colour = "#59a14f" if info["has_elevator"] else "#4e79a7"
        cx, cy = xy(*b.representative_point().coords[0])
        shapes.append(f'<path d="{path(b)}" fill="{colour}" stroke="#333" stroke-width="0.5">'
                      f"<title>{esc(info['name_zh'])}</title></path>"
                      f'<text x="{cx:.1f}" y="{cy + 4:.1f}" font-size="11" text-anchor="middle" '
                      f'fill="#fff">{number}</text>')  # fmt: skip
    metres_per_px = 111_320 / scale
    bar_m = _round_length(metres_per_px * width / 4)
    bar_px = bar_m / metres_per_px
    shapes.append(
        f'<g font-size="11" fill="#222"><rect x="10" y="{height - 18}" width="{bar_px:.1f}" '
        f'height="4" fill="#222"/><text x="10" y="{height - 22}">{bar_m:,} m</text></g>'
        f'<g transform="translate({width - 24},26)"><path d="M0,-16 L7,6 L0,1 L-7,6 Z" '
        f'fill="#222"/><text x="0" y="20" font-size="12" text-anchor="middle">N 北</text></g>'
    )
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="小区红线与楼栋 The estate'
            f"'s red line and buildings\">{''.join(shapes)}</svg>")  # fmt: skip


def _round_length(metres: float) -> int:
    """A round bar length (1, 2 or 5 × a power of ten) not longer than ``metres``."""
    power = 10 ** math.floor(math.log10(max(metres, 1)))
    return int(max(m for m in (1, 2, 5) if m * power <= max(metres, 1)) * power)


def dossier_html(d: dict[str, Any]) -> str:
    """The dossier as a printable page (A4)."""
    esc = html.escape
    names: dict[str, str] = d.get("names", {})
    estates = REGISTRY["estates"]
    e = d["estate"]
    sections = [
        f"<h2>楼栋 Buildings ({len(d['buildings'])})</h2>"
        + "<p>编号与地图一致 Numbers as on the map.</p>"
        + _table([{"#": n, **b} for n, b in enumerate(d["buildings"], 1)],
                 REGISTRY["buildings"], names)
    ]  # fmt: skip
    titles = (
        ("elevator_retrofits", "加装电梯 Elevator retrofits"),
        ("services_nearby", "周边服务 Services nearby"),
        ("elevator_screening", "加装电梯筛查 Elevator screening"),
        ("coverage_gaps", "服务缺口 Service gaps"), ("idle_parcels", "闲置空间 Idle parcels"),
        ("governance_issues", "治理问题 Issues"), ("health_checks", "体检 Health checks"),
        ("pipelines", "管线 Pipelines (m)"), ("aging_pipes", "老化管线 Aging pipes"),
        ("resident_requests", "居民诉求 Resident requests"),
        ("plan_batch", "计划批次 Plan batch"), ("project", "项目 Project"),
        ("project_checks", "项目检查 Project checks"), ("opinions", "规划意见 Opinions"),
        ("fund", "维修资金 Maintenance fund"), ("history", "变更记录 History"),
    )  # fmt: skip
    for key, title in titles:
        if key not in d:
            continue
        layer = REGISTRY.get(SECTION_LAYERS.get(key, key))
        value = d[key]
        body = _value(layer, key, value, names) if value not in (None, [], {}) else "<p>—</p>"
        sections.append(f"<h2>{title}</h2>{body}")
    name = esc(str(e.get("name_zh", e.get("id"))))
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · 小区档案 Estate dossier</title><style>{CSS}</style></head><body><main>
<h1>{name} <small>小区档案 Estate dossier</small></h1>
<div class="om-dossier-map">{svg_map(d)}</div>
{_table([e], estates, names, vertical=True)}{"".join(sections)}</main></body></html>"""
