"""``gsomia sync`` and ``gsomia inbox``: pull what partners released to this node; what came in."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .shared import JsonOpt, NodeOpt, add, emit, open_node, option, table

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

SHOWN = 50  # bundles `gsomia sync` draws at most (`gsomia inbox` and --json give every one)


def register(app: typer.Typer) -> None:
    """Add ``gsomia sync``, ``gsomia inbox`` and ``gsomia receipts`` to ``app``."""
    add(app, "sync", sync)
    add(app, "inbox", inbox)
    add(app, "receipts", receipts)


def receipts(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """The signed receipts partners sent for this node's releases: which bundle, who, accepted or
    quarantined (and why)."""
    with open_node(node) as services:
        rows = services.sync.receipts()
    body = [
        [r["receiver"], str(r["seq"]), r["status"] + (f": {r['reason']}" if r["reason"] else ""), r["at"]]
        for r in rows
    ]
    emit(as_json, rows, lambda: table("Receipts", ["From", "Release", "Status", "At"], body))


def sync(
    from_: Annotated[str | None, option("Only this partner.", "PARTY", "--from")] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help=(
                "Pull each partner's whole collection, not only what it added since the last sync, and "
                "check every bundle quarantined before again."
            ),
            show_default=False,
        ),
    ] = False,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pull what each partner released to this node since the last sync (all of it with --full); check
    every bundle (signature, seal, and this node's own agreements on the sender's day); keep it or
    quarantine it with the reason."""
    from ..web.client import Pages, peer_log, push  # deferred for start-up speed: HTTP only to sync

    with open_node(node) as services:
        taken = services.sync.run(Pages, from_, push, peer_log, full=full)
        for party in services.sync.resumed:
            typer.echo(f"pulled {party} in full: the last full sync from it did not end", err=True)
    fresh = [r.to_dict() for r in taken if r.new]
    emit(as_json, fresh, lambda: _pulled(fresh) if fresh else "nothing new")


def inbox(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Every bundle received: sender, route, originator, the originator's level and this node's marking,
    accepted or quarantined (with the reason)."""
    with open_node(node) as services:
        rows = [r.to_dict() for r in services.sync.inbox()]
    emit(as_json, rows, lambda: _table("Inbox", rows))


def _pulled(fresh: list[dict[str, Any]]) -> RenderableType:
    """What a sync took: every bundle, or past :data:`SHOWN` of them the quarantined first and then the
    others up to that many, in the order taken, under a count of each status (drawing thousands of rows
    takes a terminal longer than taking them; ``gsomia inbox`` and ``--json`` give every one)."""
    if len(fresh) <= SHOWN:
        return _table("Pulled (new)", fresh)
    from rich.console import Group  # deferred for start-up speed: only drawn output needs Rich

    first = sorted(fresh, key=lambda r: r["status"] != "quarantined")  # stable: each in the order taken
    chosen = {id(r) for r in first[:SHOWN]}
    counts = Counter(str(r["status"]) for r in fresh)
    said = ", ".join(f"{n:,} {status}" for status, n in counts.most_common())
    return Group(
        _table("Pulled (new)", [r for r in fresh if id(r) in chosen]),
        f"{len(fresh):,} new: {said}. {SHOWN} shown above, quarantined first; gsomia inbox lists every one.",
    )


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    body = [
        [
            str(r["item"] or "-"),
            str(r["sender"]),
            " → ".join(r["route"]) or "-",
            str(r["originator"] or "-"),
            str(r["level"] or "-"),
            str(r["marking"] or "-"),
            str(r["status"]) + (f": {r['reason']}" if r["reason"] else ""),
        ]
        for r in rows
    ]
    return table(title, ["Item", "From", "Route", "Originator", "Level", "Our marking", "Status"], body)
