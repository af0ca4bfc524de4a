"""The servers the harness measures: OneMap twice, and tipg.

OneMap as configured and with its response cache off (every answer computed); tipg pinned in
its own venv under .bench/, so its pins never touch OneMap's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TIPG_VENV = ROOT / ".bench" / "tipg-venv"
# The same server stack as OneMap's (uvloop, httptools): with plain uvicorn (asyncio, h11),
# tipg under two workers stalled ~44 ms on every keep-alive request.
TIPG_PINS = ["tipg==1.6.1", "uvicorn[standard]==0.38.0"]
TOKEN = "bench-admin-token-0123456789"


def tipg_python() -> Path:
    python = TIPG_VENV / "bin" / "python"
    installed = TIPG_VENV / "pins.txt"  # what was installed: a venv from other pins is redone
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    if not installed.exists() or installed.read_text() != " ".join(TIPG_PINS):
        subprocess.run([str(python), "-m", "pip", "install", "-q", *TIPG_PINS], check=True)
        installed.write_text(" ".join(TIPG_PINS))
    return python


def serve_onemap(port: int, url: str, workers: int, cache: bool = True) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ONEMAP_DATABASE_URL": url, "ONEMAP_ADMIN_TOKEN": TOKEN}
    if not cache:  # every answer computed: the path a first request or a fresh change takes
        env["ONEMAP_RESPONSE_CACHE_MB"] = "0"
    return subprocess.Popen([str(Path(sys.executable).parent / "onemap"), "serve", "--port",
                             str(port), "--workers", str(workers)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def serve_tipg(port: int, url: str, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["public"]',
           "TIPG_MAX_FEATURES_PER_QUERY": "10000"}  # fmt: skip
    uvicorn = tipg_python().parent / "uvicorn"
    # No access log, as OneMap serves by default: a log line costs more than a replay.
    return subprocess.Popen([str(uvicorn), "tipg.main:app", "--port", str(port), "--workers",
                             str(workers), "--no-access-log"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def wait(base: str, path: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(base + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not come up")
