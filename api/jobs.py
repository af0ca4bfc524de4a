"""Background jobs for long requests (file imports): run in a worker thread, polled by URL.

The work runs in the process that took the request (an upload is on that machine's disk);
its state, progress and report are kept in the ``jobs`` table, so any worker or machine
behind the load balancer answers the status URL and a restart forgets nothing. A running job
touches its row at least every ``HEARTBEAT_S``; one whose process died stops doing so, and is
reported failed once ``STALE_S`` have passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api.deps import pooled
from layers.errors import DatabaseUnavailable

HEARTBEAT_S = 10.0
STALE_S = 60.0
PROGRESS_EVERY_S = 1.0
KEEP_DAYS = 30
WRITE_TIMEOUT_S = 5.0  # a job's progress waits this long for a connection, then skips a beat

log = logging.getLogger("onemap")

_COLUMNS = "id, kind, state, created_at, progress, result, error"


@dataclass
class Progress:
    """What the worker thread reports; the event loop writes it to the job's row."""

    stage: str = ""
    done: int = 0
    total: int = 0
    changed: bool = field(default=False, repr=False)

    def report(self, stage: str, n: int, total: int) -> None:
        self.stage, self.done, self.total, self.changed = stage, self.done + n, total, True

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "total": self.total} if self.stage else {}


def _as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    job_id, kind, state, created, progress, result, error = row
    return {"id": job_id.hex, "kind": kind, "state": state,
            "created": created.isoformat(), "progress": progress, "result": result,
            "error": error}  # fmt: skip


class Jobs:
    """Starts jobs in this process and reads any job from the table."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    async def start(
        self,
        conn: psycopg.AsyncConnection,
        pool: AsyncConnectionPool,
        kind: str,
        work: Callable[[Progress], dict[str, Any]],
        on_error: Callable[[Exception], str],
        owner: str,
    ) -> dict[str, Any]:
        """Record a queued job on ``conn``, run ``work`` in a thread, return the job as queued.

        The job's row is then kept up to date through ``pool`` (the primary's).
        """
        await conn.execute(
            "DELETE FROM jobs WHERE state NOT IN ('queued', 'running') "
            "AND updated_at < now() - make_interval(days => %s)",
            (KEEP_DAYS,),
        )
        cur = await conn.execute(
            f"INSERT INTO jobs (id, kind, owner) VALUES (%s, %s, %s) RETURNING {_COLUMNS}",
            (uuid.uuid4(), kind, owner),
        )
        row = await cur.fetchone()
        assert row is not None
        job = _as_dict(row)
        task = asyncio.get_running_loop().create_task(self._run(pool, job["id"], work, on_error))
        self._running.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._running.discard)
        return job

    async def _run(
        self,
        pool: AsyncConnectionPool,
        job_id: str,
        work: Callable[[Progress], dict[str, Any]],
        on_error: Callable[[Exception], str],
    ) -> None:
        progress = Progress()
        await _write(pool, job_id, "state = 'running'", ())
        beat = asyncio.get_running_loop().create_task(_heartbeat(pool, job_id, progress))
        state, result, error = "done", None, None
        try:
            result = await asyncio.to_thread(work, progress)
        except Exception as exc:  # reported on the job, never lost in a thread
            state, error = "failed", on_error(exc)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat  # its last write lands before the final one
        await _write(
            pool, job_id, "state = %s, result = %s, error = %s, progress = %s",
            (state, Jsonb(result) if result is not None else None, error,
             Jsonb(progress.as_dict())),
        )  # fmt: skip

    @staticmethod
    async def get(conn: psycopg.AsyncConnection, job_id: str, owner: str) -> dict[str, Any] | None:
        """The job ``job_id`` if ``owner`` started it; a job nobody tends any more has failed."""
        try:
            key = uuid.UUID(hex=job_id)
        except ValueError:
            return None
        await conn.execute(
            "UPDATE jobs SET state = 'failed', updated_at = now(), error = %s "
            "WHERE id = %s AND state IN ('queued', 'running') "
            "AND updated_at < now() - make_interval(secs => %s)",
            ("the server running this job stopped before it finished; the layer's change "
             "history shows whether anything was written", key, STALE_S),
        )  # fmt: skip
        cur = await conn.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE id = %s AND owner = %s", (key, owner)
        )
        row = await cur.fetchone()
        return _as_dict(row) if row else None


async def _heartbeat(pool: AsyncConnectionPool, job_id: str, progress: Progress) -> None:
    """Write the progress when it moves, and touch the row at least every HEARTBEAT_S."""
    quiet = 0.0
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        quiet += PROGRESS_EVERY_S
        if progress.changed or quiet >= HEARTBEAT_S:
            progress.changed, quiet = False, 0.0
            await _write(pool, job_id, "progress = %s", (Jsonb(progress.as_dict()),))


async def _write(
    pool: AsyncConnectionPool, job_id: str, assignments: str, params: tuple[Any, ...]
) -> None:
    """Update the job's row; a database that is away for a moment does not end the job."""
    try:
        async with pooled(pool, WRITE_TIMEOUT_S) as conn:
            await conn.execute(
                f"UPDATE jobs SET {assignments}, updated_at = now() WHERE id = %s",
                (*params, uuid.UUID(hex=job_id)),
            )
    except (psycopg.Error, DatabaseUnavailable) as exc:
        log.warning("could not record job %s: %s", job_id, exc)
