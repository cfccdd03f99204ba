"""``gsomia impact``: what a termination, an amendment or a new agreement would change, flow by flow.

The tables say what ``--json`` says: the counts, the breakdowns by agreement, topic and level (denied
included), and the flows that change. When nothing changes, one sentence says so instead of empty tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..domain.errors import GsomiaError, QueryError
from ..domain.impact import OUTCOMES, Change, ImpactReport
from ..domain.impact import Progress as Tick
from ..domain.world import World, parse_day
from ..scenario import load_agreement, load_table, load_world
from .console import json_line, out

CHANGING = ("rerouted", "lost", "gained")


@dataclass(frozen=True, slots=True)
class Request:
    """The change as the options give it: exactly one of terminate, amend, add; the day; amend's terms."""

    terminate: str | None
    amend: str | None
    add: Path | None
    on: str | None
    scope: str | None
    table: Path | None

    def change(self) -> Change:
        """The one change the options describe; a QueryError saying what is missing or extra."""
        chosen = [
            n for n, v in (("--terminate", self.terminate), ("--amend", self.amend), ("--add", self.add)) if v
        ]
        if len(chosen) != 1:
            raise QueryError("give exactly one of --terminate AGREEMENT, --amend AGREEMENT or --add FILE")
        if self.on is None:
            raise QueryError("give --on DATE: the day the change takes effect")
        day = parse_day(self.on, "--on")
        if self.terminate:
            return Change("terminate", day, self.terminate)
        if self.amend:
            if self.scope is None and self.table is None:
                raise QueryError("--amend needs --scope TOPICS|any and/or --table FILE")
            scope = self.scope
            topics = (
                None if scope in (None, "any") else tuple(t.strip() for t in scope.split(",") if t.strip())
            )
            rows = None if self.table is None else load_table(self.table)
            return Change("amend", day, self.amend, scope=topics, scope_any=scope == "any", equivalence=rows)
        assert self.add is not None
        return Change("add", day, new=load_agreement(self.add))


def show(
    path: Path, request: Request, at: str | None, limit: int | None, as_json: bool, progress: bool
) -> None:
    """Run the what-if on the world at ``path`` and print it (tables, or JSON)."""
    world = load_world(path)
    change = request.change()
    report = run(world, change, at, show_progress=progress)
    if as_json:
        json_line(report.to_dict(list_items=limit))
    else:
        out().print(render(report, limit))


@contextmanager
def progress_bar(enabled: bool, what: str = "impact", unit: str = "classes") -> Iterator[Tick | None]:
    """A progress bar over ``unit`` on stderr, for people; nothing for machines."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(what, total=None)

        def tick(done: int, total: int) -> None:
            if done == 1 or done == total or done % 256 == 0:
                bar.update(task, completed=done, total=total)

        yield tick


def run(world: World, change: Change, at: str | None, show_progress: bool) -> ImpactReport:
    try:
        with progress_bar(show_progress) as tick:
            return world.impact(change, at=at, progress=tick)
    except GsomiaError as exc:
        raise type(exc)(f"the change '{change.describe()}' cannot apply: {exc}") from None


def render(report: ImpactReport, limit: int | None) -> RenderableType:
    """Counts, the breakdowns by agreement, topic and level, and the flows that change."""
    title = f"Impact of: {report.change.describe()} (flows on {report.at})"
    if not any(report.counts[o] for o in CHANGING):
        kept, denied = report.counts["kept"], report.counts["denied"]
        return Text(
            f"{title}: nothing changes; all {report.pairs} item-to-party flows stay as they are "
            f"({kept} allowed, {denied} denied before and after)."
        )
    counts = Table(title=title, title_justify="left")
    for o in ("flows", *OUTCOMES):
        counts.add_column(o, justify="right")
    counts.add_row(str(report.pairs), *(str(report.counts[o]) for o in OUTCOMES))
    breakdowns = [
        _breakdown(name, data)
        for name, data in (
            ("agreement", report.by_agreement),
            ("topic", report.by_topic),
            ("level", report.by_level),
        )
    ]
    return Group(counts, *breakdowns, _flows(report, limit))


def _breakdown(name: str, data: dict[str, Counter[str]]) -> Table:
    t = Table(title=f"By {name}", title_justify="left")
    t.add_column(name)
    for o in OUTCOMES:
        t.add_column(o, justify="right")
    for key in sorted(data):
        if any(data[key][o] for o in OUTCOMES):
            t.add_row(key, *(str(data[key][o]) for o in OUTCOMES))
    return t


def _flows(report: ImpactReport, limit: int | None) -> Table:
    t = Table(title="Flows that change (re-routed, lost, gained)", title_justify="left")
    for col in ("outcome", "items", "to", "before", "after"):
        t.add_column(col)
    for g in report.groups:
        if g.outcome not in CHANGING:
            continue
        shown = g.items if limit is None else g.items[:limit]
        more = f" (+{len(g.items) - len(shown)} more)" if len(shown) < len(g.items) else ""
        before = " → ".join(g.before.route) or "denied"
        after = " → ".join(g.after.route) or "denied"
        t.add_row(g.outcome, ", ".join(shown) + more, g.recipient, before, after)
    return t
