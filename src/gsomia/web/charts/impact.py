"""A what-if's result as an SVG bar chart: how many item-to-party flows were kept, re-routed, lost, gained.

The numbers are the report's own counts, drawn and written out; flows denied both before and after the
change move nothing and are named in the caption, not drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from gsomia.domain.impact import Change, ImpactReport, Outcome

from .svg import ChartError, document, el

SHOWN: tuple[tuple[Outcome, str, str], ...] = (
    ("kept", "kept", "#009E73"),
    ("rerouted", "re-routed", "#E69F00"),
    ("lost", "lost", "#D55E00"),
    ("gained", "gained", "#56B4E9"),
)
WIDTH, LEFT, BAR_MAX, TOP, ROW = 560, 100, 340, 72, 36


def impact_svg(report: ImpactReport) -> str:
    """The SVG bar chart of ``report`` (from ``world.impact(change)``)."""
    if not isinstance(report, ImpactReport):
        raise ChartError(f"impact_svg needs an ImpactReport (world.impact), not {type(report).__name__}")
    if not isinstance(report.change, Change) or not isinstance(report.at, date):
        raise ChartError("the report names no Change and day; build it with world.impact(change)")
    counts = _counts(report.counts)
    change, at = report.change.describe(), report.at
    most = max([counts[o] for o, _, _ in SHOWN] + [1])
    caption = (
        f"{report.pairs} item-to-party flows compared on {at}; "
        f"{counts['denied']} denied both before and after"
    )
    bars = el("g", class_="outcomes")
    for i, (outcome, label, colour) in enumerate(SHOWN):
        n, y = counts[outcome], TOP + i * ROW
        width = BAR_MAX * n / most
        bars.add(
            el(
                "g",
                el("title", f"{label}: {n} flows"),
                el("text", label, x=16, y=y + 17),
                el("rect", x=LEFT, y=y, width=width, height=24, fill=colour),
                el("text", str(n), x=LEFT + width + 6, y=y + 17, class_="count"),
                class_="outcome",
                data_kind=outcome,
                data_count=n,
            )
        )
    body = [
        el("text", f"What if: {change}", x=16, y=26, font_size=16, font_weight="bold"),
        el("text", caption, x=16, y=48, class_="caption"),
        bars,
    ]
    shown = ", ".join(f"{counts[o]} {label}" for o, label, _ in SHOWN)
    desc = f"{caption}: {shown}."
    return document(WIDTH, TOP + len(SHOWN) * ROW + 12, f"Impact of: {change}", desc, *body)


def _counts(counts: object) -> dict[str, int]:
    """The report's counts, checked: each a whole number, zero or more (a hand-built report may lie)."""
    if not isinstance(counts, Mapping):
        raise ChartError(f"the report's counts are a {type(counts).__name__}, not a mapping of outcomes")
    out: dict[str, int] = {}
    for outcome in (*(o for o, _, _ in SHOWN), "denied"):
        n = counts.get(outcome, 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ChartError(
                f"the report counts {str(n)[:40]!r} {outcome} flows; a count is a whole number >= 0"
            )
        out[outcome] = n
    return out
