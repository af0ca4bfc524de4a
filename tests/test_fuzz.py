"""Schemathesis over the whole OpenAPI document of a running server, with a small budget.

The fuzzer itself (hooks that send what the document does not allow, the statuses that
count as refusing invalid input) is ``bench/fuzz.py``, which runs it longer. Here: no 5xx,
no schema violation, and afterwards the server and PostgreSQL are still the same processes.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from fuzz import fuzz

from tests_support import ADMIN_TOKEN, local_get, serve

pytestmark = pytest.mark.e2e


def test_no_server_error_and_no_schema_violation(edits_url):
    with psycopg.connect(edits_url) as conn:
        started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
    with serve(edits_url) as (base, pid):
        result = fuzz(base, ADMIN_TOKEN, max_examples=5)
        os.kill(pid, 0)  # the server process survived every request
        assert local_get(f"{base}/health", timeout=10).status_code == 200
    report = result.stdout[-6000:]
    assert result.returncode == 0, report
    assert "passed" in report or "No issues found" in report, report
    with psycopg.connect(edits_url) as conn:
        assert conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == started
