"""The transparency log in the browser: the signed head, the leaves, an inclusion proof checked on the
server against the head, and a 'verify now' that recomputes the whole log (``log:read``).

Verification is a form POST (CSRF-protected, as it costs the node real work): with JavaScript off it
answers with the page and the report; the page's script sends the same form with ``fetch``, shows the
work in progress and then the report it gets as JSON. The last verification this server process ran is
kept in memory for the dashboard (each worker of a node keeps its own).
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import time
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from gsomia.bootstrap import Services, utc_now
from gsomia.domain.errors import GsomiaError
from gsomia.ledger import verify_inclusion
from gsomia.services.users import Permission

from .core import PREFIX, SECURITY_HEADERS, auth_of, csrf_ok, csrf_refused, gate, page, text, whole

LEAVES_PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class Verification:
    """One whole-log verification: when, by whom, its report and how long it took."""

    at: datetime
    user: str
    report: dict[str, Any]
    seconds: float


class LastVerified:
    """The newest verification this process ran (None until one has)."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._last: Verification | None = None

    def get(self) -> Verification | None:
        with self._lock:
            return self._last

    def set(self, done: Verification) -> None:
        with self._lock:
            self._last = done


def ledger_router(services: Services, last: LastVerified) -> APIRouter:
    """The log page and its verify form."""
    router = APIRouter()

    def proof_of(leaf: int, size: int, root: str) -> dict[str, Any]:
        proof = services.audit.prove(leaf, size)
        hashes = [bytes.fromhex(h) for h in proof["proof"]]
        ok = verify_inclusion(bytes.fromhex(proof["leaf_hash"]), leaf, size, hashes, bytes.fromhex(root))
        return {**proof, "checks": ok}

    @router.get(PREFIX + "/log")
    def show_log(request: Request, after: str | None = None, leaf: str | None = None) -> Response:
        who = gate(request, Permission.LOG_READ)
        if isinstance(who, Response):
            return who
        head = services.audit.head().to_dict()
        size = int(str(head["size"]))
        start = min(whole(after) or 0, max(size - 1, 0))
        with services.store.read() as uow:
            leaves = list(uow.leaves(start, min(start + LEAVES_PER_PAGE, size)))
        wanted, message, proof = whole(leaf), "", None
        if leaf is not None and (wanted is None or wanted >= size):
            message = f"Leaf {text(leaf)[:20]!r} is not in the log: give a number from 0 to {size - 1}."
        elif wanted is not None:
            try:
                proof = proof_of(wanted, size, str(head["root"]))
            except GsomiaError as error:
                message = str(error)
        return page(
            request,
            "log.html",
            who,
            400 if message else 200,
            title="Transparency log",
            head=head,
            leaves=leaves,
            start=start,
            more=start + LEAVES_PER_PAGE < size,
            per_page=LEAVES_PER_PAGE,
            proof=proof,
            message=message,
            last=last.get(),
            report=None,
        )

    @router.post(PREFIX + "/log/verify")
    def verify_now(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        who = gate(request, Permission.LOG_READ)
        if isinstance(who, Response):
            return who
        if not csrf_ok(request, who, csrf_token):
            return csrf_refused(request, who)
        began = time.monotonic()
        report = services.audit.verify().to_dict()
        done = Verification(utc_now(), who.user, report, round(time.monotonic() - began, 3))
        last.set(done)
        auth_of(request).users.record_verification(who.user, report, done.seconds)  # for every worker
        if "application/json" in request.headers.get("accept", ""):
            body = {**report, "verified_at": done.at.isoformat(timespec="seconds"), "seconds": done.seconds}
            return JSONResponse(body, headers=SECURITY_HEADERS)
        head = services.audit.head().to_dict()
        return page(
            request,
            "log.html",
            who,
            title="Transparency log",
            head=head,
            leaves=[],
            start=0,
            more=False,
            per_page=LEAVES_PER_PAGE,
            proof=None,
            message="",
            last=done,
            report=done,
        )

    return router
