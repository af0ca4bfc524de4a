"""Files a user names as input: a regular file, or one line saying what the path is instead.

A device or a pipe passes a size check (it says 0 bytes) and then never ends (``/dev/zero``)
or never starts (a pipe with no writer): each reader checks with ``input_file`` first.
"""

from __future__ import annotations

from pathlib import Path

from layers.errors import InvalidInput


def input_file(path: Path) -> Path:
    """``path`` if it is a regular file (links followed); else ``InvalidInput`` naming why."""
    if path.is_file():
        return path
    if path.is_symlink() and not path.exists():
        raise InvalidInput(f"{path} is a link that leads nowhere (or in a loop)")
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not a file")
    raise InvalidInput(f"{path} is not a regular file (a device, a pipe or a socket)")
