"""The ``onemap`` command: one module per group of commands, on one Typer app (``common``)."""
