"""``gsomia incident report`` and ``gsomia incidents``: lost or compromised items, told to originators."""

from __future__ import annotations

from typing import Annotated

import typer

from ..domain.errors import GsomiaError
from .shared import JsonOpt, NodeOpt, add, emit, new_group, open_node, option, table


def register(app: typer.Typer) -> None:
    """Add ``gsomia incident report`` and ``gsomia incidents`` to ``app``."""
    group = new_group("Incidents: tell an item's originator it was lost or compromised.")
    add(group, "report", incident_report)
    app.add_typer(group, name="incident")
    add(app, "incidents", incidents)


def incident_report(
    item: Annotated[
        str, typer.Argument(help="The item lost or compromised.", metavar="ITEM", show_default=False)
    ],
    detail: Annotated[str, option("What happened.", "TEXT", "--detail")],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a loss or compromise of ITEM; the originator's node is told, signed, at the next sync."""
    with open_node(node) as services:
        if services.sync.incidents is None:
            raise GsomiaError("this node was composed without incident reports")
        found = services.sync.incidents.report(item, detail)
    emit(
        as_json,
        found,
        lambda: f"incident {found['id']} on {item} recorded; {found['originator']} is told at the next sync",
    )


def incidents(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Incidents this node reported, and those holders reported to it about its items."""
    with open_node(node) as services:
        rows = services.sync.incidents.incidents() if services.sync.incidents is not None else []
    body = [[r["direction"], r["item"], r["holder"], r["originator"], r["at"], r["detail"]] for r in rows]
    emit(
        as_json, rows, lambda: table("Incidents", ["", "Item", "Holder", "Originator", "At", "Detail"], body)
    )
