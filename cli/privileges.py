"""Serving without root: ``onemap serve`` started as root runs the app as an ordinary user.

The app needs to read the checkout (code, virtualenv, web assets) and to write only to the
temporary folder (uploads, export files): nothing it does calls for root. When the checkout
is not readable by others (a clone under /root), dropping would break the workers, so the
server keeps running and says so.
"""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

from database.embedded import open_to_others


def readable_by_others(path: Path) -> bool:
    """Whether every folder above ``path`` (and it) lets other users in and read."""
    return open_to_others(path, 0o005)


def drop_root(user: str, needed: list[Path]) -> str | None:
    """Become ``user`` if running as root; the reason it was not possible, or None.

    Groups, then group, then user: in the other order the process could not change the
    rest any more.
    """
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return f"no user {user!r} on this machine (ONEMAP_RUN_AS)"
    unreadable = [str(p) for p in needed if not readable_by_others(p)]
    if unreadable:
        return f"{', '.join(unreadable)} cannot be read by other users"
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir
    return None


def project_paths() -> list[Path]:
    """What the workers read: the project's code, its virtualenv and the Python under it."""
    folders = [Path(__file__).resolve().parent.parent, Path(sys.prefix), Path(sys.base_prefix)]
    return list(dict.fromkeys(p.resolve() for p in folders))
