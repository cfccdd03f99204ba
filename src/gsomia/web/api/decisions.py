"""Decisions and what-ifs over HTTP: nothing here is recorded (a release is, see releases.py).

``POST /decisions`` answers one query with the decision JSON of docs/cli.md; ``POST /decisions:batch``
answers up to 1000 in order, against one snapshot of the world (a bad query is a 400 naming it, and no
decision is returned); ``POST /impact`` compares every item-to-party flow before and after a change.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

from fastapi import APIRouter, Depends

from gsomia.bootstrap import Services
from gsomia.domain.errors import GsomiaError
from gsomia.domain.impact import Change
from gsomia.domain.world import parse_day
from gsomia.scenario.fields import Context, Cursor
from gsomia.scenario.reader import read_agreement, read_table
from gsomia.services.errors import NodeError
from gsomia.services.users import Permission

from ..auth import WebAuth
from . import models as m
from .common import ApiInputError, responses

_BODY = Context("body")


def _change(given: m.ChangeIn) -> Change:
    """The domain's change for ``given``; an ApiInputError naming the field that is missing or wrong."""
    day = parse_day(given.on, "change.on")
    if given.kind == "add":
        if given.new is None or given.agreement is not None:
            raise ApiInputError("change.new: an 'add' gives the new agreement in new (and no agreement)")
        return Change("add", day, new=read_agreement(Cursor(_BODY, ("change", "new"), given.new.entry())))
    if given.agreement is None or given.new is not None:
        raise ApiInputError(f"change.agreement: a '{given.kind}' names the agreement (and gives no new)")
    if given.kind == "terminate":
        if given.scope is not None or given.equivalence is not None:
            raise ApiInputError("change.scope: a 'terminate' takes no scope or equivalence")
        return Change("terminate", day, given.agreement)
    if given.scope is None and given.equivalence is None:
        raise ApiInputError("change.scope: an 'amend' gives scope and/or equivalence")
    table = None
    if given.equivalence is not None:
        table = read_table(Cursor(_BODY, ("change", "equivalence"), given.equivalence))
    topics = None if given.scope in (None, "any") else tuple(given.scope)
    return Change(
        "amend", day, given.agreement, scope=topics, scope_any=given.scope == "any", equivalence=table
    )


def decisions_router(services: Services, auth: WebAuth) -> APIRouter:
    """Routes for decisions, batches of decisions, and impact."""
    router = APIRouter(tags=["decisions"])

    @router.post(
        "/decisions",
        dependencies=[Depends(auth.require(Permission.DECIDE))],
        response_model=m.Decision,
        responses=responses(),
    )
    def decide(body: m.Query) -> m.Decision:
        """Whether the item may go from its holder to the recipient on the day, rule by rule."""
        with services.store.read() as uow:
            decision = services.worldbook.decide(uow, body.item, body.to, body.at, body.holder)
        return m.Decision.model_validate(decision.to_dict())

    @router.post(
        "/decisions:batch",
        dependencies=[Depends(auth.require(Permission.DECIDE))],
        response_model=m.Decisions,
        responses=responses(),
    )
    def decide_many(body: m.Batch) -> m.Decisions:
        """Up to 1000 queries, answered in order against one snapshot of the node's world."""
        out: list[m.Decision] = []
        with services.store.read() as uow:
            world = services.worldbook.with_items(uow, [q.item for q in body.queries])
            for n, q in enumerate(body.queries):
                try:
                    decision = world.decide(q.item, q.to, q.at, q.holder)
                except NodeError:
                    raise
                except GsomiaError as error:
                    raise ApiInputError(f"queries[{n}]: {error}") from None
                out.append(m.Decision.model_validate(decision.to_dict()))
        return m.Decisions(decisions=out)

    @router.post(
        "/impact",
        dependencies=[Depends(auth.require(Permission.IMPACT))],
        response_model=m.Impact,
        responses=responses(),
    )
    def impact(body: m.ImpactIn) -> m.Impact:
        """Every item-to-party flow on a day before and after the change: kept, re-routed, lost, gained."""
        change = _change(body.change)
        world = services.worldbook.full_world()
        try:
            report = world.impact(change, at=body.at)
        except NodeError:
            raise
        except GsomiaError as error:
            raise ApiInputError(f"the change '{change.describe()}' cannot apply: {error}") from None
        listed = None if body.limit == 0 else body.limit
        return m.Impact.model_validate(report.to_dict(list_items=listed))

    return router
