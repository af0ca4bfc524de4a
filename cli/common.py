"""What every command shares: the Typer apps, the consoles, error reporting, the database URL."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

import psycopg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

import database
from database.settings import DatabaseSettings
from layers.errors import InvalidInput, OneMapError

app = typer.Typer(help="OneMap: one map for the work, one ledger for the accounts.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip
db_app = typer.Typer(help="The database: the embedded cluster or ONEMAP_DATABASE_URL.",
                     no_args_is_help=True)  # fmt: skip
samples_app = typer.Typer(help="The deterministic sample city.", no_args_is_help=True)
viewer_app = typer.Typer(help="The map pages.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(samples_app, name="samples")
app.add_typer(viewer_app, name="viewer")

console = Console()
stderr = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one readable line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            problems = "; ".join(
                f"ONEMAP_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
            stderr.print(
                f"[bold red]error:[/] invalid setting: {problems}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None
        except (OneMapError, ValueError, OSError, psycopg.Error) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def database_url(*, same_city: bool = True) -> str:
    """The database to use: it answers, and (unless told) is migrated and holds the city's.

    ``same_city=False`` is for the commands that migrate or reset it.
    """
    settings = DatabaseSettings()
    url = database.resolve_database_url(settings)
    database.check_connection(url)
    if same_city:
        with psycopg.connect(url) as conn:
            database.check_schema(conn)
            database.claim_city(conn)
    return url


def with_connection(work: Callable[[psycopg.AsyncConnection], Awaitable[R]]) -> R:
    """Run ``work`` on one autocommit connection to the database."""
    url = database_url()

    async def run() -> R:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await work(conn)

    return asyncio.run(run())


@contextmanager
def stage_bars(
    target: Console, width: int = 8, transient: bool = False
) -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars, one per named stage: yields ``advance(stage, done_now, total)``."""
    columns = (TextColumn(f"{{task.description:<{width}}}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=target, transient=transient) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, n: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.advance(tasks[stage], n)

        yield advance


# What GDAL's GeoPackage driver may leave beside a file it was writing.
_SIDECARS = ("-journal", "-wal", "-shm")


def check_output(path: Path, option: str = "--out") -> None:
    """Refuse an output path that cannot be written, before any work (or any write) is done."""
    if path.is_dir():
        raise InvalidInput(f"{option}: {path} is a folder; name a file in it")
    if not path.parent.is_dir():
        raise InvalidInput(f"{option}: the folder {path.parent} does not exist")


def check_output_folder(path: Path, option: str = "--out") -> None:
    """Make the folder to write into, or refuse it in one line before any work.

    A folder at or below a file, or one the system will not make (``/proc/x``, a read-only
    disk), is named with the reason; it said ``[Errno 2] No such file or directory``.
    """
    for place in (path, *path.parents):  # the first that exists must be a folder
        if place.exists():
            if not place.is_dir():
                raise InvalidInput(f"{option}: {place} is a file; name a folder (made if missing)")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"{option}: cannot make the folder {path} ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InvalidInput(f"{option}: the folder {path} is not writable")


@contextmanager
def output_file(path: Path) -> Iterator[Path]:
    """Where to write ``--out path``: a hidden sibling that replaces ``path`` once complete.

    A failed or interrupted write leaves the file that was there before, and no half file
    under its name. A device or a pipe (``/dev/stdout``, a named pipe) is written directly.
    """
    check_output(path)
    if path.exists() and not path.is_file():
        yield path
        return
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    leftovers = [partial, *(partial.with_name(partial.name + s) for s in _SIDECARS)]
    for leftover in leftovers:  # of an earlier run that was killed
        leftover.unlink(missing_ok=True)
    try:
        yield partial
        partial.replace(path)
    finally:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
