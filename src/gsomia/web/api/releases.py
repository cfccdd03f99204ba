"""Releases and consents over HTTP.

A release is decided and recorded in one transaction by the node's use case (the decision with every
reason, the outbox payload if allowed, the log leaf): ``POST /releases`` needs ``release``; reading them
needs ``release:read``. The consent workflow: an officer requests (``consent:request``), legal grants,
denies or revokes (``consent:decide``); a step out of order is a 409.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from gsomia.bootstrap import Services, utc_now
from gsomia.services.consent import ConsentRequest
from gsomia.services.journal import release_json
from gsomia.services.ports import ReleaseRow
from gsomia.services.replay import ConsentView
from gsomia.services.users import Permission

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
    day_of,
    etagged,
    json_of,
    page_of,
    responses,
    seq_after,
    within,
)

ConsentId = Annotated[str, Path(min_length=1, max_length=200)]
ReleaseSeq = Annotated[int, Path(ge=1, le=2**62)]


def _release(row: ReleaseRow) -> m.Release:
    return m.Release.model_validate(release_json(row))


def _consent(view: ConsentView) -> m.Consent:
    return m.Consent.model_validate(view.to_dict())


def _today() -> str:
    return utc_now().date().isoformat()


def releases_router(services: Services, auth: WebAuth) -> APIRouter:
    """Routes for releases and consents."""
    router = APIRouter()
    read_releases = [Depends(auth.require(Permission.RELEASE_READ))]
    read_consents = [Depends(auth.require(Permission.CONSENT_READ))]
    decide_consents = [Depends(auth.require(Permission.CONSENT_DECIDE))]

    # -- releases ----------------------------------------------------------------------------------
    @router.post(
        "/releases",
        dependencies=[Depends(auth.require(Permission.RELEASE))],
        status_code=201,
        response_model=m.ReleaseOutcome,
        responses=responses(409),
        tags=["releases"],
    )
    def release(body: m.ReleaseIn) -> Response:
        """Decide and record a release; a refusal is recorded too (``allowed: false``)."""
        outcome = services.releases.release(body.item, body.to, body.at or _today(), body.holder)
        return json_of(m.ReleaseOutcome.model_validate(outcome.to_dict()), 201)

    @router.get(
        "/releases",
        dependencies=read_releases,
        response_model=m.Page[m.Release],
        responses=responses() | NOT_MODIFIED,
        tags=["releases"],
    )
    def list_releases(
        request: Request,
        limit: Limit = 100,
        after: After = None,
        item: IdQ = None,
        party: Annotated[
            str | None, Query(min_length=1, max_length=200, description="Holder or recipient.")
        ] = None,
        agreement: IdQ = None,
        since: FromQ = None,
        until: DayQ = None,
        allowed: bool | None = None,
    ) -> Response:
        """Every release and refusal in the order recorded; filters: item, party (holder or recipient),
        agreement used, the days decided on, and the verdict."""
        start, lo, hi = seq_after("releases", after), day_of(since, "from"), day_of(until, "until")

        def rows() -> Iterator[ReleaseRow]:
            with services.store.read() as uow:
                found = uow.releases(start)
            for r in found:
                if (
                    (item is None or r.item == item)
                    and (party is None or party in (r.holder, r.recipient))
                    and (agreement is None or agreement in r.decision.get("agreements", ()))
                    and (allowed is None or r.allowed == allowed)
                    and within(r.at, lo, hi)
                ):
                    yield r

        page, nxt = page_of("releases", rows(), lambda r: r.seq, limit)
        return etagged(request, m.Page[m.Release](items=[_release(r) for r in page], next=nxt))

    @router.get(
        "/releases/{seq}",
        dependencies=read_releases,
        response_model=m.Release,
        responses=responses(404) | NOT_MODIFIED,
        tags=["releases"],
    )
    def get_release(request: Request, seq: ReleaseSeq) -> Response:
        with services.store.read() as uow:
            found = [r for r in uow.releases(seq - 1)[:1] if r.seq == seq]
        if not found:
            raise NotFoundError(f"no release {seq} on this node; see GET /api/v1/releases")
        return etagged(request, _release(found[0]))

    # -- consents ----------------------------------------------------------------------------------
    @router.get(
        "/consents",
        dependencies=read_consents,
        response_model=m.Page[m.Consent],
        responses=responses() | NOT_MODIFIED,
        tags=["consents"],
    )
    def list_consents(
        request: Request,
        limit: Limit = 100,
        after: After = None,
        party: Annotated[
            str | None, Query(min_length=1, max_length=200, description="Holder, recipient or originator.")
        ] = None,
        item: IdQ = None,
        status: Annotated[str | None, Query(pattern="^(requested|granted|denied|revoked)$")] = None,
        since: FromQ = None,
        until: DayQ = None,
    ) -> Response:
        """Consents in the order first requested, with their history; ``from``/``until`` keep those whose
        validity overlaps those days."""
        start, lo, hi = seq_after("consents", after), day_of(since, "from"), day_of(until, "until")
        views = sorted(services.consents.consents(), key=lambda v: v.history[0].seq)
        rows = (
            v
            for v in views
            if v.history[0].seq > start
            and (party is None or party in (v.terms.get(k) for k in ("holder", "recipient", "originator")))
            and (item is None or v.terms.get("item") == item)
            and (status is None or v.status == status)
            and (hi is None or str(v.terms.get("from", "0000-01-01")) <= hi.isoformat())
            and (lo is None or str(v.terms.get("until", "9999-12-31")) >= lo.isoformat())
        )
        page, nxt = page_of("consents", rows, lambda v: v.history[0].seq, limit)
        return etagged(request, m.Page[m.Consent](items=[_consent(v) for v in page], next=nxt))

    @router.get(
        "/consents/{consent}",
        dependencies=read_consents,
        response_model=m.Consent,
        responses=responses(404) | NOT_MODIFIED,
        tags=["consents"],
    )
    def get_consent(request: Request, consent: ConsentId) -> Response:
        return etagged(request, _consent(services.consents.get(consent)))

    @router.post(
        "/consents",
        dependencies=[Depends(auth.require(Permission.CONSENT_REQUEST))],
        status_code=201,
        response_model=m.Consent,
        responses=responses(409),
        tags=["consents"],
    )
    def request_consent(body: m.ConsentIn) -> Response:
        """A holder asks the originator's consent to pass an item (or a topic's items) on."""
        ask = ConsentRequest(
            body.holder, body.recipient, body.item, body.topic, body.originator, body.from_, body.until
        )
        return json_of(_consent(services.consents.request(ask, id=body.id)), 201)

    @router.post(
        "/consents/{consent}/grant",
        dependencies=decide_consents,
        response_model=m.Consent,
        responses=responses(404, 409),
        tags=["consents"],
    )
    def grant(consent: ConsentId, body: m.GrantIn) -> Response:
        view = services.consents.grant(consent, valid_from=body.from_, valid_until=body.until, by=body.by)
        return json_of(_consent(view))

    @router.post(
        "/consents/{consent}/deny",
        dependencies=decide_consents,
        response_model=m.Consent,
        responses=responses(404, 409),
        tags=["consents"],
    )
    def deny(consent: ConsentId, body: m.DenyIn) -> Response:
        return json_of(_consent(services.consents.deny(consent, by=body.by, note=body.note)))

    @router.post(
        "/consents/{consent}/revoke",
        dependencies=decide_consents,
        response_model=m.Consent,
        responses=responses(404, 409),
        tags=["consents"],
    )
    def revoke(consent: ConsentId, body: m.RevokeIn) -> Response:
        """From day ``on`` (default: today) the consent covers nothing; it is never deleted."""
        view = services.consents.revoke(consent, body.on or _today(), by=body.by, note=body.note)
        return json_of(_consent(view))

    return router
