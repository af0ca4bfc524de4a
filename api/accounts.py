"""Users and their API tokens: created by ``onemap users``, looked up on each request.

A token is shown once when it is issued; the database keeps its SHA-256 only (see
``layers.schema.accounts``). Revoking a user revokes every token they hold.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from layers import Role
from layers.errors import InvalidInput, NotFound, shown

TOKEN_PREFIX = "om_"
LOOKUP_TTL_S = 5.0  # a revoked token stops working within this time on every worker


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    streets: tuple[str, ...] = ()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(text: str) -> Role:
    try:
        role = Role(text)
    except ValueError:
        role = None
    if role is None or role is Role.ANONYMOUS:
        names = ", ".join(r.value for r in Role if r is not Role.ANONYMOUS)
        raise InvalidInput(f"unknown role {shown(text)}; use one of {names}")
    return role


def _check_streets(conn: psycopg.Connection, role: Role, streets: list[str]) -> None:
    if role is Role.RESPONSIBLE_PLANNER and not streets:
        raise InvalidInput("a responsible planner needs at least one --street (a street code)")
    if role is not Role.RESPONSIBLE_PLANNER and streets:
        raise InvalidInput("only a responsible planner is bound to streets")
    if streets:
        rows = conn.execute(
            "SELECT s FROM unnest(%s::text[]) s WHERE s NOT IN (SELECT code FROM streets)",
            (streets,),
        ).fetchall()
        if rows:
            raise InvalidInput(f"unknown street code(s): {', '.join(r[0] for r in rows)}")


def add_user(conn: psycopg.Connection, name: str, role: Role, streets: list[str]) -> str:
    """Create a user and return their first token."""
    name = name.strip()
    if not name:
        raise InvalidInput("a user needs a name")
    _check_streets(conn, role, streets)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO users (name, role, streets) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, role.value, sorted(set(streets))),
        ).fetchone()
        if row is None:
            raise InvalidInput(f"a user called {name!r} exists already")
        return _issue(conn, row[0], "first token")


def _issue(conn: psycopg.Connection, user_id: int, label: str | None) -> str:
    token = new_token()
    conn.execute(
        "INSERT INTO api_tokens (user_id, token_sha256, label) VALUES (%s, %s, %s)",
        (user_id, digest(token), label),
    )
    return token


def _active_id(conn: psycopg.Connection, name: str) -> int:
    row = conn.execute(
        "SELECT id FROM users WHERE name = %s AND revoked_at IS NULL", (name,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no active user called {shown(name)}")
    return int(row[0])


def issue_token(conn: psycopg.Connection, name: str, label: str | None = None) -> str:
    with conn.transaction():
        return _issue(conn, _active_id(conn, name), label)


def revoke(conn: psycopg.Connection, name: str) -> int:
    """Revoke a user and their tokens; returns how many tokens stopped working."""
    with conn.transaction():
        user_id = _active_id(conn, name)
        conn.execute("UPDATE users SET revoked_at = now() WHERE id = %s", (user_id,))
        cur = conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
            (user_id,),
        )
        return cur.rowcount


def list_users(conn: psycopg.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT u.name, u.role, u.streets, u.created_at, u.revoked_at, "
        "count(t.id) FILTER (WHERE t.revoked_at IS NULL) "
        "FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id GROUP BY u.id ORDER BY u.name"
    ).fetchall()
    keys = ("name", "role", "streets", "created_at", "revoked_at", "active_tokens")
    return [dict(zip(keys, r, strict=True)) for r in rows]


class TokenLookup:
    """Tokens to users, remembered for a few seconds: most requests then cost no query."""

    def __init__(self, ttl_s: float = LOOKUP_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._seen: dict[str, tuple[float, User | None]] = {}

    async def find(self, conn: psycopg.AsyncConnection, token: str) -> User | None:
        key = digest(token)
        now = time.monotonic()
        hit = self._seen.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        cur = await conn.execute(
            "SELECT u.name, u.role, u.streets FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_sha256 = %s AND t.revoked_at IS NULL AND u.revoked_at IS NULL",
            (key,),
        )
        row = await cur.fetchone()
        user = User(row[0], Role(row[1]), tuple(row[2])) if row else None
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[key] = (now, user)
        return user
