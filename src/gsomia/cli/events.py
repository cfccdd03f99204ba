"""``gsomia event add|list``: lifecycle events of the node's agreements, refused if they cannot apply."""

from __future__ import annotations

from typing import Annotated

import typer

from ..domain.model import EVENT_KINDS
from .shared import JsonOpt, NodeOpt, add, emit, new_group, open_node, option, record_dict, table, words


def register(app: typer.Typer) -> None:
    """Add ``gsomia event ...`` to ``app``."""
    group = new_group("Lifecycle events of the node's agreements.")
    add(group, "add", event_add)
    add(group, "list", event_list)
    app.add_typer(group, name="event")


def _yaml(text: str, name: str) -> object:
    """YAML given on the command line (a flow mapping or list), read as a world file would be."""
    from ..scenario.source import parse_text  # deferred for start-up speed: the YAML reader

    return parse_text(text, name).data


def event_add(
    agreement: Annotated[str, option("Agreement id.", "AGREEMENT", "--agreement")],
    kind: Annotated[str, option(f"One of: {', '.join(EVENT_KINDS)}.", "KIND", "--kind")],
    on: Annotated[str, option("The event's day, YYYY-MM-DD.", "DATE", "--date")],
    by: Annotated[str | None, option("The party that gave it.", "PARTY", "--by")] = None,
    scope: Annotated[
        str | None, option("amend: the new scope, 'any' or topics comma-separated.", "SCOPE", "--scope")
    ] = None,
    equivalence: Annotated[
        str | None,
        option(
            "amend: the new table as YAML, e.g. '[{KOR: KR-II, JPN: JP-GOKUHI}]'.", "ROWS", "--equivalence"
        ),
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a lifecycle event; refused (nothing written) if it cannot apply to the agreement that day."""
    new_scope = None if scope is None else ("any" if scope.strip() == "any" else words(scope, "--scope"))
    table_rows = None if equivalence is None else _yaml(equivalence, "--equivalence")
    with open_node(node) as services:
        record = services.events.add_event(
            agreement, kind, on, by=by, scope=new_scope, equivalence=table_rows
        )
    value = record_dict(record)
    emit(as_json, value, lambda: f"added {record.data['kind']} of {record.key} on {record.data['date']}")


def event_list(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Every lifecycle event on record, in the order added."""
    with open_node(node) as services:
        records = services.events.events()
    rows = [[str(r.seq), r.data["date"], r.key, r.data["kind"], r.data.get("by", "")] for r in records]
    columns = ["Record", "Day", "Agreement", "Kind", "By"]
    emit(as_json, [record_dict(r) for r in records], lambda: table("Events", columns, rows))
