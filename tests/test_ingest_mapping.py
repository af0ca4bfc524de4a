"""Files in their senders' words: value crosswalks, constants, a suggested mapping, a report a
person can read."""

import json

import psycopg
import pytest
import yaml
from fastapi.testclient import TestClient

from ingest import load, pipeline
from ingest.mapping import Mapping, parse_mapping
from ingest.suggest import nearest_terms
from ingest_support import INPUTS, run, state
from layers import REGISTRY
from layers.errors import InvalidInput
from layers.vocabulary import MATERIAL, NETWORK
from spatial.gdal import pyogrio
from tests_support import ADMIN_TOKEN, admin_app, finished_job, run_onemap

PIPES = INPUTS / "pipelines_department_gbk.zip"
PIPES_MAPPING = INPUTS / "pipelines_department_mapping.yaml"
REQUESTS = INPUTS / "elevator_requests_no_category.xlsx"
REQUESTS_MAPPING = INPUTS / "elevator_requests_mapping.yaml"


def source_rows():
    return pyogrio.read_dataframe(f"/vsizip/{PIPES}", encoding="gbk")


def last_rows(url, layer, n, columns):
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT {columns} FROM {layer} ORDER BY id DESC LIMIT %s", (n,)
        ).fetchall()[::-1]


def test_values_and_set_turn_a_departments_words_into_codes(ingest_url):
    mapping = yaml.safe_load(PIPES_MAPPING.read_text(encoding="utf-8"))
    source = source_rows()
    before = state(ingest_url, "pipelines")[0]
    report = run(ingest_url, PIPES, "pipelines", mapping=PIPES_MAPPING)
    assert report.committed and report.inserted == len(source), report.to_text()
    stored = last_rows(ingest_url, "pipelines", len(source), "network, material, owner, operator")
    for (network, material, owner, operator), (_, row) in zip(
        stored, source.iterrows(), strict=True
    ):
        # Independently: the crosswalk as written, then the vocabulary's own label match.
        want_network = mapping["values"]["network"].get(row["管线类型"], row["管线类型"])
        want_material = mapping["values"]["material"].get(row["材质"], row["材质"])
        assert network == NETWORK.match(want_network)
        assert material == MATERIAL.match(want_material)
        assert owner == "utility" and operator == row["权属单位"]
    assert state(ingest_url, "pipelines")[0] == before + len(source)
    with psycopg.connect(ingest_url) as conn:  # every new feature is in a run of its import
        covered = conn.execute(
            "SELECT count(*) FROM (SELECT id FROM pipelines ORDER BY id DESC LIMIT %s) AS new "
            "WHERE EXISTS (SELECT 1 FROM change_history h WHERE h.layer = 'pipelines' "
            "AND h.action = 'insert' AND h.note = %s "
            "AND new.id BETWEEN h.feature_id AND h.last_feature_id)",
            (len(source), f"ingest of {PIPES.name}"),
        ).fetchone()[0]
    assert covered == len(source)
    # The report says what each section did, in rows.
    done = report.mapping
    counts = source["材质"].value_counts()
    assert done["values"]["material"]["铸铁"] == {"to": "grey_cast_iron", "rows": counts["铸铁"]}
    assert done["set"]["owner"] == {"value": "utility", "rows": len(source)}
    text = report.to_text()
    assert f"铸铁 → grey_cast_iron ({counts['铸铁']})" in text
    assert f"set owner = utility on {len(source)} rows" in text


def test_set_gives_a_field_to_every_row_of_a_sheet(ingest_url):
    before = state(ingest_url, "resident_requests")[0]
    report = run(ingest_url, REQUESTS, "resident_requests", mapping=REQUESTS_MAPPING)
    assert report.committed and report.inserted == 30, report.to_text()
    rows = last_rows(ingest_url, "resident_requests", 30, "category, status, channel")
    assert set(rows) == {("elevator", "received", "hotline_12345")}
    assert state(ingest_url, "resident_requests")[0] == before + 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("set: {channel: hotline_12345, category: elevator, status: received}",
         "set.channel: the file also has a column for it ('来源渠道')"),
        ("set: {category: elevator, status: 飞天}", "set.status: '飞天' is not one of"),
        ("set: {category: elevator, status: null}", "set.status has no value"),
        ("set: {category: elevator, status: received, colour: red}", "set.colour: not a field"),
        ("set: {category: [a, b], status: received}", "set.category: expected one value"),
        ("values: {category: {x: elevator}}\nset: {status: received}",
         "values.category: no column of the file maps to category"),
        ("values: {channel: {12345热线: 飞天}}\nset: {category: elevator, status: received}",
         "values.channel.12345热线: '飞天' is not one of"),
        ("colums: {a: b}\nset: {}", "unknown sections colums"),
        ("[1, 2]", "expected a mapping with columns, values, set"),
        ("columns: {来源渠道: nothing}", "'nothing' is not a field of resident_requests"),
        ("columns: {来源渠道: " + "x" * 5000 + "}",
         "… (5,000 characters) is not a field of resident_requests"),
        ("{{{", "not YAML or JSON"),
        # PyYAML kept the last of a repeated key: one column mapped to two fields, silently
        ("columns:\n  来源渠道: channel\n  来源渠道: category\nset: {status: received}",
         "(line 3): '来源渠道' is given twice (first on line 2)"),
        ('{"columns": {"a": "channel"}, "columns": {"b": "category"}}', "'columns' is given twice"),
        ("values:\n  channel: {热线: hotline, 热线: app}", "'热线' is given twice"),
    ],
)  # fmt: skip
def test_a_wrong_mapping_is_refused_by_section_and_changes_nothing(ingest_url, text, message):
    before = state(ingest_url, "resident_requests")
    with pytest.raises(InvalidInput, match="mapping") as refused:
        run(ingest_url, REQUESTS, "resident_requests", mapping=parse_mapping(text))
    assert message in str(refused.value)
    assert state(ingest_url, "resident_requests") == before


@pytest.mark.parametrize("name", ["has_elevator", "structure"])
def test_a_cells_long_value_is_quoted_cut_short(name):
    """A row's reason names its value, not all of a hostile file's 5,000-character cell."""
    from layers import get_layer
    from spatial.validate import convert

    with pytest.raises(ValueError) as refused:
        convert(get_layer("buildings").fields_by_name[name], "x" * 5000)
    assert "(5,000 characters)" in str(refused.value) and len(str(refused.value)) < 300


def test_set_obeys_the_writers_level():
    from ingest.mapping import check_mapping
    from layers import Visibility, get_layer

    layer = get_layer("resident_requests")
    check_mapping(parse_mapping("set: {caller_phone: '123'}"), layer, Visibility.PRIVATE)
    with pytest.raises(InvalidInput, match="set.caller_phone: the field is kept by OneMap or "
                       "above your access level"):  # fmt: skip
        check_mapping(parse_mapping("set: {caller_phone: '123'}"), layer, Visibility.INTERNAL)


def test_a_value_the_crosswalk_leaves_out_fails_with_its_rows(ingest_url):
    text = PIPES_MAPPING.read_text(encoding="utf-8").replace(" 砼: concrete,", "")
    before = state(ingest_url, "pipelines")
    report = run(ingest_url, PIPES, "pipelines", mapping=parse_mapping(text))
    assert not report.ok and state(ingest_url, "pipelines") == before
    source = source_rows()
    concrete_rows = [i + 1 for i, v in enumerate(source["材质"]) if v == "砼"]
    assert sorted(p.row for p in report.problems) == concrete_rows
    assert {p.field for p in report.problems} == {"material"}
    [kind] = report.as_dict()["problem_kinds"]
    assert kind["count"] == len(concrete_rows) and kind["values"] == {"砼": len(concrete_rows)}
    assert kind["rows"] == concrete_rows[:5]
    text = report.to_text()
    assert f"problems: {len(concrete_rows)} in {len(concrete_rows)} rows, 1 kind" in text
    assert f"{len(concrete_rows)} × material: … is not one of" in text
    assert len(text.splitlines()) < 15  # one line per kind, not one per row


def test_the_flat_form_is_the_columns_section():
    flat = parse_mapping("类别: network\n年份: install_year")
    assert flat == Mapping(columns={"类别": "network", "年份": "install_year"})
    assert parse_mapping("columns: {类别: network}") == Mapping(columns={"类别": "network"})
    assert parse_mapping("") == Mapping()


def test_nearest_terms_offer_what_a_word_may_mean():
    assert [t.code for t in nearest_terms("铸铁", MATERIAL)][:2] == [
        "grey_cast_iron",
        "ductile_iron",
    ]
    drainage = {"drainage_storm", "drainage_sewer", "drainage_combined"}
    assert {t.code for t in nearest_terms("排水", NETWORK)} == drainage
    assert nearest_terms("砼", MATERIAL)[0].code == "concrete"
    assert "pvc_u" in [t.code for t in nearest_terms("PVC", MATERIAL)]
    assert nearest_terms("zzzz", NETWORK) == []


def test_cli_suggests_a_draft_that_a_person_finishes(ingest_url, tmp_path):
    env = {"ONEMAP_DATABASE_URL": ingest_url}
    draft_path = tmp_path / "draft.yaml"
    before = state(ingest_url, "pipelines")
    made = run_onemap(
        "ingest", str(PIPES), "--layer", "pipelines", "--suggest-mapping", str(draft_path), env=env
    )
    assert "Traceback" not in made.stderr and draft_path.exists(), made.stderr
    assert state(ingest_url, "pipelines") == before  # a suggestion is a dry run
    text = draft_path.read_text(encoding="utf-8")
    draft = yaml.safe_load(text)
    assert draft["columns"] == {"材质": "material", "管线类型": "network", "管径": "diameter_mm",
                                "建设年代": "install_year", "权属单位": "operator"}  # fmt: skip
    source = source_rows()
    outside = {v for v in source["材质"].unique() if MATERIAL.match(v) is None}
    assert set(draft["values"]["material"]) == outside
    assert set(draft["values"]["network"]) == {"排水"}
    assert all(v is None for m in draft["values"].values() for v in m.values())
    line = next(x for x in text.splitlines() if x.strip().startswith("排水:"))
    assert "drainage_storm 雨水" in line and "drainage_sewer 污水" in line
    assert "drainage_combined 合流" in line
    line = next(x for x in text.splitlines() if x.strip().startswith("铸铁:"))
    assert "grey_cast_iron 灰口铸铁" in line and "ductile_iron 球墨铸铁" in line
    # Run unread, the draft is refused; with the choices written in, the file goes in.
    unread = run_onemap("ingest", str(PIPES), "--layer", "pipelines", "--mapping",
                        str(draft_path), env=env)  # fmt: skip
    assert unread.returncode == 1 and "has no value: choose one" in unread.stderr
    assert state(ingest_url, "pipelines") == before
    chosen = {"铸铁": "grey_cast_iron", "砼": "混凝土", "PVC": "pvc_u", "钢管": "steel",
              "镀锌管": "galvanized_steel"}  # fmt: skip
    draft["values"] = {"network": {"排水": "合流"},
                       "material": {k: chosen[k] for k in draft["values"]["material"]}}  # fmt: skip
    draft_path.write_text(yaml.safe_dump(draft, allow_unicode=True), encoding="utf-8")
    done = run_onemap("ingest", str(PIPES), "--layer", "pipelines", "--mapping",
                      str(draft_path), "--dry-run", env=env)  # fmt: skip
    assert done.returncode == 0 and "dry run: valid" in done.stdout, done.stdout + done.stderr


def test_a_draft_has_a_set_line_for_each_required_field_without_a_column(ingest_url, tmp_path):
    options = pipeline.Options(layer="resident_requests", dry_run=True, suggest=True)
    report = pipeline.run(ingest_url, REQUESTS, options)
    draft = yaml.safe_load(report.suggested_mapping)
    assert draft["set"] == {"category": None, "status": None}
    assert "elevator 加装电梯" in report.suggested_mapping
    assert draft["columns"] == {
        "来源渠道": "channel",
        "受理日期": "received_on",
        "小区": "estate_id",
    }


def test_http_import_takes_a_mapping_and_suggests_one(ingest_url):
    app = admin_app(ingest_url)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    files = {"file": (REQUESTS.name, REQUESTS.read_bytes(), "application/octet-stream")}
    url = "/collections/resident_requests/imports"
    before = state(ingest_url, "resident_requests")
    with TestClient(app) as client:
        started = client.post(url, files=files, data={"suggest_mapping": "true"}, headers=headers)
        assert started.status_code == 202, started.text
        job = finished_job(client, started.headers["location"], headers)
        draft = yaml.safe_load(job["result"]["suggested_mapping"])
        assert draft["set"] == {"category": None, "status": None}
        assert state(ingest_url, "resident_requests") == before
        bad = client.post(url, files=files, data={"mapping": "set: {category: 飞天}"},
                          headers=headers)  # fmt: skip
        assert bad.status_code == 400
        assert "set.category: '飞天' is not one of" in bad.json()["detail"]
        mapping = REQUESTS_MAPPING.read_text(encoding="utf-8")
        started = client.post(url, files=files, data={"mapping": mapping}, headers=headers)
        job = finished_job(client, started.headers["location"], headers)
        assert job["state"] == "done" and job["result"]["committed"], json.dumps(job)[:500]
        assert job["result"]["mapping"]["set"]["category"] == {"value": "elevator", "rows": 30}
    assert state(ingest_url, "resident_requests")[0] == before[0] + 30


def test_new_features_are_recorded_as_runs_around_another_writers_rows(ingest_url):
    """Two rows of this transaction, an id taken by another writer, two more rows: two runs,
    and the other writer's feature (stored later with its id) is not claimed by the import.

    (A writer that inserts during an import's COPY takes such an id; afterwards it would wait
    for the import, whose statements hold the layer's version row.)"""
    layer = REGISTRY["resident_requests"]
    insert = (
        "INSERT INTO resident_requests (id, category, status, channel, received_on, geom) "
        "VALUES (coalesce(%s, nextval(pg_get_serial_sequence('resident_requests', 'id'))), "
        "'elevator', 'received', 'hotline_12345', '2026-11-02', "
        "ST_SetSRID(ST_Point(116.4, 39.9), 4326)) RETURNING id"
    )
    taken = "SELECT nextval(pg_get_serial_sequence('resident_requests', 'id'))"
    with psycopg.connect(ingest_url, autocommit=True) as other:
        with psycopg.connect(ingest_url) as conn:
            last = conn.execute("SELECT max(id) FROM resident_requests").fetchone()[0]
            ours = [conn.execute(insert, (None,)).fetchone()[0] for _ in range(2)]
            theirs = other.execute(taken).fetchone()[0]
            ours += [conn.execute(insert, (None,)).fetchone()[0] for _ in range(2)]
            load.record_appended(conn, layer, last, "runner", "ingest of runs.csv")
        other.execute(insert, (theirs,))
    assert ours[0] < ours[1] < theirs < ours[2] < ours[3]
    with psycopg.connect(ingest_url) as conn:
        runs = conn.execute(
            "SELECT feature_id, last_feature_id, action, actor FROM change_history "
            "WHERE note = 'ingest of runs.csv' ORDER BY feature_id"
        ).fetchall()
    assert runs == [(ours[0], ours[1], "insert", "runner"), (ours[2], ours[3], "insert", "runner")]
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    app = admin_app(ingest_url)
    with TestClient(app) as client:
        for fid, changes in ((ours[1], 1), (theirs, 0), (ours[2], 1)):
            url = f"/collections/resident_requests/items/{fid}/history"
            history = client.get(url, headers=headers).json()["changes"]
            shown = [(c["action"], c["actor"], c["note"]) for c in history]
            assert shown == [("insert", "runner", "ingest of runs.csv")] * changes
