"""The estate dossier as a page to hand out: every value in words, printable on A4.

Codes become their registry labels (Chinese with English), booleans 是/否, nested records
tables, district and street codes their names; the map is drawn in SVG (the estate's
numbered buildings among its roads and neighbours, a scale bar, a north arrow), so the page
needs no script and no tiles. The same page is the PDF (``dossier_pdf``, WeasyPrint).
"""

from __future__ import annotations

import html
import math
from typing import Any

import shapely

from analyses.dossier import map_margin
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
    "shades_north_neighbour": "遮挡北侧楼日照 Shades the building to the north",
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
         "gather_consent": "先征得业主同意 Gather consent first",
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
@media print{body{margin:0;max-width:none;padding:0;font-size:10.5px}a{color:inherit}
.om-actions{display:none}}
.om-actions{float:right;margin-top:.3em}.om-actions a{padding:.3em .6em;border:1px solid #2b6cb0;
border-radius:4px;color:#2b6cb0;text-decoration:none}
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
    """The estate's numbered buildings among its roads and neighbours, scale bar, north arrow."""
    estate = shapely.geometry.shape(d["geometry"])
    buildings = [shapely.geometry.shape(b["geometry"]) for b in d["buildings"]]
    xmin, ymin, xmax, ymax = estate.bounds
    pad = map_margin(xmax - xmin, ymax - ymin)
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    kx = math.cos(math.radians((ymin + ymax) / 2))  # keep the shape's proportions in degrees
    scale = min(width / ((xmax - xmin) * kx), height / (ymax - ymin))  # px per degree of lat
    xmax = xmin + width / (kx * scale)  # the frame fills the picture, not just the estate
    ymin = ymax - height / scale

    def xy(x: float, y: float) -> tuple[float, float]:
        return (x - xmin) * kx * scale, (ymax - y) * scale

    def path(geom: Any) -> str:
        parts = []
        for part in getattr(geom, "geoms", [geom]):
            if isinstance(part, shapely.LineString):
                rings, close = [part], ""
            else:
                rings, close = [part.exterior, *part.interiors], " Z"
            for ring in rings:
                pts = [f"{px:.1f},{py:.1f}" for px, py in (xy(x, y) for x, y in ring.coords)]
                parts.append("M" + " L".join(pts) + close)
        return " ".join(parts)

    esc = html.escape
    around = d.get("surroundings", [])
    roads = [(r["name_zh"], shapely.geometry.shape(r["geometry"])) for r in around
             if r["kind"] == "road" and r["geometry"]]  # fmt: skip
    shapes = [f'<rect width="{width}" height="{height}" fill="#f4f4f2"/>']
    shapes += [f'<path d="{path(shapely.geometry.shape(b["geometry"]))}" fill="#d9d6d0" '
               'stroke="#b5b1a9" stroke-width="0.5"/>'
               for b in around if b["kind"] == "building"]  # fmt: skip
    for casing, colour in ((7, "#c8c4bc"), (5, "#fff")):
        shapes += [f'<path d="{path(line)}" fill="none" stroke="{colour}" '
                   f'stroke-width="{casing}" stroke-linecap="round" stroke-linejoin="round"/>'
                   for _, line in roads if not line.is_empty]  # fmt: skip
    shapes.append(f'<path d="{path(estate)}" fill="#fdf6e3" fill-opacity="0.85" '
                  'stroke="#d62728" stroke-width="2"/>')  # fmt: skip
    for number, (b, info) in enumerate(zip(buildings, d["buildings"], strict=True), 1):
        colour = "#59a14f" if info["has_elevator"] else "#4e79a7"
        cx, cy = xy(*b.representative_point().coords[0])
        shapes.append(f'<path d="{path(b)}" fill="{colour}" stroke="#333" stroke-width="0.5">'
                      f"<title>{esc(info['name_zh'])}</title></path>"
                      f'<text x="{cx:.1f}" y="{cy + 4:.1f}" font-size="11" text-anchor="middle" '
                      f'fill="#fff">{number}</text>')  # fmt: skip
    shapes += [_road_label(name, line, xy) for name, line in _named_roads(roads)]
    metres_per_px = 111_320 / scale
    bar_m = _round_length(metres_per_px * width / 4)
    bar_px = bar_m / metres_per_px
    shapes.append(
        f'<g font-size="11" fill="#222"><rect x="6" y="{height - 34}" width="{bar_px + 12:.1f}" '
        f'height="28" fill="#fff" fill-opacity="0.85"/><rect x="12" y="{height - 14}" '
        f'width="{bar_px:.1f}" height="4" fill="#222"/>'
        f'<text x="12" y="{height - 18}">{bar_m:,} m</text></g>'
        f'<g transform="translate({width - 24},26)"><circle r="20" cy="-1" fill="#fff" '
        f'fill-opacity="0.85"/><path d="M0,-16 L7,6 L0,1 L-7,6 Z" fill="#222"/>'
        f'<text x="0" y="17" font-size="10" text-anchor="middle">N 北</text></g>'
    )
    label = "小区红线、楼栋与周边道路 The estate's red line, its buildings and the roads around"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">{"".join(shapes)}</svg>'
    )


def _named_roads(roads: list[tuple[str | None, Any]]) -> list[tuple[str, Any]]:
    """Each road name once, on its longest piece in the frame."""
    longest: dict[str, Any] = {}
    for name, geom in roads:
        for piece in getattr(geom, "geoms", [geom]):
            if (
                name
                and isinstance(piece, shapely.LineString)
                and (name not in longest or piece.length > longest[name].length)
            ):
                longest[name] = piece
    return sorted(longest.items())


def _road_label(name: str, line: Any, xy: Any) -> str:
    """The road's name along its middle, turned to read left to right."""
    (x0, y0), (x1, y1) = (xy(*line.interpolate(f, normalized=True).coords[0]) for f in (0.4, 0.6))
    cx, cy = xy(*line.interpolate(0.5, normalized=True).coords[0])
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
    return (
        f'<text class="om-road" x="{cx:.1f}" y="{cy:.1f}" '
        f'transform="rotate({angle:.0f} {cx:.1f} {cy:.1f})" '
        'font-size="10" fill="#555" text-anchor="middle" dominant-baseline="middle" '
        f'stroke="#fff" stroke-width="3" paint-order="stroke">{html.escape(name)}</text>'
    )


def _round_length(metres: float) -> int:
    """A round bar length (1, 2 or 5 × a power of ten) not longer than ``metres``."""
    power = 10 ** math.floor(math.log10(max(metres, 1)))
    return int(max(m for m in (1, 2, 5) if m * power <= max(metres, 1)) * power)


def dossier_pdf(d: dict[str, Any]) -> bytes:
    """The dossier page as an A4 PDF (WeasyPrint lays out the same HTML and print CSS)."""
    import weasyprint  # 0.7 s to import: only when a PDF is asked for

    return weasyprint.HTML(string=dossier_html(d), url_fetcher=_fetch_nothing).write_pdf()


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The page is self-contained; a URL in it can only come from data and is never fetched.
    raise ValueError(f"not fetched: {url[:80]}")


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
<p class="om-actions"><a href="?f=pdf" download>PDF 下载 Download</a></p>
<h1>{name} <small>小区档案 Estate dossier</small></h1>
<div class="om-dossier-map">{svg_map(d)}</div>
{_table([e], estates, names, vertical=True)}{"".join(sections)}</main></body></html>"""
