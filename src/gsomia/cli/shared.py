"""What every command shares: exit codes, one error style, ``--node`` and ``--json``, output, opening a node.

Exit codes: 0 success (a deny is a success: the decision was made); 2 bad input, shown as ONE
``error: ...`` line on stderr: any :class:`~gsomia.GsomiaError`, and the command line's own usage errors
(unknown option, missing argument, a value of the wrong type); 1 an internal error, one line too unless
``GSOMIA_DEBUG=1`` asks for the traceback. Each node service writes in one unit of work that a failure
rolls back, so an error writes nothing. An option whose value does not parse is an :class:`OptionError`::

    GsomiaError
     └── OptionError     an option's value is malformed (names the option)

This module imports only Typer and the domain's errors and days: ``gsomia --help`` must start fast. The
node's stack (SQLAlchemy, cryptography) is imported by :func:`open_node`, when a node command runs.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from ..domain.days import day_problem
from ..domain.errors import GsomiaError
from . import console

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from ..bootstrap import Services
    from ..domain.world import World
    from ..services.ports import Record

P = ParamSpec("P")
R = TypeVar("R")


class OptionError(GsomiaError):
    """An option's value is malformed; the message names the option."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")


# -- exit codes and the one error style -------------------------------------------------------------


@contextmanager
def exit_codes() -> Iterator[None]:
    """Bad input → one ``error:`` line on stderr and exit 2; anything unexpected → one line and exit 1."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
        raise  # exits, and usage errors: the Group reports those, in the same style
    except GsomiaError as exc:
        console.error_line(str(exc))
        raise typer.Exit(2) from None
    except Exception as exc:
        if os.environ.get("GSOMIA_DEBUG") == "1":
            raise
        console.error_line(f"internal error: {type(exc).__name__}: {exc} (set GSOMIA_DEBUG=1 for details)")
        raise typer.Exit(1) from None


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command under :func:`exit_codes` (the test runner calls the app, not ``main``)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with exit_codes():
            return command(*args, **kwargs)

    return run


def usage_line(exc: typer.TyperException) -> str:
    """A Click usage error as one line: ``no such option: --frobnicate (see: gsomia decide --help)``."""
    text = " ".join(exc.format_message().split()).rstrip(".")
    if text[:2].istitle():
        text = text[0].lower() + text[1:]
    ctx = getattr(exc, "ctx", None)
    return f"{text} (see: {ctx.command_path if ctx is not None else 'gsomia'} --help)"


class Group(TyperGroup):
    """The root command group: Click's usage errors become one ``error:`` line and exit 2, no box."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: object,
    ) -> object:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:
            ctx = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
                typer.echo(ctx.get_help())  # `gsomia` or `gsomia item` alone: the help, as asked
                sys.exit(0)
            console.error_line(usage_line(exc))
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort:
            console.error_line("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class Command(TyperCommand):
    """A command whose usage line reads ``WORLD``, not Typer's ``{WORLD}``."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override] # Typer's Context
        return [
            p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in super().collect_usage_pieces(ctx)
        ]


def new_group(help_text: str) -> typer.Typer:
    """A sub-command group (``gsomia item ...``) drawn like the root: plain help, no completion."""
    return typer.Typer(help=help_text, no_args_is_help=True, add_completion=False, rich_markup_mode=None)


def add(group: typer.Typer, name: str, command: Callable[..., None]) -> None:
    """Register ``command`` on ``group`` as ``name``, under the exit codes."""
    group.command(name, cls=Command)(guarded(command))


# -- options ----------------------------------------------------------------------------------------


def option(text: str, metavar: str = "TEXT", *names: str) -> typer.models.OptionInfo:
    """A Typer option with help and a metavar, no default shown (the help says the default)."""
    return typer.Option(*names, help=text, metavar=metavar, show_default=False)  # type: ignore[no-any-return]


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.", show_default=False)]
NodeOpt = Annotated[
    Path | None,
    option("The node's directory (default: $GSOMIA_NODE_DIR, else the current directory).", "DIR", "--node"),
]


def day_option(value: str | None, name: str) -> str | None:
    """``value`` if it is a YYYY-MM-DD day gsomia takes; a bad one is an OptionError naming ``name``."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise OptionError(name, f"{value!r} is not a day; write YYYY-MM-DD, like 2019-08-23") from None
    if len(value) != len("YYYY-MM-DD"):
        raise OptionError(name, f"{value!r} is not a day; write YYYY-MM-DD, like 2019-08-23")
    problem = day_problem(day)
    if problem is not None:
        raise OptionError(name, problem)
    return value


def words(value: str | None, name: str) -> list[str] | None:
    """A comma-separated list (``dprk-missile,naval``); an empty entry is an OptionError."""
    if value is None:
        return None
    found = [w.strip() for w in value.split(",")]
    if not all(found):
        raise OptionError(name, f"{value!r} has an empty entry; write a list like a,b,c")
    return found


# -- input ------------------------------------------------------------------------------------------


def read_bounded(path: Path, what: str, limit: int, advice: str) -> bytes:
    """At most ``limit`` bytes of ``path`` (never more in memory); a larger file is bad input."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise GsomiaError(f"{path}: cannot read the {what} ({exc.strerror or exc}); check the path") from None
    if len(data) > limit:
        raise GsomiaError(f"{path}: the {what} is larger than {advice}")
    return data


def read_chunks(path: Path, what: str, limit: int, advice: str, size: int = 1024 * 1024) -> Iterator[bytes]:
    """``path`` a piece of ``size`` bytes at a time, at most ``limit`` bytes in all: a larger file is bad
    input, said before anything is read when its size is known, else as soon as the bound is passed
    (``/dev/zero`` stops there). Errors come as the pieces are taken."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 -- closed below, after the last piece
    except OSError as exc:
        raise GsomiaError(f"{path}: cannot read the {what} ({exc.strerror or exc}); check the path") from None
    with handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise GsomiaError(f"{path}: the {what} is larger than {advice}")
        seen = 0
        while piece := handle.read(min(size, limit + 1 - seen)):
            seen += len(piece)
            if seen > limit:
                raise GsomiaError(f"{path}: the {what} is larger than {advice}")
            yield piece


# -- output -----------------------------------------------------------------------------------------


def emit(as_json: bool, value: object, human: Callable[[], RenderableType | None]) -> None:
    """Print ``value`` as one JSON line, or what ``human()`` draws."""
    if as_json:
        console.json_line(value)
        return
    drawn = human()
    if drawn is not None:
        console.out().print(drawn)


def table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    """A plain Rich table."""
    from rich.table import Table  # deferred for start-up speed: only drawn output needs Rich

    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*row)
    return out


def record_dict(record: Record) -> dict[str, Any]:
    """A world record as JSON: its seq and its entry as a world file writes it."""
    from ..services.worlddata import from_record  # deferred for start-up speed: node commands only

    return {"seq": record.seq, **from_record(record.data)}


# -- the node ---------------------------------------------------------------------------------------


@contextmanager
def open_node(node: Path | None) -> Iterator[Services]:
    """The services of the node at ``node``, closed afterwards."""
    from ..bootstrap import build  # deferred for start-up speed: SQLAlchemy, cryptography, alembic
    from ..config import Settings

    services = build(Settings.load(node))
    try:
        yield services
    finally:
        services.close()


def node_world(node: Path | None) -> World:
    """The world of the node at ``node`` (for ``gsomia timeline --node DIR``)."""
    with open_node(node) as services:
        return services.worldbook.world()


def today() -> str:
    """Today by the shell's clock (UTC), the default day of a release or a revocation."""
    from ..bootstrap import utc_now  # deferred for start-up speed: node commands only

    return utc_now().date().isoformat()
