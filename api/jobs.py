"""Background jobs for long requests (file imports): run in a worker thread, polled by URL.

Jobs live in the process's memory (one uvicorn worker); a restart forgets finished jobs, which
is acceptable for imports whose result is also in the change history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    id: str
    kind: str
    owner: str = ""
    state: str = "queued"  # queued, running, done, failed
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    progress: dict[str, int] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "created": self.created,
                "progress": self.progress, "result": self.result, "error": self.error}  # fmt: skip


class Jobs:
    """A bounded registry of jobs; the oldest finished ones are forgotten first."""

    def __init__(self, keep: int = 200) -> None:
        self.keep = keep
        self._jobs: dict[str, Job] = {}
        self._running: set[asyncio.Task[None]] = set()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def start(self, kind: str, work: Callable[[Job], dict[str, Any]],
              on_error: Callable[[Exception], str], owner: str = "") -> Job:  # fmt: skip
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=owner)
        self._jobs[job.id] = job
        self._forget_old()

        async def run() -> None:
            job.state = "running"
            try:
                job.result = await asyncio.to_thread(work, job)
                job.state = "done"
            except Exception as exc:  # reported on the job, never lost in a thread
                job.error = on_error(exc)
                job.state = "failed"

        task = asyncio.get_running_loop().create_task(run())
        self._running.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._running.discard)
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in ("done", "failed")]
        for job in finished[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[job.id]
