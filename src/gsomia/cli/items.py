"""``gsomia item add|add-many|body|list|show``: items' metadata in the node's world, their bodies sealed
at rest.

A body file is read a megabyte at a time as it is sealed (a long body in STREAM segments, see
:mod:`gsomia.crypto.seal`), at most the node's ``max_body_bytes`` in all: a file larger than that is
refused before it is read, and ``--body-file /dev/zero`` as soon as the bound is passed (exit 2, nothing
written). ``item show --body`` writes a body out a segment at a time, each opened as it goes.
``add-many`` reads its JSON Lines with :mod:`gsomia.cli.itemlines` and each body as its item is added,
so one body at most is in memory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .shared import (
    JsonOpt,
    NodeOpt,
    add,
    emit,
    new_group,
    open_node,
    option,
    read_bounded,
    read_chunks,
    table,
    words,
)

if TYPE_CHECKING:
    from ..bootstrap import Services

ItemId = Annotated[str, typer.Argument(help="Item id.", metavar="ITEM", show_default=False)]
BodyOpt = Annotated[
    Path, option("The item's body (at most max_body_bytes); stored only encrypted.", "FILE", "--body-file")
]


def register(app: typer.Typer) -> None:
    """Add ``gsomia item ...`` to ``app``."""
    group = new_group("Items: metadata in the world, bodies sealed at rest.")
    add(group, "add", item_add)
    add(group, "add-many", item_add_many)
    add(group, "body", item_body)
    add(group, "list", item_list)
    add(group, "show", item_show)
    app.add_typer(group, name="item")


def read_body(path: Path, services: Services) -> bytes:
    """The body in ``path``, refused (exit 2) past the node's ``max_body_bytes`` without reading on."""
    return read_bounded(path, "body file", services.settings.max_body_bytes, _advice(services))


def body_pieces(path: Path, services: Services) -> Iterator[bytes]:
    """The body in ``path`` a megabyte at a time, as it is sealed: refused (exit 2, nothing written) past
    the node's ``max_body_bytes``, before reading when the file's size says so."""
    return read_chunks(path, "body file", services.settings.max_body_bytes, _advice(services))


def _advice(services: Services) -> str:
    limit = services.settings.max_body_bytes
    return (
        f"max_body_bytes ({limit} bytes); raise the setting (max_body_bytes in the node's gsomia.toml, "
        "or GSOMIA_MAX_BODY_BYTES) or store a smaller body"
    )


def item_add(
    id: Annotated[str, option("Item id.", "ID", "--id")],
    originator: Annotated[str, option("The party whose item it is.", "PARTY", "--originator")],
    level: Annotated[str, option("The originator's level id.", "LEVEL", "--level")],
    topics: Annotated[str, option("Topics, comma-separated.", "TOPICS", "--topics")],
    body_file: BodyOpt,
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
    with open_node(node) as services:
        body = body_pieces(body_file, services)
        record = services.items.add_item(id, originator, level, topic_list, allowed_to, caveat_list, body)
    value = {"seq": record.seq, **record.data, "has_body": True}
    emit(as_json, value, lambda: f"added item {record.key} (record {record.seq}), body sealed")


def item_add_many(
    source: Annotated[
        str,
        typer.Argument(
            help='JSON Lines, one item a line: {"id", "originator", "level", "topics", "releasable_to"?, '
            '"caveats"?, "body_file"?}; - for stdin.',
            metavar="FILE",
            show_default=False,
        ),
    ],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add many items, each with its body if it names a body file, in one transaction: all or, if any line
    is bad, none (the error names the line)."""
    from . import itemlines  # deferred for start-up speed: the services' item types

    found = itemlines.read_all(source)
    with open_node(node) as services:
        bodies = itemlines.new_items(found, source, lambda path: read_body(path, services))
        records = services.items.add_items(bodies)
    held = {line.item.id for line in found if line.body_file is not None}
    values = [{"seq": r.seq, **r.data, "has_body": r.key in held} for r in records]
    rows = [[v["id"], v["level"], "yes" if v["has_body"] else "no"] for v in values]
    emit(as_json, values, lambda: table("Items added", ["Item", "Level", "Body"], rows))


def item_body(item: ItemId, body_file: BodyOpt, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Give an imported (metadata-only) item its body; a body is never replaced."""
    with open_node(node) as services:
        services.items.attach_body(item, body_pieces(body_file, services))
    emit(as_json, {"id": item, "has_body": True}, lambda: f"item {item}: body sealed")


def item_show(
    item: ItemId,
    body: Annotated[
        bool, typer.Option("--body", help="Also print the body (decrypted, to stdout only).")
    ] = False,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One item: its metadata, where it came from if a partner sent it, and with --body its body."""
    with open_node(node) as services, ExitStack() as stack:
        view = services.items.item(item)
        received = [
            r.to_dict() for r in services.sync.inbox() if r.item == item and r.status != "quarantined"
        ]
        # read, proven and opened a segment at a time as they are written out, while the node is open
        pieces = stack.enter_context(closing(services.items.body_chunks(item))) if body else None
        plain = b"".join(pieces) if pieces is not None and as_json else None
        value = {**view.to_dict(), "received": received[0] if received else None}
        if plain is not None:
            value["body"] = plain.decode("utf-8", "replace")
        if as_json:
            emit(True, value, lambda: None)
            return
        lines = [
            f"{k}: {v}" for k, v in value.items() if k not in ("body", "received") and v not in (None, [])
        ]
        if received:
            r = received[0]
            lines.append(
                f"received from {r['sender']} by {' → '.join(r['route'])}, marked {r['marking']} here"
            )
        emit(False, value, lambda: "\n".join(lines))
        for piece in pieces or ():
            sys.stdout.buffer.write(piece)
        sys.stdout.flush()


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
