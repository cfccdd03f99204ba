"""What the node commands share: the ``--node`` and ``--json`` options, opening a node, reading input.

Errors follow the CLI's exit codes (design.md §4): any :class:`~gsomia.GsomiaError` is one line on stderr
and exit code 2, with nothing written (each service writes in one unit of work that a failure rolls back);
anything else is exit code 1. An option whose value does not parse is an :class:`OptionError`::

    GsomiaError
     └── OptionError     an option's value is malformed (names the option)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import RenderableType
from rich.table import Table

from .bootstrap import Services, build, utc_now
from .config import Settings
from .domain.errors import GsomiaError
from .scenario.source import Source, parse_text, read_source
from .services.ports import Record
from .services.worlddata import from_record

P = ParamSpec("P")
R = TypeVar("R")

NodeOpt = Annotated[
    Path | None,
    typer.Option(
        "--node",
        help="The node's directory (default: $GSOMIA_NODE_DIR, else the current directory).",
        metavar="DIR",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


class OptionError(GsomiaError):
    """An option's value is malformed; the message names the option."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")


def option(text: str, metavar: str = "TEXT", *names: str) -> typer.models.OptionInfo:
    """A Typer option with help and a metavar, no default shown."""
    return typer.Option(*names, help=text, metavar=metavar, show_default=False)  # type: ignore[no-any-return]


@contextmanager
def open_node(node: Path | None) -> Iterator[Services]:
    """The services of the node at ``node``, closed afterwards."""
    services = build(Settings.load(node))
    try:
        yield services
    finally:
        services.close()


def today() -> str:
    """Today by the shell's clock (UTC), the default day of a release or a revocation."""
    return utc_now().date().isoformat()


def day_option(value: str | None, name: str) -> str | None:
    """``value`` if it is a YYYY-MM-DD day; a bad one is an OptionError naming ``name``."""
    if value is None:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        raise OptionError(name, f"{value!r} is not a day; write YYYY-MM-DD, like 2019-08-23") from None
    if len(value) != len("YYYY-MM-DD"):
        raise OptionError(name, f"{value!r} is not a day; write YYYY-MM-DD, like 2019-08-23")
    return value


def words(value: str | None, name: str) -> list[str] | None:
    """A comma-separated list (``dprk-missile,naval``); an empty entry is an OptionError."""
    if value is None:
        return None
    found = [w.strip() for w in value.split(",")]
    if not all(found):
        raise OptionError(name, f"{value!r} has an empty entry; write a list like a,b,c")
    return found


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of ``path``; a GsomiaError (exit 2) if it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise GsomiaError(f"{path}: cannot read the {what} ({exc.strerror or exc}); check the path") from None


def read_yaml(path: Path) -> Source:
    """A YAML (or JSON) file read as a world file's parts are, with its lines."""
    return read_source(path)


def parse_yaml(text: str, name: str) -> object:
    """YAML given on the command line (a flow mapping or list), read as a world file would be."""
    return parse_text(text, name).data


def emit(as_json: bool, value: object, human: Callable[[], RenderableType | None]) -> None:
    """Print ``value`` as one JSON line, or what ``human()`` draws."""
    from .cli import console  # at call time: the CLI imports this module to register it

    if as_json:
        console.json_line(value)
    else:
        drawn = human()
        if drawn is not None:
            console.out().print(drawn)


def table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    """A plain Rich table."""
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*row)
    return out


def record_dict(record: Record) -> dict[str, Any]:
    """A world record as JSON: its seq and its entry as a world file writes it."""
    return {"seq": record.seq, **from_record(record.data)}
