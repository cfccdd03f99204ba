"""What every page shares: the templates, who is looking (and what they may see), CSRF, days, answers.

Pages use the node's session machinery (``request.app.state.auth``, a :class:`~gsomia.web.auth.WebAuth`)
rather than their own: :func:`gate` admits the caller like the API does (rate limit included) but answers a
browser the way a browser needs, with a 303 to the login page when nobody is logged in, a 303 to the
password page while the one-time password is unchanged, and an HTML 403 page for a role that may not look;
the caller it admits is the request's actor (:func:`~gsomia.web.auth.act_for`), so what a form writes is
attributed to them in the log, as through the API.
Every page is rendered from a Jinja2 template with autoescape on; charts (already escaped SVG, see
:mod:`gsomia.web.charts`) are the only markup passed through as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.exceptions import HTTPException

from gsomia.bootstrap import utc_now
from gsomia.domain.days import day_problem
from gsomia.services.actor import ACTOR
from gsomia.services.users import Permission, Principal

from ..auth import CSRF_FIELD, CSRF_HEADER, WebAuth, act_for

PREFIX = "/ui"
LOGIN = PREFIX + "/login"
PASSWORD = PREFIX + "/password"
MAX_TEXT = 200  # characters kept of any id or free text a page is given
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# (path, label, the permission it needs; None: anyone logged in), in the order the menu shows them
NAV: tuple[tuple[str, str, Permission | None], ...] = (
    (PREFIX, "Dashboard", None),
    (PREFIX + "/network", "Network", Permission.WORLD_READ),
    (PREFIX + "/timeline", "Timeline", Permission.WORLD_READ),
    (PREFIX + "/decide", "Decide", Permission.DECIDE),
    (PREFIX + "/whatif", "What if", Permission.IMPACT),
    (PREFIX + "/items", "Items", Permission.WORLD_READ),
    (PREFIX + "/releases", "Releases", Permission.RELEASE_READ),
    (PREFIX + "/consents", "Consents", Permission.CONSENT_READ),
    (PREFIX + "/log", "Log", Permission.LOG_READ),
)

_templates = Environment(
    loader=PackageLoader("gsomia.web.pages", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def auth_of(request: Request) -> WebAuth:
    """The app's session machinery (set by :func:`gsomia.web.app.create_app`)."""
    auth = getattr(request.app.state, "auth", None)
    if not isinstance(auth, WebAuth):
        raise RuntimeError("the web pages need an app made by create_app(services=...)")
    return auth


def today() -> date:
    return utc_now().date()


def text(value: str | None) -> str:
    """A query or form value as plain text: stripped, cut to :data:`MAX_TEXT`, control characters out."""
    if value is None:
        return ""
    kept = "".join(c for c in value[: MAX_TEXT * 4] if c.isprintable())
    return kept.strip()[:MAX_TEXT]


def whole(value: str | None) -> int | None:
    """``value`` as a whole number (0 or more, at most 18 digits), or None."""
    given = text(value)
    return int(given) if given.isascii() and given.isdigit() and len(given) <= 18 else None


def day_of(value: str | None, default: date | None) -> tuple[date | None, str]:
    """The day ``value`` names (``YYYY-MM-DD``), or ``default`` and a sentence saying what was wrong."""
    given = text(value)
    if not given:
        return default, ""
    if len(given) == 10:
        try:
            day = date.fromisoformat(given)
        except ValueError:
            pass
        else:
            problem = day_problem(day)
            return (day, "") if problem is None else (default, f"{problem[:1].upper()}{problem[1:]}.")
    return default, f"{given[:20]!r} is not a calendar day; write it as YYYY-MM-DD, like 2019-11-23."


# -- answers --------------------------------------------------------------------------------------------


def page(
    request: Request,
    template: str,
    principal: Principal | None,
    status: int = 200,
    **context: object,
) -> HTMLResponse:
    """The HTML page ``template`` rendered for ``principal``, with the menu their role may follow."""
    nav = [
        (path, label)
        for path, label, need in NAV
        if principal is not None
        and not principal.must_change_password
        and (need is None or principal.may(need))
    ]
    csrf = principal.csrf if principal is not None and principal.csrf else ""
    body = _templates.get_template(template).render(
        request_path=request.url.path,
        principal=principal,
        nav=nav,
        csrf_token=csrf,
        csrf_field=CSRF_FIELD,
        prefix=PREFIX,
        **context,
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def error_page(
    request: Request,
    principal: Principal | None,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    answer = page(request, "error.html", principal, status, title=f"Error {status}", message=message)
    answer.headers.update(dict(headers or {}))
    return answer


def see_other(path: str) -> RedirectResponse:
    """A 303 to ``path`` (always a path on this node)."""
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


def chart(svg: str) -> Markup:
    """An SVG from :mod:`gsomia.web.charts`, which escapes every text and attribute it draws."""
    return Markup(svg)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a page of this UI, never another site."""
    given = text(value)
    ok = given.startswith(PREFIX) and not given.startswith("//") and "\\" not in given and "//" not in given
    return given if ok and not given.startswith(LOGIN) else PREFIX


# -- who is looking -------------------------------------------------------------------------------------


def gate(
    request: Request, permission: Permission | None, *, temporary_ok: bool = False
) -> Principal | Response:
    """The logged-in caller if their role may ``permission`` (None: anyone logged in); else the answer
    to give instead: a 303 to the login (or password) page, or an HTML error page (403, 429)."""
    auth = auth_of(request)
    try:
        principal = auth.admit(request)
    except HTTPException as exc:
        if exc.status_code == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return see_other(f"{LOGIN}?next={quote(target, safe='')}")
        return error_page(request, None, exc.status_code, str(exc.detail), exc.headers)
    if principal.must_change_password and not temporary_ok:
        return see_other(PASSWORD)
    if permission is not None and not principal.may(permission):
        return error_page(
            request,
            principal,
            403,
            f"Your role ({principal.role}) may not open this page: it needs the {permission.value} "
            "permission. Ask an admin for another role if your work needs it.",
        )
    act_for(principal)  # what the page writes is this user's, as through the API
    return principal


async def actor_scope() -> AsyncIterator[None]:
    """Every page's dependency: the request starts with no actor (only :func:`gate` names one, once it has
    admitted the caller) and leaves none behind it, whatever served it before or after."""
    token = ACTOR.set(None)
    try:
        yield
    finally:
        ACTOR.reset(token)


def csrf_ok(request: Request, principal: Principal, given: str | None) -> bool:
    """Whether a change made by ``principal`` carries its session's CSRF token (in the form field or the
    ``X-CSRF-Token`` header); an API token needs none, as for the API."""
    if principal.via != "session":
        return True
    token = given or request.headers.get(CSRF_HEADER) or ""
    if not token or principal.csrf is None or len(token) > 512:
        return False
    return auth_of(request).users.same(token, principal.csrf)


def csrf_refused(request: Request, principal: Principal) -> HTMLResponse:
    return error_page(
        request,
        principal,
        403,
        "This form was sent without the session's CSRF token (or with another session's). Reload the "
        "page and send the form again.",
    )
