"""The ``gsomia`` command line: ``gsomia.cli:main`` is the console script, ``app`` the Typer app.

::

    commands.py    the Typer app, its commands, and the exit codes (0 ok, 2 bad input, 1 internal error)
    console.py     where output goes: Rich for people, one JSON value per line for programs, errors on stderr
    decisions.py   ``decide``: one decision drawn as tables; JSON Lines batches answered line by line
    timelines.py   ``timeline``: each agreement's dated states, end and amendments (tables or JSON)
"""

from __future__ import annotations

from .commands import app, main

__all__ = ["app", "main"]
