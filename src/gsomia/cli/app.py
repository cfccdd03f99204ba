"""The ``gsomia`` Typer app: the root group, ``--version``, and each command module registered in turn.

Help is Click's plain text (no Rich boxes, so ``gsomia --help`` neither loads Rich nor draws for a
terminal it may not have); usage errors are one ``error:`` line (see :class:`~gsomia.cli.shared.Group`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import bench, consents, events, incidents, items, log, node, partners, serve, spif, sync, users, world
from .shared import Group, exit_codes

app = typer.Typer(
    name="gsomia",
    help="Exchange classified information only as security agreements allow, and prove it.",
    cls=Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__  # deferred: reading the package metadata costs every command ~25 ms

        typer.echo(f"gsomia {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
            show_default=False,
        ),
    ] = False,
) -> None:
    """Exchange classified information only as security agreements allow, and prove it."""


for module in (
    world,
    node,
    items,
    consents,
    events,
    log,
    partners,
    serve,
    sync,
    incidents,
    users,
    bench,
    spif,
):
    module.register(app)


def main() -> None:
    """Entry point of the ``gsomia`` console script."""
    with exit_codes():
        app(prog_name="gsomia")
