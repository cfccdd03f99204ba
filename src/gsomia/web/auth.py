"""Who is calling the node over HTTP, what they may do, and the browser session machinery.

Two ways in, one :class:`~gsomia.services.users.Principal` out:

- programs send ``Authorization: Bearer gsomia_<id>_<secret>`` (the API token ``gsomia user add`` shows);
- browsers log in (``POST /api/v1/session``, or an HTML form calling :meth:`WebAuth.open_session`) and get
  a session cookie: signed (itsdangerous, under a key derived from the node's signing key), ``HttpOnly``,
  ``SameSite=Strict``, ``Secure`` unless configured off, naming a session row in the database (so every
  server worker of the node shares it, and logging out ends it everywhere).

A request made with the session cookie that changes anything (any method but GET, HEAD, OPTIONS) must
carry the session's CSRF token, in the ``X-CSRF-Token`` header or, for an HTML form, its ``csrf_token``
field; a bearer-token request needs none (a browser never adds that header on its own).

Every authenticated request, and every anonymous one, counts against a fixed-window rate limit kept in the
database (``rate_counts``), per user or per client address; login attempts have their own, tighter limit
per user name and per client address, which a password change's check of the current password counts
against too. Past a limit the answer is 429 with ``Retry-After``. A worker writes its counts in small
batches (every hit for the login limit; see ``RateCounter`` in :mod:`gsomia.services.users` for the bound
on how late another worker sees them), and checks a token or session's secret with argon2id once per
(stored hash, secret) pair, while still reading the token or session row on every request.

The dependencies for routes: ``Depends(auth.current)`` (anyone logged in), ``Depends(auth.require(P))``
(a role whose row in :data:`~gsomia.services.users.ROLE_PERMISSIONS` holds ``P``).
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies' annotations at run time, and
# the closure in WebAuth.require names ``self``, which only eager evaluation finds.

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from gsomia.services.actor import ACTOR
from gsomia.services.errors import SettingsError
from gsomia.services.users import NewSession, Permission, Principal, SlowCheckError, Users, batch_for

SESSION_COOKIE = "gsomia_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = 'Bearer realm="gsomia"'
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

bearer_scheme = HTTPBearer(auto_error=False, description="An API token: gsomia_<id>_<secret>.")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A browser session (POST /api/v1/session); changes also need the X-CSRF-Token header.",
)


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """The web API's settings: rate limits (requests per window), session length, cookie security."""

    rate_limit: int = 1200  # requests per principal per window: generous, a person never comes close
    login_limit: int = 30  # login attempts per user name, and per client address, per window
    rate_window: int = 60  # seconds
    session_hours: int = 8
    secure_cookies: bool = True  # Secure cookies: browsers send them over HTTPS only

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "ApiConfig":
        """The settings from ``GSOMIA_API_RATE_LIMIT``, ``GSOMIA_API_LOGIN_LIMIT``,
        ``GSOMIA_API_RATE_WINDOW``, ``GSOMIA_API_SESSION_HOURS`` and ``GSOMIA_API_SECURE_COOKIES`` (0/1),
        defaults for any not set; a bad value is a SettingsError naming the variable."""
        env = os.environ if environ is None else environ
        default = cls()

        def number(name: str, fallback: int) -> int:
            text = env.get(f"GSOMIA_API_{name}")
            if text is None:
                return fallback
            if not (text.isascii() and text.isdigit()) or not 1 <= int(text[:9]) <= 10**8 or len(text) > 9:
                raise SettingsError(f"GSOMIA_API_{name}={text[:20]!r} is not a whole number from 1 to 10^8")
            return int(text)

        secure = env.get("GSOMIA_API_SECURE_COOKIES", "1")
        if secure not in ("0", "1"):
            raise SettingsError(f"GSOMIA_API_SECURE_COOKIES={secure[:20]!r} must be 0 or 1")
        return cls(
            rate_limit=number("RATE_LIMIT", default.rate_limit),
            login_limit=number("LOGIN_LIMIT", default.login_limit),
            rate_window=number("RATE_WINDOW", default.rate_window),
            session_hours=number("SESSION_HOURS", default.session_hours),
            secure_cookies=secure == "1",
        )


def reads_wait(store: object) -> bool:
    """Whether a read of the node's ``store`` waits for a database server (PostgreSQL): such reads never
    run on the server's event loop, which would serve no other request meanwhile. A SQLite file or a
    memory store answers in place, for less than handing the work to a thread and back costs."""
    while hasattr(store, "inner"):  # a LoggedStore, around the node's own store
        store = store.inner
    engine = getattr(store, "engine", None)
    return engine is not None and engine.dialect.name != "sqlite"


def act_for(principal: Principal) -> None:
    """Make the writes of the request being served ``principal``'s: the log's ``attribution`` record names
    them (:data:`~gsomia.services.actor.ACTOR`). Both ways in call it once the caller may act: an API
    route's permission dependency, and a page's :func:`~gsomia.web.pages.core.gate`. It sets the variable
    in the request's own context (the request's task; a page's worker-thread call, a copy of it), so
    no other request and no command-line write ever sees it."""
    ACTOR.set(principal.user)


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


class WebAuth:
    """Authentication, authorization, CSRF and rate limits for the node's web routes."""

    def __init__(
        self, users: Users, key: bytes, config: ApiConfig | None = None, *, reads_wait: bool = False
    ) -> None:
        self.users = users
        self.config = config or ApiConfig()
        self.reads_wait = reads_wait  # the users' rows are on a database server: read them off the loop
        self._cookies = URLSafeTimedSerializer(key, salt="gsomia-session-cookie")

    # -- the session cookie ------------------------------------------------------------------------
    def _cookie_session(self, value: str | None) -> str | None:
        """The ``id.secret`` a cookie carries, if its signature holds and it is not older than a session."""
        if not value or len(value) > 2048:
            return None
        try:
            inner = self._cookies.loads(value, max_age=int(self.config.session_ttl.total_seconds()))
        except (BadSignature, ValueError, TypeError, UnicodeError):
            return None
        return inner if isinstance(inner, str) else None

    def set_cookie(self, response: Response, session: NewSession) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self._cookies.dumps(session.cookie),
            max_age=int(self.config.session_ttl.total_seconds()),
            path="/",
            secure=self.config.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=self.config.secure_cookies, httponly=True, samesite="strict"
        )

    # -- rate limits -------------------------------------------------------------------------------
    def limit(self, key: str, limit: int) -> None:
        """Count one request for ``key``; 429 with Retry-After once it passes ``limit`` in the window."""
        window = self.config.rate_window
        if self.users.hit(key, window, batch_for(limit)) > limit:
            raise HTTPException(
                429,
                f"Too many requests; at most {limit} per {window} seconds. Wait and try again.",
                {"Retry-After": str(window)},
            )

    # -- who is calling ----------------------------------------------------------------------------
    def identify(self, request: Request, *, quick: bool = False) -> Principal | None:
        """The caller by bearer token, else by session cookie; None if neither holds (no rate counted).
        ``quick``: SlowCheckError rather than wait for argon2id (a secret this process has not checked)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.users.by_token(token.strip(), quick=quick)
        if header:
            return None
        session = self._cookie_session(request.cookies.get(SESSION_COOKIE))
        return self.users.by_session(session, quick=quick) if session is not None else None

    def admit(self, request: Request, *, quick: bool = False) -> Principal:
        """The logged-in caller, counted against the rate limit; 401 (counted too) if there is none."""
        principal = self.identify(request, quick=quick)
        if principal is None:
            self.limit(f"anon:{_client(request)}", self.config.rate_limit)
            raise HTTPException(
                401,
                "Log in: send an API token (Authorization: Bearer ...) or a session cookie.",
                {"WWW-Authenticate": CHALLENGE},
            )
        self.limit(f"user:{principal.user}", self.config.rate_limit)
        return principal

    async def current(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
        _cookie: Annotated[str | None, Depends(cookie_scheme)],
    ) -> Principal:
        """The dependency for any logged-in caller (:meth:`admit`); a change made with a session must carry
        its CSRF token (403 otherwise). A secret this process checked before costs a few rows read: on a
        SQLite or memory node done here on the event loop (handing every request to a thread and back cost
        more than the check on two cores), on a database server (``reads_wait``) in a worker thread, as
        is a secret that needs argon2id."""
        if self.reads_wait:
            principal = await run_in_threadpool(self.admit, request)
        else:
            try:
                principal = self.admit(request, quick=True)
            except SlowCheckError:
                principal = await run_in_threadpool(self.admit, request)
        if principal.via == "session" and request.method not in SAFE_METHODS:
            await self._check_csrf(request, principal)
        request.state.principal = principal
        return principal

    async def _check_csrf(self, request: Request, principal: Principal) -> None:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(_FORMS):
            field = (await request.form()).get(CSRF_FIELD)
            given = field if isinstance(field, str) else None
        if not given or principal.csrf is None or not self.users.same(given, principal.csrf):
            raise HTTPException(
                403,
                f"A change made with a session cookie needs the session's CSRF token in the {CSRF_HEADER} "
                f"header (or the {CSRF_FIELD} form field); GET /api/v1/session gives it.",
            )

    def require(self, permission: Permission) -> Callable[..., Awaitable[Principal]]:
        """A dependency: the caller, if their role may ``permission``; else 403 naming what is missing."""

        async def allowed(principal: Annotated[Principal, Depends(self.current)]) -> Principal:
            if principal.must_change_password:
                raise HTTPException(
                    403,
                    "Change the one-time password first: POST /api/v1/session/password.",
                )
            if not principal.may(permission):
                raise HTTPException(
                    403,
                    f"Role {principal.role} may not do this (it needs the {permission.value} permission).",
                )
            act_for(principal)
            return principal

        return allowed

    # -- logging in and out, and the password ----------------------------------------------------------
    def count_password_check(self, request: Request, name: str) -> None:
        """Count one check of ``name``'s password against the login limits (per user name, per client
        address), before it is made: a login, or the current password a password change gives. 429
        once past either."""
        self.limit(f"login:{name[:64]}", self.config.login_limit)
        self.limit(f"login-from:{_client(request)}", self.config.login_limit)

    def open_session(self, request: Request, response: Response, name: str, password: str) -> Principal:
        """Log ``name`` in with ``password``: sets the session cookie on ``response``; 401 if they do not
        match (the same answer for an unknown name), 429 after too many attempts."""
        self.count_password_check(request, name)
        session = self.users.login(name, password)
        if session is None:
            raise HTTPException(
                401, "That user name and password do not match.", {"WWW-Authenticate": CHALLENGE}
            )
        self.set_cookie(response, session)
        return session.principal

    def change_password(self, request: Request, principal: Principal, current: str, new: str) -> None:
        """The caller's own password changed to ``new`` once ``current`` matches, the check counted like a
        login's (429 past the limit, so a stolen session or token cannot guess the password faster than
        the login form lets anyone). The user's other sessions end; the caller's own stays."""
        self.count_password_check(request, principal.user)
        self.users.change_password(principal.user, current, new, session=principal.session)

    def close_session(self, response: Response, principal: Principal) -> None:
        """Log the caller out: the session ends for every worker, and the cookie is cleared."""
        if principal.session is not None:
            self.users.logout(principal.session)
        self.clear_cookie(response)
