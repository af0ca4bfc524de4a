"""The upload page (/upload): a planner brings another department's file into a layer.

Choose the layer, drop the file, declare its CRS when it names none, see and edit the
suggested mapping, dry-run — the report as a table and the first features on a small map —
then import with a progress bar and a link to the result. The page is Folium-generated like
the maps; ``viewer/static/upload.js`` drives it through the import API
(``POST /collections/{id}/imports``, ``GET /imports/{job}``).
"""

from __future__ import annotations

import html
import json
from typing import Any

import folium
from branca.element import MacroElement, Template

from layers import Layer
from viewer import assets, pages

UPLOAD_TITLE = "导入数据 Import a file · OneMap"
UPLOAD_JS = ("onemap_upload", f"{assets.PREFIX}/onemap/upload.js")
FORMATS = ".geojson,.json,.geojsonl,.geojsons,.zip,.shp,.gpkg,.fgb,.kml,.csv,.xlsx"


class _UploadScript(MacroElement):
    """Starts upload.js once the preview map exists."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "OneMapUpload.attach({{ this._parent.get_name() }}, {{ this.config }});"
        "{% endmacro %}"
    )

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "OneMapUpload"
        self.config = json.dumps(config, ensure_ascii=False)


def _form(layers: list[Layer], crs_choices: list[tuple[str, str]]) -> str:
    esc = html.escape
    layer_options = "".join(
        f'<option value="{esc(la.name)}">{esc(la.title_zh)} {esc(la.title_en)}</option>'
        for la in layers
    )
    crs_options = '<option value="">文件自带 As the file says</option>' + "".join(
        f'<option value="{esc(code)}">{esc(label)}</option>' for code, label in crs_choices
    )
    return f"""
<header class="om-upload-head">
  <h1>导入数据 <span class="om-en">Import a file</span></h1>
  <nav><a href="/map">一张图 One map</a> · <a href="/logout">退出 Sign out</a></nav>
</header>
<main class="om-upload">
  <form class="om-upload-form" novalidate>
    <label>图层 Layer <select name="layer" required>{layer_options}</select></label>
    <label class="om-drop">文件 File (GeoJSON, Shapefile .zip, GeoPackage, FlatGeobuf, KML, CSV,
      XLSX) <input type="file" name="file" accept="{FORMATS}" required>
      <span class="om-drop-hint">拖放到这里 Drop it here</span></label>
    <label>坐标系 CRS <select name="crs">{crs_options}</select></label>
    <label>编码 Encoding <input name="encoding" placeholder="gbk" size="8"></label>
    <label>映射 Mapping (YAML: columns, values, set)
      <textarea name="mapping" rows="12" spellcheck="false"></textarea></label>
    <div class="om-upload-buttons">
      <button type="button" class="om-suggest">建议映射 Suggest a mapping</button>
      <button type="button" class="om-dry-run">试导入 Dry run</button>
      <button type="button" class="om-import" disabled>导入 Import</button>
    </div>
    <progress class="om-progress" max="1" value="0" hidden></progress>
    <p class="om-status" role="status" aria-live="polite"></p>
  </form>
  <section class="om-upload-result">
    <div class="om-summary"></div>
    <table class="om-problems" hidden>
      <caption>问题 Problems</caption>
      <thead><tr><th scope="col">行 Row</th><th scope="col">字段 Field</th>
        <th scope="col">原因 Reason</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
"""


def upload_page(
    layers: list[Layer], crs_choices: list[tuple[str, str]], city_bbox: tuple[float, ...]
) -> str:
    """The page's HTML for a caller who may import into ``layers``."""
    figure = folium.Figure()
    figure.html.add_child(folium.Element(_form(layers, crs_choices)), name="form")
    west, south, east, north = city_bbox
    m = folium.Map(tiles=None, control_scale=True, height=360)
    assets.localise(m, [assets.LEAFLET_JS, UPLOAD_JS], [assets.LEAFLET_CSS, assets.ONEMAP_CSS])
    m.add_to(figure)
    m.fit_bounds([[south, west], [north, east]])
    _UploadScript({"cityBbox": [west, south, east, north]}).add_to(m)
    return pages.render(m, UPLOAD_TITLE)
