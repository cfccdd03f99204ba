"""``gsomia consent request|grant|deny|revoke|list``: originator consents, each change on the record."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from .shared import JsonOpt, NodeOpt, add, day_option, emit, new_group, open_node, option, table, today

if TYPE_CHECKING:
    from ..bootstrap import Services
    from ..services.replay import ConsentView

ConsentId = Annotated[
    str, typer.Argument(help="Consent id (see: gsomia consent list).", metavar="CONSENT", show_default=False)
]
ByOpt = Annotated[
    str | None, option("Who decides (default: the node's party, else the originator).", "PARTY", "--by")
]
FromOpt = Annotated[str | None, option("First day covered, YYYY-MM-DD.", "DATE", "--from")]
UntilOpt = Annotated[str | None, option("Last day covered, YYYY-MM-DD.", "DATE", "--until")]
NoteOpt = Annotated[str, option("Why, for the record.", "TEXT", "--note")]


def register(app: typer.Typer) -> None:
    """Add ``gsomia consent ...`` to ``app``."""
    group = new_group("Originator consents: request, grant, deny, revoke.")
    for name, command in (
        ("request", consent_request),
        ("grant", consent_grant),
        ("deny", consent_deny),
        ("revoke", consent_revoke),
        ("list", consent_list),
    ):
        add(group, name, command)
    app.add_typer(group, name="consent")


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
    from ..services.consent import ConsentRequest  # deferred for start-up speed: node commands only

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
    from ..services.consent import standing  # deferred for start-up speed: node commands only

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
