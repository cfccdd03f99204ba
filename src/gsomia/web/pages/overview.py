"""The pages that look at the whole world: the dashboard, the agreement network and the timelines.

The network page draws :func:`~gsomia.web.charts.network_svg` for a chosen day and world (``?day=``,
``?world=actual|counterfactual``). Its date slider re-requests only the SVG (``/ui/network.svg``) from a
small script; with JavaScript off the same form submits and the page comes back for the new day.

The dashboard's "last verified" is the node's: the newest whole-log verification recorded in its database
(by any worker, before or after a restart, through the API or the log page), or the one this process
ran, if that is newer and was not recorded.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import json
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gsomia.bootstrap import Services
from gsomia.domain.errors import GsomiaError
from gsomia.domain.world import World
from gsomia.services.users import Permission, Principal

from ..charts import STATE_COLOURS, network_svg, timeline_svg
from .core import PREFIX, SECURITY_HEADERS, auth_of, chart, day_of, gate, page, text, today
from .ledger import LastVerified, Verification
from .worlds import WORLDS, Worlds, story_span, world_name

NOTICED = ("notice-pending", "notice-suspended")


def agreement_rows(world: World, day: date) -> list[dict[str, Any]]:
    """Each agreement on ``day``: its state, whether disputed, its parties and the day it would end."""
    rows = []
    for aid, timeline in sorted(world.timelines.items()):
        state = timeline.state(day)
        segment = timeline.segment(day)
        ends = segment.ends if segment is not None and state.state in NOTICED else timeline.end
        rows.append(
            {
                "id": aid,
                "name": timeline.agreement.name,
                "parties": timeline.agreement.parties,
                "conduit": timeline.agreement.conduit,
                "state": state.state,
                "disputed": state.disputed,
                "in_force": state.in_force,
                "ends": ends,
                "colour": STATE_COLOURS[state.state],
            }
        )
    return rows


def node_last_verified(request: Request, here: Verification | None) -> Verification | None:
    """The newest verification on record for the node, or ``here`` (this process's) if that is newer."""
    row = auth_of(request).users.last_verification()
    if row is None:
        return here
    at = datetime.strptime(row.at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    recorded = Verification(at, row.user, json.loads(row.report), row.millis / 1000)
    return here if here is not None and here.at.replace(microsecond=0) > at else recorded


def overview_router(services: Services, worlds: Worlds, last: LastVerified) -> APIRouter:
    """The dashboard, network and timeline pages."""
    router = APIRouter()

    @router.get(PREFIX)
    def dashboard(request: Request, day: str | None = None) -> Response:
        who = gate(request, None)
        if isinstance(who, Response):
            return who
        chosen, message = day_of(day, today())
        assert chosen is not None
        context: dict[str, Any] = {"rows": None, "waiting": None, "head": None, "last": None}
        if who.may(Permission.WORLD_READ):
            context["rows"] = agreement_rows(worlds.actual(), chosen)
        if who.may(Permission.CONSENT_READ):
            context["waiting"] = [v for v in services.consents.consents() if v.status == "requested"]
        if who.may(Permission.LOG_READ):
            context["head"] = services.audit.head().to_dict()
            context["last"] = node_last_verified(request, last.get())
        return page(
            request,
            "dashboard.html",
            who,
            400 if message else 200,
            title="Dashboard",
            day=chosen,
            is_today=chosen == today(),
            message=message,
            **context,
        )

    def network_parts(who: Principal, day: str | None, world: str | None) -> dict[str, Any]:
        name, world_message = world_name(text(world))
        actual = worlds.actual()
        first, last_day = story_span(actual, today())
        chosen, day_message = day_of(day, today())
        assert chosen is not None
        shown = worlds.pick(name, actual)
        return {
            "world": name,
            "worlds": WORLDS,
            "day": chosen,
            "first": first,
            "last": last_day,
            "offset": (min(max(chosen, first), last_day) - first).days,
            "span": (last_day - first).days,
            "svg": chart(network_svg(shown, chosen)),
            "rows": agreement_rows(shown, chosen),
            "message": " ".join(m for m in (world_message, day_message) if m),
        }

    @router.get(PREFIX + "/network")
    def network(request: Request, day: str | None = None, world: str | None = None) -> Response:
        who = gate(request, Permission.WORLD_READ)
        if isinstance(who, Response):
            return who
        try:
            parts = network_parts(who, day, world)
        except GsomiaError as error:
            return page(request, "error.html", who, 400, title="Network", message=str(error))
        status = 400 if parts["message"] else 200
        return page(request, "network.html", who, status, title="Agreement network", **parts)

    @router.get(PREFIX + "/network.svg")
    def network_image(request: Request, day: str | None = None, world: str | None = None) -> Response:
        who = gate(request, Permission.WORLD_READ)
        if isinstance(who, Response):
            return who
        chosen, message = day_of(day, today())
        name, world_message = world_name(text(world))
        if message or world_message:  # the value given is not echoed: this answer is no page
            fixed = "day: write YYYY-MM-DD" if message else "world: actual or counterfactual"
            return Response(fixed, 400, media_type="text/plain", headers=SECURITY_HEADERS)
        try:
            svg = network_svg(worlds.pick(name), chosen or today())
        except GsomiaError as error:
            return Response(str(error), 400, media_type="text/plain", headers=SECURITY_HEADERS)
        return Response(svg, media_type="image/svg+xml", headers=SECURITY_HEADERS)

    @router.get(PREFIX + "/timeline")
    def timeline(request: Request, agreement: str | None = None, world: str | None = None) -> Response:
        who = gate(request, Permission.WORLD_READ)
        if isinstance(who, Response):
            return who
        name, message = world_name(text(world))
        wanted = text(agreement)
        try:
            shown = worlds.pick(name)
            ids = sorted(shown.timelines)
            if wanted and wanted not in shown.timelines:
                message = f"No agreement {wanted!r} on this node; showing them all."
            picked = [wanted] if wanted in shown.timelines else ids
            charts = [(aid, chart(timeline_svg(shown.timeline(aid))), shown.timeline(aid)) for aid in picked]
        except GsomiaError as error:
            return page(request, "error.html", who, 400, title="Timeline", message=str(error))
        return page(
            request,
            "timeline.html",
            who,
            400 if message else 200,
            title="Agreement timelines",
            world=name,
            worlds=WORLDS,
            ids=ids,
            agreement=wanted if wanted in shown.timelines else "",
            charts=charts,
            message=message,
        )

    return router
