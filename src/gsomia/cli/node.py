"""The node's own commands: ``init``, ``import``, ``export``, ``party add``, ``agreement add``,
``release`` and ``releases``. Every one takes ``--node DIR`` and ``--json``; the node's stack is loaded
(by :func:`~gsomia.cli.shared.open_node`) only when one of them runs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..domain.errors import GsomiaError
from .shared import (
    JsonOpt,
    NodeOpt,
    OptionError,
    add,
    day_option,
    emit,
    new_group,
    open_node,
    option,
    record_dict,
    table,
    today,
    words,
)

if TYPE_CHECKING:
    from rich.table import Table

    from ..config import Settings
    from ..services.ports import ReleaseRow


def register(app: typer.Typer) -> None:
    """Add the node commands to ``app``."""
    add(app, "init", init)
    add(app, "import", import_world)
    add(app, "export", export)
    add(app, "release", release)
    add(app, "release-many", release_many)
    add(app, "releases", releases)
    party = new_group("The node's parties.")
    add(party, "add", party_add)
    app.add_typer(party, name="party")
    agreement = new_group("The node's agreements.")
    add(agreement, "add", agreement_add)
    app.add_typer(agreement, name="agreement")


# -- init, import, export -----------------------------------------------------------------------------


def init(
    directory: Annotated[
        Path,
        typer.Argument(help="Where to make the node (default: here).", metavar="[DIR]", show_default=False),
    ] = Path("."),
    party: Annotated[str, option("The party this node speaks for.", "PARTY")] = "",
    database_url: Annotated[
        str, option("Database URL (default: sqlite:///DIR/node.db).", "URL", "--database-url")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Make a node: its settings file, keys and database. Refuses a directory that holds a node already."""
    from ..bootstrap import create_node  # deferred for start-up speed: SQLAlchemy, cryptography, alembic

    settings = create_node(directory, party=party, database_url=database_url)
    with open_node(settings.node_dir) as services:
        key_id = services.keys.key_id
    value = _settings_dict(settings) | {"key_id": key_id}
    emit(as_json, value, lambda: f"created a gsomia node in {settings.node_dir} (signing key {key_id})")


def _settings_dict(settings: Settings) -> dict[str, Any]:
    return {
        "node_dir": str(settings.node_dir),
        "party": settings.party,
        "database_url": settings.database_url,
    }


def import_world(
    world: Annotated[
        Path, typer.Argument(help="World file (YAML, or JSON).", metavar="WORLD", show_default=False)
    ],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add everything a world file holds to the node, all or nothing (items come without bodies)."""
    from ..scenario import read_spec  # deferred for start-up speed: the world-file reader
    from .whatif import progress_bar

    spec, lines = read_spec(world)
    bar = progress_bar(not as_json and sys.stderr.isatty(), "import", "items")
    with open_node(node) as services, bar as tick:
        report = services.worldbook.import_spec(spec, os.fspath(world), lines, tick)
    counts = ", ".join(f"{n} {section}" for section, n in report.counts.items())
    emit(as_json, {"file": report.file, "added": report.counts}, lambda: f"imported {report.file}: {counts}")


def export(
    file: Annotated[
        Path | None,
        typer.Argument(help="Write here (default: stdout).", metavar="[FILE]", show_default=False),
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the node's world as a world file (YAML; JSON with --json or a FILE ending in .json)."""
    with open_node(node) as services:
        data = services.worldbook.export_world()
    as_json = as_json or (file is not None and file.suffix.lower() == ".json")
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n" if as_json else world_yaml(data)
    if file is None:
        typer.echo(text, nl=False)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GsomiaError(f"{file}: cannot write the world ({exc.strerror or exc})") from None


def world_yaml(data: dict[str, Any]) -> str:
    """A world file's data as YAML: block sections, flow mappings for the small entries."""
    from io import StringIO

    from ruamel.yaml import YAML  # deferred for start-up speed: export only

    yaml = YAML(typ="rt")
    yaml.default_flow_style = None  # leaf collections inline, like a hand-written world file
    yaml.allow_unicode = True
    yaml.width = 110
    out = StringIO()
    yaml.dump(data, out)
    return out.getvalue()


# -- parties and agreements ---------------------------------------------------------------------------


def party_add(
    id: Annotated[str, option("Party id, e.g. KOR.", "ID", "--id")],
    levels: Annotated[str, option("Levels lowest first: ID:MARKING,ID:MARKING,...", "LEVELS", "--levels")],
    name: Annotated[str | None, option("The party's name (default: its id).", "NAME", "--name")] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a party and its classification levels."""
    entry: dict[str, Any] = {"id": id, "levels": _levels(levels)}
    if name is not None:
        entry["name"] = name
    with open_node(node) as services:
        record = services.worldbook.add_party(entry)
    emit(as_json, record_dict(record), lambda: f"added party {record.key} (record {record.seq})")


def _levels(text: str) -> list[dict[str, str]]:
    out = []
    for part in words(text, "--levels") or []:
        lid, sep, marking = part.partition(":")
        if not sep or not lid.strip() or not marking.strip():
            raise OptionError("--levels", f"{part!r} is not ID:MARKING, like KR-II:군사II급비밀")
        out.append({"id": lid.strip(), "marking": marking.strip()})
    return out


def agreement_add(
    file: Annotated[Path, option("One agreement, written as in a world file.", "FILE", "--file")],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add one agreement, read from a YAML (or JSON) file holding its mapping."""
    from ..scenario.source import read_source  # deferred for start-up speed: the YAML reader

    source = read_source(file)
    if not isinstance(source.data, dict):
        raise GsomiaError(f"{file}: expected one agreement mapping (id, kind, parties, entry_into_force...)")
    with open_node(node) as services:
        record = services.worldbook.add_agreement(source.data, file=os.fspath(file), lines=source.lines)
    emit(as_json, record_dict(record), lambda: f"added agreement {record.key} (record {record.seq})")


# -- releases -----------------------------------------------------------------------------------------


def release(
    item: Annotated[str, typer.Argument(help="Item id.", metavar="ITEM", show_default=False)],
    to: Annotated[str, option("Recipient party id.", "PARTY", "--to")],
    at: Annotated[
        str | None, option("Day of the release, YYYY-MM-DD (default: today).", "DATE", "--at")
    ] = None,
    holder: Annotated[
        str | None, option("Party holding the item (default: its originator).", "PARTY", "--holder")
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide and record a release; a refusal is recorded too (exit 0, "allowed": false)."""
    day = day_option(at, "--at") or today()
    with open_node(node) as services:
        outcome = services.releases.release(item, to, day, holder)
        world = services.worldbook.world()
    from .decisions import render_release  # deferred for start-up speed: Rich and the domain's views

    emit(as_json, outcome.to_dict(), lambda: render_release(world, outcome))


def release_many(
    source: Annotated[
        str,
        typer.Argument(
            help='JSON Lines, one release a line: {"item", "to", "at", "holder"?}; - for stdin.',
            metavar="FILE",
            show_default=False,
        ),
    ],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide and record many releases in one transaction (refusals recorded too): all or, if any line is
    bad input, none (the error names the line)."""
    from . import queries  # deferred for start-up speed: the JSON Lines reader

    wanted = queries.read_all(source)
    with open_node(node) as services:
        outcomes = services.releases.release_many([(q.item, q.recipient, q.at, q.holder) for q in wanted])
    rows = [o.to_dict() for o in outcomes]
    body = [
        [
            str(r["release"]),
            r["item"],
            r["recipient"],
            "allowed" if r["allowed"] else "denied",
            " → ".join(r.get("route") or []) or "-",
            str(r.get("marking") or "-"),
        ]
        for r in rows
    ]
    emit(
        as_json,
        rows,
        lambda: table("Releases recorded", ["#", "Item", "To", "Verdict", "Route", "Marking"], body),
    )


def releases(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Every release and refusal the node recorded, oldest first."""
    from ..services.journal import release_json  # deferred for start-up speed: node commands only

    with open_node(node) as services:
        rows = services.releases.releases()
    emit(as_json, [release_json(r) for r in rows], lambda: _releases_table(rows))


def _releases_table(rows: list[ReleaseRow]) -> Table:
    columns = ["#", "Item", "From", "To", "Day", "Verdict", "Route", "Recorded"]
    body = [
        [
            str(r.seq),
            r.item,
            r.holder,
            r.recipient,
            r.at,
            "allowed" if r.allowed else "denied",
            " → ".join(r.decision.get("route", [])) or "-",
            r.recorded,
        ]
        for r in rows
    ]
    return table("Releases", columns, body)
