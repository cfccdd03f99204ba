"""A node's log, for its partners: the newest signed head and consistency proofs from an older size.

``GET /gsomia/v1/log/head`` and ``GET /gsomia/v1/log/consistency?old=N`` (to the newest head), for a
partner presenting its token (HTTP Basic with its party id, or Bearer), as on the TAXII routes. A partner
keeps the head it last checked and, on every sync, asks for the proof that the newest head extends it: a
log rolled back or forked is caught there.
"""

# no "from __future__ import annotations": FastAPI reads the route signatures, whose dependency is local
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from gsomia.domain.errors import GsomiaError

from .node_source import NodeTaxiiSource
from .taxii import credentials  # the TAXII routes' own reading of Authorization

PREFIX = "/gsomia/v1/log"


def peer_log_router(source: NodeTaxiiSource) -> APIRouter:
    router = APIRouter()

    def partner(request: Request) -> str:
        given = credentials(request.headers.get("authorization"))
        party = source.authenticate(*given) if given is not None else None
        if party is None:
            raise HTTPException(401, "a partner's token is needed", headers={"WWW-Authenticate": "Basic"})
        return party

    @router.get(PREFIX + "/head")
    def head(_party: Annotated[str, Depends(partner)]) -> dict[str, Any]:
        return source.services.audit.head().to_dict()

    @router.get(PREFIX + "/consistency")
    def consistency(
        _party: Annotated[str, Depends(partner)], old: Annotated[int, Query(ge=0, le=2**53)]
    ) -> dict[str, Any]:
        newest = source.services.audit.head()
        if old > newest.size:
            raise HTTPException(409, f"this log has {newest.size} leaves; it never had {old}")
        try:
            return {"head": newest.to_dict(), **source.services.audit.consistency(old, newest.size)}
        except GsomiaError as exc:
            raise HTTPException(400, str(exc)) from None

    return router
