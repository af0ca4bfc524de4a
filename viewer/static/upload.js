/* OneMap upload page: suggest a mapping, dry-run, import — through the import API. */
(function () {
  "use strict";

  var MAX_TABLE_ROWS = 200;

  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function attach(map, config) {
    var form = document.querySelector(".om-upload-form");
    var fileInput = form.querySelector("input[type=file]");
    var drop = form.querySelector(".om-drop");
    var status = form.querySelector(".om-status");
    var progress = form.querySelector(".om-progress");
    var mapping = form.querySelector("textarea[name=mapping]");
    var importButton = form.querySelector(".om-import");
    var buttons = form.querySelectorAll("button");
    var summary = document.querySelector(".om-summary");
    var table = document.querySelector(".om-problems");
    var preview = null;
    // Folium puts the map after the page's body; it belongs beside the report it illustrates.
    document.querySelector(".om-upload-result").appendChild(map.getContainer());
    map.invalidateSize();
    var checked = null; // what the last clean dry run was made with

    function say(text) { status.textContent = text; }

    // Anything changed after a clean dry run must be dry-run again before it is imported.
    function formState() {
      var f = fileInput.files[0];
      return [form.layer.value, f ? f.name + ":" + f.size + ":" + f.lastModified : "",
              form.crs.value, form.encoding.value, mapping.value].join("\u0001");
    }
    form.addEventListener("input", function () { importButton.disabled = checked !== formState(); });
    form.addEventListener("change", function () { importButton.disabled = checked !== formState(); });

    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("om-over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("om-over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) {
        fileInput.files = e.dataTransfer.files;
        fileInput.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });

    function body(options) {
      var data = new FormData();
      data.append("file", fileInput.files[0]);
      if (form.crs.value) { data.append("crs", form.crs.value); }
      if (form.encoding.value.trim()) { data.append("encoding", form.encoding.value.trim()); }
      if (mapping.value.trim()) { data.append("mapping", mapping.value); }
      Object.keys(options).forEach(function (k) { data.append(k, options[k]); });
      return data;
    }

    function problemText(response, json) {
      if (json && json.detail) {
        var errors = (json.errors || []).map(function (e) { return e.detail || e.message || ""; });
        return json.detail + (errors.length ? " — " + errors.join("; ") : "");
      }
      return "HTTP " + response.status;
    }

    function start(options) {
      if (!fileInput.files.length) {
        fileInput.focus();
        return Promise.reject(new Error("先选择文件 Choose a file first"));
      }
      var url = "/collections/" + encodeURIComponent(form.layer.value) + "/imports";
      return fetch(url, { method: "POST", body: body(options), credentials: "same-origin" })
        .then(function (response) {
          return response.json().catch(function () { return null; }).then(function (json) {
            if (response.status !== 202) { throw new Error(problemText(response, json)); }
            return response.headers.get("Location");
          });
        });
    }

    function follow(location) {
      return fetch(location, { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (job) {
          var p = job.progress || {};
          if (p.total) {
            progress.hidden = false;
            progress.max = p.total;
            progress.value = p.done || 0;
          }
          if (job.state === "done") { return job; }
          if (job.state === "failed") { throw new Error(job.error || "the import failed"); }
          return sleep(300).then(function () { return follow(location); });
        });
    }

    function showReport(report) {
      var verdict = report.committed ? "已导入 Imported"
        : report.ok ? "试导入通过，未写入 Dry run passed, nothing written"
          : "未通过，图层未改变 Refused: the layer is unchanged";
      var lines = ["<p><b>" + esc(verdict) + "</b> — " + esc(report.file) + " → " + esc(report.layer) + "</p>",
        "<p>读取 read " + report.rows_read + " · 有效 valid " + report.rows_valid
          + (report.committed ? " · 新增 inserted " + report.inserted + " · 更新 updated " + report.updated : "")
          + " · " + esc(report.format) + " · " + esc(report.crs) + "</p>"];
      var columns = Object.keys(report.columns || {}).map(function (k) { return esc(k) + " → " + esc(report.columns[k]); });
      if (columns.length) { lines.push("<p>列 Columns: " + columns.join(", ") + "</p>"); }
      if ((report.unknown_columns || []).length) {
        lines.push("<p>未导入的列 Columns not loaded: " + report.unknown_columns.map(esc).join(", ") + "</p>");
      }
      var done = report.mapping || {};
      Object.keys(done.values || {}).forEach(function (field) {
        var v = done.values[field];
        lines.push("<p>" + esc(field) + ": " + Object.keys(v).map(function (s) {
          return esc(s) + " → " + esc(v[s].to) + " (" + v[s].rows + ")";
        }).join(", ") + "</p>");
      });
      Object.keys(done.set || {}).forEach(function (field) {
        lines.push("<p>" + esc(field) + " = " + esc(done.set[field].value) + " (" + done.set[field].rows + ")</p>");
      });
      (report.notes || []).forEach(function (n) { lines.push('<p class="om-note">' + esc(n) + "</p>"); });
      (report.problem_kinds || []).forEach(function (k) {
        lines.push('<p class="om-kind">' + k.count + " × " + esc(k.field || "file") + ": " + esc(k.count === 1 ? k.example : k.kind) + "</p>");
      });
      summary.innerHTML = lines.join("");
      var problems = report.problems || [];
      table.hidden = !problems.length;
      table.querySelector("tbody").innerHTML = problems.slice(0, MAX_TABLE_ROWS).map(function (p) {
        return "<tr><td>" + esc(p.row === null ? "—" : p.row) + "</td><td>" + esc(p.field || "—") + "</td><td>" + esc(p.reason) + "</td></tr>";
      }).join("") + (problems.length > MAX_TABLE_ROWS
        ? '<tr><td colspan="3">… ' + (problems.length - MAX_TABLE_ROWS) + " more / 更多</td></tr>" : "");
      if (preview) { map.removeLayer(preview); preview = null; }
      if (report.preview && report.preview.features.length) {
        var bad = {};
        problems.forEach(function (p) { if (p.row !== null) { bad[p.row] = true; } });
        preview = L.geoJSON(report.preview, {
          style: function (f) { return { color: bad[f.properties.row] ? "#d62728" : "#1f77b4", weight: 2 }; },
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, { radius: 4, color: bad[f.properties.row] ? "#d62728" : "#1f77b4" });
          },
          onEachFeature: function (f, layer) { layer.bindTooltip("行 row " + f.properties.row); }
        }).addTo(map);
        map.fitBounds(preview.getBounds(), { maxZoom: 17 });
      }
    }

    function run(options, label) {
      buttons.forEach(function (b) { b.disabled = true; });
      progress.hidden = true;
      progress.value = 0;
      say(label + "…");
      var asked = formState();
      return start(options).then(follow).then(function (job) {
        var report = job.result;
        showReport(report);
        return { report: report, asked: asked };
      }).catch(function (e) {
        say(String(e.message || e));
        return null;
      }).finally(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        importButton.disabled = checked !== formState();
      });
    }

    form.querySelector(".om-suggest").addEventListener("click", function () {
      run({ suggest_mapping: "true" }, "建议映射 Suggesting").then(function (done) {
        if (!done) { return; }
        if (done.report.suggested_mapping) { mapping.value = done.report.suggested_mapping; }
        checked = null;
        importButton.disabled = true;
        say("请检查映射，把 null 改成你的选择，然后试导入 Check the mapping, replace each null with your choice, then dry-run");
        mapping.focus();
      });
    });
    form.querySelector(".om-dry-run").addEventListener("click", function () {
      run({ dry_run: "true" }, "试导入 Dry run").then(function (done) {
        if (!done) { return; }
        checked = done.report.ok ? done.asked : null;
        importButton.disabled = checked !== formState();
        say(done.report.ok ? "可以导入 Ready to import" : "请按问题修改 Fix the problems listed, then dry-run again");
      });
    });
    importButton.addEventListener("click", function () {
      run({}, "导入 Importing").then(function (done) {
        if (!done) { return; }
        checked = null;
        importButton.disabled = true;
        if (done.report.committed) {
          var layer = encodeURIComponent(done.report.layer);
          status.innerHTML = "已导入 Imported " + done.report.inserted + " · "
            + '<a class="om-result" href="/map">在一张图上查看 See it on the one map</a> · '
            + '<a href="/collections/' + layer + '/items">要素 Features</a>';
        } else {
          say("未写入 Nothing was written");
        }
      });
    });
  }

  window.OneMapUpload = { attach: attach };
})();
