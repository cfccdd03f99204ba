"""``gsomia impact``: what a termination, an amendment or a new agreement would change, flow by flow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..domain.errors import GsomiaError, QueryError
from ..domain.impact import OUTCOMES, Change, ImpactReport
from ..domain.impact import Progress as Tick
from ..domain.world import World, parse_day
from ..scenario import load_agreement, load_table


def build_change(
    terminate: str | None,
    amend: str | None,
    add: Path | None,
    on: str | None,
    scope: str | None,
    table: Path | None,
) -> Change:
    """The one change the options describe; exactly one of --terminate, --amend, --add."""
    chosen = [name for name, v in (("--terminate", terminate), ("--amend", amend), ("--add", add)) if v]
    if len(chosen) != 1:
        raise QueryError("give exactly one of --terminate AGREEMENT, --amend AGREEMENT or --add FILE")
    if on is None:
        raise QueryError("give --on DATE: the day the change takes effect")
    day = parse_day(on, "--on")
    if terminate:
        return Change("terminate", day, terminate)
    if amend:
        if scope is None and table is None:
            raise QueryError("--amend needs --scope TOPICS|any and/or --table FILE")
        topics = None if scope in (None, "any") else tuple(t.strip() for t in scope.split(",") if t.strip())
        rows = None if table is None else load_table(table)
        return Change("amend", day, amend, scope=topics, scope_any=scope == "any", equivalence=rows)
    assert add is not None
    return Change("add", day, new=load_agreement(add))


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Tick | None]:
    """A progress bar over item classes on stderr, for people; nothing for machines."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("impact"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("classes"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("impact", total=None)

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


def render(report: ImpactReport, limit: int | None) -> Group:
    counts = Table(title=f"Impact of: {report.change.describe()} (flows on {report.at})")
    for o in ("flows", *OUTCOMES):
        counts.add_column(o, justify="right")
    counts.add_row(str(report.pairs), *(str(report.counts[o]) for o in OUTCOMES))
    parts: list[Table] = [counts]
    for title, breakdown in (("agreement", report.by_agreement), ("topic", report.by_topic)):
        t = Table(title=f"By {title}")
        t.add_column(title)
        for o in OUTCOMES[:4]:
            t.add_column(o, justify="right")
        for key in sorted(breakdown):
            if any(breakdown[key][o] for o in OUTCOMES[:4]):
                t.add_row(key, *(str(breakdown[key][o]) for o in OUTCOMES[:4]))
        parts.append(t)
    parts.append(_flows(report, limit))
    return Group(*parts)


def _flows(report: ImpactReport, limit: int | None) -> Table:
    t = Table(title="Flows that change (re-routed, lost, gained)")
    for col in ("outcome", "items", "to", "before", "after"):
        t.add_column(col)
    for g in report.groups:
        if g.outcome in ("kept", "denied"):
            continue
        shown = g.items if limit is None else g.items[:limit]
        more = f" (+{len(g.items) - len(shown)} more)" if len(shown) < len(g.items) else ""
        before = " → ".join(g.before.route) or "denied"
        after = " → ".join(g.after.route) or "denied"
        t.add_row(g.outcome, ", ".join(shown) + more, g.recipient, before, after)
    return t
