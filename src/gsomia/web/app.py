"""The one app factory: TAXII 2.1 for partner nodes, the REST API for people and programs, web pages later.

Every error leaves as JSON in the shape of the API that was called (see :mod:`gsomia.web.problems`), so a
bad parameter is a 4xx that says what to change, never a 5xx or an HTML page. The framework's interactive
docs (``/docs``, ``/openapi.json``) are off: a node serves only what its routes deliberately serve. The
REST API describes itself at ``/api/v1/openapi.json`` (its routes only: TAXII has its own media type).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI

from ..bootstrap import Services, utc_now
from ..crypto.secrets import COOKIE_LABEL, ROW_SEAL_LABEL, Argon2Secrets, derived_key
from ..services.users import Users
from ..store.users import user_store_for
from .api import BodyLimit, api_router, install_api_errors
from .auth import ApiConfig, WebAuth, reads_wait
from .pages import pages_router
from .problems import install_error_handlers
from .taxii import TaxiiSource, taxii_router


def node_users(services: Services, config: ApiConfig | None = None) -> Users:
    """The users service of a node: its users in the node's database, secrets hashed with argon2id and
    rows sealed under a key derived from the node's signing key. (The composition root should make it:
    see the report on ``Services.users``.)"""
    chosen = config or ApiConfig()
    secrets = Argon2Secrets(derived_key(services.keys, ROW_SEAL_LABEL))
    return Users(user_store_for(services.store), secrets, utc_now, session_ttl=chosen.session_ttl)


def create_app(
    taxii_source: TaxiiSource | None = None,
    *,
    extra_routers: Iterable[APIRouter] = (),
    services: Services | None = None,
    users: Users | None = None,
    api_config: ApiConfig | None = None,
) -> FastAPI:
    """A FastAPI app with the TAXII routes (if a source is given), the REST API under ``/api/v1`` (if the
    node's ``services`` are given; ``users`` defaults to :func:`node_users`), then any other routers.

    The session machinery is ``app.state.auth`` (a :class:`~gsomia.web.auth.WebAuth`): web pages use its
    dependencies (``auth.current``, ``auth.require(permission)``) and its login (``auth.open_session``)."""
    app = FastAPI(title="gsomia node", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    if taxii_source is not None:
        app.include_router(taxii_router(taxii_source))
    if services is not None:
        config = api_config or ApiConfig.from_environ()
        auth = WebAuth(
            users or node_users(services, config),
            derived_key(services.keys, COOKIE_LABEL),
            config,
            reads_wait=reads_wait(services.store),  # reads of a database server run off the event loop
        )
        app.state.auth = auth
        app.include_router(api_router(services, auth))
        app.include_router(pages_router(services))  # the web UI under /ui, its static files included
        install_api_errors(app)
        app.add_middleware(BodyLimit)
    for router in extra_routers:
        app.include_router(router)
    return app
