"""Helpers the tests share (conftest fixtures cannot be imported by test modules)."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

ADMIN_TOKEN = "test-admin-token-0123456789"
ADMIN_HEADER = f"Authorization: Bearer {ADMIN_TOKEN}"
ONEMAP = str(Path(sys.executable).parent / "onemap")

# What a test's new database starts as (``fresh_database``, ``scratch_database``). Each kind is
# the one before it plus a step, so a test pays only for the steps it is about.
BARE, POSTGIS, MIGRATED, CITY = "bare", "postgis", "migrated", "city"
KINDS = (BARE, POSTGIS, MIGRATED, CITY)

# The servers the tests start speak plain HTTP on this machine: no certificate authorities to
# load, which httpx does for every client it makes (24 ms of CPU; hundreds of them a run).
local_get = functools.partial(httpx.get, verify=False)
local_post = functools.partial(httpx.post, verify=False)
local_stream = functools.partial(httpx.stream, verify=False)
LocalClient = functools.partial(httpx.Client, verify=False)


def admin_app(database_url: str, **features: Any) -> Any:
    """The app on ``database_url`` that knows the tests' admin token (and other ``features``)."""
    from api.app import create_app
    from api.settings import FeaturesSettings
    from database.settings import DatabaseSettings

    return create_app(
        DatabaseSettings(database_url=database_url),
        features=FeaturesSettings(admin_token=ADMIN_TOKEN, **features),
    )


@functools.cache
def _from_wgs84(epsg: int) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(4326, epsg, always_xy=True)  # 46 ms to make: once per code


def project(geoms: Any, epsg: int) -> Any:
    """Shapely geometries (an array, or one) in WGS84 moved to ``epsg``, with pyproj: the
    tests' own measure, independent of PostGIS."""
    import numpy as np
    import shapely

    t = _from_wgs84(epsg)
    return shapely.transform(geoms, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def run_async(coroutine: Any) -> Any:
    """``asyncio.run`` in a thread of its own: Playwright's sync API (the browser fixture)
    keeps an event loop running in the test thread, where ``asyncio.run`` refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@contextmanager
def cluster_of_its_own(home: Path, city: Any) -> Iterator[tuple[Any, str]]:
    """A PostgreSQL cluster in ``home`` with ``city`` loaded, for a test that restarts or
    copies a whole cluster (the shared one holds every worker's databases); its URL."""
    import database
    from data_samples.loader import load_city
    from database.embedded import EmbeddedCluster

    own = EmbeddedCluster(home, free_port(), fast=True)
    own.start()
    try:
        url = own.create_database("onemap")
        database.migrate(url)
        load_city(url, city)
        yield own, url
    finally:
        own.destroy()


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a JSON query plan (``EXPLAIN (FORMAT JSON)``, auto_explain), parents first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without ONEMAP_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env.update(extra)
    return env


def run_onemap(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``onemap ARGS`` as a user runs it, in a clean ONEMAP_* environment plus ``env``.

    The command runs in a process of its own, forked from one that has imported OneMap for
    the same ``ONEMAP_CITY`` already (``onemap_forkserver``: the city is read at import). A
    city that stops the imports (a wrong name or file) is run in a new interpreter, whose
    one-line refusal is then the command's answer.
    """
    command_env = clean_env(**(env or {}))
    server = _forkserver(command_env.get("ONEMAP_CITY"))
    if server is None:
        return subprocess.run([ONEMAP, *args], capture_output=True, text=True, env=command_env,
                              timeout=timeout)  # fmt: skip
    return server.run([*args], command_env, timeout)


class _Forkserver:
    """The client of ``onemap_forkserver``: one per test process and city, started on first
    use; ``ready`` is False when its imports failed."""

    def __init__(self, city: str | None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("onemap_forkserver.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=clean_env(**({"ONEMAP_CITY": city} if city is not None else {})),
        )  # fmt: skip
        self.buffer = b""
        try:
            self.ready = self._reply(time.monotonic() + 60).get("ready", False)
        except RuntimeError:
            self.ready = False

    def run(
        self, args: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess:
        """``onemap ARGS`` to its end, as ``subprocess.run(capture_output=True, text=True)``."""
        deadline = time.monotonic() + timeout
        with tempfile.TemporaryDirectory(prefix="onemap-run-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            pid = self.start(args, env, str(out), str(err), detach=False)
            try:
                status = self._reply(deadline)["status"]
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self._reply(time.monotonic() + 10)  # the server has reaped it
                raise subprocess.TimeoutExpired(["onemap", *args], timeout) from None
            # As subprocess.run(text=True) decodes: the locale's encoding, universal newlines.
            return subprocess.CompletedProcess(
                ["onemap", *args], status, out.read_text(), err.read_text()
            )

    def start(self, args: list[str], env: dict[str, str], stdout: str, stderr: str,
              detach: bool = True) -> int:  # fmt: skip
        """Start ``onemap ARGS``: its pid. A detached one is waited for with ``wait``."""
        request = {"args": args, "env": env, "cwd": os.getcwd(), "stdout": stdout,
                   "stderr": stderr, "detach": detach}  # fmt: skip
        self._send(request)
        pid: int = self._reply(time.monotonic() + 60)["pid"]
        return pid

    def wait(self, pid: int, timeout: float) -> int | None:
        """A detached command's exit status, or None if it still runs after ``timeout``."""
        self._send({"wait": pid, "timeout": timeout})
        status: int | None = self._reply(time.monotonic() + timeout + 60)["status"]
        return status

    def _send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()

    def _reply(self, deadline: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise subprocess.TimeoutExpired("onemap", deadline)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("the onemap fork server ended")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


@functools.cache
def _forkserver(city: str | None) -> _Forkserver | None:
    server = _Forkserver(city)
    atexit.register(server.close)
    return server if server.ready else None


def until(check: Any, seconds: float = 3.0, every: float = 0.02) -> Any:
    """``check()`` once it is truthy, or its last answer after ``seconds``; asked ``every``.

    For what the app learns by notification, which takes milliseconds to arrive: a write made
    outside it retires its replays (``api.response_cache``) once the notification is in.
    """
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def wait_until_up(url: str, what: str, *, tries: int, status: int | None = None) -> None:
    """Ask ``url`` every 0.1 s for ``tries`` tenths of a second until it answers (with
    ``status``, if given), or fail."""

    def answered() -> bool:
        try:
            answer = local_get(url, timeout=1)
        except httpx.HTTPError:
            return False
        return status in (None, answer.status_code)

    if not until(answered, seconds=tries * 0.1, every=0.1):
        raise RuntimeError(f"{what} never answered {url}")


@contextmanager
def serve(
    database_url: str, workers: int = 1, options: Sequence[str] = (), log: IO[bytes] | None = None,
    env: dict[str, str] | None = None, fresh: bool = False,
) -> Iterator[tuple[str, int]]:  # fmt: skip
    """``onemap serve`` in a process of its own on a free port: yields (base URL, pid).

    Its output goes to ``log`` when given (both streams), else nowhere; ``env`` adds settings.
    It fails when the server never answers ``/health``. Forked like ``run_onemap``'s
    commands (a worker starts in 0.3 s instead of 1.6), unless ``fresh``: a new interpreter,
    for what measures the process itself — a fork inherits the fork server's heap, and an
    export's peak memory measured 98 MiB forked where a new process measured 78.
    """
    port = free_port()
    env = clean_env(ONEMAP_DATABASE_URL=database_url, ONEMAP_ADMIN_TOKEN=ADMIN_TOKEN, **(env or {}))
    args = ["serve", "--port", str(port), "--workers", str(workers), *options]
    base = f"http://127.0.0.1:{port}"
    server = None if fresh else _forkserver(env.get("ONEMAP_CITY"))
    if server is None:
        process = subprocess.Popen(
            [ONEMAP, *args], env=env, stdout=log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        )  # fmt: skip
        pid = process.pid
    else:
        output = log.name if log is not None else os.devnull
        pid = server.start(args, env, output, output)

    def stop() -> None:
        if server is None:
            process.terminate()
            process.wait(10)
            return
        os.kill(pid, signal.SIGTERM)
        if server.wait(pid, 10) is None:
            os.kill(pid, signal.SIGKILL)
            server.wait(pid, 10)
            raise subprocess.TimeoutExpired(["onemap", *args], 10)

    try:
        wait_until_up(f"{base}/health", "onemap serve", tries=200, status=200)
        yield base, pid
    finally:
        stop()


# A plain static web server with HTTP range requests (Starlette's StaticFiles), as a static
# host serves a site: no OneMap code runs in it.
_STATIC_SERVER = """
import sys, uvicorn
from starlette.staticfiles import StaticFiles
uvicorn.run(StaticFiles(directory=sys.argv[1], html=True), host="127.0.0.1",
            port=int(sys.argv[2]), log_level="warning")
"""


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """A static web server over ``folder`` on a free port: yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _STATIC_SERVER, str(folder), str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/", "the static server", tries=100)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def finished_job(client: Any, status_url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll an import's status URL until the job is done or failed (about 10 s at most)."""
    for _ in range(100):
        job: dict[str, Any] = client.get(status_url, headers=headers).json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    return job


def watched_page(browser: Any, base: str, *, token: str | None = None,
                 size: tuple[int, int] = (1280, 800), motion: str = "reduce") -> Any:  # fmt: skip
    """A browser page at ``size``, signed in with ``token`` if given, collecting its errors
    (``page.errors``) and any request leaving ``base`` (``page.outside``).

    Its system asks for reduced ``motion`` unless told otherwise ("no-preference"): the maps
    then jump instead of animating, which is what the tests look at the end of, and a tenth
    of Chromium's CPU in the browser tests goes with the animation frames.
    """
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, reduced_motion=motion
    )
    if token:
        context.add_cookies([{"name": "onemap_token", "value": token, "url": base}])
    page = context.new_page()
    page.errors, page.outside = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith((base, "data:"))
            else page.outside.append(r.url))  # fmt: skip
    page.open_requests, page.last_request_event = set(), time.monotonic()

    def track(request: Any, open_: bool) -> None:
        (page.open_requests.add if open_ else page.open_requests.discard)(request)
        page.last_request_event = time.monotonic()

    page.on("request", lambda r: track(r, True))
    page.on("requestfinished", lambda r: track(r, False))
    page.on("requestfailed", lambda r: track(r, False))
    return page


def open_watched(page: Any, url: str) -> Any:
    """``page.goto(url)``, then wait until its requests are done (``settle``)."""
    page.goto(url, wait_until="load")
    settle(page)
    return page


def settle(page: Any, quiet_s: float = 0.25, timeout_s: float = 30.0) -> None:
    """Until none of a ``watched_page``'s requests has been open for ``quiet_s``.

    Playwright's "networkidle" waits 500 ms, and only once per page load: after a pan or a
    click it answers at once. The pages send requests at most 150 ms after the map stops
    (labels), inside the quiet time asked here.
    """
    start = time.monotonic()
    deadline = start + timeout_s
    # Counted from the call too: what the caller just did may have sent requests whose
    # events have not arrived yet.
    while page.open_requests or time.monotonic() - max(page.last_request_event, start) < quiet_s:
        if time.monotonic() > deadline:
            urls = sorted(r.url for r in page.open_requests)
            raise TimeoutError(f"requests still open after {timeout_s} s: {urls[:5]}")
        page.wait_for_timeout(40)  # Playwright delivers the page's events while it waits


def set_view(page: Any, lat: float, lon: float, zoom: int) -> None:
    """Move the page's map there, without animation.

    ``void``: setView returns the map itself, which Playwright would serialise into the
    answer — 2.4 s a call, more than the rest of the test.
    """
    page.evaluate(f"void OneMap.state.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")


def page_config(html: str) -> dict:
    """The configuration a page hands to its script (``OneMap.configure({...})``)."""
    start = html.index("OneMap.configure(") + len("OneMap.configure(")
    config, _ = json.JSONDecoder().raw_decode(html[start:])
    return config
