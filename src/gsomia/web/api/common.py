"""What every API route shares: keyset cursors, ETags, the problem responses it documents, its errors.

Lists are keyset-paginated: each is served in a fixed order of an increasing key (a record's ``seq``, a
release's number, a user's name), and ``next`` is an opaque cursor for the last key served, never an
offset, so rows added while a client pages neither repeat nor shift. Reads carry a strong ETag (a hash of
the body); ``If-None-Match`` with it gets 304 and no body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request, Response
from pydantic import BaseModel

from gsomia.domain.errors import GsomiaError

T = TypeVar("T")
MAX_PAGE = 1000
DEFAULT_PAGE = 100
PROBLEM = "application/problem+json"


class ApiInputError(GsomiaError):
    """A request the API cannot use (a cursor it did not issue, a filter that does not parse): 400."""


class NotFoundError(GsomiaError):
    """The path names something this node does not hold: 404."""


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page (at most 1000).")]
After = Annotated[
    str | None, Query(max_length=400, description="The `next` cursor of the previous page; omit to start.")
]
DayQ = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        description="A day, YYYY-MM-DD.",
        json_schema_extra={"format": "date"},
    ),
]
FromQ = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        description="The first day, YYYY-MM-DD.",
        json_schema_extra={"format": "date"},
    ),
]
IdQ = Annotated[str | None, Query(min_length=1, max_length=200)]


# -- cursors ------------------------------------------------------------------------------------------


def encode_cursor(kind: str, key: int | str) -> str:
    raw = json.dumps([kind, key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(kind: str, token: str) -> object:
    bad = ApiInputError(f"after is not a cursor this API issued for {kind}; start again without it")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        issued_for, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise bad from None
    if issued_for != kind:
        raise bad
    return key


def seq_after(kind: str, token: str | None) -> int:
    """The number a cursor for ``kind`` names (0: from the start)."""
    if token is None:
        return 0
    key = _decode(kind, token)
    if type(key) is not int or not 0 <= key < 2**63:
        raise ApiInputError(f"after is not a cursor this API issued for {kind}; start again without it")
    return key


def name_after(kind: str, token: str | None) -> str:
    if token is None:
        return ""
    key = _decode(kind, token)
    if not isinstance(key, str) or len(key) > 200:
        raise ApiInputError(f"after is not a cursor this API issued for {kind}; start again without it")
    return key


def page_of(
    kind: str, rows: Iterable[T], key: Callable[[T], int | str], limit: int
) -> tuple[list[T], str | None]:
    """Up to ``limit`` of ``rows`` (already past the cursor, in key order), and the next cursor if more
    follow."""
    out: list[T] = []
    for row in rows:
        if len(out) == limit:
            return out, encode_cursor(kind, key(out[-1]))
        out.append(row)
    return out, None


def chunks(fetch: Callable[[int, int], Sequence[T]], after: int, key: Callable[[T], int]) -> Iterator[T]:
    """Every row ``fetch(after, n)`` gives, page after page, read lazily (for filtered keyset lists)."""
    while True:
        rows = fetch(after, 500)
        if not rows:
            return
        yield from rows
        after = key(rows[-1])


def day_of(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiInputError(f"{name}: {text[:20]!r} is not a calendar day; write YYYY-MM-DD") from None


def within(day: str, start: date | None, end: date | None) -> bool:
    """Whether the ISO day ``day`` lies in ``start``..``end`` (open bounds when None)."""
    return (start is None or day >= start.isoformat()) and (end is None or day <= end.isoformat())


# -- responses ----------------------------------------------------------------------------------------


def etagged(request: Request, body: BaseModel | bytes, media_type: str = "application/json") -> Response:
    """A read's response with a strong ETag; 304 without a body when the client holds that version."""
    content = body if isinstance(body, bytes) else body.model_dump_json(by_alias=True).encode()
    tag = '"' + hashlib.sha256(content).hexdigest()[:40] + '"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    wanted = request.headers.get("if-none-match", "")
    if tag in (t.strip().removeprefix("W/") for t in wanted.split(",")[:50]) or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


def json_of(body: BaseModel, status: int = 200) -> Response:
    """A write's response: the body, never cached."""
    content = body.model_dump_json(by_alias=True).encode()
    return Response(content, status_code=status, media_type="application/json", headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store"}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses an operation documents (always 401 and 429; 304 for reads is added apart)."""
    text = {
        400: "Bad input: the detail says what to change.",
        401: "No valid credentials.",
        403: "This role may not do this (or a session change lacks its CSRF token).",
        404: "Not on this node.",
        409: "Conflicts with the node's state (a notice while one is pending, a consent step out of order).",
        413: "The request body is larger than the API takes (4 MiB); send less, or split it.",
        422: "The body or a parameter does not validate; errors name each field.",
        429: "Too many requests; see Retry-After.",
    }
    chosen = sorted({400, 401, 403, 422, 429, *codes})
    return {code: {"description": text[code]} for code in chosen}


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified (If-None-Match)."}}
