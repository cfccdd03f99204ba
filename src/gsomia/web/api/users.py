"""Sessions and users over HTTP.

``/session``: log in (name and password, for a browser session cookie), see who is calling (and the
session's CSRF token), change one's own password, log out. ``/users`` (``users``, the admin's): list,
add (the one-time password and API token are shown in that answer only), reset, change a role, disable.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from gsomia.services.users import Issued, Permission, Principal, UserView

from ..auth import WebAuth
from . import models as m
from .common import NO_STORE, NOT_MODIFIED, After, Limit, etagged, json_of, name_after, page_of, responses

UserName = Annotated[str, Path(min_length=1, max_length=64)]


def _session(principal: Principal) -> m.Session:
    return m.Session(
        user=principal.user,
        role=principal.role,
        via=principal.via,
        permissions=sorted(p.value for p in principal.permissions),
        must_change_password=principal.must_change_password,
        csrf_token=principal.csrf,
        expires=principal.expires,
    )


def _user(view: UserView) -> m.User:
    return m.User.model_validate(view.to_dict())


def _credentials(issued: Issued) -> m.Credentials:
    return m.Credentials(user=_user(issued.user), password=issued.password, token=issued.token)


def session_router(auth: WebAuth) -> APIRouter:
    """Routes for logging in and out and for the caller's own account."""
    router = APIRouter(prefix="/session", tags=["session"])
    Caller = Annotated[Principal, Depends(auth.current)]  # noqa: N806  (a type alias, named like one)

    @router.post("", response_model=m.Session, responses=responses())
    def login(request: Request, response: Response, body: m.LoginIn) -> m.Session:
        """Log in: the answer sets the session cookie (HttpOnly, SameSite=Strict) and gives the CSRF token
        every change made with the session must carry in X-CSRF-Token."""
        principal = auth.open_session(request, response, body.name, body.password)
        response.headers.update(NO_STORE)
        return _session(principal)

    @router.get("", response_model=m.Session, responses=responses())
    def whoami(caller: Caller, response: Response) -> m.Session:
        """Who is calling, with what role and permissions (and, for a session, its CSRF token)."""
        response.headers.update(NO_STORE)
        return _session(caller)

    @router.delete("", status_code=204, responses=responses())
    def logout(caller: Caller) -> Response:
        """End the caller's session (for every server worker) and clear its cookie."""
        response = Response(status_code=204, headers=NO_STORE)
        auth.close_session(response, caller)
        return response

    @router.post("/password", status_code=204, responses=responses())
    def change_password(request: Request, caller: Caller, body: m.PasswordIn) -> Response:
        """Replace one's own password (the one-time password first of all) after giving the current one,
        which counts against the login limit. Every other session of the user ends; the session making
        the change (if any) and the API token stay."""
        auth.change_password(request, caller, body.current, body.new)
        return Response(status_code=204, headers=NO_STORE)

    return router


def users_router(auth: WebAuth) -> APIRouter:
    """Routes for managing the node's users (admin)."""
    router = APIRouter(
        prefix="/users", tags=["users"], dependencies=[Depends(auth.require(Permission.USERS))]
    )

    @router.get("", response_model=m.Page[m.User], responses=responses() | NOT_MODIFIED)
    def list_users(request: Request, limit: Limit = 100, after: After = None) -> Response:
        """The node's users in name order."""
        start = name_after("users", after)
        rows = auth.users.page(start, limit + 1)
        page, nxt = page_of("users", rows, lambda u: u.name, limit)
        return etagged(request, m.Page[m.User](items=[_user(u) for u in page], next=nxt))

    @router.get("/{name}", response_model=m.User, responses=responses(404) | NOT_MODIFIED)
    def get_user(request: Request, name: UserName) -> Response:
        return etagged(request, _user(auth.users.get(name)))

    @router.post("", status_code=201, response_model=m.Credentials, responses=responses(409))
    def add_user(body: m.UserIn) -> Response:
        """Add a user: the answer holds its one-time password and API token, shown this once."""
        return json_of(_credentials(auth.users.add(body.name, body.role)), 201)

    @router.post("/{name}/reset", response_model=m.Credentials, responses=responses(404))
    def reset_user(name: UserName) -> Response:
        """New one-time password and API token (the old ones and every session stop working)."""
        return json_of(_credentials(auth.users.reset(name)))

    @router.put("/{name}/role", response_model=m.User, responses=responses(404, 409))
    def set_role(name: UserName, body: m.RoleIn) -> Response:
        """Give the user another role (its sessions end); the last admin keeps the admin role."""
        return json_of(_user(auth.users.set_role(name, body.role)))

    @router.post("/{name}/disable", response_model=m.User, responses=responses(404, 409))
    def disable_user(name: UserName) -> Response:
        """Disable the user: its token and sessions stop working at once (reset enables it again)."""
        return json_of(_user(auth.users.disable(name)))

    return router
