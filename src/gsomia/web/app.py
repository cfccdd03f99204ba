"""The one app factory: TAXII 2.1 for partner nodes now; the REST API and web pages join it as routers.

Every error leaves as JSON in the shape of the API that was called (see :mod:`gsomia.web.problems`), so a
bad parameter is a 4xx that says what to change, never a 5xx or an HTML page. The interactive API docs
(``/docs``, ``/openapi.json``) are off: a node serves only what its routes deliberately serve.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI

from .problems import install_error_handlers
from .taxii import TaxiiSource, taxii_router


def create_app(
    taxii_source: TaxiiSource | None = None, *, extra_routers: Iterable[APIRouter] = ()
) -> FastAPI:
    """A FastAPI app with the TAXII routes (if a source is given) and any other routers, in that order."""
    app = FastAPI(title="gsomia node", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    if taxii_source is not None:
        app.include_router(taxii_router(taxii_source))
    for router in extra_routers:
        app.include_router(router)
    return app
