"""``onemap users``: who may call the API, with which role, and their tokens."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import psycopg
import typer
from rich.table import Table

from api import accounts
from cli.common import app, console, database_url, friendly

users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")

TOKEN_NOTE = "keep it now: it is not stored and cannot be shown again"


@users_app.command("add")
@friendly
def users_add(
    name: Annotated[str, typer.Argument(help="A unique user name.")],
    role: Annotated[str, typer.Option(help="planner, responsible_planner or admin.")],
    street: Annotated[
        list[str] | None,
        typer.Option("--street", help="A street code (repeat); responsible planners only."),
    ] = None,
) -> None:
    """Create a user and print their first token."""
    with psycopg.connect(database_url()) as conn:
        token = accounts.add_user(conn, name, accounts.parse_role(role), street or [])
    console.print(f"user {name!r} added as {role}; token ({TOKEN_NOTE}):", highlight=False)
    sys.stdout.write(token + "\n")


@users_app.command("token")
@friendly
def users_token(
    name: Annotated[str, typer.Argument(help="The user.")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
) -> None:
    """Issue another token to a user (for another tool or machine)."""
    with psycopg.connect(database_url()) as conn:
        token = accounts.issue_token(conn, name, label)
    console.print(f"new token for {name!r} ({TOKEN_NOTE}):", highlight=False)
    sys.stdout.write(token + "\n")


@users_app.command("revoke")
@friendly
def users_revoke(name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Revoke a user and every token they hold (effective within seconds)."""
    with psycopg.connect(database_url()) as conn:
        count = accounts.revoke(conn, name)
    console.print(f"user {name!r} revoked ({count} token(s))", highlight=False)


@users_app.command("list")
@friendly
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Every user: role, streets, active tokens, revoked or not."""
    with psycopg.connect(database_url()) as conn:
        rows = accounts.list_users(conn)
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("name", "role", "streets", "tokens", "created", "revoked")
    for r in rows:
        table.add_row(r["name"], r["role"], ", ".join(r["streets"]) or "-",
                      str(r["active_tokens"]), f"{r['created_at']:%Y-%m-%d}",
                      f"{r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "-")  # fmt: skip
    console.print(table)
