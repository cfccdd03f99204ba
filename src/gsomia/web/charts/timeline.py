"""One agreement's life as a Gantt-style SVG: its states, its terms, and a marker for each event.

The markers are read off the compiled :class:`Timeline` itself, so the chart needs nothing else: a change
of state says which event caused it (``notice``, ``suspend-notice``, ``resume-notice``,
``withdraw-notice``, ``terminate``), and each version after the first is an ``amend``. A notice that takes
effect is no event: the bar simply turns ``terminated`` on its termination day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import get_args

from gsomia.domain.lifecycle import State, Timeline, term_end
from gsomia.domain.model import EventKind

from .svg import ChartError, Element, document, el, legend, num

STATE_COLOURS: dict[State, str] = {
    "not-yet-in-force": "#56B4E9",
    "in-force": "#009E73",
    "notice-pending": "#E69F00",
    "notice-suspended": "#CC79A7",
    "terminated": "#D55E00",
    "expired": "#7F7F7F",
}
EVENT_COLOURS: dict[EventKind, str] = {
    "notice": "#B35806",
    "suspend-notice": "#8E3B73",
    "resume-notice": "#E69F00",
    "withdraw-notice": "#006B4F",
    "terminate": "#A63D00",
    "amend": "#0072B2",
}
STATES: tuple[State, ...] = get_args(State)
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
NOTICED: frozenset[State] = frozenset({"notice-pending", "notice-suspended"})

WIDTH, LEFT, RIGHT = 760, 110, 20
LANE, BAR, TERMS, AXIS = 40, 104, 142, 176
MAX_TERMS = 150  # more terms than this in view would be a grey smear: the row is left out
_DAYS = {"y": (365, 366), "m": (28, 31), "d": (1, 1)}  # shortest and longest day count of one unit


@dataclass(frozen=True, slots=True)
class Marker:
    """An event drawn on the chart: its day, its kind and what it did."""

    day: date
    kind: EventKind
    detail: str


def as_day(value: object, what: str) -> date:
    """``value`` as a whole day: a ``date`` or an ISO ``YYYY-MM-DD`` string; anything else is a ChartError."""
    if isinstance(value, datetime):
        raise ChartError(f"{what}: give a day (a date), not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ChartError(f"{what}: {str(value)[:60]!r} is not a day; give a date or YYYY-MM-DD")


def markers(timeline: Timeline) -> list[Marker]:
    """The events behind ``timeline``, in date order: state changes, then amendments."""
    out: list[Marker] = []
    segments = timeline.segments
    for prev, seg in pairwise(segments):
        kind = _cause(prev.state, seg.state, prev.ends == seg.start)
        if kind is not None:
            out.append(Marker(seg.start, kind, seg.cause))
    for version in timeline.versions[1:]:
        out.append(Marker(version.start, "amend", "scope or equivalence table amended"))
    return sorted(out, key=lambda m: m.day)


def _cause(before: State, after: State, notice_due: bool) -> EventKind | None:
    if after == "notice-pending":
        return "resume-notice" if before == "notice-suspended" else "notice"
    if after == "notice-suspended":
        return "suspend-notice"
    if after == "in-force":
        return "withdraw-notice"
    if after == "terminated" and not (before == "notice-pending" and notice_due):
        return "terminate"
    return None  # a notice taking effect, or the term running out


def timeline_svg(timeline: Timeline, start: date | str | None = None, end: date | str | None = None) -> str:
    """The SVG chart of ``timeline`` from ``start`` to ``end`` (default: the whole story, whole years)."""
    if not isinstance(timeline, Timeline):
        raise ChartError(f"timeline_svg needs a Timeline (world.timeline(id)), not {type(timeline).__name__}")
    lo = _default_start(timeline) if start is None else as_day(start, "start")
    hi = _default_end(timeline, lo) if end is None else as_day(end, "end")
    if lo >= hi:
        raise ChartError(f"the chart would start on {lo} and end on {hi}; give a start before the end")
    scale = _Scale(lo, hi)
    a = timeline.agreement
    body = [
        el("text", a.id, x=LEFT, y=24, font_size=16, font_weight="bold", data_agreement=a.id),
        el("text", "events", x=8, y=LANE + 40),
        el("text", "state", x=8, y=BAR + 17),
        _bars(timeline, scale),
        _terms(timeline, scale),
        _markers(markers(timeline), scale),
        _axis(scale),
        legend(LEFT, AXIS + 44, [(s, s, STATE_COLOURS[s], "") for s in STATES]),
        _event_legend(LEFT, AXIS + 94),
    ]
    title = f"Timeline of {a.id} from {lo} to {hi}"
    return document(WIDTH, AXIS + 140, title, _desc(timeline), *body)


def _default_start(timeline: Timeline) -> date:
    return date(timeline.agreement.entry_into_force.year, 1, 1)


def _default_end(timeline: Timeline, lo: date) -> date:
    days = [s.start for s in timeline.segments] + [v.start for v in timeline.versions]
    days += [d for d in [timeline.end, *(s.ends for s in timeline.segments)] if d is not None]
    year = max([*days, lo]).year + 2
    return date.max if year > date.max.year else date(year, 1, 1)


class _Scale:
    """Days to x coordinates over the plot's width."""

    def __init__(self, lo: date, hi: date) -> None:
        self.lo, self.hi = lo, hi
        self.span = (hi - lo).days

    def x(self, day: date) -> float:
        day = min(max(day, self.lo), self.hi)
        return LEFT + (day - self.lo).days / self.span * (WIDTH - LEFT - RIGHT)


def _bars(timeline: Timeline, scale: _Scale) -> Element:
    group = el("g", class_="states")
    eif = timeline.agreement.entry_into_force
    spans: list[tuple[date, date | None, State, str]] = [(date.min, eif, "not-yet-in-force", "")]
    segs = timeline.segments
    for seg, nxt in zip(segs, [*segs[1:], None], strict=True):
        spans.append((seg.start, nxt.start if nxt else None, seg.state, seg.cause))
    for begin, until, state, cause in spans:
        if begin >= scale.hi or (until is not None and until <= scale.lo):
            continue
        x0, x1 = scale.x(begin), scale.x(scale.hi if until is None else until)
        when = f"{begin} to {until - timedelta(days=1)}" if until else f"from {begin}"
        if begin == date.min:
            when = f"before {until}"
        tip = f"{state}, {when}" + (f": {cause}" if cause else "")
        group.add(
            el(
                "rect",
                el("title", tip),
                x=x0,
                y=BAR,
                width=max(x1 - x0, 0.5),
                height=24,
                fill=STATE_COLOURS[state],
                data_state=state,
                data_from="" if begin == date.min else begin.isoformat(),
                data_until="" if until is None else until.isoformat(),
            )
        )
    return group


def _terms(timeline: Timeline, scale: _Scale) -> Element:
    group = el("g", class_="terms")
    a = timeline.agreement
    if a.term is None:
        return group
    short, long = _DAYS[a.term.unit]
    if scale.span / (short * a.term.amount) > MAX_TERMS:
        return group
    stop = scale.hi if timeline.end is None else min(scale.hi, timeline.end)
    k = max(1, (scale.lo - a.entry_into_force).days // (long * a.term.amount))
    begin = a.entry_into_force if k == 1 else term_end(a, k - 1)
    group.add(el("text", "terms", x=8, y=TERMS + 12))
    while begin is not None and begin < stop:
        until = term_end(a, k)
        if until is None or until > scale.lo:
            x0, x1 = scale.x(begin), scale.x(stop if until is None else min(until, stop))
            tip = f"term {k}: from {begin}" + (f", last day {until - timedelta(days=1)}" if until else "")
            group.add(
                el(
                    "rect",
                    el("title", tip),
                    x=x0,
                    y=TERMS,
                    width=max(x1 - x0, 0.5),
                    height=14,
                    fill="#D9D9D9" if k % 2 else "#BDBDBD",
                    stroke="#FFFFFF",
                    data_term=k,
                    data_from=begin.isoformat(),
                )
            )
        begin, k = until, k + 1
    return group


def _markers(found: list[Marker], scale: _Scale) -> Element:
    group = el("g", class_="events")
    shown = [m for m in found if scale.lo <= m.day <= scale.hi]
    for i, m in enumerate(shown):
        x, colour = scale.x(m.day), EVENT_COLOURS[m.kind]
        diamond = f"M{num(x)} {LANE + 44}l6 8l-6 8l-6 -8z"
        group.add(
            el(
                "g",
                el("title", f"{m.day} {m.kind}: {m.detail}"),
                el("line", x1=x, y1=LANE + 44, x2=x, y2=BAR + 24, stroke=colour, stroke_dasharray="3 2"),
                el("path", d=diamond, fill=colour),
                el("text", m.kind, x=x + 4, y=LANE + 10 + (i % 3) * 12, font_size=10, fill=colour),
                class_="marker",
                data_event=m.kind,
                data_date=m.day.isoformat(),
            )
        )
    return group


def _axis(scale: _Scale) -> Element:
    group = el("g", el("line", x1=LEFT, y1=AXIS, x2=WIDTH - RIGHT, y2=AXIS, stroke="#333333"), class_="axis")
    years = scale.hi.year - scale.lo.year
    step = next((s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if years / s <= 12), 2000)
    first = scale.lo.year + (0 if scale.lo == date(scale.lo.year, 1, 1) else 1)
    for year in range(first + (-first % step), scale.hi.year + 1, step):
        x = scale.x(date(year, 1, 1))
        group.add(
            el("line", x1=x, y1=AXIS, x2=x, y2=AXIS + 6, stroke="#333333"),
            el("text", str(year), x=x, y=AXIS + 20, text_anchor="middle", data_year=year),
        )
    return group


def _event_legend(x: float, y: float) -> Element:
    group = el("g", class_="event-legend")
    for i, kind in enumerate(EVENT_KINDS):
        ex, ey = x + (i % 4) * 150, y + (i // 4) * 20
        diamond = f"M{num(ex + 8)} {num(ey - 8)}l6 8l-6 8l-6 -8z"
        group.add(
            el("g", el("path", d=diamond, fill=EVENT_COLOURS[kind]), el("text", kind, x=ex + 22, y=ey + 4))
        )
    return group


def _desc(timeline: Timeline) -> str:
    a = timeline.agreement
    steps = "; ".join(f"{s.start}: {s.state} ({s.cause})" for s in timeline.segments)
    amended = [str(v.start) for v in timeline.versions[1:]]
    tail = f"; amended on {', '.join(amended)}" if amended else ""
    return f"{a.id} entered into force on {a.entry_into_force}. {steps}{tail}."
