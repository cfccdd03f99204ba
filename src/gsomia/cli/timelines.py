"""``gsomia timeline``: every agreement's states with their dates, its end and its amendments.

The states come straight from :class:`~gsomia.domain.lifecycle.Timeline`: each segment starts on a day and
says why (entry into force, a notice and the day it would end the agreement, a suspension...). A suspended
notice is flagged *disputed*: the agreement stays in force, but the parties disagree on what it means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from ..domain.lifecycle import Segment, State, Timeline, Version
from ..domain.model import Table as Equivalence
from ..domain.world import World
from ..scenario import load_world
from .console import json_line, out
from .shared import node_world

STATE_STYLE: dict[State, str] = {
    "not-yet-in-force": "dim",
    "in-force": "green",
    "notice-pending": "yellow",
    "notice-suspended": "bold yellow",
    "terminated": "red",
    "expired": "red",
}


def show(path: Path | None, node: Path | None, as_json: bool) -> None:
    """The timelines of the world file at ``path``, or of the node's world; tables or JSON."""
    world = load_world(path) if path is not None else node_world(node)
    if as_json:
        json_line(timelines_dict(world))
    else:
        out().print(render_timelines(world, title=world.spec.name or "Agreements"))


def state_text(state: State) -> Text:
    """``notice suspended · disputed``, coloured by how safe the agreement is."""
    label = state.replace("-", " ")
    if state == "notice-suspended":
        label += " · disputed"
    return Text(label, style=STATE_STYLE[state])


def scope_text(scope: tuple[str, ...] | None) -> str:
    return "any topic" if scope is None else ", ".join(scope)


def render_timelines(world: World, title: str = "Agreements") -> Table:
    """One table, a section per agreement: each state from its first day, then its terms and amendments."""
    table = Table(title=title, title_justify="left")
    table.add_column("Agreement", ratio=2)
    table.add_column("From", no_wrap=True, min_width=10)
    table.add_column("State", ratio=2)
    table.add_column("Why", ratio=3)
    for n, timeline in enumerate(sorted(world.timelines.values(), key=_by_start)):
        if n:
            table.add_section()
        _add_agreement(table, timeline)
    return table


def _by_start(timeline: Timeline) -> tuple[str, str]:
    return timeline.agreement.entry_into_force.isoformat(), timeline.agreement.id


def label_lines(timeline: Timeline) -> list[Text]:
    """``KOR-JPN-GSOMIA`` in bold, then dim lines: kind and parties, conduit and hops if any."""
    a = timeline.agreement
    lines = [Text(a.id, style="bold"), Text(f"{a.kind}, {', '.join(a.parties)}", style="dim")]
    if a.conduit:
        lines.append(Text(f"conduit {a.conduit}", style="dim"))
    if a.hops:
        lines.append(Text(f"hops {', '.join(a.hops)}", style="dim"))
    return lines


def terms_text(timeline: Timeline) -> str:
    """``scope any topic; term 1y, renewed automatically; notice 90d``."""
    a = timeline.agreement
    term = (
        "no term" if a.term is None else f"term {a.term}" + (", renewed automatically" if a.renewal else "")
    )
    return f"scope {scope_text(timeline.versions[0].scope)}; {term}; notice {a.notice_period}"


def _add_agreement(table: Table, timeline: Timeline) -> None:
    rows: list[tuple[str, Text, str]] = [
        (s.start.isoformat(), state_text(s.state), s.cause) for s in timeline.segments
    ]
    if timeline.end is None:
        rows.append(("", Text("no end on record", style="dim"), ""))
    rows.append(("", Text("terms", style="dim"), terms_text(timeline)))
    for version in timeline.versions[1:]:
        what = f"scope {scope_text(version.scope)}; equivalence {table_text(version.equivalence)}"
        rows.append((version.start.isoformat(), Text("amended", style="cyan"), what))
    labels = label_lines(timeline)
    rows += [("", Text(""), "")] * (len(labels) - len(rows))
    for i, (start, state, why) in enumerate(rows):
        table.add_row(labels[i] if i < len(labels) else "", start, state, why)


def table_text(table: Equivalence) -> str:
    """``KOR KR-II = JPN JP-GOKUHI/JP-TOKUTEI; KOR KR-III = JPN JP-HI``."""
    rows = [" = ".join(f"{who} {'/'.join(levels)}" for who, levels in row.cells) for row in table]
    return "; ".join(rows) or "none (levels map through the hop agreements)"


# -- JSON -----------------------------------------------------------------------------------------------


def timeline_dict(timeline: Timeline) -> dict[str, Any]:
    a = timeline.agreement
    return {
        "id": a.id,
        "name": a.name,
        "kind": a.kind,
        "parties": list(a.parties),
        "conduit": a.conduit,
        "hops": list(a.hops),
        "entry_into_force": a.entry_into_force.isoformat(),
        "end": timeline.end.isoformat() if timeline.end else None,
        "segments": [_segment_dict(s) for s in timeline.segments],
        "versions": [_version_dict(v) for v in timeline.versions],
    }


def _segment_dict(segment: Segment) -> dict[str, Any]:
    return {
        "start": segment.start.isoformat(),
        "state": segment.state,
        "disputed": segment.state == "notice-suspended",
        "cause": segment.cause,
    }


def _version_dict(version: Version) -> dict[str, Any]:
    return {
        "start": version.start.isoformat(),
        "scope": "any" if version.scope is None else list(version.scope),
        "equivalence": [{who: list(levels) for who, levels in row.cells} for row in version.equivalence],
    }


def timelines_dict(world: World) -> dict[str, Any]:
    """``{"world": name, "agreements": [...]}``, agreements in id order."""
    return {"world": world.spec.name, "agreements": [timeline_dict(t) for t in world.timelines.values()]}
