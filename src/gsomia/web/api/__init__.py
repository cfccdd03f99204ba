"""The node's REST API under ``/api/v1``, described by ``/api/v1/openapi.json`` (TAXII stays out of it).

:func:`api_router` joins the routers (world, decisions, releases and consents, log, session, users);
:func:`install_api_errors` makes every error under ``/api/v1`` an RFC 9457 problem with the right status
(a body that does not validate is a 422 whose ``errors`` name each field; JSON that does not parse, or
input the node refuses, a 400; unknown things 404; conflicts with the node's state 409); and
:class:`BodyLimit` refuses a request body larger than the API ever needs before it is read whole.
docs/api.md describes the API; the role table is :data:`gsomia.services.users.ROLE_PERMISSIONS`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gsomia import __version__
from gsomia.bootstrap import Services
from gsomia.domain.errors import GsomiaError
from gsomia.services.errors import UnknownConsentError
from gsomia.services.users import CredentialsError, UnknownUserError, UserStateError

from ..auth import WebAuth
from ..problems import problem, status_for
from . import models as m
from .common import PROBLEM, NotFoundError
from .decisions import decisions_router
from .log import log_router
from .releases import releases_router
from .users import session_router, users_router
from .world import world_router

API_PREFIX = "/api/v1"
OPENAPI_PATH = API_PREFIX + "/openapi.json"
# bytes in one request body: a batch of 10,000 queries with ids of 20 characters is about 0.7 MiB, and
# 4 MiB still holds 10,000 whose ids average up to 150 characters; a batch of longer ids is refused with 413
# before it is read (split it), which keeps what one request may make the server hold in memory small
MAX_BODY = 4 * 1024 * 1024

__all__ = ["API_PREFIX", "OPENAPI_PATH", "BodyLimit", "api_router", "install_api_errors", "openapi_document"]


def api_router(services: Services, auth: WebAuth) -> APIRouter:
    """Every API route under ``/api/v1``, and the OpenAPI document of exactly those routes."""
    router = APIRouter(prefix=API_PREFIX)
    for part in (
        world_router(services, auth),
        decisions_router(services, auth),
        releases_router(services, auth),
        log_router(services, auth),
        session_router(auth),
        users_router(auth),
    ):
        router.include_router(part)
    document: dict[str, Any] = {}

    @router.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        if not document:
            document.update(openapi_document(router.routes))
        return JSONResponse(document)

    return router


def openapi_document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``: every 4xx answer is an application/problem+json Problem."""
    doc = get_openapi(
        title="gsomia node API",
        version=__version__,
        summary="Exchange classified information only as security agreements allow, and prove it.",
        description="Every operation needs an API token (Bearer) or a session cookie, except logging in. "
        "See docs/api.md for the roles and what each may do.",
        routes=routes,
    )
    _, defs = models_json_schema(
        [(m.Problem, "serialization"), (m.Batch, "validation")],  # Batch: the body decisions:batch reads
        ref_template="#/components/schemas/{model}",
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(defs.get("$defs", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem_content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            for code, answer in operation.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    answer["content"] = problem_content
    return doc


# -- errors ---------------------------------------------------------------------------------------------

_EXTRA_STATUS: tuple[tuple[type[GsomiaError], int], ...] = (
    (NotFoundError, 404),
    (UnknownConsentError, 404),
    (UnknownUserError, 404),
    (UserStateError, 409),
    (CredentialsError, 403),
)
_DEFAULT_TEXT = {
    404: f"Nothing is served at this path; the API's operations are listed in {OPENAPI_PATH}.",
    405: f"This path does not accept that HTTP method; see {OPENAPI_PATH}.",
}
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def api_status(error: GsomiaError) -> int:
    """The status of an error raised while serving the API: the API's own errors first, then the
    node's mapping (:func:`gsomia.web.problems.status_for`)."""
    for kind, status in _EXTRA_STATUS:
        if isinstance(error, kind):
            return status
    return status_for(error)


def _in_api(request: Request) -> bool:
    return (request.url.path + "/").startswith(API_PREFIX + "/")


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _message(error: Mapping[str, Any]) -> str:
    return str(error.get("msg", "not valid")).removeprefix("Value error, ")


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_api_errors(app: FastAPI) -> None:
    """Under ``/api/v1``, answer errors as problems with the API's statuses; elsewhere, as before.

    Call after :func:`gsomia.web.problems.install_error_handlers`: the handlers it installed still answer
    every path outside the API (TAXII keeps its own error shape)."""
    handlers: dict[type[Exception], Handler] = {
        kind: app.exception_handlers[kind] for kind in (RequestValidationError, HTTPException, GsomiaError)
    }

    async def before(kind: type[Exception], request: Request, exc: Exception) -> Response:
        answer = handlers[kind](request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    async def on_validation(request: Request, exc: Exception) -> Response:
        if not _in_api(request) or not isinstance(exc, RequestValidationError):
            return await before(RequestValidationError, request, exc)
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(400, "Bad Request", "The body is not valid JSON; send a JSON object.")
        found = [m.FieldProblem(field=_field(e.get("loc", ())), message=_message(e)) for e in errors]
        listed = "; ".join(f"{f.field}: {f.message}" for f in found[:10])
        return problem(
            422,
            "Unprocessable Content",
            f"The request does not validate ({listed}).",
            errors=[f.model_dump() for f in found[:100]],
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        if not _in_api(request) or not isinstance(exc, HTTPException):
            return await before(HTTPException, request, exc)
        text = _DEFAULT_TEXT.get(exc.status_code, str(exc.detail))
        if exc.detail not in ("Not Found", "Method Not Allowed"):
            text = str(exc.detail)
        return problem(exc.status_code, _title(exc.status_code), text, headers=dict(exc.headers or {}))

    async def on_gsomia(request: Request, exc: Exception) -> Response:
        if not _in_api(request) or not isinstance(exc, GsomiaError):
            return await before(GsomiaError, request, exc)
        status = api_status(exc)
        if status >= 500:
            return await before(GsomiaError, request, exc)  # logged there; its details are not shown
        return problem(status, _title(status), str(exc))

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(GsomiaError, on_gsomia)


# -- the body limit -------------------------------------------------------------------------------------


class BodyLimit:
    """ASGI middleware: a request body under ``prefix`` larger than ``limit`` bytes is refused with 413
    as it arrives (declared or streamed), never read whole into memory. Every answer under ``prefix``
    carries ``Server-Timing: app;dur=MS``: the milliseconds from the request reaching the app to its
    answer's headers (body read, credentials, the work, the JSON), what a client's round trip adds to."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, prefix: str = API_PREFIX) -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (str(scope.get("path", "")) + "/").startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        too_large = HTTPException(413, f"The request body is larger than {self.limit} bytes; send less.")
        headers: MutableMapping[bytes, bytes] = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared[:15]) > self.limit:
            response = problem(413, "Content Too Large", str(too_large.detail))
            await response(scope, receive, send)
            return
        seen = 0
        began = time.perf_counter()
        outer = send

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                spent = f"app;dur={(time.perf_counter() - began) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", spent)]}
            await outer(message)

        send = timed

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise too_large
            return message

        await self.app(scope, bounded, send)
