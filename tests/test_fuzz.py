"""Schemathesis over the whole OpenAPI document of a running server, with a small budget.

Every operation gets generated valid and invalid requests, as an admin (who reaches every
route, writes included: the server runs on the edits database), and, through
``fuzz_hooks``, what the document does not allow: non-finite and huge numbers, deep nesting,
very long and repeated parameters. The checks: no 5xx, every response matches its
documented schema and content type, invalid input is refused with a 4xx; afterwards the
server and PostgreSQL are still the same processes. ``bench/fuzz.py`` runs the same with a
larger budget and random seeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import psycopg

from analyses.registry import ANALYSES
from layers import REGISTRY
from tests_support import ADMIN_TOKEN, serve

ST = str(Path(sys.executable).parent / "st")
CHECKS = ",".join((
    "not_a_server_error", "response_schema_conformance", "content_type_conformance",
    "negative_data_rejection",
))  # fmt: skip


def _with_layer_names(document: dict) -> dict:
    """The document with layer and analysis names enumerated, so generated requests reach them.

    Only the fuzzer's copy: the served document does not list layers an anonymous caller
    cannot see.
    """
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "collectionId":
                    parameter["schema"] = {"type": "string", "enum": list(REGISTRY)}
                if parameter.get("name") == "name" and parameter.get("in") == "path":
                    parameter["schema"] = {"type": "string", "enum": list(ANALYSES)}
    return document


def fuzz(
    base: str, max_examples: int, seed: int = 1, deterministic: bool = True
) -> subprocess.CompletedProcess:
    """Run ``st run`` on a server; ``deterministic`` generates the same cases every run.

    One worker: with two, hypothesis parses lambda sources from two threads at once, which
    CPython 3.11.7's ``ast`` does not survive (SystemError: recursion depth mismatch).
    """
    document = _with_layer_names(httpx.get(f"{base}/openapi.json").json())
    mode = ["--generation-deterministic"] if deterministic else ["--seed", str(seed)]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as schema:
        json.dump(document, schema)
        schema.flush()
        return subprocess.run(
            [ST, "--config-file", str(Path(__file__).with_name("schemathesis.toml")), "run",
             schema.name, "--url", base, "--checks", CHECKS,
             "--max-examples", str(max_examples), *mode,
             "--header", f"Authorization: Bearer {ADMIN_TOKEN}", "--workers", "1",
             "--request-timeout", "30", "--suppress-health-check", "all", "--warnings", "off",
             "--no-color"],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "fuzz_hooks",
                 "PYTHONPATH": str(Path(__file__).parent)},
        )  # fmt: skip


def test_no_server_error_and_no_schema_violation(edits_url):
    with psycopg.connect(edits_url) as conn:
        started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
    with serve(edits_url) as (base, pid):
        result = fuzz(base, max_examples=5)
        os.kill(pid, 0)  # the server process survived every request
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    report = result.stdout[-6000:]
    assert result.returncode == 0, report
    assert "passed" in report or "No issues found" in report, report
    with psycopg.connect(edits_url) as conn:
        assert conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == started
