"""The ``onemap`` command as a user runs it: real processes, real database."""

import json
import socket
from pathlib import Path

import psycopg
import pytest

import database
from layers import REGISTRY
from spatial import catalog
from tests_support import MIGRATED, POSTGIS, local_get, run_onemap, serve, until

pytestmark = pytest.mark.e2e


def test_layers_json_lists_every_layer_with_its_count(db_url):
    result = run_onemap("layers", "--json", env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == list(REGISTRY)
    with psycopg.connect(db_url) as conn:
        counts = catalog.layer_counts(conn, list(REGISTRY))
    assert {r["name"]: r["count"] for r in rows} == counts
    estates = next(r for r in rows if r["name"] == "estates")
    assert estates["geometry_type"] == "MultiPolygon" and estates["title_zh"] == "老旧小区"


def test_db_status_prints_the_url_and_versions(db_url):
    result = run_onemap("db", "status", env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert db_url in result.stdout and "PostGIS 3" in result.stdout


def test_unreachable_database_is_one_line_and_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    result = run_onemap("layers", env={"ONEMAP_DATABASE_URL": f"postgresql://u@127.0.0.1:{port}/x"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [(("serve", "--port", "70000"), "--port"),  # was OverflowError's traceback
     (("serve", "--port", "0"), "--port"),  # served on a random port it did not name
     (("analyse", "overruns", "--estate", "99999999999999999999999"), "--estate"),
     (("analyse", "overruns", "--estate", "0"), "--estate"),
     (("dossier", "0"), "estate"),
     (("samples", "load", "--scale", "0.01", "--seed", "-1"), "--seed")],
)  # fmt: skip
def test_numbers_out_of_an_options_range_are_named_before_any_work(db_url, args, option):
    result = run_onemap(*args, env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == 2, result
    assert f"Invalid value for '{option}'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ONEMAP_EMBEDDED_PORT", "80", "ONEMAP_EMBEDDED_PORT"),
        ("ONEMAP_DATABASE_URL", "mysql://x@y/z", "not a PostgreSQL URL"),
    ],
)
def test_bad_settings_are_named(variable, value, message):
    result = run_onemap("db", "status", env={variable: value})
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_loading_samples_over_data_is_refused_and_changes_nothing(db_url):
    with psycopg.connect(db_url) as conn:
        before = catalog.layer_counts(conn, list(REGISTRY))
    result = run_onemap("samples", "load", "--scale", "0.01", env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == 1
    assert "already holds data" in result.stderr
    with psycopg.connect(db_url) as conn:
        assert catalog.layer_counts(conn, list(REGISTRY)) == before


def test_samples_if_empty_skips_a_loaded_database(db_url):
    result = run_onemap("samples", "load", "--if-empty", env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == 0
    assert "not loaded" in result.stdout


def test_serve_on_a_taken_port_is_a_clear_error(db_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run_onemap("serve", "--port", str(port), env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_forks_its_workers_from_the_process_that_loaded_the_app(db_url, tmp_path):
    """Workers are forks of ``onemap serve`` (sharing its imported modules), not new
    interpreters that import the app again; each starts the app and the service answers."""
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log, serve(db_url, workers=2, log=log, fresh=True) as (base, pid):
        assert local_get(f"{base}/health").status_code == 200
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert len(children) == 2
        assert all(Path(f"/proc/{c}/cmdline").read_bytes() == command for c in children)
        assert until(lambda: all(f"Started server process [{c}]" in log_path.read_text()
                                 for c in children))  # fmt: skip


@pytest.mark.parametrize(("options", "logged"), [((), False), (("--access-log",), True)])
def test_serve_logs_requests_only_when_asked(db_url, tmp_path, options, logged):
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log, serve(db_url, options=options, log=log) as (base, _):
        assert local_get(f"{base}/collections").status_code == 200
    text = log_path.read_text()
    assert "Application startup complete" in text  # the server's own log is there either way
    assert ('"GET /collections HTTP/1.1" 200' in text) is logged


def test_samples_load_and_reset_on_a_fresh_database(scratch_database):
    url = scratch_database("onemap_cli", POSTGIS)  # as a hosting service gives one
    env = {"ONEMAP_DATABASE_URL": url}
    assert run_onemap("db", "migrate", env=env).returncode == 0
    loaded = run_onemap("samples", "load", "--scale", "0.01", "--seed", "3", env=env)
    assert loaded.returncode == 0, loaded.stderr
    with psycopg.connect(url) as conn:
        assert catalog.layer_counts(conn, ["estates"])["estates"] == 61
    assert run_onemap("db", "reset", "--yes", env=env).returncode == 0
    with psycopg.connect(url) as conn:
        assert catalog.layers_empty(conn, list(REGISTRY))


# Every command that reads or writes the layers (serve included) on an unmigrated database.
# (``check``, ``ledger``, ``dossier`` and ``holidays`` connect as ``analyse`` does.)
DATA_COMMANDS = [
    ["layers"], ["export", "estates", "--out", "/dev/null", "--format", "geojson"],
    ["analyse", "overruns"], ["users", "list"], ["samples", "load", "--scale", "0.01"],
    ["serve", "--port", "1"],
]  # fmt: skip


def test_a_database_without_the_schema_is_named_with_what_to_do(scratch_database):
    """A new cluster (another ONEMAP_DATA_DIR, another folder) used to answer every command
    and page with 'relation … does not exist'."""
    url = scratch_database("onemap_unmigrated", POSTGIS)
    for args in DATA_COMMANDS:
        result = run_onemap(*args, env={"ONEMAP_DATABASE_URL": url})
        assert result.returncode == 1, (args, result.stderr)
        assert "no OneMap schema yet (run: onemap db migrate)" in result.stderr, result.stderr


def test_a_database_a_migration_behind_is_named_with_what_to_do(scratch_database):
    url = scratch_database("onemap_behind", MIGRATED)
    head = database.migration_head()
    before = f"{int(head) - 1:04d}"
    database.downgrade(url, before)
    result = run_onemap("layers", env={"ONEMAP_DATABASE_URL": url})
    assert result.returncode == 1
    assert f"at migration {before}, this OneMap needs {head}" in result.stderr, result.stderr
    assert run_onemap("db", "migrate", env={"ONEMAP_DATABASE_URL": url}).returncode == 0
    assert run_onemap("layers", env={"ONEMAP_DATABASE_URL": url}).returncode == 0


def test_the_head_read_from_file_names_is_alembics():
    from alembic.script import ScriptDirectory

    config = database.alembic_config("postgresql://unused/x")
    assert database.migration_head() == ScriptDirectory.from_config(config).get_current_head()


def test_users_add_token_list_revoke(edits_url):
    env = {"ONEMAP_DATABASE_URL": edits_url}
    with psycopg.connect(edits_url) as conn:
        street = conn.execute("SELECT code FROM streets ORDER BY code LIMIT 1").fetchone()[0]
    added = run_onemap("users", "add", "cli-planner", "--role", "responsible_planner",
                "--street", street, env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("om_") and len(token) > 40
    second = run_onemap("users", "token", "cli-planner", "--label", "QGIS", env=env)
    assert second.returncode == 0 and second.stdout.strip().splitlines()[-1] != token
    listed = json.loads(run_onemap("users", "list", "--json", env=env).stdout)
    me = next(u for u in listed if u["name"] == "cli-planner")
    assert me["role"] == "responsible_planner" and me["streets"] == [street]
    assert me["active_tokens"] == 2
    revoked = run_onemap("users", "revoke", "cli-planner", env=env)
    assert revoked.returncode == 0 and "2 token" in revoked.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "add", "x", "--role", "king"), "unknown role"),
        (("users", "add", "x", "--role", "responsible_planner"), "at least one --street"),
        (("users", "add", "x", "--role", "planner", "--street", "110101001"), "only a responsible"),
        (("users", "add", "x", "--role", "responsible_planner", "--street", "nope"), "nope"),
        (("users", "revoke", "nobody"), "no active user"),
        (("users", "token", "nobody"), "no active user"),
    ],
)
def test_users_mistakes_are_one_line_and_exit_1(edits_url, args, message):
    def users() -> list[tuple]:
        with psycopg.connect(edits_url) as conn:
            return conn.execute("SELECT u.*, t.* FROM users u LEFT JOIN api_tokens t "
                                "ON t.user_id = u.id ORDER BY u.id, t.id").fetchall()  # fmt: skip

    before = users()
    result = run_onemap(*args, env={"ONEMAP_DATABASE_URL": edits_url})
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert users() == before


def _outputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    """Each command that writes a file, with a place it cannot write to; what it says."""
    folder, nowhere = tmp_path / "a-folder.geojson", tmp_path / "no" / "such" / "x.json"
    folder.mkdir()
    return [
        (["export", "estates", "--out", str(folder)], "is a folder"),
        (["export", "estates", "--out", str(nowhere.with_suffix(".geojson"))], "does not exist"),
        (["export", "estates", "--out", "/dev/null", "--format", "gpkg"], "needs a regular file"),
        (["analyse", "overruns", "--out", str(folder)], "is a folder"),
        (["dossier", "1", "--out", str(nowhere)], "does not exist"),
        (["ledger", "--out", str(nowhere.with_suffix(".xlsx"))], "does not exist"),
        (["check", "--out", str(folder)], "is a folder"),
    ]


def test_an_output_that_cannot_be_written_is_one_line_before_any_work(db_url, tmp_path):
    for args, message in _outputs(tmp_path):
        result = run_onemap(*args, env={"ONEMAP_DATABASE_URL": db_url})
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert "→" not in result.stderr, result.stderr  # refused before the export started


def test_an_ingest_report_that_cannot_be_written_is_refused_before_any_row(edits_url, tmp_path):
    """Checked after the rows went in, the failure would have read as a failed import."""
    source = tmp_path / "one.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
        "properties": {"name_zh": "报告测试", "kind": "elder_care"}}]}))  # fmt: skip
    with psycopg.connect(edits_url) as conn:
        before = conn.execute("SELECT count(*) FROM service_facilities").fetchone()
    result = run_onemap(
        "ingest", str(source), "--layer", "service_facilities",
        "--report", str(tmp_path / "no" / "r.json"), env={"ONEMAP_DATABASE_URL": edits_url},
    )  # fmt: skip
    assert result.returncode == 1 and "--report: the folder" in result.stderr, result.stderr
    with psycopg.connect(edits_url) as conn:
        assert conn.execute("SELECT count(*) FROM service_facilities").fetchone() == before


def test_a_failed_write_keeps_the_file_that_was_there(tmp_path):
    from cli.common import output_file

    target = tmp_path / "estates.geojson"
    target.write_text("the export of yesterday")
    with pytest.raises(RuntimeError), output_file(target) as partial:
        partial.write_text("half of today's")
        raise RuntimeError("the database went away")
    assert target.read_text() == "the export of yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["estates.geojson"]  # no half file left
    with output_file(target) as partial:
        partial.write_text("today's")
    assert target.read_text() == "today's"
    assert [p.name for p in tmp_path.iterdir()] == ["estates.geojson"]
