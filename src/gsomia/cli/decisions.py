"""``gsomia decide`` and ``gsomia release`` drawn for people: a decision, or a recorded release and its why.

A decision reads verdict first, then route, agreements and marking, then the eight reasons and the routes
that failed. A release says first what was RECORDED (release number, ledger leaf, outbox entry), then the
decision it recorded, then the same reasons: it must not be mistaken for a bare ``decide``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..domain.decision import Alternative, Decision
from ..domain.world import World
from ..scenario import load_world
from . import console, queries

if TYPE_CHECKING:
    from ..services.release import ReleaseOutcome


def decide_one(path: Path, item: str, to: str, at: str, holder: str | None, as_json: bool) -> None:
    """Load the world at ``path``, decide one query and print it."""
    world = load_world(path)
    decision = world.decide(item, to, at, holder)
    if as_json:
        console.json_line(decision.to_dict())
    else:
        console.out().print(render_decision(world, decision))


def decide_batch(path: Path, source: str) -> None:
    """Load the world at ``path`` and answer the JSON Lines of ``source`` (``-``: stdin) line by line."""
    queries.answer_all(load_world(path), source)


def mark(ok: bool) -> Text:
    return Text("✓", style="bold green") if ok else Text("✗", style="bold red")


def marking_text(world: World, level: str | None) -> str:
    """``JP-GOKUHI 極秘``: the level id with the party's own marking, or ``none``."""
    if level is None:
        return "none"
    found = world.levels.get(level)
    return f"{level} {found.marking}" if found is not None and found.marking else level


def verdict_text(decision: Decision) -> Text:
    return Text("ALLOWED", style="bold green") if decision.allowed else Text("DENIED", style="bold red")


def render_decision(world: World, decision: Decision) -> RenderableType:
    """Verdict, route, agreements, marking, the eight reasons and the routes that failed."""
    headline = Text.assemble(
        verdict_text(decision),
        f"  {decision.item} from {decision.holder} to {decision.recipient} on {decision.at.isoformat()}",
    )
    summary = _grid(
        [
            ("Route", " → ".join(decision.route) or "none"),
            ("Agreements", ", ".join(decision.agreements) or "none"),
            ("Marking", marking_text(world, decision.marking)),
        ]
    )
    return Group(headline, summary, *_why(decision))


def render_release(world: World, outcome: ReleaseOutcome) -> RenderableType:
    """What was recorded (release number, leaf, outbox), the verdict, route and marking, then the reasons."""
    d = outcome.decision
    sent = "sealed for transport in the outbox" if outcome.outbox is not None else "none (nothing is sent)"
    headline = Text.assemble(
        (f"Recorded release #{outcome.release.seq}", "bold"),
        f": {d.item} from {d.holder} to {d.recipient} on {d.at.isoformat()}, ",
        verdict_text(d),
    )
    summary = _grid(
        [
            ("Release", f"#{outcome.release.seq}, recorded {outcome.release.recorded}"),
            ("Ledger leaf", str(outcome.leaf.index)),
            ("Outbox entry", sent),
            ("Verdict", "allowed" if d.allowed else "denied (the refusal is on record)"),
            ("Route", " → ".join(d.route) or "none"),
            ("Agreements", ", ".join(d.agreements) or "none"),
            ("Marking", marking_text(world, d.marking)),
        ]
    )
    return Group(headline, summary, *_why(d))


def _grid(rows: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def _why(decision: Decision) -> list[Table]:
    parts = [_reasons_table(decision)]
    if decision.alternatives:
        parts.append(_alternatives_table(decision.alternatives, tried_first=decision.allowed))
    return parts


def _reasons_table(decision: Decision) -> Table:
    table = Table(title="Reasons", title_justify="left", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Detail", overflow="fold")
    for reason in decision.reasons:
        table.add_row(mark(reason.ok), reason.rule, reason.detail)
    return table


def _alternatives_table(alternatives: Iterable[Alternative], tried_first: bool) -> Table:
    title = "Routes tried first" if tried_first else "Routes tried"
    table = Table(title=title, title_justify="left")
    table.add_column("Route", no_wrap=True)
    table.add_column("Agreements")
    table.add_column("Why not", overflow="fold")
    for alt in alternatives:
        why = "\n".join(f"{r.rule}: {r.detail}" for r in alt.failed)
        table.add_row(" → ".join(alt.route), ", ".join(alt.agreements), why)
    return table
