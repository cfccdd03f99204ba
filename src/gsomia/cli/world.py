"""Commands on world files: ``decide``, ``timeline``, ``impact`` and ``demo``.

Each command loads what does the work (the domain, the YAML reader, Rich) when it runs, so that
``gsomia --help`` does not pay for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .shared import JsonOpt, NodeOpt, OptionError, add, option

WorldArg = Annotated[
    Path,
    typer.Argument(help="World file (YAML, or JSON ending in .json).", metavar="WORLD", show_default=False),
]
DateOpt = Annotated[str | None, option("Day of the release, YYYY-MM-DD.", "DATE")]


def register(app: typer.Typer) -> None:
    """Add ``decide``, ``timeline``, ``impact`` and ``demo`` to ``app``."""
    add(app, "decide", decide)
    add(app, "timeline", timeline)
    add(app, "impact", impact)
    add(app, "demo", demo)


def decide(
    world: WorldArg,
    item: Annotated[str | None, option("Item id.", "ID")] = None,
    to: Annotated[str | None, option("Recipient party id.", "PARTY")] = None,
    at: DateOpt = None,
    holder: Annotated[
        str | None, option("Party holding the item (default: its originator).", "PARTY")
    ] = None,
    queries: Annotated[
        str | None,
        option(
            "JSON Lines of queries {item, to, at, holder?}, a line at most 64 KiB; '-' reads stdin.", "FILE"
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """May ITEM go to a party on a day, by which route, marked how? A deny still exits 0."""
    single = {"--item": item, "--to": to, "--at": at, "--holder": holder}
    if queries is not None:
        given = [name for name, value in single.items() if value is not None]
        if given:
            raise OptionError("--queries", f"give either --queries or {', '.join(given)}, not both")
    elif item is None or to is None or at is None:
        missing = [name for name in ("--item", "--to", "--at") if single[name] is None]
        raise OptionError("decide", f"missing {', '.join(missing)} (or give --queries FILE)")
    from . import decisions  # deferred for start-up speed: the domain, the YAML reader and Rich

    if queries is not None:
        decisions.decide_batch(world, queries)
    else:
        assert item is not None
        assert to is not None
        assert at is not None
        decisions.decide_one(world, item, to, at, holder, as_json)


def timeline(
    world: Annotated[
        Path | None,
        typer.Argument(
            help="World file (YAML, or JSON ending in .json); without one, the node's world.",
            metavar="[WORLD]",
            show_default=False,
        ),
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Each agreement's states with their dates, its end and its amendments."""
    from . import timelines  # deferred for start-up speed: the domain, the YAML reader and Rich

    timelines.show(world, node, as_json)


def impact(
    world: WorldArg,
    terminate: Annotated[str | None, option("Agreement to terminate.", "AGREEMENT")] = None,
    amend: Annotated[
        str | None, option("Agreement to amend (with --scope and/or --table).", "AGREEMENT")
    ] = None,
    add: Annotated[
        Path | None, option("File holding one new agreement (as in a world file).", "FILE")
    ] = None,
    on: Annotated[str | None, option("Day the change takes effect, YYYY-MM-DD.", "DATE")] = None,
    at: Annotated[str | None, option("Day to compare flows on (default: --on).", "DATE")] = None,
    scope: Annotated[str | None, option("With --amend: new scope, 'any' or topics a,b,c.", "TOPICS")] = None,
    table: Annotated[
        Path | None, option("With --amend: file holding the new equivalence table.", "FILE")
    ] = None,
    limit: Annotated[
        int, typer.Option(help="Item ids listed per flow group; 0 lists all.", min=0, metavar="N")
    ] = 20,
    as_json: JsonOpt = False,
) -> None:
    """If this change happened, which item-to-party flows are kept, re-routed, lost or gained?"""
    from . import whatif  # deferred for start-up speed: the domain, the YAML reader and Rich

    change = whatif.Request(terminate, amend, add, on, scope, table)
    progress = not as_json and sys.stderr.isatty()
    whatif.show(world, change, at, None if limit == 0 else limit, as_json, progress)


def demo(
    world: Annotated[Path | None, option("Tell the story of another world file.", "FILE")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The Korea-Japan GSOMIA story, 2019-2023, and what would have changed had the notice taken effect."""
    from . import story, storyview  # deferred for start-up speed: the domain, the YAML reader and Rich
    from .console import json_line, out

    told = story.tell(world)
    if as_json:
        json_line(story.story_dict(told))
    else:
        storyview.draw(told, out())
