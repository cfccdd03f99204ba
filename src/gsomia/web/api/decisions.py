"""Decisions and what-ifs over HTTP: nothing here is recorded (a release is, see releases.py).

``POST /decisions`` answers one query with the decision JSON of docs/cli.md; ``POST /decisions:batch``
answers up to 10,000 (:data:`~gsomia.web.api.fast.MAX_BATCH`) in order, against one snapshot of the world
(a bad query is a 400 naming it, and no decision is returned; more than 10,000 is a 422 naming the limit);
``POST /impact`` compares every item-to-party flow before and after a change.

Both decision routes write their JSON directly (:mod:`gsomia.web.api.fast`): the same document the
``Decision`` model describes, without building a model per decision. The batch reads its body itself, so
that 10,000 queries are checked in one quick pass instead of 10,000 model instances (a body the quick pass
does not accept is judged by the ``Batch`` model, whose 422 names the field), in a worker thread with the
rest of its work. No read of a database server (PostgreSQL) runs on the event loop: there the single
decision, like the credential check before it (:class:`~gsomia.web.auth.WebAuth`), runs in a worker
thread; on SQLite and in memory both run in place (:func:`~gsomia.web.auth.reads_wait`).
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import json

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from gsomia.bootstrap import Services
from gsomia.domain.errors import GsomiaError
from gsomia.domain.impact import Change
from gsomia.domain.world import parse_day
from gsomia.scenario.fields import Context, Cursor
from gsomia.scenario.reader import read_agreement, read_table
from gsomia.services.errors import NodeError
from gsomia.services.users import Permission

from ..auth import WebAuth, reads_wait
from . import models as m
from .common import ApiInputError, responses
from .fast import SETTLED, BatchQueries, Texts, from_model, quick_batch

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


BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}},
    }
}


def _refused(n: int, error: GsomiaError) -> Exception:
    return error if isinstance(error, NodeError) else ApiInputError(f"queries[{n}]: {error}")


def _batch_of(raw: bytes) -> BatchQueries:
    """The queries of a batch body: the quick check, else the ``Batch`` model (422 naming the field, and
    the limit of 10,000 queries past it); JSON that does not parse is the API's 400.

    The body is read by orjson (in C, about half the standard library's time on 10,000 queries); only a
    body the quick check accepts is answered from that reading, and there every value is text or null,
    which both read alike. Anything else (a body orjson refuses, such as a lone surrogate, NaN, UTF-16 or
    a byte-order mark, or one the quick check refuses, where orjson would read a huge number as a float)
    is read again by the standard library, so the model sees, and names, exactly what it always has."""
    try:
        quick = quick_batch(orjson.loads(raw))
    except orjson.JSONDecodeError:
        quick = None
    if quick is not None:
        return quick
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        error = {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([error]) from None
    try:
        return from_model(m.Batch.model_validate(data))
    except ValidationError as error:
        found = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        raise RequestValidationError(found) from None


def decisions_router(services: Services, auth: WebAuth) -> APIRouter:
    """Routes for decisions, batches of decisions, and impact."""
    router = APIRouter(tags=["decisions"])

    decide_allowed = [Depends(auth.require(Permission.DECIDE))]
    texts = Texts()  # what one request worked out serves the next while the node's world is the same
    waits = reads_wait(services.store)  # PostgreSQL: every read in a worker thread

    def one(body: m.Query) -> bytes:
        with services.store.read() as uow:  # the freshness check: the newest signed head, read here
            world = services.worldbook.with_items(uow, [body.item])
            return texts.decision(world, body.item, body.to, body.at, body.holder).encode()

    @router.post("/decisions", dependencies=decide_allowed, response_model=m.Decision, responses=responses())
    async def decide(body: m.Query) -> Response:
        """Whether the item may go from its holder to the recipient on the day, rule by rule."""
        # a read of a database server waits for its answer: done in a worker thread, so the event loop
        # serves other requests meanwhile. On SQLite (a local file) or in memory the read, one item read
        # (and proven) and one decision cost less than the hand-over to a thread and back (measured on
        # two cores: 240 decisions/s through a thread, 689 here), so they run in place.
        text = await run_in_threadpool(one, body) if waits else one(body)
        return Response(text, media_type="application/json")

    def answer(raw: bytes) -> Response:
        queries = _batch_of(raw)
        with services.store.read() as uow:
            world = services.worldbook.world_in(uow)
            # the items the node's world has not read yet (a set difference with its dict: in C)
            missing = queries.items.difference(world.items)
            if missing:
                world = services.worldbook.with_items(uow, sorted(missing))
            text = texts.many(world, queries, _refused)
        grew = bool(missing)
        # a batch that read items (or met a new world) leaves the collector settled once it is answered
        after = BackgroundTask(SETTLED.after, world, grew) if SETTLED.needed(world, grew) else None
        return Response(text, media_type="application/json", background=after)

    @router.post(
        "/decisions:batch",
        dependencies=decide_allowed,
        response_model=m.Decisions,
        responses=responses(413),
        openapi_extra=BATCH_BODY,
    )
    async def decide_many(request: Request) -> Response:
        """Up to 10,000 queries, answered in order against one snapshot of the node's world."""
        # the body's check and the answer both in one worker thread: the event loop stays free
        return await run_in_threadpool(answer, await request.body())

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
