"""Files a user names as input: a regular file, or one line saying what the path is instead.

A device or a pipe passes a size check (it says 0 bytes) and then never ends (``/dev/zero``)
or never starts (a pipe with no writer): each reader checks with ``input_file`` first. The
YAML (or JSON) a user writes, a mapping or a year's holidays, is read by ``yaml_document``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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


class _RepeatedKey(yaml.YAMLError):
    def __init__(self, key: Any, first_line: int, mark: Any) -> None:
        super().__init__(f"{key!r} is given twice (first on line {first_line + 1})")
        self.problem_mark = mark


class _UniqueKeys(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping.

    PyYAML keeps the last: a mapping naming one column twice, for two fields, applied only
    the second, and said nothing.
    """

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in first_line:
                    raise _RepeatedKey(key, first_line[key], key_node.start_mark)
                first_line[key] = key_node.start_mark.line
            except TypeError:
                continue  # an unhashable key: the base class says what is wrong with it
        return super().construct_mapping(node, deep=deep)


def yaml_document(text: str, origin: str) -> Any:
    """YAML (or JSON) text as data; ``InvalidInput`` naming ``origin``, the line and why."""
    try:
        return yaml.load(text, Loader=_UniqueKeys)  # a SafeLoader: no Python objects
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        if isinstance(exc, _RepeatedKey):
            raise InvalidInput(f"{origin}{line}: {exc}") from None
        raise InvalidInput(f"{origin}: not YAML or JSON{line}") from None
