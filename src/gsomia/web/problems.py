"""Error responses for the web app: TAXII error messages under ``/taxii2/``, RFC 9457 problems elsewhere.

Whatever goes wrong, a client gets JSON in the shape of the API it spoke to, never an HTML page or a
traceback: a bad parameter or an unknown path is a 4xx with a description of what to change, and a
:class:`~gsomia.domain.errors.GsomiaError` raised by the node's services is mapped by :func:`status_for`
(bad input 400, unknown thing 404, a step out of order 409; a node that cannot serve 503, its details
logged rather than shown). :func:`install_error_handlers` wires this into a FastAPI app.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from gsomia.crypto.errors import CryptoError
from gsomia.domain.errors import GsomiaError, LifecycleError
from gsomia.services.errors import ConsentStateError, MissingBodyError, NodeError, UnknownConsentError

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
PROBLEM_MEDIA_TYPE = "application/problem+json"
TAXII_PREFIX = "/taxii2/"

_log = logging.getLogger("gsomia.web")

# First match wins, so subclasses come before their bases; any other GsomiaError is bad input (400).
_STATUS_BY_ERROR: tuple[tuple[type[GsomiaError], int], ...] = (
    (UnknownConsentError, 404),
    (ConsentStateError, 409),
    (LifecycleError, 409),
    (MissingBodyError, 409),
    (NodeError, 503),  # no node, bad settings, a malformed or unproven row: the operator must act
    (CryptoError, 503),  # keys that do not load, a body that does not open: not the client's doing
)


def status_for(error: GsomiaError) -> int:
    """The HTTP status for an error the services raised: 400 unless a more exact one applies."""
    for kind, status in _STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def taxii_error(
    status: int, description: str, *, title: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    """A TAXII 2.1 error message resource (``title``, ``description``, ``http_status`` as a string)."""
    body = {"title": title or _title(status), "description": description, "http_status": str(status)}
    return JSONResponse(body, status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers)


def problem(
    status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    """An RFC 9457 problem document (``application/problem+json``); ``extra`` adds extension members."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def error_response(
    request: Request, status: int, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error in the shape of the API the request was for: TAXII under ``/taxii2/``, else a problem."""
    if (request.url.path + "/").startswith(TAXII_PREFIX):
        return taxii_error(status, description, headers=headers)
    return problem(status, _title(status), description, headers=headers)


_DESCRIPTIONS = {
    404: "Nothing is served at this path; TAXII clients start at GET /taxii2/.",
    405: "This path does not accept that HTTP method.",
}


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    default = exc.detail == _title(exc.status_code)  # Starlette's own 404/405 carry only the phrase
    text = _DESCRIPTIONS.get(exc.status_code, exc.detail) if default else exc.detail
    return error_response(request, exc.status_code, str(text), dict(exc.headers or {}))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    where = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
    )
    return error_response(request, 400, f"The request is not valid ({where}).")


async def _on_gsomia_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GsomiaError)
    status = status_for(exc)
    if status >= 500:
        _log.error("cannot serve %s %s: %s", request.method, request.url.path, exc)
        return error_response(request, status, "The node cannot serve this request now; try again later.")
    return error_response(request, status, str(exc))


async def _on_bug(request: Request, exc: Exception) -> JSONResponse:
    _log.error("failed on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "The node failed to answer; its operator has the details.")


def install_error_handlers(app: FastAPI) -> None:
    """Make every HTTP error, invalid request and GsomiaError a JSON error in the API's own shape.

    Anything else (a bug) is a 500 in the same shape that shows nothing of the failure; Starlette then
    re-raises it, so servers log it and tests see it."""
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(GsomiaError, _on_gsomia_error)
    app.add_exception_handler(Exception, _on_bug)
