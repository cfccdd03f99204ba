"""The node's world over HTTP: parties, agreements (their events, state on a day, timeline) and items.

Reads need ``world:read`` (an item's body needs ``item:body``); adding a party, an agreement or an event
needs ``world:write``. Every write goes through the node's use cases, which validate it against the whole
world and write nothing when it does not hold.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from gsomia.bootstrap import Services, utc_now
from gsomia.domain.lifecycle import Timeline as DomainTimeline
from gsomia.services.ports import Record
from gsomia.services.users import Permission
from gsomia.services.worlddata import from_record, table_data

from ..auth import WebAuth
from . import models as m
from .common import (
    NOT_MODIFIED,
    After,
    DayQ,
    FromQ,
    IdQ,
    Limit,
    NotFoundError,
    chunks,
    day_of,
    etagged,
    json_of,
    page_of,
    responses,
    seq_after,
    within,
)

BINARY = {"type": "string", "format": "binary"}
PathId = Annotated[str, Path(min_length=1, max_length=200)]


def _party(record: Record) -> m.Party:
    return m.Party.model_validate({"seq": record.seq, **from_record(record.data)})


def _agreement(record: Record) -> m.Agreement:
    return m.Agreement.model_validate({"seq": record.seq, **from_record(record.data)})


def _event(record: Record) -> m.Event:
    return m.Event.model_validate({"seq": record.seq, **from_record(record.data)})


def _item(record: Record, has_body: bool) -> m.Item:
    return m.Item.model_validate({"seq": record.seq, **from_record(record.data), "has_body": has_body})


def _timeline(timeline: DomainTimeline) -> m.Timeline:
    return m.Timeline(
        agreement=timeline.agreement.id,
        segments=[
            m.Segment(
                start=s.start.isoformat(),
                state=s.state,
                cause=s.cause,
                ends=None if s.ends is None else s.ends.isoformat(),
            )
            for s in timeline.segments
        ],
        end=None if timeline.end is None else timeline.end.isoformat(),
        versions=[
            m.Version(
                start=v.start.isoformat(),
                scope="any" if v.scope is None else list(v.scope),
                equivalence=table_data(v.equivalence),
            )
            for v in timeline.versions
        ],
    )


def world_router(services: Services, auth: WebAuth) -> APIRouter:
    """Routes for parties, agreements, events and items."""
    router = APIRouter()
    read = [Depends(auth.require(Permission.WORLD_READ))]
    write = [Depends(auth.require(Permission.WORLD_WRITE))]

    def world_records(kind: str) -> Sequence[Record]:
        with services.store.read() as uow:
            return [r for r in uow.world_records() if r.kind == kind]

    def agreement_record(agreement: str) -> Record:
        found = [r for r in world_records("agreement") if r.key == agreement]
        if not found:
            raise NotFoundError(f"no agreement {agreement[:80]!r} on this node; see GET /api/v1/agreements")
        return found[-1]

    # -- parties -----------------------------------------------------------------------------------
    @router.get(
        "/parties",
        dependencies=read,
        response_model=m.Page[m.Party],
        responses=responses() | NOT_MODIFIED,
        tags=["world"],
    )
    def list_parties(request: Request, limit: Limit = 100, after: After = None) -> Response:
        """The parties and their classification levels, in the order they were added."""
        start = seq_after("parties", after)
        rows = (r for r in world_records("party") if r.seq > start)
        page, nxt = page_of("parties", rows, lambda r: r.seq, limit)
        return etagged(request, m.Page[m.Party](items=[_party(r) for r in page], next=nxt))

    @router.get(
        "/parties/{party}",
        dependencies=read,
        response_model=m.Party,
        responses=responses(404) | NOT_MODIFIED,
        tags=["world"],
    )
    def get_party(request: Request, party: PathId) -> Response:
        found = [r for r in world_records("party") if r.key == party]
        if not found:
            raise NotFoundError(f"no party {party[:80]!r} on this node; see GET /api/v1/parties")
        return etagged(request, _party(found[-1]))

    @router.post(
        "/parties",
        dependencies=write,
        status_code=201,
        response_model=m.Party,
        responses=responses(409),
        tags=["world"],
    )
    def add_party(body: m.PartyIn) -> Response:
        """Add a party with its levels (lowest first), checked against the node's world."""
        record = services.worldbook.add_party(body.model_dump(exclude_none=True))
        return json_of(_party(record), 201)

    # -- agreements --------------------------------------------------------------------------------
    @router.get(
        "/agreements",
        dependencies=read,
        response_model=m.Page[m.Agreement],
        responses=responses() | NOT_MODIFIED,
        tags=["agreements"],
    )
    def list_agreements(
        request: Request,
        limit: Limit = 100,
        after: After = None,
        party: IdQ = None,
        in_force_on: DayQ = None,
    ) -> Response:
        """Agreements in the order added; ``party`` keeps those naming it, ``in_force_on`` those in force
        on that day."""
        start, day = seq_after("agreements", after), day_of(in_force_on, "in_force_on")
        world = services.worldbook.world() if day is not None else None
        rows = (
            r
            for r in world_records("agreement")
            if r.seq > start
            and (party is None or party in r.data.get("parties", ()))
            and (world is None or day is None or world.timelines[r.key].in_force(day))
        )
        page, nxt = page_of("agreements", rows, lambda r: r.seq, limit)
        return etagged(request, m.Page[m.Agreement](items=[_agreement(r) for r in page], next=nxt))

    @router.get(
        "/agreements/{agreement}",
        dependencies=read,
        response_model=m.Agreement,
        responses=responses(404) | NOT_MODIFIED,
        tags=["agreements"],
    )
    def get_agreement(request: Request, agreement: PathId) -> Response:
        return etagged(request, _agreement(agreement_record(agreement)))

    @router.post(
        "/agreements",
        dependencies=write,
        status_code=201,
        response_model=m.Agreement,
        responses=responses(409),
        tags=["agreements"],
    )
    def add_agreement(body: m.AgreementIn) -> Response:
        """Add one agreement, written as an entry of a world file's ``agreements``."""
        record = services.worldbook.add_agreement(body.entry())
        return json_of(_agreement(record), 201)

    @router.get(
        "/agreements/{agreement}/state",
        dependencies=read,
        response_model=m.AgreementState,
        responses=responses(404) | NOT_MODIFIED,
        tags=["agreements"],
    )
    def agreement_state(request: Request, agreement: PathId, at: DayQ = None) -> Response:
        """The agreement's state on day ``at`` (default: today, UTC)."""
        agreement_record(agreement)
        day = day_of(at, "at") or utc_now().date()
        state = services.worldbook.world().state(agreement, day)
        body = m.AgreementState(
            agreement=agreement,
            at=state.at.isoformat(),
            state=state.state,
            in_force=state.in_force,
            disputed=state.disputed,
            ends=None if state.ends is None else state.ends.isoformat(),
        )
        return etagged(request, body)

    @router.get(
        "/agreements/{agreement}/timeline",
        dependencies=read,
        response_model=m.Timeline,
        responses=responses(404) | NOT_MODIFIED,
        tags=["agreements"],
    )
    def agreement_timeline(request: Request, agreement: PathId) -> Response:
        """The agreement's dated states (disputed suspensions flagged), its end and its versions."""
        agreement_record(agreement)
        return etagged(request, _timeline(services.worldbook.world().timeline(agreement)))

    # -- events ------------------------------------------------------------------------------------
    def event_page(
        request: Request,
        limit: int,
        after: str | None,
        agreement: str | None,
        party: str | None,
        since: str | None,
        until: str | None,
    ) -> Response:
        start = seq_after("events", after)
        lo, hi = day_of(since, "from"), day_of(until, "until")
        rows = (
            r
            for r in world_records("event")
            if r.seq > start
            and (agreement is None or r.key == agreement)
            and (party is None or r.data.get("by") == party)
            and within(str(r.data.get("date", "")), lo, hi)
        )
        page, nxt = page_of("events", rows, lambda r: r.seq, limit)
        return etagged(request, m.Page[m.Event](items=[_event(r) for r in page], next=nxt))

    @router.get(
        "/events",
        dependencies=read,
        response_model=m.Page[m.Event],
        responses=responses() | NOT_MODIFIED,
        tags=["agreements"],
    )
    def list_events(
        request: Request,
        limit: Limit = 100,
        after: After = None,
        agreement: IdQ = None,
        party: IdQ = None,
        since: FromQ = None,
        until: DayQ = None,
    ) -> Response:
        """Lifecycle events in the order recorded; filters: agreement, party (who gave it), days."""
        return event_page(request, limit, after, agreement, party, since, until)

    @router.get(
        "/agreements/{agreement}/events",
        dependencies=read,
        response_model=m.Page[m.Event],
        responses=responses(404) | NOT_MODIFIED,
        tags=["agreements"],
    )
    def agreement_events(
        request: Request,
        agreement: PathId,
        limit: Limit = 100,
        after: After = None,
        party: IdQ = None,
        since: FromQ = None,
        until: DayQ = None,
    ) -> Response:
        """The agreement's lifecycle events in the order recorded."""
        agreement_record(agreement)
        return event_page(request, limit, after, agreement, party, since, until)

    @router.post(
        "/agreements/{agreement}/events",
        dependencies=write,
        status_code=201,
        response_model=m.Event,
        responses=responses(404, 409),
        tags=["agreements"],
    )
    def add_event(agreement: PathId, body: m.EventIn) -> Response:
        """Record a lifecycle event; one that cannot apply (a notice while one is pending...) is a 409."""
        agreement_record(agreement)
        record = services.events.add_event(
            agreement, body.kind, body.date, by=body.by, scope=body.scope, equivalence=body.equivalence
        )
        return json_of(_event(record), 201)

    # -- items -------------------------------------------------------------------------------------
    @router.get(
        "/items",
        dependencies=read,
        response_model=m.Page[m.Item],
        responses=responses() | NOT_MODIFIED,
        tags=["items"],
    )
    def list_items(request: Request, limit: Limit = 100, after: After = None, party: IdQ = None) -> Response:
        """Items' metadata in the order added (``party``: those it originated); never a body."""
        start = seq_after("items", after)
        with services.store.read() as uow:
            rows = (
                r
                for r in chunks(uow.item_records_page, start, lambda r: r.seq)
                if party is None or r.data.get("originator") == party
            )
            page, nxt = page_of("items", rows, lambda r: r.seq, limit)
            held = uow.body_items(r.key for r in page)
        return etagged(request, m.Page[m.Item](items=[_item(r, r.key in held) for r in page], next=nxt))

    def item_record(item: str) -> tuple[Record, bool]:
        with services.store.read() as uow:
            found = uow.item_records([item])
            if not found:
                raise NotFoundError(f"no item {item[:80]!r} on this node; see GET /api/v1/items")
            return found[-1], item in uow.body_items([item])

    @router.get(
        "/items/{item}",
        dependencies=read,
        response_model=m.Item,
        responses=responses(404) | NOT_MODIFIED,
        tags=["items"],
    )
    def get_item(request: Request, item: PathId) -> Response:
        return etagged(request, _item(*item_record(item)))

    @router.get(
        "/items/{item}/body",
        dependencies=[Depends(auth.require(Permission.ITEM_BODY))],
        response_class=Response,
        responses={
            200: {"content": {"application/octet-stream": {"schema": BINARY}}},
            **responses(404),
            **NOT_MODIFIED,
        },
        tags=["items"],
    )
    def get_item_body(request: Request, item: PathId) -> Response:
        """The item's body in the clear (opened in memory only), for roles allowed to read it."""
        _record, has_body = item_record(item)
        if not has_body:
            raise NotFoundError(f"this node holds no body for item {item[:80]!r} (it came as metadata only)")
        response = etagged(request, services.items.body(item), "application/octet-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return router
