"""Asking questions of the world, recording nothing: the decision explorer and the what-if page.

Both are GET forms (a question changes nothing, so the answer can be bookmarked and needs no CSRF
token). The decision explorer shows the verdict, the route drawn as an SVG (each hop under its agreement,
the recipient's marking in its own script), every rule's reason and the routes tried first; it can ask
the counterfactual world too. The what-if page terminates or amends an agreement and shows the flows
kept, re-routed, lost and gained, with :func:`~gsomia.web.charts.impact_svg`.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gsomia.bootstrap import Services
from gsomia.domain.decision import Decision
from gsomia.domain.errors import GsomiaError
from gsomia.domain.impact import Change
from gsomia.domain.world import World
from gsomia.services.errors import NodeError
from gsomia.services.users import Permission

from ..charts import impact_svg
from ..charts.svg import document, el, shorten
from .core import PREFIX, chart, day_of, gate, page, text, today
from .worlds import WORLDS, Worlds, world_name

ITEM_HINTS = 500  # item ids offered in the form's list (any other id can still be typed)
BOX, GAP = 120, 110


def marking_of(world: World, level: str | None) -> str:
    """The marking a level is written with in its own party's script (``極秘`` for JP-GOKUHI)."""
    found = world.levels.get(level) if level else None
    return found.marking if found is not None else ""


def hop_labels(route: tuple[str, ...], agreements: tuple[str, ...]) -> list[str]:
    """The agreement each hop travels under: a conduit route lists its arrangement first, then one
    agreement per hop."""
    hops = len(route) - 1
    if len(agreements) == hops + 1:
        return [f"{agreements[0]}: {a}" for a in agreements[1:]]
    if len(agreements) == hops:
        return list(agreements)
    return [", ".join(agreements)] * hops


def route_svg(world: World, decision: Decision) -> str:
    """The decision's route as a chain of parties joined by arrows labelled with their agreements."""
    route = decision.route or (decision.holder, decision.recipient)
    labels = (
        hop_labels(route, decision.agreements)
        if decision.allowed
        else ["no route allowed"] * (len(route) - 1)
    )
    colour = "#009E73" if decision.allowed else "#D55E00"
    parts: list[Any] = [
        el(
            "defs",
            el(
                "marker",
                el("path", d="M0 0L10 5L0 10z", fill=colour),
                id="arrow",
                viewBox="0 0 10 10",
                refX=10,
                refY=5,
                markerWidth=8,
                markerHeight=8,
                orient="auto",
            ),
        )
    ]
    for i, party in enumerate(route):
        x = 10 + i * (BOX + GAP)
        parts.append(
            el(
                "g",
                el(
                    "rect",
                    x=x,
                    y=30,
                    width=BOX,
                    height=44,
                    rx=8,
                    fill="#FFFFFF",
                    stroke="#333333",
                    stroke_width=2,
                ),
                el("text", party, x=x + BOX / 2, y=57, text_anchor="middle", font_weight="bold"),
                class_="hop-party",
                data_party=party,
            )
        )
        if i < len(route) - 1:
            x1, x2 = x + BOX, x + BOX + GAP
            parts.append(
                el(
                    "g",
                    el("title", labels[i]),
                    el(
                        "line",
                        x1=x1,
                        y1=52,
                        x2=x2 - 2,
                        y2=52,
                        stroke=colour,
                        stroke_width=3,
                        marker_end="url(#arrow)",
                    ),
                    el(
                        "text",
                        shorten(labels[i], 26),
                        x=(x1 + x2) / 2,
                        y=20,
                        text_anchor="middle",
                        font_size=10,
                    ),
                    class_="hop",
                    data_agreement=labels[i],
                )
            )
    if decision.allowed and decision.marking:
        shown = f"marked {decision.marking} {marking_of(world, decision.marking)}".strip()
        parts.append(el("text", shown, x=10 + (len(route) - 1) * (BOX + GAP), y=94, class_="marking"))
    width = 20 + len(route) * BOX + (len(route) - 1) * GAP
    verdict = "allowed" if decision.allowed else "denied"
    title = f"{decision.item} from {decision.holder} to {decision.recipient} on {decision.at}: {verdict}"
    desc = " → ".join(route) + (f" under {', '.join(decision.agreements)}" if decision.agreements else "")
    return document(max(width, 260), 104, title, desc, *parts)


def explore_router(services: Services, worlds: Worlds) -> APIRouter:
    """The decision explorer and the what-if page."""
    router = APIRouter()

    def item_hints() -> list[str]:
        with services.store.read() as uow:
            return [r.key for r in uow.item_records_page(0, ITEM_HINTS)]

    def decide(form: dict[str, str], name: str) -> tuple[World, Decision]:
        day, message = day_of(form["at"], today())
        if message or day is None:
            raise _FormError(message)
        with services.store.read() as uow:
            actual = services.worldbook.with_items(uow, [form["item"]])
        shown = worlds.pick(name, actual)
        return shown, shown.decide(form["item"], form["to"], day, form["holder"] or None)

    @router.get(PREFIX + "/decide")
    def explorer(
        request: Request,
        item: str | None = None,
        to: str | None = None,
        at: str | None = None,
        holder: str | None = None,
        world: str | None = None,
    ) -> Response:
        who = gate(request, Permission.DECIDE)
        if isinstance(who, Response):
            return who
        name, message = world_name(text(world))
        form = {
            "item": text(item),
            "to": text(to),
            "at": text(at) or today().isoformat(),
            "holder": text(holder),
        }
        result: dict[str, Any] | None = None
        if form["item"] and form["to"]:
            try:
                shown, decision = decide(form, name)
                result = {
                    "d": decision,
                    "svg": chart(route_svg(shown, decision)),
                    "marking_text": marking_of(shown, decision.marking),
                    "item": shown.items[decision.item],
                    "item_marking": marking_of(shown, shown.items[decision.item].level),
                }
            except NodeError:
                raise
            except GsomiaError as error:
                message = str(error)
        parties = sorted(worlds.actual().parties)
        return page(
            request,
            "decide.html",
            who,
            400 if message else 200,
            title="Decision explorer",
            form=form,
            world=name,
            worlds=WORLDS,
            parties=parties,
            hints=item_hints(),
            result=result,
            message=message,
        )

    @router.get(PREFIX + "/whatif")
    def whatif(
        request: Request,
        change: str | None = None,
        agreement: str | None = None,
        on: str | None = None,
        scope: str | None = None,
        at: str | None = None,
    ) -> Response:
        who = gate(request, Permission.IMPACT)
        if isinstance(who, Response):
            return who
        form = {
            "change": text(change) or "terminate",
            "agreement": text(agreement),
            "on": text(on),
            "scope": text(scope),
            "at": text(at),
        }
        message, result = "", None
        if form["agreement"] and form["on"]:
            try:
                report = services.worldbook.full_world().impact(_change(form), at=_day_or_none(form["at"]))
                result = {"svg": chart(impact_svg(report)), "report": report.to_dict(list_items=20)}
            except NodeError:
                raise
            except GsomiaError as error:
                message = str(error)
        return page(
            request,
            "whatif.html",
            who,
            400 if message else 200,
            title="What if",
            form=form,
            agreements=sorted(worlds.actual().timelines),
            result=result,
            message=message,
        )

    return router


class _FormError(GsomiaError):
    """A form field the page cannot use (a day that does not parse, a change it does not know)."""


def _day_or_none(value: str) -> date | None:
    day, message = day_of(value, None)
    if message:
        raise _FormError(f"at: {message}")
    return day


def _change(form: dict[str, str]) -> Change:
    on, message = day_of(form["on"], None)
    if message or on is None:
        raise _FormError(f"on: {message}")
    if form["change"] == "terminate":
        return Change("terminate", on, form["agreement"])
    if form["change"] != "amend":
        raise _FormError(f"{form['change'][:20]!r} is no change this page makes; choose terminate or amend")
    scope = form["scope"].strip()
    if not scope:
        raise _FormError("scope: an amendment here sets the scope; write any, or topics separated by commas")
    if scope == "any":
        return Change("amend", on, form["agreement"], scope_any=True)
    topics = tuple(dict.fromkeys(t.strip() for t in scope.split(",") if t.strip()))
    return Change("amend", on, form["agreement"], scope=topics)
