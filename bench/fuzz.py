"""The API fuzzer: Schemathesis over the whole OpenAPI document of a running OneMap.

    .venv/bin/python bench/fuzz.py [--examples 300] [--seed 7]

As a command: copies the embedded cluster's database to ``onemap_fuzz`` (the fuzzer writes
as an admin), serves it, runs Schemathesis with a large budget and random seeds, prints its
report and exits with its status. ``tests/test_fuzz.py`` runs ``fuzz`` with a small,
deterministic budget on the test city.

Every operation gets generated valid and invalid requests, as an admin (who reaches every
route, writes included), and, through ``fuzz_hooks``, what the document does not allow:
non-finite and huge numbers, deep nesting, very long and repeated parameters. The checks: no
5xx, every response matches its documented schema and content type, invalid input is
refused with a 4xx (``schemathesis.toml`` lists the statuses that count).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from servers import TOKEN, serve_onemap, wait

import database
from analyses.registry import ANALYSES
from database.settings import DatabaseSettings
from layers import REGISTRY

HERE = Path(__file__).resolve().parent
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
    base: str, token: str, max_examples: int, seed: int = 1, deterministic: bool = True
) -> subprocess.CompletedProcess:
    """Run ``st run`` on a server as the admin ``token``; ``deterministic``: the same cases.

    One worker: with two, hypothesis parses lambda sources from two threads at once, which
    CPython 3.11.7's ``ast`` does not survive (SystemError: recursion depth mismatch).
    """
    document = _with_layer_names(httpx.get(f"{base}/openapi.json").json())
    mode = ["--generation-deterministic"] if deterministic else ["--seed", str(seed)]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as schema:
        json.dump(document, schema)
        schema.flush()
        return subprocess.run(
            [ST, "--config-file", str(HERE / "schemathesis.toml"), "run",
             schema.name, "--url", base, "--checks", CHECKS,
             "--max-examples", str(max_examples), *mode,
             "--header", f"Authorization: Bearer {token}", "--workers", "1",
             "--request-timeout", "30", "--suppress-health-check", "all", "--warnings", "off",
             "--no-color"],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "fuzz_hooks", "PYTHONPATH": str(HERE)},
        )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = database.resolve_database_url(DatabaseSettings())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS onemap_fuzz WITH (FORCE)")
        try:
            conn.execute("CREATE DATABASE onemap_fuzz TEMPLATE onemap")
        except psycopg.errors.ObjectInUse:
            sys.exit("bench/fuzz.py: stop the servers using the onemap database first")
    copy = url.rsplit("/", 1)[0] + "/onemap_fuzz"
    started = time.monotonic()
    port = _free_port()
    server = serve_onemap(port, copy, workers=1)
    try:
        base = f"http://127.0.0.1:{port}"
        wait(base, "/health")
        result = fuzz(base, TOKEN, args.examples, seed=args.seed, deterministic=False)
    finally:
        server.terminate()
        server.wait(timeout=30)
    sys.stdout.write(result.stdout[-8000:])
    sys.stdout.write(
        f"\n{args.examples} examples per operation in {time.monotonic() - started:.0f} s\n"
    )
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
