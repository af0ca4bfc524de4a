"""The API fuzzer with a larger budget than the test suite's, on a copy of the loaded city.

    .venv/bin/python bench/fuzz.py [--examples 300] [--seed 7]

Copies the embedded cluster's database to ``onemap_fuzz`` (the fuzzer writes as an admin),
serves it, runs Schemathesis (no 5xx, responses match the OpenAPI document, invalid input
refused with a 4xx), prints its report and exits with its status.
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg
from test_fuzz import fuzz

from api import database
from api.settings import DatabaseSettings
from tests_support import serve


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
    with serve(copy) as (base, _):
        result = fuzz(base, args.examples, seed=args.seed, deterministic=False)
    sys.stdout.write(result.stdout[-8000:])
    sys.stdout.write(
        f"\n{args.examples} examples per operation in {time.monotonic() - started:.0f} s\n"
    )
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
