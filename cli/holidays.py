"""``onemap holidays``: official holiday arrangements, for years chinese_calendar lacks."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from analyses import holidays, workdays
from cli.common import app, console, friendly, with_connection

holidays_app = typer.Typer(help="Official holiday arrangements (国务院节假日安排).",
                           no_args_is_help=True)  # fmt: skip
app.add_typer(holidays_app, name="holidays")


@holidays_app.command("load")
@friendly
def holidays_load(
    file: Annotated[Path, typer.Argument(help="The year's arrangement (YAML or JSON).")],
) -> None:
    """Load (or replace) a year's arrangement; its deadlines are then certain."""
    arrangement = holidays.read_file(file)
    stored = with_connection(lambda conn: holidays.load(conn, arrangement, getpass.getuser()))
    console.print(
        f"{arrangement.year}: {len(arrangement.days_off)} days off, "
        f"{len(arrangement.make_up_days)} make-up working days ({stored} rows) from "
        f"{arrangement.source}",
        highlight=False,
    )


@holidays_app.command("list")
@friendly
def holidays_list() -> None:
    """The years loaded, and the years chinese_calendar knows."""
    loaded = with_connection(holidays.loaded_years)
    table = Table("year", "days off", "make-up days", "loaded by", "loaded at")
    for year, off, worked, by, at in loaded:
        table.add_row(str(year), str(off), str(worked), by, f"{at:%Y-%m-%d %H:%M}")
    console.print(table)
    known = [y for y in range(2004, 2101) if workdays.library_covers(y)]
    span = f"{known[0]}–{known[-1]}" if known else "none"
    console.print(f"chinese_calendar knows {span}; other years are provisional unless loaded",
                  highlight=False)  # fmt: skip
