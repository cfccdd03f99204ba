"""``gsomia partner card|add|list``: this node's public card, and the partner nodes it exchanges with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..domain.errors import GsomiaError
from .console import json_line
from .shared import JsonOpt, NodeOpt, add, emit, new_group, open_node, option, read_bounded, table

MAX_CARD_BYTES = 64 * 1024
UrlOpt = Annotated[str | None, option("Base URL of the node's TAXII server (http or https).", "URL", "--url")]


def register(app: typer.Typer) -> None:
    """Add ``gsomia partner ...`` to ``app``."""
    group = new_group("Partner nodes: this node's card, and the partners it exchanges with.")
    for name, command in (("card", partner_card), ("add", partner_add), ("list", partner_list)):
        add(group, name, command)
    app.add_typer(group, name="partner")


def partner_card(url: UrlOpt = None, node: NodeOpt = None) -> None:
    """Print this node's public card (JSON): its party, public keys and their fingerprints, its URL."""
    with open_node(node) as services:
        card = services.partners.own_card(url)
    json_line(card)


def partner_add(
    card: Annotated[
        Path, typer.Argument(help="The partner's card (JSON, from gsomia partner card).", metavar="CARD.json")
    ],
    url: Annotated[
        str | None, option("Where we pull from the partner (its TAXII server).", "URL", "--url")
    ] = None,
    token: Annotated[
        str | None, option("The token the partner issued us, to pull from it.", "TOKEN", "--token")
    ] = None,
    new_token: Annotated[
        bool, typer.Option("--new-token", help="Issue the partner a new token (the old one stops working).")
    ] = False,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a partner (or update where and how we pull from it); prints its fingerprints and, the first
    time only (or with --new-token), the token it must present to pull from us."""
    raw = read_bounded(card, "card file", MAX_CARD_BYTES, "a card is a few hundred bytes of JSON")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise GsomiaError(f"{card}: not a JSON card ({exc}); use the output of gsomia partner card") from None
    with open_node(node) as services:
        added = services.partners.add(data, url=url, token=token, new_token=new_token)
    out = added.to_dict()

    def human() -> str:
        fp = out["fingerprints"]
        lines = [
            f"partner {out['party']}: signing key {fp['signing_key_short']}, HPKE key {fp['hpke_key_short']}",
            "compare these fingerprints with the partner before exchanging anything",
        ]
        if out["token"] is not None:
            lines.append(f"token for {out['party']} to pull from this node (shown once): {out['token']}")
        return "\n".join(lines)

    emit(as_json, out, human)


def partner_list(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """The registered partners, with their fingerprints and whether this node pulls from them."""
    with open_node(node) as services:
        partners = [p.to_dict() for p in services.partners.partners()]
    rows = [
        [
            p["party"],
            p["fingerprints"]["signing_key_short"],
            p["fingerprints"]["hpke_key_short"],
            p["url"] or "-",
        ]
        for p in partners
    ]
    emit(as_json, partners, lambda: table("Partners", ["Party", "Signing key", "HPKE key", "URL"], rows))
