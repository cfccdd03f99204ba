"""The node's web UI under ``/ui``: server-rendered pages, a little progressive JavaScript, no CDN.

Every page is HTML rendered on the server from the Jinja2 templates in ``templates/`` (autoescape on), with
its charts drawn as SVG by :mod:`gsomia.web.charts`; the one stylesheet and the one script are served by
the node itself from ``static/`` (``/ui/static/...``), and the pages' Content-Security-Policy allows
nothing else. Each page works with JavaScript off; the script only makes the network's date slider
redraw in place and shows the progress of a log verification.

Logging in, roles and CSRF use the node's session machinery (:mod:`gsomia.web.auth`); docs/ui.md lists
the pages and what each role sees.
"""

from __future__ import annotations

import importlib.resources
from functools import cache

from fastapi import APIRouter, Depends, Response

from gsomia.bootstrap import Services

from .core import PREFIX, actor_scope
from .explore import explore_router
from .ledger import LastVerified, ledger_router
from .login import login_router
from .overview import overview_router
from .records import records_router
from .worlds import Worlds

STATIC_PATH = PREFIX + "/static"
STATIC_FILES = {"gsomia.css": "text/css; charset=utf-8", "gsomia.js": "text/javascript; charset=utf-8"}

__all__ = ["STATIC_FILES", "STATIC_PATH", "pages_router"]


@cache
def _static(name: str) -> bytes:
    return (importlib.resources.files(__name__) / "static" / name).read_bytes()


def pages_router(services: Services) -> APIRouter:
    """Every page of the web UI, and its static files, for the node ``services`` runs.

    The app must be made by :func:`gsomia.web.app.create_app` with the same ``services``: the pages read
    the session machinery from ``app.state.auth``."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(actor_scope)])
    worlds, last = Worlds(services), LastVerified()
    for part in (
        login_router(services),
        overview_router(services, worlds, last),
        explore_router(services, worlds),
        records_router(services, worlds),
        ledger_router(services, last),
    ):
        router.include_router(part)

    @router.get(STATIC_PATH + "/{name}")
    def static(name: str) -> Response:
        """One of the UI's own files (a fixed list: nothing else on disk can be named)."""
        if name not in STATIC_FILES:
            return Response("No such file.", 404, media_type="text/plain")
        headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
        return Response(_static(name), media_type=STATIC_FILES[name], headers=headers)

    return router
