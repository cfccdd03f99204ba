"""Logging in and out of the web UI, and changing the one-time password.

The login form has no session yet, so it carries its own CSRF token (double submit): the page sets a
random token in a cookie signed with a key derived from the node's signing key (HttpOnly, SameSite=Strict,
path ``/ui/login``, one hour) and puts the same token in the form; a login is tried only when the form's
token equals the one inside a cookie whose signature holds. A page on another site can neither read the
cookie nor forge its signature, so it cannot log a victim into an account of its choosing.

The password itself is checked by :meth:`WebAuth.open_session` (rate limits, the same answer for an
unknown name), and a user whose password is still the one-time one is sent to change it first. A change
(:meth:`WebAuth.change_password`) counts against the same login limit, and ends the user's other sessions.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException

from gsomia.bootstrap import Services
from gsomia.crypto.secrets import derived_key
from gsomia.domain.errors import GsomiaError
from gsomia.services.users import MIN_PASSWORD

from .core import (
    LOGIN,
    PASSWORD,
    PREFIX,
    auth_of,
    csrf_ok,
    csrf_refused,
    error_page,
    gate,
    page,
    safe_next,
    see_other,
)

LOGIN_CSRF_COOKIE = "gsomia_login_csrf"
LOGIN_CSRF_LABEL = b"gsomia/ui-login-csrf/v1"
LOGIN_CSRF_AGE = 3600  # seconds a login form stays usable
FormText = Annotated[str, Form()]


class LoginTokens:
    """The pre-login CSRF tokens: random, carried in a signed cookie and echoed by the form."""

    def __init__(self, key: bytes) -> None:
        self._signer = URLSafeTimedSerializer(key, salt="gsomia-login-csrf")

    def issue(self) -> tuple[str, str]:
        """A fresh token and the signed cookie value that carries it."""
        token = secrets.token_urlsafe(32)
        return token, self._signer.dumps(token)

    def matches(self, cookie: str | None, given: str) -> bool:
        """Whether ``given`` is the token inside ``cookie``, and the cookie is ours and fresh."""
        if not cookie or not given or len(cookie) > 512 or len(given) > 128:
            return False
        try:
            inner = self._signer.loads(cookie, max_age=LOGIN_CSRF_AGE)
        except (BadSignature, ValueError, TypeError, UnicodeError):
            return False
        return isinstance(inner, str) and secrets.compare_digest(inner.encode(), given.encode())


def login_router(services: Services) -> APIRouter:
    """The login, logout and password pages."""
    router = APIRouter()
    tokens = LoginTokens(derived_key(services.keys, LOGIN_CSRF_LABEL))

    def login_page(request: Request, next_page: str, status: int = 200, message: str = "") -> Response:
        token, cookie = tokens.issue()
        answer = page(
            request,
            "login.html",
            None,
            status,
            title="Log in",
            login_token=token,
            next=next_page,
            message=message,
        )
        answer.set_cookie(
            LOGIN_CSRF_COOKIE,
            cookie,
            max_age=LOGIN_CSRF_AGE,
            path=LOGIN,
            secure=auth_of(request).config.secure_cookies,
            httponly=True,
            samesite="strict",
        )
        return answer

    @router.get(LOGIN)
    def show_login(request: Request, next: str | None = None) -> Response:
        return login_page(request, safe_next(next))

    @router.post(LOGIN)
    def do_login(
        request: Request,
        name: FormText = "",
        password: FormText = "",
        csrf_token: FormText = "",
        next: FormText = "",
    ) -> Response:
        target = safe_next(next)
        if not tokens.matches(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
            message = "This login form has expired or was not sent from this site; try again."
            return login_page(request, target, 403, message)
        answer = see_other(target)
        try:
            principal = auth_of(request).open_session(request, answer, name[:64], password[:1024])
        except HTTPException as exc:
            return login_page(request, target, exc.status_code, str(exc.detail))
        if principal.must_change_password:
            answer.headers["Location"] = PASSWORD
        answer.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN)
        return answer

    @router.post(PREFIX + "/logout")
    def logout(request: Request, csrf_token: FormText = "") -> Response:
        who = gate(request, None, temporary_ok=True)
        if isinstance(who, Response):
            return who
        if not csrf_ok(request, who, csrf_token):
            return csrf_refused(request, who)
        answer = see_other(LOGIN)
        auth_of(request).close_session(answer, who)
        return answer

    @router.get(PASSWORD)
    def show_password(request: Request) -> Response:
        who = gate(request, None, temporary_ok=True)
        if isinstance(who, Response):
            return who
        return page(
            request, "password.html", who, title="Change your password", message="", minimum=MIN_PASSWORD
        )

    @router.post(PASSWORD)
    def change_password(
        request: Request,
        current: FormText = "",
        new: FormText = "",
        repeat: FormText = "",
        csrf_token: FormText = "",
    ) -> Response:
        who = gate(request, None, temporary_ok=True)
        if isinstance(who, Response):
            return who
        if not csrf_ok(request, who, csrf_token):
            return csrf_refused(request, who)
        message = "" if new == repeat else "The two new passwords differ; type the same one twice."
        if not message:
            try:
                auth_of(request).change_password(request, who, current[:1024], new[:1024])
            except HTTPException as exc:  # too many password checks
                return error_page(request, who, exc.status_code, str(exc.detail), exc.headers)
            except GsomiaError as error:
                message = str(error)
        if message:
            return page(
                request,
                "password.html",
                who,
                400,
                title="Change your password",
                message=message,
                minimum=MIN_PASSWORD,
            )
        return see_other(PREFIX)

    return router
