"""``gsomia decide``: one decision drawn for a person, or JSON Lines of queries decided in order.

A batch never stops at a bad line: each one is answered in its place by ``{"line": N, "error": "..."}``
(N counted from 1; a blank line is a bad line too, so output line N always answers input line N) and the
caller exits 2 once every line is answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..domain.decision import Alternative, Decision
from ..domain.errors import QueryError
from ..domain.world import Query, World

QUERY_KEYS = ("item", "to", "at", "holder")
_REQUIRED = ("item", "to", "at")
_EXAMPLE = '{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-23"}'

# -- one decision, for people ---------------------------------------------------------------------------


def mark(ok: bool) -> Text:
    return Text("✓", style="bold green") if ok else Text("✗", style="bold red")


def marking_text(world: World, level: str | None) -> str:
    """``JP-GOKUHI 極秘``: the level id with the party's own marking, or ``none``."""
    if level is None:
        return "none"
    found = world.levels.get(level)
    return f"{level} {found.marking}" if found is not None and found.marking else level


def render_decision(world: World, decision: Decision) -> RenderableType:
    """Verdict, route, agreements, marking, the eight reasons and the routes that failed."""
    verdict = Text("ALLOWED", style="bold green") if decision.allowed else Text("DENIED", style="bold red")
    headline = Text.assemble(
        verdict,
        f"  {decision.item} from {decision.holder} to {decision.recipient} on {decision.at.isoformat()}",
    )
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("Route", " → ".join(decision.route) or "none")
    summary.add_row("Agreements", ", ".join(decision.agreements) or "none")
    summary.add_row("Marking", marking_text(world, decision.marking))
    parts: list[RenderableType] = [headline, summary, _reasons_table(decision)]
    if decision.alternatives:
        parts.append(_alternatives_table(decision.alternatives, tried_first=decision.allowed))
    return Group(*parts)


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


# -- JSON Lines -----------------------------------------------------------------------------------------


def parse_query(line: str) -> Query:
    """One JSON Lines query; anything wrong with it is a :class:`QueryError` saying what."""
    if not line.strip():
        raise QueryError(f"empty line; write one query per line, like {_EXAMPLE}")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QueryError(f"not JSON ({exc.msg} at column {exc.colno}); write one object per line") from None
    if not isinstance(data, dict):
        raise QueryError(f"a query is a JSON object like {_EXAMPLE}")
    unknown = sorted(set(data) - set(QUERY_KEYS))
    if unknown:
        raise QueryError(f"unknown key {unknown[0]!r}; a query has item, to, at and optionally holder")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise QueryError(f"missing key {missing[0]!r}; a query looks like {_EXAMPLE}")
    for key in QUERY_KEYS:
        value = data.get(key)
        if key in data and not isinstance(value, str) and not (key == "holder" and value is None):
            raise QueryError(f"{key!r} must be a string, not {type(value).__name__} {json.dumps(value)}")
    return Query(data["item"], data["to"], data["at"], data.get("holder"))


def answer(world: World, number: int, line: str) -> dict[str, Any]:
    """The decision JSON for one line, or ``{"line": number, "error": ...}`` if the line is bad input."""
    try:
        query = parse_query(line)
        decision = world.decide(query.item, query.recipient, query.at, query.holder)
    except QueryError as exc:
        return {"line": number, "error": str(exc)}
    return decision.to_dict()


def run_batch(world: World, lines: Iterable[str], emit: Callable[[dict[str, Any]], None]) -> int:
    """Answer every line in order through ``emit``; returns how many lines were bad."""
    bad = 0
    for number, line in enumerate(lines, start=1):
        result = answer(world, number, line)
        bad += "error" in result
        emit(result)
    return bad
