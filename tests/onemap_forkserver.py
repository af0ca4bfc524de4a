"""A process that has imported ``onemap`` once and forks a child for each command the tests run.

A child is ``onemap ARGS`` in a process of its own, as a user runs it: its own environment,
working directory, standard streams and exit status, with an uncaught exception printed and
exit status 1 as Python does. What it saves is the new interpreter's imports (1–1.5 s a
command; the suite runs over a hundred). The parent is single-threaded, so a fork copies no
lock that another thread holds.

Protocol, one JSON line each way on stdin/stdout: {"ready"} once the imports are done; then a
request {"args", "env", "cwd", "stdout", "stderr"} (the last two file paths) is answered
{"pid"} when the child starts and {"status"} when it ends. A request {"detach": true} (a
server) is answered {"pid"} only; {"wait": pid, "timeout": s} later answers its {"status"}
(None if it is still running). ``tests_support`` is the client (``run_onemap``, ``serve``).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import random
import sys
import threading
import time
import traceback
from typing import NoReturn

# What the commands import, loaded before any fork (cli.main imports the rest lazily).
PRELOADED = (
    "cli.main",
    "cli.analyses",
    "cli.data",
    "cli.holidays",
    "cli.users",
    "data_samples.copies",
    "data_samples.loader",
    "ingest.pipeline",
    "ingest.mapping",
    "spatial.export",
    "spatial.cql",
    "viewer.pages",
    "viewer.seed",
    "viewer.site",
    "api.page_data",
    "api.app",  # onemap serve: one worker runs the app in its own process
    "uvicorn",
    # What the commands import when they run (each ~0.1–1 s of a child's CPU): migrations,
    # a server's protocols and event loop, workers' fork, spreadsheets, rich's help text.
    "alembic.command",
    "alembic.config",
    "migrations.options",
    "multiprocessing",
    "uvicorn._subprocess",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
    "anyio._backends._asyncio",
    "openpyxl",
    "typer.rich_utils",
    "rich._emoji_codes",
)
# Not preloaded: what reads settings at import, which each command may set its own way —
# api.protocol (ONEMAP_HEADER_TIMEOUT_S); layers.city (ONEMAP_CITY) has a server per city.


def _run_child(request: dict) -> int:
    """In the forked child: become the command; its exit status."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    err = out
    if request["stderr"] != request["stdout"]:  # else both streams into one file, as 2>&1
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
    for fd in {null, out, err}:
        os.close(fd)
    sys.argv = ["onemap", *request["args"]]
    random.seed()  # a new process's own seed, not the copy every child shares
    from cli.main import main

    try:
        main()
    except SystemExit as exc:  # what the console script's sys.exit(main()) makes of it
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _exit_as_a_command_does(status: int) -> NoReturn:
    """What the interpreter does at exit that a command can show: non-daemon threads are
    waited for, atexit handlers run (``weakref.finalize`` and ``logging`` among them) and the
    standard streams are flushed. Not the teardown of every module and object after it: in
    a child that walk writes to most pages of the heap it shares with the fork server, and
    the kernel copied each one — 0.44 s of a 0.49 s ``onemap layers``, ~30 s of the suite's
    CPU. A file a command leaves unclosed would lose its tail here, which a test would see:
    this exit is stricter than Python's, never looser."""
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status)


def serve_forever() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    requests = os.fdopen(os.dup(0), "r")
    for name in PRELOADED:  # a wrong ONEMAP_CITY stops here: the client runs commands anew
        __import__(name)
    # The imports' objects out of the collector's reach: a collection in a child would touch
    # (and so copy) every page that holds them.
    gc.freeze()
    replies.write(json.dumps({"ready": True}) + "\n")
    for line in requests:
        request = json.loads(line)
        if "wait" in request:  # for a detached child: its exit status, or None by the timeout
            status = _wait(request["wait"], request["timeout"])
            replies.write(json.dumps({"status": status}) + "\n")
            continue
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            _exit_as_a_command_does(_run_child(request))
        replies.write(json.dumps({"pid": pid}) + "\n")
        if not request.get("detach"):  # a server (onemap serve) is waited for later
            _, wait_status = os.waitpid(pid, 0)
            replies.write(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}) + "\n")


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(wait_status)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


if __name__ == "__main__":
    serve_forever()
