"""The CLI's exit codes, shared by every command module (design.md §4).

0 success (a deny is a success: the decision was made); 2 bad input: any :class:`~gsomia.GsomiaError`, shown
as one red ``error: ...`` line on stderr, or a bad command line (Typer's own); 1 an internal error, shown as
one line unless ``GSOMIA_DEBUG=1`` asks for the traceback. It sits outside the ``cli`` package so that
command modules the package imports can use it without an import cycle.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import typer

from .domain.errors import GsomiaError

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def exit_codes() -> Iterator[None]:
    """Bad input → one red line on stderr and exit 2; anything unexpected → exit 1."""
    from .cli import console  # at call time: the cli package imports the modules that import this one

    try:
        yield
    except (typer.Exit, typer.Abort, typer.exceptions.TyperException, BrokenPipeError):
        raise  # usage errors and exits: Typer reports them (bad usage exits 2)
    except GsomiaError as exc:
        console.error_line(str(exc))
        raise typer.Exit(2) from None
    except Exception as exc:
        if os.environ.get("GSOMIA_DEBUG") == "1":
            raise
        console.error_line(f"internal error: {type(exc).__name__}: {exc} (set GSOMIA_DEBUG=1 for details)")
        raise typer.Exit(1) from None


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command under :func:`exit_codes` (the test runner calls commands without ``main``)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with exit_codes():
            return command(*args, **kwargs)

    return run
