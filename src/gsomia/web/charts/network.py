"""The parties and their agreements on one day, as an SVG network.

Parties sit on a circle in sorted id order (the same world always gives the same picture). Each agreement
is drawn between every two of its parties, or, for a conduit arrangement, as dashed spokes from each member
to the hub; its colour is its state that day. Several agreements between one pair of parties bend apart
so none hides another.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date
from itertools import combinations

from gsomia.domain.lifecycle import Timeline
from gsomia.domain.world import World

from .svg import ChartError, Element, document, el, legend, num, shorten
from .timeline import STATE_COLOURS, STATES, as_day

WIDTH, HEIGHT = 640, 600
CX, CY, RADIUS, NODE = 320, 270, 190, 24
SPREAD = 28  # distance between neighbouring curves of one pair, at their middle
CONDUIT_DASH = "9 5"

Edge = tuple[str, str, Timeline]  # (one party, the other, the agreement), the pair in sorted order


def network_svg(world: World, day: date | str) -> str:
    """The SVG network of ``world`` on ``day`` (a date or ``YYYY-MM-DD``)."""
    if not isinstance(world, World):
        raise ChartError(f"network_svg needs a World (gsomia.load_world), not {type(world).__name__}")
    at = as_day(day, "day")
    parties = sorted(world.parties)
    places = _layout(parties)
    groups: dict[tuple[str, str], list[Timeline]] = defaultdict(list)
    for a, b, timeline in _edges(world):
        groups[(a, b)].append(timeline)
    lines = el("g", class_="agreements")
    for (a, b), timelines in sorted(groups.items()):
        for k, timeline in enumerate(timelines):
            offset = (k - (len(timelines) - 1) / 2) * SPREAD
            lines.add(_edge(a, b, timeline, at, places, offset))
    nodes = el("g", class_="parties")
    for pid in parties:
        nodes.add(_node(world, pid, places[pid]))
    keys: list[tuple[str, str, str, str]] = [(s, s, STATE_COLOURS[s], "") for s in STATES]
    keys.append(("conduit", "conduit (via hub)", "#555555", CONDUIT_DASH))
    body = [lines, nodes, legend(20, HEIGHT - 44, keys)]
    return document(WIDTH, HEIGHT, f"Agreements between parties on {at}", _desc(world, at), *body)


def _layout(parties: list[str]) -> dict[str, tuple[float, float]]:
    if len(parties) == 1:
        return {parties[0]: (CX, CY)}
    step = 2 * math.pi / max(len(parties), 1)
    return {
        pid: (CX + RADIUS * math.sin(i * step), CY - RADIUS * math.cos(i * step))
        for i, pid in enumerate(parties)
    }


def _edges(world: World) -> list[Edge]:
    """Every line to draw, agreements in id order; pairs sorted so each pair has one direction."""
    out: list[Edge] = []
    for aid in sorted(world.timelines):
        timeline = world.timelines[aid]
        agreement = timeline.agreement
        hub = agreement.conduit
        members = sorted(set(agreement.parties))
        if hub is None:
            out.extend((a, b, timeline) for a, b in combinations(members, 2))
        else:
            for member in members:
                if member != hub:
                    lo, hi = sorted((member, hub))
                    out.append((lo, hi, timeline))
    return out


def _edge(
    a: str, b: str, timeline: Timeline, at: date, places: dict[str, tuple[float, float]], offset: float
) -> Element:
    (ax, ay), (bx, by) = places[a], places[b]
    length = math.hypot(bx - ax, by - ay) or 1.0
    # the control point lies off the middle, perpendicular to the pair; a quadratic curve reaches half of it
    qx, qy = (ax + bx) / 2 - 2 * offset * (by - ay) / length, (ay + by) / 2 + 2 * offset * (bx - ax) / length
    state = timeline.state(at)
    agreement = timeline.agreement
    path = el(
        "path",
        d=f"M{num(ax)} {num(ay)}Q{num(qx)} {num(qy)} {num(bx)} {num(by)}",
        fill="none",
        stroke=STATE_COLOURS[state.state],
        stroke_width=4,
    )
    attrs: dict[str, str] = {"data-agreement": agreement.id, "data-state": state.state}
    if agreement.conduit is not None:
        path.attrs["stroke-dasharray"] = CONDUIT_DASH
        attrs["data-conduit"] = agreement.conduit
    attrs |= {"data-from": a, "data-to": b}
    mx, my = (ax + 2 * qx + bx) / 4, (ay + 2 * qy + by) / 4  # the curve's middle
    label = el("text", shorten(agreement.id, 18), x=mx, y=my + 3, text_anchor="middle", font_size=10)
    label.attrs |= {"stroke": "#FFFFFF", "stroke-width": "3", "paint-order": "stroke"}
    group = el("g", el("title", _tip(timeline, at, a, b)), path, label, class_="agreement")
    group.attrs.update(attrs)
    return group


def _tip(timeline: Timeline, at: date, a: str, b: str) -> str:
    agreement = timeline.agreement
    state = timeline.state(at)
    via = f", conduit {agreement.conduit}" if agreement.conduit is not None else ""
    if state.state == "not-yet-in-force":
        when = f"; enters into force on {agreement.entry_into_force}"
    elif timeline.end is not None:
        when = f"; {'ended' if timeline.end <= at else 'ends'} on {timeline.end}"
    else:
        when = ""
    disputed = " (disputed)" if state.disputed else ""
    name = f" — {agreement.name}" if agreement.name else ""
    return f"{agreement.id} ({a}–{b}{via}): {state.state}{disputed} on {at}{when}{name}"


def _node(world: World, pid: str, place: tuple[float, float]) -> Element:
    x, y = place
    party = world.parties[pid]
    # the label sits outside the circle of parties, along the line from the centre
    dx, dy = x - CX, y - CY
    far = math.hypot(dx, dy)
    lx, ly = (x, y + NODE + 16) if far == 0 else (x + dx / far * (NODE + 18), y + dy / far * (NODE + 18) + 4)
    name = f"{pid} — {party.name}" if party.name and party.name != pid else pid
    return el(
        "g",
        el("title", name),
        el("circle", cx=x, cy=y, r=NODE, fill="#FFFFFF", stroke="#333333", stroke_width=2),
        el("text", shorten(pid, 20), x=lx, y=ly, text_anchor="middle", font_weight="bold"),
        class_="party",
        data_party=pid,
    )


def _desc(world: World, at: date) -> str:
    counts = Counter(t.state(at).state for t in world.timelines.values())
    states = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
    return (
        f"{world.spec.name or 'A world'}: {len(world.parties)} parties and {len(world.timelines)} "
        f"agreements on {at}" + (f" ({states})." if states else ".")
    )
