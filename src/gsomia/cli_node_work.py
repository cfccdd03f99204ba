"""The node's day-to-day commands: ``item add|body|list``, ``consent request|grant|deny|revoke|list`` and
``event add|list``. Each change is validated against the node's world and recorded with its ledger leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from .bootstrap import Services
from .cli_exits import guarded
from .cli_node_shell import (
    JsonOpt,
    NodeOpt,
    day_option,
    emit,
    open_node,
    option,
    parse_yaml,
    read_bytes,
    record_dict,
    table,
    today,
    words,
)
from .domain.model import EVENT_KINDS
from .services.consent import ConsentRequest, standing
from .services.replay import ConsentView

ItemId = Annotated[str, typer.Argument(help="Item id.", metavar="ITEM")]
ConsentId = Annotated[str, typer.Argument(help="Consent id (see: gsomia consent list).", metavar="CONSENT")]
ByOpt = Annotated[
    str | None, option("Who decides (default: the node's party, else the originator).", "PARTY", "--by")
]
FromOpt = Annotated[str | None, option("First day covered, YYYY-MM-DD.", "DATE", "--from")]
UntilOpt = Annotated[str | None, option("Last day covered, YYYY-MM-DD.", "DATE", "--until")]
NoteOpt = Annotated[str, option("Why, for the record.", "TEXT", "--note")]


def register(app: typer.Typer) -> None:
    """Add the ``item``, ``consent`` and ``event`` command groups to ``app``."""
    groups: dict[str, tuple[str, list[Callable[..., None]]]] = {
        "item": ("Items: metadata in the world, bodies sealed at rest.", [item_add, item_body, item_list]),
        "consent": (
            "Originator consents: request, grant, deny, revoke.",
            [consent_request, consent_grant, consent_deny, consent_revoke, consent_list],
        ),
        "event": ("Lifecycle events of the node's agreements.", [event_add, event_list]),
    }
    for name, (help_text, commands) in groups.items():
        group = typer.Typer(help=help_text, no_args_is_help=True)
        for command in commands:
            group.command(command.__name__.split("_", 1)[1])(guarded(command))
        app.add_typer(group, name=name)


# -- items --------------------------------------------------------------------------------------------


def item_add(
    id: Annotated[str, option("Item id.", "ID", "--id")],
    originator: Annotated[str, option("The party whose item it is.", "PARTY", "--originator")],
    level: Annotated[str, option("The originator's level id.", "LEVEL", "--level")],
    topics: Annotated[str, option("Topics, comma-separated.", "TOPICS", "--topics")],
    body_file: Annotated[Path, option("The item's body; stored only encrypted.", "FILE", "--body-file")],
    releasable_to: Annotated[
        str | None, option("Parties it may reach, comma-separated.", "PARTIES", "--releasable-to")
    ] = None,
    caveats: Annotated[
        str | None, option("Caveats, comma-separated (e.g. NOFORN).", "CAVEATS", "--caveats")
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an item with its body, sealed under a fresh key wrapped by the node's key."""
    topic_list = words(topics, "--topics") or []
    allowed_to = words(releasable_to, "--releasable-to")
    caveat_list = words(caveats, "--caveats") or []
    body = read_bytes(body_file, "body file")
    with open_node(node) as services:
        record = services.items.add_item(id, originator, level, topic_list, allowed_to, caveat_list, body)
    value = {"seq": record.seq, **record.data, "has_body": True}
    emit(as_json, value, lambda: f"added item {record.key} (record {record.seq}), body sealed")


def item_body(
    item: ItemId,
    body_file: Annotated[Path, option("The item's body; stored only encrypted.", "FILE", "--body-file")],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give an imported (metadata-only) item its body; a body is never replaced."""
    body = read_bytes(body_file, "body file")
    with open_node(node) as services:
        services.items.attach_body(item, body)
    emit(as_json, {"id": item, "has_body": True}, lambda: f"item {item}: body sealed")


def item_list(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Every item on the node and whether it holds the body."""
    with open_node(node) as services:
        views = services.items.items()
    rows = [
        [
            v.data["id"],
            v.data["originator"],
            v.data["level"],
            ", ".join(v.data.get("topics", [])),
            "yes" if v.has_body else "no",
        ]
        for v in views
    ]
    columns = ["Item", "Originator", "Level", "Topics", "Body"]
    emit(as_json, [v.to_dict() for v in views], lambda: table("Items", columns, rows))


# -- consents -----------------------------------------------------------------------------------------


def consent_request(
    holder: Annotated[str, option("The party that holds the item and asks.", "PARTY", "--holder")],
    recipient: Annotated[str, option("The party it would pass to.", "PARTY", "--recipient")],
    item: Annotated[
        str | None, option("The item (or give --topic and --originator).", "ITEM", "--item")
    ] = None,
    topic: Annotated[
        str | None, option("A topic, for all the originator's items on it.", "TOPIC", "--topic")
    ] = None,
    originator: Annotated[
        str | None, option("The originator of a topic consent.", "PARTY", "--originator")
    ] = None,
    valid_from: FromOpt = None,
    valid_until: UntilOpt = None,
    id: Annotated[str | None, option("Consent id (default: the next C<n>).", "ID", "--id")] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A holder asks the originator for consent to pass an item (or a topic) on."""
    ask = ConsentRequest(
        holder,
        recipient,
        item,
        topic,
        originator,
        day_option(valid_from, "--from"),
        day_option(valid_until, "--until"),
    )
    with open_node(node) as services:
        view = services.consents.request(ask, id=id)
    _show(view, as_json)


def consent_grant(
    consent: ConsentId,
    valid_from: FromOpt = None,
    valid_until: UntilOpt = None,
    by: ByOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The originator grants a request, for the days asked or those given."""
    start, end = day_option(valid_from, "--from"), day_option(valid_until, "--until")
    with open_node(node) as services:
        view = services.consents.grant(consent, valid_from=start, valid_until=end, by=by or _party(services))
    _show(view, as_json)


def consent_deny(
    consent: ConsentId, by: ByOpt = None, note: NoteOpt = "", node: NodeOpt = None, as_json: JsonOpt = False
) -> None:
    """The originator refuses a request."""
    with open_node(node) as services:
        view = services.consents.deny(consent, by=by or _party(services), note=note)
    _show(view, as_json)


def consent_revoke(
    consent: ConsentId,
    on: Annotated[str | None, option("First day no longer covered (default: today).", "DATE", "--on")] = None,
    by: ByOpt = None,
    note: NoteOpt = "",
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The originator revokes a granted consent: releases for days from --on are refused. Never deleted."""
    day = day_option(on, "--on") or today()
    with open_node(node) as services:
        view = services.consents.revoke(consent, day, by=by or _party(services), note=note)
    _show(view, as_json)


def consent_list(
    at: Annotated[
        str | None, option("Say where each stands on this day (default: today).", "DATE", "--at")
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every consent with its history and where it stands."""
    day = date.fromisoformat(day_option(at, "--at") or today())
    with open_node(node) as services:
        views = services.consents.consents()
    rows = [[v.id, _what(v), v.status, standing(v, day)] for v in views]
    columns = ["Consent", "What", "Status", f"On {day.isoformat()}"]
    value = [v.to_dict() | {"standing": standing(v, day)} for v in views]
    emit(as_json, value, lambda: table("Consents", columns, rows))


def _party(services: Services) -> str | None:
    return services.settings.party or None


def _what(view: ConsentView) -> str:
    t = view.terms
    subject = f"item {t['item']}" if "item" in t else f"{t.get('originator')} topic {t.get('topic')}"
    window = f"{t.get('from', '…')} to {t.get('until', '…')}"
    return f"{subject}: {t['holder']} → {t['recipient']}, {window}"


def _show(view: ConsentView, as_json: bool) -> None:
    emit(as_json, view.to_dict(), lambda: f"consent {view.id}: {view.status} ({_what(view)})")


# -- events -------------------------------------------------------------------------------------------


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
    table_rows = None if equivalence is None else parse_yaml(equivalence, "--equivalence")
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
