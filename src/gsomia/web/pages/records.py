"""What the node holds and has done: items with their labels, releases, and the consent inbox.

An item's label is its originator's level and marking in the originator's own script; beside it, each
other party's equivalent on the chosen day (the marking that party would give it on receipt, in its own
script), or why it may not go there. The release form (``release``) and the consent forms (request:
``consent:request``; grant, deny, revoke: ``consent:decide``) are POST forms carrying the session's CSRF
token; each answers with a 303 back to its list (post, redirect, get), or with the list and what was wrong.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gsomia.bootstrap import Services
from gsomia.domain.errors import GsomiaError
from gsomia.services.consent import ConsentRequest
from gsomia.services.errors import ConsentStateError, NodeError, UnknownConsentError
from gsomia.services.replay import ConsentView
from gsomia.services.users import Permission, Principal

from .core import PREFIX, csrf_ok, csrf_refused, day_of, error_page, gate, page, see_other, text, today, whole
from .explore import marking_of
from .worlds import Worlds

PER_PAGE = 50
FormText = Annotated[str, Form()]
STEPS = {"grant": "granted", "deny": "denied", "revoke": "revoked"}


def records_router(services: Services, worlds: Worlds) -> APIRouter:
    """The items, releases and consents pages, and their forms."""
    router = APIRouter()

    # -- items -------------------------------------------------------------------------------------
    @router.get(PREFIX + "/items")
    def items(request: Request, after: str | None = None, day: str | None = None) -> Response:
        who = gate(request, Permission.WORLD_READ)
        if isinstance(who, Response):
            return who
        chosen, message = day_of(day, today())
        assert chosen is not None
        with services.store.read() as uow:
            rows = list(uow.item_records_page(whole(after) or 0, PER_PAGE + 1))
            more, rows = len(rows) > PER_PAGE, rows[:PER_PAGE]
            held = uow.body_items(r.key for r in rows)
            world = services.worldbook.with_items(uow, [r.key for r in rows])
        views = []
        for row in rows:
            item = world.items[row.key]
            labels = []
            for party in sorted(world.parties):
                if party != item.originator:
                    d = world.decide(item.id, party, chosen)
                    labels.append({"party": party, "d": d, "marking": marking_of(world, d.marking)})
            views.append(
                {
                    "item": item,
                    "has_body": row.key in held,
                    "marking": marking_of(world, item.level),
                    "labels": labels,
                }
            )
        return page(
            request,
            "items.html",
            who,
            400 if message else 200,
            title="Items and labels",
            parties=world.spec.parties,
            views=views,
            day=chosen,
            next_after=rows[-1].seq if more and rows else None,
            message=message,
        )

    # -- releases ----------------------------------------------------------------------------------
    def release_list(
        request: Request,
        who: Principal,
        after: str | None,
        status: int = 200,
        message: str = "",
        notice: str = "",
    ) -> Response:
        with services.store.read() as uow:
            rows = list(uow.releases(whole(after) or 0)[: PER_PAGE + 1])
        world = worlds.actual()
        views = [{"r": r, "marking": marking_of(world, r.decision.get("marking"))} for r in rows[:PER_PAGE]]
        return page(
            request,
            "releases.html",
            who,
            status,
            title="Releases",
            views=views,
            next_after=rows[PER_PAGE - 1].seq if len(rows) > PER_PAGE else None,
            parties=sorted(world.parties),
            today=today(),
            message=message,
            notice=notice,
        )

    @router.get(PREFIX + "/releases")
    def releases(request: Request, after: str | None = None, done: str | None = None) -> Response:
        who = gate(request, Permission.RELEASE_READ)
        if isinstance(who, Response):
            return who
        seq = whole(done)
        notice = f"Release {seq} was recorded (see it below, with its decision)." if seq else ""
        return release_list(request, who, after, notice=notice)

    @router.post(PREFIX + "/releases")
    def release(
        request: Request,
        item: FormText = "",
        to: FormText = "",
        at: FormText = "",
        holder: FormText = "",
        csrf_token: FormText = "",
    ) -> Response:
        who = gate(request, Permission.RELEASE)
        if isinstance(who, Response):
            return who
        if not csrf_ok(request, who, csrf_token):
            return csrf_refused(request, who)
        day, message = day_of(at, today())
        if not message and day is not None:
            try:
                outcome = services.releases.release(text(item), text(to), day, text(holder) or None)
                return see_other(f"{PREFIX}/releases?done={outcome.release.seq}")
            except NodeError:
                raise
            except GsomiaError as error:
                message = str(error)
        return release_list(request, who, None, 400, message)

    # -- consents ----------------------------------------------------------------------------------
    def consent_list(
        request: Request, who: Principal, status: int = 200, message: str = "", notice: str = ""
    ) -> Response:
        views = services.consents.consents()
        waiting = [v for v in views if v.status == "requested"]
        others = [v for v in views if v.status != "requested"]
        world = worlds.actual()
        return page(
            request,
            "consents.html",
            who,
            status,
            title="Consent inbox",
            waiting=waiting,
            others=others,
            parties=sorted(world.parties),
            may_decide=who.may(Permission.CONSENT_DECIDE),
            may_request=who.may(Permission.CONSENT_REQUEST),
            today=today(),
            message=message,
            notice=notice,
        )

    @router.get(PREFIX + "/consents")
    def consents(request: Request, done: str | None = None, id: str | None = None) -> Response:
        who = gate(request, Permission.CONSENT_READ)
        if isinstance(who, Response):
            return who
        step = text(done)
        notice = f"Consent {text(id)!r} {step}." if step in STEPS.values() or step == "requested" else ""
        return consent_list(request, who, notice=notice)

    @router.post(PREFIX + "/consents")
    def request_consent(
        request: Request,
        holder: FormText = "",
        recipient: FormText = "",
        item: FormText = "",
        valid_from: FormText = "",
        valid_until: FormText = "",
        csrf_token: FormText = "",
    ) -> Response:
        who = gate(request, Permission.CONSENT_REQUEST)
        if isinstance(who, Response):
            return who
        if not csrf_ok(request, who, csrf_token):
            return csrf_refused(request, who)
        start, bad_start = day_of(valid_from, None)
        until, bad_until = day_of(valid_until, None)
        message = bad_start or bad_until
        if not message:
            ask = ConsentRequest(
                text(holder), text(recipient), text(item) or None, valid_from=start, valid_until=until
            )
            try:
                view = services.consents.request(ask)
                return see_other(f"{PREFIX}/consents?done=requested&id={quote(view.id, safe='')}")
            except NodeError:
                raise
            except GsomiaError as error:
                message = str(error)
        return consent_list(request, who, 400, message)

    @router.post(PREFIX + "/consents/{consent}/{step}")
    def decide_consent(
        request: Request,
        consent: str,
        step: str,
        valid_from: FormText = "",
        valid_until: FormText = "",
        note: FormText = "",
        csrf_token: FormText = "",
    ) -> Response:
        who = gate(request, Permission.CONSENT_DECIDE)
        if isinstance(who, Response):
            return who
        if not csrf_ok(request, who, csrf_token):
            return csrf_refused(request, who)
        if step not in STEPS:
            return error_page(request, who, 404, "A consent can be granted, denied or revoked; nothing else.")
        cid = text(consent)
        try:
            _step(services, step, cid, valid_from, valid_until, text(note)[:200])
        except UnknownConsentError as error:
            return error_page(request, who, 404, str(error))
        except NodeError:
            raise
        except GsomiaError as error:
            return consent_list(
                request, who, 409 if isinstance(error, ConsentStateError) else 400, str(error)
            )
        return see_other(f"{PREFIX}/consents?done={STEPS[step]}&id={quote(cid, safe='')}")

    return router


def _step(
    services: Services, step: str, cid: str, valid_from: str, valid_until: str, note: str
) -> ConsentView:
    start, bad_start = day_of(valid_from, None)
    until, bad_until = day_of(valid_until, None)
    if bad_start or bad_until:
        raise _DayError(bad_start or bad_until)
    if step == "grant":
        return services.consents.grant(cid, valid_from=start, valid_until=until)
    if step == "deny":
        return services.consents.deny(cid, note=note)
    return services.consents.revoke(cid, start or today(), note=note)


class _DayError(GsomiaError):
    """A day in a consent form that does not parse."""
