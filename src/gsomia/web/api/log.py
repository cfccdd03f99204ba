"""The transparency log over HTTP (``log:read``): the newest signed head, RFC 9162 inclusion and
consistency proofs served from the stored tree, and a whole-log verification (optionally against a head
kept earlier), as ``gsomia log head|prove|consistency|verify`` give them. Each verification is recorded in
the node's database (who, when, what it found), and ``GET /log/verified`` gives the newest, whichever worker
ran it: the "last verified" of every worker's dashboard."""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import json
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from gsomia.bootstrap import Services
from gsomia.ledger import LedgerError, TreeHead
from gsomia.services.users import Permission

from ..auth import WebAuth
from . import models as m
from .common import NOT_MODIFIED, ApiInputError, NotFoundError, etagged, json_of, responses

Size = Annotated[int, Query(ge=0, le=2**62)]


def log_router(services: Services, auth: WebAuth) -> APIRouter:
    """Routes for the log: head, proofs, verify."""
    router = APIRouter(prefix="/log", tags=["log"], dependencies=[Depends(auth.require(Permission.LOG_READ))])

    def log_size() -> int:
        with services.store.read() as uow:
            return uow.leaf_count()

    @router.get("/head", response_model=m.Head, responses=responses() | NOT_MODIFIED)
    def head(request: Request) -> Response:
        """The newest signed tree head: a partner keeps it to check later that the log only grew."""
        return etagged(request, m.Head.model_validate(services.audit.head().to_dict()))

    @router.get("/inclusion", response_model=m.Inclusion, responses=responses(404) | NOT_MODIFIED)
    def inclusion(
        request: Request, leaf: Size, size: Annotated[int | None, Query(ge=1, le=2**62)] = None
    ) -> Response:
        """The RFC 9162 inclusion proof of ``leaf`` in the tree of ``size`` leaves (default: all)."""
        count = log_size()
        wanted = count if size is None else size
        if wanted > count:
            raise NotFoundError(f"size: the log has {count} leaves, not {wanted}")
        if leaf >= wanted:
            raise NotFoundError(f"leaf: leaf {leaf} is not in a tree of {wanted} leaves")
        return etagged(request, m.Inclusion.model_validate(services.audit.prove(leaf, wanted)))

    @router.get("/consistency", response_model=m.Consistency, responses=responses(404) | NOT_MODIFIED)
    def consistency(request: Request, old: Size, new: Size) -> Response:
        """The RFC 9162 consistency proof that the tree of ``new`` leaves extends the tree of ``old``."""
        if old > new:
            raise ApiInputError(f"old: {old} is more than new ({new}); give OLD <= NEW")
        count = log_size()
        if new > count:
            raise NotFoundError(f"new: the log has {count} leaves, not {new}")
        return etagged(request, m.Consistency.model_validate(services.audit.consistency(old, new)))

    @router.post("/verify", response_model=m.VerifyReport, responses=responses())
    def verify(request: Request, body: m.VerifyIn) -> Response:
        """Recompute the whole log and check every leaf, node, head and row; ``from_head`` also checks
        that the log extends that head. ``ok: false`` names the faults (the first bad leaf first)."""
        kept = None
        if body.from_head is not None:
            try:
                kept = TreeHead.from_dict(body.from_head)
            except (LedgerError, ValueError, TypeError, KeyError) as error:
                raise ApiInputError(
                    f"from_head: not a signed head as GET /log/head gives it ({error})"
                ) from None
        began = time.monotonic()
        report = services.audit.verify(kept).to_dict()
        auth.users.record_verification(request.state.principal.user, report, time.monotonic() - began)
        return json_of(m.VerifyReport.model_validate(report))

    @router.get("/verified", response_model=m.LastVerification, responses=responses() | NOT_MODIFIED)
    def verified(request: Request) -> Response:
        """The node's newest whole-log verification (any worker's, kept in the database): when, by whom,
        what it found; all null if the log was never verified."""
        row = auth.users.last_verification()
        if row is None:
            empty = m.LastVerification(
                at=None, user=None, leaves=None, ok=None, faults=None, seconds=None, report=None
            )
            return etagged(request, empty)
        found = m.LastVerification(
            at=row.at,
            user=row.user,
            leaves=row.size,
            ok=row.ok,
            faults=row.faults,
            seconds=row.millis / 1000,
            report=m.VerifyReport.model_validate(json.loads(row.report)),
        )
        return etagged(request, found)

    return router
