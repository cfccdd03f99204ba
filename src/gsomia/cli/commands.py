"""The ``gsomia`` commands: ``decide``, ``timeline`` and ``demo``.

Exit codes (design.md §4): 0 success (a deny is a success: the decision was made), 2 bad input (any
:class:`~gsomia.GsomiaError`, a bad command line, a bad line in a batch), 1 an internal error, shown as
one line unless ``GSOMIA_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, ParamSpec, TextIO, TypeVar

import typer

from .. import __version__, cli_log, cli_node
from ..cli_exits import exit_codes, guarded
from ..domain.errors import GsomiaError
from ..domain.world import World
from ..scenario import load_world
from . import console, decisions, timelines

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="gsomia",
    help="Exchange classified information only as security agreements allow, and prove it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

WorldArg = Annotated[
    Path,
    typer.Argument(help="World file (YAML, or JSON ending in .json).", metavar="WORLD", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _option(text: str, metavar: str) -> typer.models.OptionInfo:
    return typer.Option(help=text, metavar=metavar, show_default=False)  # type: ignore[no-any-return]


ItemOpt = Annotated[str | None, _option("Item id.", "ID")]
PartyOpt = Annotated[str | None, _option("Recipient party id.", "PARTY")]
DateOpt = Annotated[str | None, _option("Day of the release, YYYY-MM-DD.", "DATE")]
HolderOpt = Annotated[str | None, _option("Party holding the item (default: its originator).", "PARTY")]
QueriesOpt = Annotated[
    str | None, _option("JSON Lines of queries {item, to, at, holder?}; '-' reads stdin.", "FILE")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gsomia {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Exchange classified information only as security agreements allow, and prove it."""


@app.command()
@guarded
def decide(
    world: WorldArg,
    item: ItemOpt = None,
    to: PartyOpt = None,
    at: DateOpt = None,
    holder: HolderOpt = None,
    queries: QueriesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """May ITEM go to a party on a day, by which route, marked how? A deny still exits 0."""
    if queries is not None:
        _only_queries(item=item, to=to, at=at, holder=holder)
        _decide_batch(load_world(world), queries)
        return
    if item is None or to is None or at is None:
        missing = [f"--{k}" for k, v in (("item", item), ("to", to), ("at", at)) if v is None]
        raise typer.BadParameter(
            f"missing {', '.join(missing)} (or give --queries FILE)", param_hint="decide"
        )
    loaded = load_world(world)
    decision = loaded.decide(item, to, at, holder)
    if as_json:
        console.json_line(decision.to_dict())
    else:
        console.out().print(decisions.render_decision(loaded, decision))


def _only_queries(**single: str | None) -> None:
    given = [f"--{name}" for name, value in single.items() if value is not None]
    if given:
        raise typer.BadParameter(
            f"give either --queries or {', '.join(given)}, not both", param_hint="--queries"
        )


def _decide_batch(world: World, source: str) -> None:
    where = "stdin" if source == "-" else source
    try:
        with _open_queries(source) as lines:
            bad = decisions.run_batch(world, lines, console.json_line)
    except UnicodeDecodeError:
        raise GsomiaError(f"{where}: the queries are not UTF-8 text; save them as UTF-8") from None
    if bad:
        console.error_line(f"{bad} bad line(s) in {where}; each is answered in its place with its error")
        raise typer.Exit(2)


@contextmanager
def _open_queries(source: str) -> Iterator[TextIO]:
    if source == "-":
        yield sys.stdin
        return
    try:
        handle = open(source, encoding="utf-8-sig")  # noqa: SIM115 -- closed below, after the last line
    except OSError as exc:
        raise GsomiaError(
            f"{source}: cannot read the queries ({exc.strerror or exc}); check the path"
        ) from None
    with handle:
        yield handle


@app.command()
@guarded
def timeline(
    world: Annotated[
        Path | None,
        typer.Argument(
            help="World file (YAML, or JSON ending in .json); without one, the node's world.",
            metavar="[WORLD]",
            show_default=False,
        ),
    ] = None,
    node: cli_node.NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Each agreement's states with their dates, its end and its amendments."""
    loaded = load_world(world) if world is not None else cli_node.node_world(node)
    if as_json:
        console.json_line(timelines.timelines_dict(loaded))
    else:
        console.out().print(timelines.render_timelines(loaded, title=loaded.spec.name or "Agreements"))


@app.command()
@guarded
def demo(
    world: Annotated[
        Path | None,
        typer.Option(help="Tell the story of another world file.", metavar="FILE", show_default=False),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The Korea-Japan GSOMIA story, 2019-2023, and what would have changed had the notice taken effect."""
    from .. import demo as story  # the story imports our renderers: import it when it is asked for
    from ..demo import view

    told = story.tell(world)
    if as_json:
        console.json_line(story.story_dict(told))
    else:
        view.draw(told, console.out())


@app.command()
@guarded
def impact(
    world: WorldArg,
    terminate: Annotated[str | None, _option("Agreement to terminate.", "AGREEMENT")] = None,
    amend: Annotated[
        str | None, _option("Agreement to amend (with --scope and/or --table).", "AGREEMENT")
    ] = None,
    add: Annotated[
        Path | None, _option("File holding one new agreement (as in a world file).", "FILE")
    ] = None,
    on: Annotated[str | None, _option("Day the change takes effect, YYYY-MM-DD.", "DATE")] = None,
    at: Annotated[str | None, _option("Day to compare flows on (default: --on).", "DATE")] = None,
    scope: Annotated[str | None, _option("With --amend: new scope, 'any' or topics a,b,c.", "TOPICS")] = None,
    table: Annotated[
        Path | None, _option("With --amend: file holding the new equivalence table.", "FILE")
    ] = None,
    limit: Annotated[int, typer.Option(help="Item ids listed per flow group; 0 lists all.", min=0)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """If this change happened, which item-to-party flows are kept, re-routed, lost or gained?"""
    from . import impact as what_if

    loaded = load_world(world)
    change = what_if.build_change(terminate, amend, add, on, scope, table)
    report = what_if.run(loaded, change, at, show_progress=not as_json and sys.stderr.isatty())
    shown = None if limit == 0 else limit
    if as_json:
        console.json_line(report.to_dict(list_items=shown))
    else:
        console.out().print(what_if.render(report, shown))


@app.command()
@guarded
def bench(
    items: Annotated[int, typer.Option(help="Items in the benchmark world.", min=1)] = 1_000_000,
    sample: Annotated[
        int, typer.Option(help="Queries cross-checked against the anchors and timed.", min=1)
    ] = 2_000,
    batch: Annotated[int, typer.Option(help="Queries in the numpy batch.", min=1)] = 1_000_000,
    ledger_leaves: Annotated[
        int, typer.Option(help="Leaves in the log benchmark (0 skips it).", min=0)
    ] = 1_000_000,
    as_json: JsonOpt = False,
) -> None:
    """Speed beside cedarpy and pycasbin on one seeded world, after checking they all agree (design.md §6)."""
    if Path("benchmarks", "bench.py").is_file() and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the benchmarks live beside the sources, not in the package
    try:
        from benchmarks.bench import run as run_bench
    except ImportError as exc:
        raise GsomiaError(
            f"the benchmarks are not importable ({exc}); run this from a gsomia source checkout "
            "(or use python -m benchmarks there), with pip install -e '.[bench]' for the anchors"
        ) from None
    run_bench(items=items, sample=sample, as_json=as_json, batch=batch, ledger_leaves=ledger_leaves)


cli_node.register(app)
cli_log.register(app)


def main() -> None:
    """Entry point of the ``gsomia`` console script."""
    with exit_codes():
        app(prog_name="gsomia")
