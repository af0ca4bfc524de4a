/* OneMap pages: registry-driven styles, legend, theme switch, district filter and popups
 * for the Folium maps. The page calls OneMap.configure(config) before its layers exist and
 * OneMap.attach(map, layers, page) after. */
(function () {
  "use strict";

  var HIDE = [];  // VectorGrid draws nothing for an empty style list
  var NEUTRAL = "#b8b8b8";
  var CLUSTER = "#4a5868";  // several points together: no one kind's colour
  var state = { config: null, map: null, layers: {}, themes: {}, district: null, page: null,
                analysis: null, overlay: null, overlayLegend: null };

  // Leaflet.VectorGrid (1.3.0, last released in 2018) gives its point symbols no latlng, and
  // Leaflet asks a small circle for one on every tap: "Cannot read properties of undefined
  // (reading 'lat')", and no popup. A point's place is a pixel of its tile: its latlng follows.
  var circleLatLng = L.CircleMarker.prototype.getLatLng;
  L.CircleMarker.prototype.getLatLng = function () {
    var latlng = circleLatLng.call(this);
    var renderer = this._renderer;
    if (latlng || !this._point || !renderer || !renderer.getCoord || !state.map) { return latlng; }
    var tile = renderer.getCoord(), size = renderer._size;
    return state.map.unproject(L.point(tile.x * size.x, tile.y * size.y).add(this._point), tile.z);
  };

  // People who ask their system for less motion get a map that jumps instead of gliding
  // (WCAG 2.3.3): no zoom, fade or pan-inertia animation. Set before the page makes its map.
  if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    L.Map.mergeOptions({ zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false,
                         inertia: false });
  }

  function esc(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  function bilingual(zh, en) {
    return en ? esc(zh) + ' <span class="om-en">' + esc(en) + "</span>" : esc(zh);
  }

  function layerConfig(name) { return state.config.layers[name]; }

  function colour(name, props) {
    var lc = layerConfig(name), theme = state.themes[name];
    if (!lc || !theme || !lc.themes[theme]) { return "#4e79a7"; }
    var term = lc.themes[theme].terms[props[theme]];
    return term ? term[0] : NEUTRAL;
  }

  function hidden(name, props) {
    var lc = layerConfig(name);
    return Boolean(state.district && lc && lc.district && props.district_code !== state.district);
  }

  function aged(props) {
    var life = state.config.designLife[props.material];
    return Boolean(life && props.install_year && state.config.year - props.install_year >= life);
  }

  function pointRadius(zoom, large) {
    var r = zoom < 11 ? 2.5 : zoom < 14 ? 4 : 6;
    return large ? r + 1 : r;
  }

  function styleFor(name, props, zoom) {
    zoom = zoom === undefined ? (state.map ? state.map.getZoom() : 12) : zoom;
    if (hidden(name, props)) { return HIDE; }
    if (name === "districts") {
      return { weight: 2, color: "#6b6b6b", opacity: 0.9, fill: true, fillColor: "#f4f1ea", fillOpacity: 0.25 };
    }
    if (name === "streets") { return { weight: 0.7, color: "#999", opacity: 0.8, dashArray: "3 3", fill: false }; }
    if (name === "roads") {
      var width = { arterial: 3, secondary: 2 }[props.road_class] || 1;
      return { weight: width, color: "#d9c59f", opacity: 0.9 };
    }
    if (name === "pipelines") {
      var old = aged(props);
      return { weight: old ? 3 : 1.2, color: old ? "#d62728" : colour(name, props), opacity: 0.9, dashArray: old ? "5 3" : null };
    }
    if (name === "elevator_retrofits") { return stageSymbol(props, zoom); }
    var c = colour(name, props), lc = layerConfig(name) || { dimension: 2 };
    if (lc.dimension === 0) { return { radius: pointRadius(zoom), weight: 1, color: "#333", fill: true, fillColor: c, fillOpacity: 0.9 }; }
    if (lc.dimension === 1) { return { weight: 2, color: c, opacity: 0.9 }; }
    return { weight: 1, color: "#555", opacity: 0.7, fill: true, fillColor: c, fillOpacity: name === "estates" ? 0.45 : 0.7 };
  }

  function stageSymbol(props, zoom) {
    var c = colour("elevator_retrofits", props);
    if (props.stage === "not_feasible") {  // its own symbol: a hollow ring (stair-climbing aid)
      return { radius: pointRadius(zoom, true), weight: zoom < 11 ? 2 : 3, color: c, fill: true, fillColor: "#fff", fillOpacity: 1, dashArray: props.stair_climbing_aid || props.cluster_count ? null : "2 2" };  // a lone point in a cluster: unknown aid
    }
    return { radius: pointRadius(zoom, props.stage === "in_service"), weight: zoom < 11 ? 0.5 : 1, color: "#222", fill: true, fillColor: c, fillOpacity: 0.95 };
  }

  // A cluster of points (tiles below the layer's clusterBelow zoom): grey, as its points may
  // be of several kinds (the counts panel has them), and larger as it holds more.
  function clustered(style, props) {
    var n = props.cluster_count;
    if (!n || n < 2 || style === HIDE) { return style; }
    return Object.assign({}, style, { radius: style.radius + Math.min(6, 1.2 * Math.log(n) / Math.LN2),
      weight: 1.5, color: "#fff", fillColor: CLUSTER, fillOpacity: 0.7, dashArray: null });
  }

  /* VectorGrid styles of one of the page's tile layers ("basemap": districts, streets, roads).
   * A static site's tiles hold every layer of the page: each tile layer draws its own only. */
  function styles(name) {
    var names = name === "basemap" ? state.config.basemap : [name];
    var out = {};
    ((state.config.archive && state.config.archive.layers) || []).forEach(function (n) {
      out[n] = function () { return HIDE; };
    });
    names.forEach(function (n) { out[n] = function (props, zoom) { return clustered(styleFor(n, props, zoom), props); }; });
    return out;
  }

  /* A static site's tiles come from one PMTiles archive, read by HTTP range requests. VectorGrid
   * asks tiles with fetch(): the page's "pmtiles:z/x/y" URLs are answered from the archive,
   * each tile read once for the several layers that draw from it. */
  function archiveFetch(url) {
    var archive = new pmtiles.PMTiles(url), plain = window.fetch.bind(window), recent = new Map();
    window.fetch = function (input, init) {
      var m = typeof input === "string" && /^pmtiles:(\d+)\/(\d+)\/(\d+)$/.exec(input);
      if (!m) { return plain(input, init); }
      if (!recent.has(input)) {
        recent.set(input, archive.getZxy(+m[1], +m[2], +m[3]).then(function (tile) { return tile && tile.data; }));
        if (recent.size > 256) { recent.delete(recent.keys().next().value); }
      }
      return recent.get(input).then(function (data) {
        return data ? new Response(data) : new Response(null, { status: 204 });
      });
    };
  }

  /* Past a layer's deepest zoom (a static site's archive stops at z14 or z16), its tiles are
   * the deepest tile's features drawn again at the zoom shown. Leaflet's own over-zoom
   * (maxNativeZoom) scales the drawn tile, strokes included (Leaflet/Leaflet.VectorGrid#74):
   * outlines 8 px wide at z17 from z14 tiles. Features whose box misses the tile are left out. */
  function overzoomTiles() {
    var proto = L.VectorGrid && L.VectorGrid.Protobuf && L.VectorGrid.Protobuf.prototype;
    if (!proto || proto.omOverzoom) { return; }
    var load = proto._getVectorTilePromise;
    proto.omOverzoom = true;
    proto._getVectorTilePromise = function (coords) {
      var deepest = this.options.deepestZoom;
      if (deepest === undefined || coords.z <= deepest) { return load.call(this, coords); }
      var f = Math.pow(2, coords.z - deepest);
      var parent = { x: Math.floor(coords.x / f), y: Math.floor(coords.y / f), z: deepest };
      var dx = coords.x - parent.x * f, dy = coords.y - parent.y * f;
      return load.call(this, parent).then(function (tile) {
        Object.keys(tile.layers).forEach(function (name) {
          var layer = tile.layers[name], extent = layer.extent, margin = extent / 8;
          layer.features = layer.features.filter(function (feat) {
            var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
            feat.geometry.forEach(function (ring) {
              ring.forEach(function (p) {
                p.x = p.x * f - dx * extent;
                p.y = p.y * f - dy * extent;
                x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y);
              });
            });
            return x1 >= -margin && x0 <= extent + margin && y1 >= -margin && y0 <= extent + margin;
          });
        });
        return tile;
      });
    };
  }

  function valueLabel(name, field, value) {
    var lc = layerConfig(name);
    var theme = lc && lc.themes[field];
    if (theme && theme.terms[value]) { return bilingual(theme.terms[value][1], theme.terms[value][2]); }
    if (value === true) { return "是 yes"; }
    if (value === false) { return "否 no"; }
    return esc(value);
  }

  function popupHtml(name, props) {
    var lc = layerConfig(name) || { title: [name, ""], keys: [], dates: [], records: [] };
    var keys = lc.keys.map(function (k) { return k[0]; });
    var rows = lc.keys.map(function (k) {
      return "<tr><th>" + bilingual(k[1], k[2]) + '</th><td data-key="' + esc(k[0]) + '">'
        + valueLabel(name, k[0], props[k[0]]) + "</td></tr>";
    }).join("");
    var links = [];
    var estate = lc.estate && props[lc.estate === "id" ? "fid" : lc.estate];
    if (state.config.dossier && estate !== undefined && estate !== null) {
      links.push('<a class="om-dossier" href="' + esc(state.config.dossier.replace("{id}", encodeURIComponent(estate)))
        + '" target="_blank">' + bilingual("小区档案", "Estate dossier") + "</a>");
    }
    if (props.fid !== undefined && state.config.api !== null) {
      links.push('<a class="om-json" href="' + esc(state.config.api + "/collections/" + name + "/items/" + props.fid) + '" target="_blank">JSON</a>');
    }
    var dated = (lc.dates || []).filter(function (d) { return keys.indexOf(d[0]) < 0; });
    return '<div class="om-popup" data-layer="' + esc(name) + '" data-fid="' + esc(props.fid) + '"><h4>'
      + bilingual(lc.title[0], lc.title[1]) + "</h4><table>" + rows + "</table>"
      + historyHtml(dated, [props]) + '<div class="om-history"></div>'
      + (links.length ? '<p class="om-links">' + links.join(" · ") + "</p>" : "") + "</div>";
  }

  // A record's dates as steps in time ("申请 2023-04-02 → 批准 2023-09-18 → …"), earliest first.
  function historyHtml(dates, records, name) {
    var items = [];
    records.forEach(function (p) {
      var steps = dates.filter(function (d) { return p[d[0]]; }).map(function (d) {
        return '<li><time datetime="' + esc(p[d[0]]) + '">' + esc(p[d[0]]) + "</time> " + bilingual(d[1], d[2]) + "</li>";
      });
      if (!steps.length) { return; }
      var stage = name ? themeLabel(name, p) : "";
      items.push((stage ? "<p>" + stage + "</p>" : "") + '<ol class="om-steps">' + steps.join("") + "</ol>");
    });
    return items.join("");
  }

  function themeLabel(name, props) {
    var lc = layerConfig(name), field = lc && lc.theme;
    return field ? bilingual(lc.title[0], lc.title[1]) + " · " + valueLabel(name, field, props[field]) : "";
  }

  // On a phone, panned clear of the controls in the top left (search, folded panels), which
  // cover a popup's top otherwise; on a desktop the panels are open and the popup sits beside.
  // A long one (an analysis's row) scrolls within half the map's height.
  function popupOptions() {
    var corner = state.map.getContainer().querySelector(".leaflet-top.leaflet-left");
    var top = corner && NARROW ? Math.min(corner.getBoundingClientRect().height, state.map.getSize().y / 3) : 0;
    return { maxWidth: Math.min(360, state.map.getSize().x - 60), autoPanPaddingTopLeft: L.point(10, top + 10),
             maxHeight: Math.round(state.map.getSize().y / 2) };
  }

  function openPopup(name, latlng, props) {
    // An element, not HTML text: popup.update() (to fit what arrives later) keeps it.
    var content = document.createElement("div");
    content.innerHTML = popupHtml(name, props);
    var popup = L.popup(popupOptions()).setLatLng(latlng).setContent(content.firstChild).openOn(state.map);
    nameReferences(name, props, popup);
    showRecords(name, props, popup);
  }

  // The records whose dates are this feature's history: a building's elevator retrofit.
  function showRecords(name, props, popup) {
    var lc = layerConfig(name);
    if (!lc || !lc.records || state.config.api === null || props.fid === undefined) { return; }
    lc.records.forEach(function (r) {
      var other = layerConfig(r.layer);
      if (!other) { return; }
      var url = (state.config.api || "") + "/collections/" + encodeURIComponent(r.layer) + "/items?skipGeometry=true&limit=5&"
        + encodeURIComponent(r.field) + "=" + encodeURIComponent(props.fid);
      fetch(url, { credentials: "same-origin" }).then(function (res) { return res.ok ? res.json() : null; }).then(function (data) {
        var el = popup.getElement() && popup.getElement().querySelector(".om-history");
        if (!data || !el || !popup.isOpen()) { return; }
        el.innerHTML += historyHtml(other.dates, data.features.map(function (f) { return f.properties; }), r.layer);
        popup.update();
      });
    });
  }

  // A building or estate named instead of numbered ("建国西里 · 椿树街道建国西里", "5号楼"):
  // the referenced feature is read from the API the page already uses.
  function nameReferences(name, props, popup) {
    var refs = (layerConfig(name) || {}).refs || {};
    if (state.config.api === null) { return; }
    Object.keys(refs).forEach(function (field) {
      var id = props[field];
      if (id === undefined || id === null) { return; }
      var url = (state.config.api || "") + "/collections/" + encodeURIComponent(refs[field]) + "/items/" + encodeURIComponent(id);
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (f) {
        if (!f || !popup.isOpen()) { return; }
        var p = f.properties || {};
        var text = [p.name_zh, p.address].filter(function (v) { return v; }).join(" · ");
        var cell = popup.getElement() && popup.getElement().querySelector('td[data-key="' + field + '"]');
        if (cell && text) { cell.textContent = text; }
      });
    });
  }

  function legendHtml() {
    var parts = [], shown = {};
    var ol = state.overlayLegend;
    if (ol) {  // the analysis drawn over the map, first: it is what the planner just asked for
      parts.push('<div class="om-legend-layer om-analysis-legend"><b>' + bilingual(ol.title[0], ol.title[1])
        + "</b>" + (ol.theme ? " · " + bilingual(ol.theme[0], ol.theme[1]) : "") + "<ul>"
        + ol.classes.map(function (c) {
          return '<li><i style="background:' + c.colour + '"></i>' + c.label + "</li>";
        }).join("") + "</ul></div>");
    }
    Object.keys(state.layers).forEach(function (name) {
      var lc = layerConfig(name), theme = state.themes[name];
      if (!lc || !theme || !state.map.hasLayer(state.layers[name])) { return; }
      var t = lc.themes[theme], key = JSON.stringify(t.terms);
      if (shown[key]) {  // the same colours as a layer already listed
        parts.push('<div class="om-legend-layer"><b>' + bilingual(lc.title[0], lc.title[1]) + "</b> · "
          + bilingual("同" + shown[key][0], "as " + shown[key][1]) + "</div>");
        return;
      }
      shown[key] = lc.title;
      var items = Object.keys(t.terms).map(function (code) {
        var term = t.terms[code];
        return '<li><i style="background:' + term[0] + '"></i>' + bilingual(term[1], term[2]) + "</li>";
      }).join("");
      parts.push('<div class="om-legend-layer"><b>' + bilingual(lc.title[0], lc.title[1]) + "</b> · "
        + bilingual(t.label[0], t.label[1]) + "<ul>" + items + "</ul></div>");
    });
    if (state.layers.elevator_retrofits && state.map.hasLayer(state.layers.elevator_retrofits)) {
      parts.push('<div class="om-legend-layer"><i class="om-ring"></i>' + bilingual("不具备条件，提供爬楼辅助", "Not feasible: stair-climbing aid") + "</div>");
    }
    if (layerConfig("pipelines") && state.layers.pipelines && state.map.hasLayer(state.layers.pipelines)) {
      parts.push('<div class="om-legend-layer"><i class="om-aged"></i>' + bilingual("超设计年限管线", "Pipes past design life") + "</div>");
    }
    var zoomedOut = Object.keys(state.layers).some(function (name) {
      var lc = layerConfig(name);
      return lc && lc.clusterBelow && state.map.getZoom() < lc.clusterBelow && state.map.hasLayer(state.layers[name]);
    });
    if (zoomedOut) {
      parts.push('<div class="om-legend-layer om-cluster-note"><i class="om-cluster"></i>' + bilingual("一片的合计，越大越多；点击放大",
        "Several points together, larger for more; click to zoom in") + "</div>");
    }
    return parts.join("");
  }

  function refreshLegend() {
    var el = document.querySelector(".om-legend .om-body");
    if (el) { el.innerHTML = legendHtml(); }
  }

  // On a phone the map comes first: panels start folded behind a button each.
  var NARROW = window.matchMedia ? window.matchMedia("(max-width: 640px)").matches : false;
  var panelCount = 0;

  function collapsible(div, zh, en) {
    var body = L.DomUtil.create("div", "om-body");
    while (div.firstChild) { body.appendChild(div.firstChild); }
    body.id = "om-panel-" + (++panelCount);
    var button = L.DomUtil.create("button", "om-toggle", div);
    button.type = "button";
    button.setAttribute("aria-controls", body.id);
    button.innerHTML = bilingual(zh, en);
    div.appendChild(body);
    function show(open) {
      div.classList.toggle("om-collapsed", !open);
      button.setAttribute("aria-expanded", String(open));
    }
    button.addEventListener("click", function () { show(div.classList.contains("om-collapsed")); });
    show(!NARROW);
    return div;
  }

  function foldLayerControl(map) {
    var control = map.getContainer().querySelector(".leaflet-control-layers");
    if (!control) { return; }
    var toggle = control.querySelector(".leaflet-control-layers-toggle");
    toggle.setAttribute("aria-label", "图层 Layers");
    // Leaflet wires the toggle only for controls made collapsed; this one folds on phones.
    toggle.addEventListener("click", function (e) {
      e.preventDefault();
      control.classList.add("leaflet-control-layers-expanded");
    });
    if (NARROW) {
      control.classList.remove("leaflet-control-layers-expanded");
      map.on("click", function () { control.classList.remove("leaflet-control-layers-expanded"); });
    }
  }

  function redraw() {
    Object.keys(state.layers).forEach(function (name) {
      var layer = state.layers[name];
      if (layer.redraw) { layer.redraw(); }
    });
  }

  function selectDistrict(code, keepView) {
    state.district = code || null;
    if (state.analysis) { runAnalysis(); }
    var d = state.config.districts.filter(function (x) { return x.code === state.district; })[0];
    var box = d ? d.bbox : null;
    if (box && !keepView) { state.map.fitBounds([[box[1], box[0]], [box[3], box[2]]]); }
    document.querySelectorAll(".om-district-select").forEach(function (s) { s.value = code || ""; });
    document.querySelectorAll(".om-counts tr[data-district]").forEach(function (tr) {
      tr.classList.toggle("om-selected", tr.getAttribute("data-district") === state.district);
    });
    redraw();
  }

  /* Analyses: run one for the selected district (or the caller's street) and draw its
   * GeoJSON over the map, coloured by the analysis's theme (analyses.model.Theme). */
  var SEQUENTIAL = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];  // ColorBrewer Reds
  var ATTENTION = "#d62728", CALM = "#2ca02c";
  var KINDS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
               "#ff9da7", "#9c755f", "#bab0ac"];  // Tableau 10

  function yesNo(value) { return value ? bilingual("是", "yes") : bilingual("否", "no"); }

  function number(value) {
    return value.toLocaleString("zh-CN", { maximumFractionDigits: 3 });
  }

  /* The classes an answer is drawn in, each {test(value), colour, label}: yes/no with the
   * value that needs attention in red; numbers in up to five classes of this answer's own
   * values (each value its own when there are five or fewer), darkest at the end that needs
   * attention; kinds in their vocabulary's colours and names. A colour per log10 of the
   * value drew priorities 1, 2 and 3 alike, and an opinion still missing in green. */
  function themeClasses(theme, features) {
    var values = features.map(function (f) { return f.properties[theme.name]; })
      .filter(function (v) { return v !== null && v !== undefined; });
    var classes;
    if (values.length && values.every(function (v) { return typeof v === "boolean"; })) {
      var alarm = theme.attention !== "low";
      classes = [alarm, !alarm].map(function (v) {
        return { test: function (x) { return x === v; }, colour: v === alarm ? ATTENTION : CALM,
                 label: yesNo(v) };
      });
    } else if (values.length && values.every(function (v) { return typeof v === "number"; })) {
      classes = numberClasses(theme, values);
    } else {
      classes = kindClasses(theme, features);
    }
    classes.push({ test: function (x) { return x === null || x === undefined; }, colour: NEUTRAL,
                   label: bilingual("无", "none") });
    return classes;
  }

  function numberClasses(theme, values) {
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    var n = SEQUENTIAL.length, breaks = [];
    for (var k = 1; k < n; k++) {  // quantiles: each class about a fifth of the features
      var b = sorted[Math.floor(k * sorted.length / n)];
      if (b > sorted[0] && breaks.indexOf(b) < 0) { breaks.push(b); }
    }
    var distinct = sorted.filter(function (v, i) { return i === 0 || v !== sorted[i - 1]; });
    if (distinct.length <= n) { breaks = distinct.slice(1); }
    var bounds = [-Infinity].concat(breaks, [Infinity]), classes = [];
    for (var i = 0; i + 1 < bounds.length; i++) {
      var lower = bounds[i], upper = bounds[i + 1];
      var members = sorted.filter(function (v) { return v >= lower && v < upper; });
      if (!members.length) { continue; }
      var lo = members[0], hi = members[members.length - 1];
      classes.push({ lower: lower, upper: upper,
                     label: lo === hi ? number(lo) : number(lo) + " – " + number(hi) });
    }
    classes.forEach(function (c, i) {  // one value alone: the middle red, neither end
      var rank = classes.length === 1 ? (n - 1) / 2 : Math.round(i * (n - 1) / (classes.length - 1));
      c.colour = SEQUENTIAL[theme.attention === "low" ? n - 1 - rank : rank];
      c.test = function (x) { return typeof x === "number" && x >= c.lower && x < c.upper; };
    });
    return classes;
  }

  function kindClasses(theme, features) {
    var counts = {}, named = {};
    features.forEach(function (f) {
      var v = f.properties[theme.name];
      if (v === null || v === undefined) { return; }
      counts[v] = (counts[v] || 0) + 1;
      if (theme.labels && !named[v]) { named[v] = f.properties[theme.labels]; }
    });
    return Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a]; })
      .map(function (v, i) {
        var term = theme.terms && theme.terms[v];
        return { test: function (x) { return String(x) === v; },
                 colour: term && term[0] ? term[0] : KINDS[i % KINDS.length],
                 label: term ? bilingual(term[1], term[2]) : esc(named[v] || v) };
      });
  }

  function classOf(classes, value) {
    for (var i = 0; i < classes.length; i++) { if (classes[i].test(value)) { return classes[i]; } }
    return classes[classes.length - 1];
  }

  /* A value of an analysis's answer as words: codes by their vocabulary's names, yes/no,
   * numbers in the reader's digits; an object of codes ("networks") one code a line. */
  function analysisValue(key, value, terms, fields, depth) {
    if (value === null || value === undefined || (Array.isArray(value) && !value.length)) { return "—"; }
    if (typeof value === "boolean") { return yesNo(value); }
    if (typeof value === "number") {  // ids and years without a thousands separator
      return esc(/(^|_)(ids?|year)$/.test(key) ? String(value) : number(value));
    }
    if (Array.isArray(value)) {  // a list of features: their own fields' names, if given
      var items = fields[key] && fields[key][3];
      return value.map(function (v) { return analysisValue(key, v, terms, items || fields, depth + 1); })
        .join(depth ? "; " : "<br>");
    }
    if (typeof value === "object") {
      return Object.keys(value).map(function (k) {
        var term = terms && terms[k], field = fields[k];
        var name = term ? bilingual(term[1], term[2]) : field ? bilingual(field[0], field[1]) : esc(k);
        return name + " " + analysisValue(k, value[k], field && field[2], fields, depth + 1);
      }).join(depth ? ", " : "<br>");
    }
    var named = terms && terms[value];
    return named ? bilingual(named[1], named[2]) : esc(String(value));
  }

  /* Each property by its name (``fields`` of the answer: the layer's labels and those of
   * analyses.fields), not as ``over_by: 3``. */
  function analysisPopup(title, props, fields) {
    return '<div class="om-popup om-analysis-popup"><h4>' + bilingual(title[0], title[1]) + "</h4><table>"
      + Object.keys(props).map(function (k) {
        var field = fields[k];
        return "<tr><th>" + (field ? bilingual(field[0], field[1]) : esc(k)) + "</th><td>"
          + analysisValue(k, props[k], field && field[2], fields, 0) + "</td></tr>";
      }).join("") + "</table></div>";
  }

  function runAnalysis() {
    var status = document.querySelector(".om-analysis-status");
    if (state.overlay) { state.map.removeLayer(state.overlay); state.overlay = null; }
    state.overlayLegend = null;
    refreshLegend();
    if (!state.analysis) { if (status) { status.textContent = ""; } return; }
    var info = state.config.analyses.filter(function (a) { return a.name === state.analysis; })[0];
    var area = Object.assign({}, state.config.analysisArea || {});
    if (state.district && !area.street) { area.district = state.district; }
    var query = Object.keys(area).map(function (k) { return k + "=" + encodeURIComponent(area[k]); });
    var url = (state.config.api || "") + "/analyses/" + encodeURIComponent(info.name) + "?f=geojson"
      + (query.length ? "&" + query.join("&") : "");
    if (status) { status.textContent = "…"; }
    var asked = state.analysis;
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { return r.json().then(function (p) { throw new Error(p.detail || p.title); }); }
      return r.json();
    }).then(function (data) {
      if (asked !== state.analysis) { return; }
      var fields = data.fields || {}, named = info.theme ? fields[info.theme.name] : null;
      var theme = Object.assign({ name: null, terms: named && named[2] }, info.theme);
      var classes = themeClasses(theme, data.features), options = popupOptions();
      state.overlay = L.geoJSON(data, {
        style: function (f) {
          var c = classOf(classes, f.properties[theme.name]).colour;
          return { color: c, weight: 2, fillColor: c, fillOpacity: 0.35 };
        },
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: 5 }); },
        onEachFeature: function (f, layer) {
          layer.bindPopup(analysisPopup(info.title, f.properties, fields), options);
        },
      }).addTo(state.map);
      state.overlayLegend = { title: info.title, theme: named, classes: classes.filter(
        function (c) { return data.features.some(function (f) { return c.test(f.properties[theme.name]); }); }) };
      refreshLegend();
      if (status) {  // never a silent cut: "1,000 of 16,322 shown"
        var shown = data.features.length, all = data.numberMatched;
        status.innerHTML = (all > shown  // and which ones: the analysis says its order
          ? shown.toLocaleString() + " / " + all.toLocaleString() + " "
            + bilingual("项，" + info.order[0], "shown, " + info.order[1])
          : shown.toLocaleString() + " " + bilingual("项", "results"));
      }
      document.body.setAttribute("data-analysis-count", String(data.features.length));
    }).catch(function (e) {
      if (status) { status.textContent = String(e.message || e); }
    });
  }

  function controlPanel() {
    var panel = L.control({ position: "topleft" });
    panel.onAdd = function () {
      var div = L.DomUtil.create("div", "om-panel leaflet-bar");
      var options = '<option value="">全市 Whole city</option>' + state.config.districts.map(function (d) {
        return '<option value="' + esc(d.code) + '">' + esc(d.name_zh) + " " + esc(d.name_en || "") + "</option>";
      }).join("");
      var html = "<label>" + bilingual("区", "District") + ' <select class="om-district-select">' + options + "</select></label>";
      Object.keys(state.layers).forEach(function (name) {
        var lc = layerConfig(name);
        if (!lc || Object.keys(lc.themes).length < 2) { return; }
        html += '<label class="om-theme">' + bilingual(lc.title[0], "") + ' <select data-layer="' + esc(name) + '" class="om-theme-select">'
          + Object.keys(lc.themes).map(function (t) {
            return '<option value="' + esc(t) + '">' + esc(lc.themes[t].label[0]) + " " + esc(lc.themes[t].label[1]) + "</option>";
          }).join("") + "</select></label>";
      });
      if ((state.config.analyses || []).length) {
        html += '<label class="om-analysis">' + bilingual("分析", "Analysis")
          + ' <select class="om-analysis-select"><option value="">—</option>'
          + state.config.analyses.map(function (a) {
            return '<option value="' + esc(a.name) + '">' + esc(a.title[0]) + " " + esc(a.title[1]) + "</option>";
          }).join("") + '</select></label> <span class="om-analysis-status"></span>';
      }
      if (state.config.upload) {
        html += '<a class="om-upload-link" href="' + esc(state.config.upload) + '">' + bilingual("导入数据", "Import a file") + "</a>";
      }
      div.innerHTML = html;
      collapsible(div, "筛选", "Filter");
      L.DomEvent.disableClickPropagation(div);
      var analysisSelect = div.querySelector(".om-analysis-select");
      if (analysisSelect) {
        analysisSelect.addEventListener("change", function (e) {
          state.analysis = e.target.value || null;
          runAnalysis();
        });
      }
      div.querySelector(".om-district-select").addEventListener("change", function (e) { selectDistrict(e.target.value); });
      div.querySelectorAll(".om-theme-select").forEach(function (s) {
        s.addEventListener("change", function (e) {
          var name = e.target.getAttribute("data-layer");
          state.themes[name] = e.target.value;
          if (state.layers[name].redraw) { state.layers[name].redraw(); }
          refreshLegend();
        });
      });
      return div;
    };
    return panel;
  }

  function legendControl() {
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = collapsible(L.DomUtil.create("div", "om-legend"), "图例", "Legend");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    return legend;
  }

  var GROUPS = [
    ["planning", "征询设计", "Consulting & design", ["requested", "consulting", "designing", "publicised"]],
    ["building", "审批施工", "Approved & building", ["approved", "under_construction"]],
    ["in_service", "已投用", "In service", ["in_service"]],
    ["not_feasible", "不具备条件", "Not feasible", ["not_feasible"]],
  ];

  function countsControl() {
    var panel = L.control({ position: "topleft" });
    panel.onAdd = function () {
      var div = L.DomUtil.create("div", "om-counts leaflet-bar");
      var counts = state.config.counts || [];
      var stages = layerConfig("elevator_retrofits").themes.stage.terms;
      var byStage = {}, byDistrict = {}, names = {};
      counts.forEach(function (c) {
        byStage[c.stage] = (byStage[c.stage] || 0) + c.count;
        byDistrict[c.district_code] = byDistrict[c.district_code] || {};
        byDistrict[c.district_code][c.stage] = c.count;
        names[c.district_code] = [c.name_zh, c.name_en];
      });
      var total = counts.reduce(function (s, c) { return s + c.count; }, 0);
      var stageRows = Object.keys(stages).map(function (code) {
        return '<tr data-stage="' + code + '"><td><i style="background:' + stages[code][0] + '"></i>'
          + bilingual(stages[code][1], stages[code][2]) + '</td><td class="om-n">' + (byStage[code] || 0) + "</td></tr>";
      }).join("");
      var head = "<tr><th>" + bilingual("区", "District") + "</th>" + GROUPS.map(function (g) {
        return "<th>" + bilingual(g[1], g[2]) + "</th>";
      }).join("") + "<th>" + bilingual("合计", "Total") + "</th></tr>";
      var rows = Object.keys(byDistrict).sort().map(function (code) {
        var d = byDistrict[code], sum = 0;
        var cells = GROUPS.map(function (g) {
          var n = g[3].reduce(function (s, st) { return s + (d[st] || 0); }, 0);
          sum += n;
          return '<td class="om-n">' + n + "</td>";
        }).join("");
        Object.keys(d).forEach(function (st) { if (st === "suspended") { sum += d[st]; } });
        return '<tr data-district="' + esc(code) + '"><td>' + bilingual(names[code][0], names[code][1]) + "</td>" + cells
          + '<td class="om-n">' + sum + "</td></tr>";
      }).join("");
      div.innerHTML = "<h2>" + bilingual("既有住宅加装电梯", "Elevators added to old buildings") + "</h2>"
        + '<p class="om-total">' + bilingual("全市合计", "City total") + " <b>" + total + "</b></p>"
        + '<table class="om-stage-table">' + stageRows + "</table>"
        + '<table class="om-district-table">' + head + rows + "</table>";
      collapsible(div, "统计", "Counts");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      div.querySelectorAll("tr[data-district]").forEach(function (tr) {
        tr.addEventListener("click", function () {
          var code = tr.getAttribute("data-district");
          selectDistrict(state.district === code ? null : code);
        });
      });
      return div;
    };
    return panel;
  }

  /* Search: names, addresses, buildings ("建国西里10号楼"), pinyin or initials ("jgxl"),
   * answered by /search as someone types; a choice zooms there and opens the popup. */
  function searchControl() {
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "om-search leaflet-bar");
      div.setAttribute("role", "search");
      div.innerHTML = '<label class="om-sr" for="om-search-input">搜索 Search</label>'
        + '<input id="om-search-input" type="search" autocomplete="off" enterkeyhint="search"'
        + ' placeholder="搜索小区、楼栋、街道 Search" aria-controls="om-search-results">'
        + '<ul id="om-search-results" class="om-search-results" hidden></ul>';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var input = div.querySelector("input"), list = div.querySelector("ul"), timer = null, asked = "";
      function show(features, text) {
        if (text !== input.value.trim()) { return; }  // an older answer, overtaken by typing
        list.innerHTML = features.length ? features.map(function (f, i) {
          var p = f.properties;
          return '<li><button type="button" data-i="' + i + '">' + esc(p.label)
            + ' <span class="om-en">' + esc(p.title[0]) + (p.detail ? " · " + esc(p.detail) : "") + "</span></button></li>";
        }).join("") : "<li>" + bilingual("没有找到", "Nothing found") + "</li>";
        list.hidden = false;
        list.querySelectorAll("button").forEach(function (b) {
          b.addEventListener("click", function () { choose(features[Number(b.getAttribute("data-i"))]); list.hidden = true; });
        });
      }
      function run() {
        var text = input.value.trim();
        if (!text) { list.hidden = true; list.innerHTML = ""; return; }
        if (text === asked) { list.hidden = false; return; }
        asked = text;
        var url = (state.config.api || "") + "/search?limit=8&q=" + encodeURIComponent(text)
          + (state.config.search ? "&collections=" + state.config.search.join(",") : "");
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
          show(data.features || [], text);
        }).catch(function () { asked = ""; });
      }
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 200); });
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { clearTimeout(timer); run(); var first = list.querySelector("button"); if (first) { first.focus(); } }
        if (e.key === "Escape") { list.hidden = true; }
      });
      return div;
    };
    return control;
  }

  function choose(feature) {
    var p = feature.properties, box = feature.bbox, c = feature.geometry && feature.geometry.coordinates;
    if (!c) { return; }
    var latlng = L.latLng(c[1], c[0]);
    var wide = box && (box[2] - box[0] > 0.004 || box[3] - box[1] > 0.003);
    if (wide) { state.map.fitBounds([[box[1], box[0]], [box[3], box[2]]]); }
    else { state.map.setView(latlng, Math.max(state.map.getZoom(), 17)); }
    document.body.setAttribute("data-search-chosen", feature.id);
    if (!layerConfig(p.collection)) {  // a layer this page does not draw: its name and place
      L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent('<div class="om-popup" data-layer="' + esc(p.collection)
        + '"><h4>' + esc(p.label) + "</h4><p>" + bilingual(p.title[0], p.title[1]) + (p.detail ? "<br>" + esc(p.detail) : "") + "</p></div>").openOn(state.map);
      return;
    }
    var url = (state.config.api || "") + "/collections/" + encodeURIComponent(p.collection) + "/items/" + p.featureId;
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (f) {
      openPopup(p.collection, latlng, Object.assign({ fid: p.featureId }, f.properties));
    });
  }

  /* Names on the map (districts zoomed out, building numbers zoomed in), from /labels for the
   * view; placed in the order they come, dropping any that would overlap one placed before. */
  var LABEL_PX = { districts: 14, streets: 13, estates: 12, roads: 11, buildings: 11 };

  function labelLayer(map) {
    map.createPane("om-labels");
    var pane = map.getPane("om-labels");
    pane.style.zIndex = 450;  // over the layers, under popups
    pane.style.pointerEvents = "none";
    var group = L.layerGroup().addTo(map), asked = 0, timer = null;
    function place(features) {
      group.clearLayers();
      var taken = [], size = map.getSize();
      features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates, latlng = L.latLng(c[1], c[0]);
        var at = map.latLngToContainerPoint(latlng), px = LABEL_PX[p.layer] || 11;
        var half = { x: (String(p.text).length * px) / 2 + 2, y: px / 2 + 2 };
        if (at.x - half.x < 0 || at.y - half.y < 0 || at.x + half.x > size.x || at.y + half.y > size.y) { return; }
        var clash = taken.some(function (t) { return Math.abs(t.x - at.x) < t.hx + half.x && Math.abs(t.y - at.y) < t.hy + half.y; });
        if (clash) { return; }
        taken.push({ x: at.x, y: at.y, hx: half.x, hy: half.y });
        L.marker(latlng, {
          pane: "om-labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "om-label om-label-" + p.layer, iconSize: null, html: "<span>" + esc(p.text) + "</span>" }),
        }).addTo(group);
      });
      document.body.setAttribute("data-labels", String(taken.length));
    }
    function refresh() {
      var b = map.getBounds(), n = ++asked;
      var url = (state.config.api || "") + "/labels?zoom=" + Math.round(map.getZoom()) + "&bbox="
        + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (data && n === asked) { place(data.features); }
      });
    }
    map.on("moveend", function () { clearTimeout(timer); timer = setTimeout(refresh, 150); });
    refresh();
    return group;
  }

  window.OneMap = {
    state: state,
    styles: styles,
    themeClasses: themeClasses,
    configure: function (config) {
      state.config = config;
      state.page = config.page;
      if (config.archive) { archiveFetch(config.archive.url); }
      overzoomTiles();
      Object.keys(config.layers).forEach(function (n) { state.themes[n] = config.layers[n].theme; });
    },
    attach: function (map, layers, page) {
      state.map = map;
      state.layers = layers;
      Object.keys(layers).forEach(function (name) {
        var layer = layers[name];
        if (layer.on && name !== "basemap") {
          layer.on("click", function (e) {
            var props = e.layer.properties || {}, lc = layerConfig(name);
            if (props.cluster_count !== undefined && lc && lc.clusterBelow) {  // zoom in to its points
              state.map.setView(e.latlng, Math.min(lc.clusterBelow, state.map.getZoom() + 2));
              return;
            }
            openPopup(name, e.latlng, props);
          });
        }
      });
      if (state.config.api !== null) {
        searchControl().addTo(map);
        state.labels = labelLayer(map);
      }
      if (page === "elevator-map") { countsControl().addTo(map); }
      controlPanel().addTo(map);
      legendControl().addTo(map);
      refreshLegend();
      foldLayerControl(map);
      map.on("overlayadd overlayremove zoomend", refreshLegend);
      document.body.classList.add("om-" + page);
      // The map is the page's main content, under the page's title (for screen readers).
      var container = map.getContainer();
      container.setAttribute("role", "main");
      var heading = document.createElement("h1");
      heading.className = "om-sr";
      heading.textContent = document.title;
      container.insertBefore(heading, container.firstChild);
    },
    selectDistrict: selectDistrict,
  };
})();
