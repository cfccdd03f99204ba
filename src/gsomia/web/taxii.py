"""TAXII 2.1 over HTTP: how gsomia nodes hand each other STIX 2.1 objects.

The router renders and parses; it decides nothing about classified content. A :class:`TaxiiSource` (the
node's services) answers four questions: who is this caller (:meth:`~TaxiiSource.authenticate`), which
collections may they see (:meth:`~TaxiiSource.collections_for`), what is the next page of a collection for
them (:meth:`~TaxiiSource.page`, where per-object release rules apply: an object a caller may not have is
simply not in the page), and what happens to an envelope they push (:meth:`~TaxiiSource.accept`,
:meth:`~TaxiiSource.status`).

Every list endpoint (objects, one object, manifest, versions) is one ``page`` call, so there is a single
place where objects are withheld. Pages are keyset-paginated: an object's position is
``(date_added, seq)`` (``seq`` is the source's own increasing row number, breaking ties), and ``next`` is an
opaque token for the last position served, never an offset, so objects added while a client pages through
a collection neither repeat nor shift. docs/taxii.md describes the wire protocol.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at run time, and the
# dependency aliases they use (``Party``) are local to taxii_router, where only eager evaluation finds them.

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .problems import TAXII_MEDIA_TYPE
from .stamps import TaxiiInputError as TaxiiInputError
from .stamps import format_timestamp as format_timestamp
from .stamps import parse_timestamp as parse_timestamp

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
API_ROOT = "gsomia"
MAX_LIMIT = 1000  # objects per page; a larger limit is served as this one
MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # bytes in a pushed envelope
MAX_MATCH_VALUES = 100  # values in one match[...] filter

_CHALLENGE = 'Basic realm="gsomia", charset="UTF-8", Bearer realm="gsomia"'
_STIX_TYPE = re.compile(r"[a-z][a-z0-9-]{0,249}")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_STIX_ID = re.compile(rf"[a-z][a-z0-9-]{{0,249}}--{_UUID}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------------- the source


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection as one caller sees it (``can_read``/``can_write`` are that caller's rights)."""

    id: str
    title: str
    description: str = ""
    can_read: bool = True
    can_write: bool = False
    media_types: tuple[str, ...] = (STIX_MEDIA_TYPE,)


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """A position in a collection: objects are served in ``(date_added, seq)`` order, strictly after it."""

    date_added: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One version of one STIX object in a collection, as served: ``data`` is the STIX object itself."""

    id: str
    type: str
    version: datetime  # the object's ``modified``, or ``created`` if it has none
    date_added: datetime  # when this version entered the collection (UTC)
    seq: int  # the source's increasing row number: breaks ties between equal date_added
    data: Mapping[str, Any]
    media_type: str = STIX_MEDIA_TYPE

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.date_added, self.seq)


@dataclass(frozen=True, slots=True)
class VersionMatch:
    """``match[version]``: which versions of each object qualify (``last`` unless the client says)."""

    first: bool = False
    last: bool = True
    all: bool = False
    at: frozenset[datetime] = frozenset()

    def picks(self, version: datetime, *, first: datetime, last: datetime) -> bool:
        """Whether ``version`` qualifies, given the object's first and last version timestamps."""
        return (
            self.all
            or (self.first and version == first)
            or (self.last and version == last)
            or version in self.at
        )


ALL_VERSIONS = VersionMatch(last=False, all=True)


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What a client asked for: up to ``limit`` entries after ``after``, passing every filter given."""

    after: Cursor | None = None
    limit: int = MAX_LIMIT
    added_after: datetime | None = None  # date_added strictly later than this
    ids: frozenset[str] = frozenset()  # empty: any id
    types: frozenset[str] = frozenset()  # empty: any type
    versions: VersionMatch = VersionMatch()


@dataclass(frozen=True, slots=True)
class Page:
    """Up to ``limit`` entries in ``(date_added, seq)`` order, and whether more qualify after them.

    ``resume`` is where the next page starts; it defaults to the last entry's position and may lie beyond
    it when the source examined (and withheld) later entries."""

    entries: Sequence[Entry]
    more: bool
    resume: Cursor | None = None

    @property
    def position(self) -> Cursor | None:
        return self.resume or (self.entries[-1].cursor if self.entries else None)


@dataclass(frozen=True, slots=True)
class StatusDetail:
    """One object's outcome in a status resource."""

    id: str
    version: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """A TAXII status resource: what became of an envelope a partner pushed."""

    id: str
    status: str  # "pending" or "complete"
    request_timestamp: datetime | None = None
    successes: tuple[StatusDetail, ...] = ()
    failures: tuple[StatusDetail, ...] = ()
    pendings: tuple[StatusDetail, ...] = ()
    total_count: int | None = None  # defaults to the three lists' lengths summed


class TaxiiSource(Protocol):
    """What the TAXII router needs from a node. Every method may raise a GsomiaError (mapped to 4xx)."""

    def authenticate(self, party: str | None, token: str) -> str | None:
        """The caller's party id if ``token`` is theirs (``party`` given by Basic auth), else None.

        Compares secrets in constant time; the router never sees stored secrets."""
        ...

    def collections_for(self, party: str) -> Sequence[CollectionInfo]:
        """The collections ``party`` may see; any other collection id is refused with 403."""
        ...

    def page(self, collection_id: str, party: str, query: PageQuery) -> Page:
        """The next entries of a collection for ``party``, leaving out any it may not receive."""
        ...

    def accept(self, collection_id: str, party: str, envelope: dict[str, Any]) -> StatusInfo:
        """Take an envelope ``party`` pushed (``objects`` is a non-empty list of STIX-shaped objects)."""
        ...

    def status(self, status_id: str, party: str) -> StatusInfo | None:
        """A status resource ``party`` may see, or None (unknown, or someone else's)."""
        ...


# ------------------------------------------------------------------------------------ timestamps and tokens


def encode_next(collection_id: str, cursor: Cursor) -> str:
    """The opaque ``next`` token for a position in a collection."""
    micros = (cursor.date_added - _EPOCH) // _MICROSECOND
    raw = json.dumps([collection_id, micros, cursor.seq], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_next(collection_id: str, token: str) -> Cursor:
    """The position a ``next`` token names; it must have been issued for this collection."""
    bad = TaxiiInputError("next is not a token this server issued for this collection; start without next")
    if len(token) > 400:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        issued_for, micros, seq = json.loads(raw)
        if issued_for != collection_id or type(micros) is not int or type(seq) is not int:
            raise bad
        return Cursor(_EPOCH + micros * _MICROSECOND, seq)
    except (binascii.Error, ValueError, TypeError, OverflowError, RecursionError):
        raise bad from None


# ------------------------------------------------------------------------------------------ request parsing


def credentials(header: str | None) -> tuple[str | None, str] | None:
    """(party or None, token) from an ``Authorization`` header, or None if there is no usable one."""
    if not header or len(header) > 4096:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value and " " not in value:
        return None, value
    if scheme.lower() == "basic":
        try:
            party, colon, token = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            return None
        if colon and party and token:
            return party, token
    return None


def _media_type(text: str) -> tuple[str, str | None]:
    """``application/taxii+json; version=2.1`` -> (``application/taxii+json``, ``2.1``)."""
    media, *params = (p.strip().lower() for p in text.split(";"))
    names = (p.partition("=") for p in params)
    return media, next((value.strip('" ') for name, _, value in names if name.strip() == "version"), None)


def _check_accept(request: Request) -> None:
    """406 unless the client accepts TAXII 2.1 JSON (plain JSON and wildcards are accepted too)."""
    header = request.headers.get("accept")
    if not header:
        return
    for media_range in header.split(",")[:50]:
        media, version = _media_type(media_range)
        if media == "application/taxii+json" and version in (None, "2.1"):
            return
        if media in ("application/json", "application/*", "*/*"):
            return
    raise HTTPException(406, f"This server speaks only {TAXII_MEDIA_TYPE}; send that Accept header.")


def _one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise TaxiiInputError(f"{name} was given {len(values)} times; give it once")
    return values[0] if values else None


def _many(request: Request, name: str, pattern: re.Pattern[str]) -> frozenset[str]:
    values = [v for given in request.query_params.getlist(name) for v in given.split(",")]
    if len(values) > MAX_MATCH_VALUES:
        raise TaxiiInputError(f"{name} has {len(values)} values; give at most {MAX_MATCH_VALUES}")
    for value in values:
        if not pattern.fullmatch(value):
            raise TaxiiInputError(f"{name} value {value[:80]!r} is not a STIX {name[6:-1]}")
    return frozenset(values)


def _limit(text: str | None) -> int:
    if text is None:
        return MAX_LIMIT
    digits = text.lstrip("0")
    if not text.isascii() or not text.isdigit() or not digits:
        raise TaxiiInputError(f"limit must be a positive whole number, not {text[:40]!r}")
    return MAX_LIMIT if len(digits) > 9 else min(int(digits), MAX_LIMIT)


def _versions(request: Request) -> VersionMatch:
    given = [v for text in request.query_params.getlist("match[version]") for v in text.split(",")]
    if not given:
        return VersionMatch()
    if len(given) > MAX_MATCH_VALUES:
        raise TaxiiInputError(f"match[version] has {len(given)} values; give at most {MAX_MATCH_VALUES}")
    words = {v for v in given if v in ("first", "last", "all")}
    stamps = frozenset(parse_timestamp(v) for v in given if v not in words)
    return VersionMatch("first" in words, "last" in words, "all" in words, stamps)


def page_query(
    request: Request, collection_id: str, *, object_id: str | None = None, every_version: bool = False
) -> PageQuery:
    """The query a request's parameters ask for (``limit``, ``next``, ``added_after``, ``match[...]``)."""
    token, added_after = _one(request, "next"), _one(request, "added_after")
    return PageQuery(
        after=decode_next(collection_id, token) if token is not None else None,
        limit=_limit(_one(request, "limit")),
        added_after=parse_timestamp(added_after) if added_after is not None else None,
        ids=frozenset([object_id]) if object_id else _many(request, "match[id]", _STIX_ID),
        types=_many(request, "match[type]", _STIX_TYPE),
        versions=ALL_VERSIONS if every_version else _versions(request),
    )


async def _read_envelope(request: Request, limit: int) -> dict[str, Any]:
    """The pushed envelope: TAXII (or plain) JSON, at most ``limit`` bytes, with a list of objects."""
    media, version = _media_type(request.headers.get("content-type", ""))
    if media not in ("application/taxii+json", "application/json") or version not in (None, "2.1"):
        raise HTTPException(415, f"Send the envelope as {TAXII_MEDIA_TYPE}.")
    declared = request.headers.get("content-length", "")
    too_large = HTTPException(413, f"The envelope is larger than {limit} bytes; send fewer objects at once.")
    if declared.isdigit() and int(declared[:12]) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    try:
        envelope = json.loads(bytes(body), parse_constant=_not_a_number, parse_float=_finite)
    except (ValueError, RecursionError) as error:
        raise TaxiiInputError(f"The body is not JSON ({str(error)[:120]}); send a TAXII envelope") from None
    if (
        not isinstance(envelope, dict)
        or not isinstance(envelope.get("objects"), list)
        or not envelope["objects"]
    ):
        raise TaxiiInputError('The body must be an envelope: a JSON object with a non-empty "objects" list')
    for n, obj in enumerate(envelope["objects"]):
        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), str) for k in ("id", "type")):
            raise TaxiiInputError(f'objects[{n}] is not a STIX object (a JSON object with "type" and "id")')
        if not _STIX_ID.fullmatch(obj["id"]) or not obj["id"].startswith(obj["type"] + "--"):
            raise TaxiiInputError(f"objects[{n}].id {obj['id'][:80]!r} is not a STIX id of its type")
    return envelope


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number as a float, refusing ones too large to write back out (1e999 would be infinity)."""
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is too large a number")
    return number


# ---------------------------------------------------------------------------------------------- rendering


class TaxiiJSONResponse(JSONResponse):
    """JSON written by orjson (in C: a page of 1,000 objects in a fraction of the standard library's
    time); what orjson cannot write (an integer beyond 64 bits, a key that is not a string) falls back
    to the standard library, which writes it or fails as before."""

    def render(self, content: object) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return super().render(content)


def taxii_json(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A TAXII response: TAXII media type, never cached (what is served depends on who asks)."""
    fixed = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})}
    return TaxiiJSONResponse(dict(body), status_code=status, media_type=TAXII_MEDIA_TYPE, headers=fixed)


def _collection(info: CollectionInfo) -> dict[str, Any]:
    body: dict[str, Any] = {"id": info.id, "title": info.title}
    if info.description:
        body["description"] = info.description
    body.update(can_read=info.can_read, can_write=info.can_write, media_types=list(info.media_types))
    return body


def _status(info: StatusInfo) -> dict[str, Any]:
    def details(items: tuple[StatusDetail, ...]) -> list[dict[str, str]]:
        return [
            {"id": d.id, "version": d.version, **({"message": d.message} if d.message else {})} for d in items
        ]

    lists = {"successes": info.successes, "failures": info.failures, "pendings": info.pendings}
    body: dict[str, Any] = {
        "id": info.id,
        "status": info.status,
        "total_count": sum(map(len, lists.values())) if info.total_count is None else info.total_count,
        "success_count": len(info.successes),
        "failure_count": len(info.failures),
        "pending_count": len(info.pendings),
    }
    if info.request_timestamp is not None:
        body["request_timestamp"] = format_timestamp(info.request_timestamp)
    body.update({name: details(items) for name, items in lists.items() if items})
    return body


def _paged(collection_id: str, page: Page, key: str, items: list[Any]) -> JSONResponse:
    """An envelope-like page (``more``, ``next``, and ``key``: the items) with the date-added headers."""
    body: dict[str, Any] = {"more": page.more and page.position is not None}
    if body["more"]:
        assert page.position is not None
        body["next"] = encode_next(collection_id, page.position)
    if items:
        body[key] = items
    headers = {}
    if page.entries:
        headers["X-TAXII-Date-Added-First"] = format_timestamp(page.entries[0].date_added)
        headers["X-TAXII-Date-Added-Last"] = format_timestamp(page.entries[-1].date_added)
    return taxii_json(body, headers=headers)


def _manifest_record(entry: Entry) -> dict[str, str]:
    return {
        "id": entry.id,
        "date_added": format_timestamp(entry.date_added),
        "version": format_timestamp(entry.version),
        "media_type": entry.media_type,
    }


# ------------------------------------------------------------------------------------------------ routes


def taxii_router(
    source: TaxiiSource,
    *,
    api_root: str = API_ROOT,
    title: str = "gsomia node",
    description: str = "STIX 2.1 exchange between gsomia nodes, as their security agreements allow.",
    max_content_length: int = MAX_CONTENT_LENGTH,
) -> APIRouter:
    """The TAXII 2.1 routes under ``/taxii2/``: discovery and one API root named ``api_root``."""

    def caller(request: Request) -> str:
        given = credentials(request.headers.get("authorization"))
        party = source.authenticate(*given) if given else None
        if party is None or (given is not None and given[0] is not None and given[0] != party):
            raise HTTPException(
                401,
                "Give a party id and token (HTTP Basic) or a bearer token.",
                {"WWW-Authenticate": _CHALLENGE},
            )
        return party

    Party = Annotated[str, Depends(caller)]  # noqa: N806  (a type alias, named like one)

    def collection(party: str, collection_id: str, need: str = "") -> CollectionInfo:
        info = next((c for c in source.collections_for(party) if c.id == collection_id), None)
        if info is None:
            raise HTTPException(403, f"Party {party} has no collection {collection_id[:80]!r}.")
        if (need == "read" and not info.can_read) or (need == "write" and not info.can_write):
            raise HTTPException(403, f"Party {party} may not {need} collection {collection_id}.")
        return info

    def fetch(
        request: Request,
        party: str,
        collection_id: str,
        object_id: str | None = None,
        *,
        every: bool = False,
    ) -> Page:
        collection(party, collection_id, "read")
        if object_id is not None and not _STIX_ID.fullmatch(object_id):
            raise HTTPException(404, f"{object_id[:80]!r} is not a STIX id, so no object has it.")
        wanted = page_query(request, collection_id, object_id=object_id, every_version=every)
        page = source.page(collection_id, party, wanted)
        if object_id is not None and not page.entries and wanted.after is None and wanted.added_after is None:
            raise HTTPException(404, f"Collection {collection_id} has no object {object_id} for you.")
        return page

    router = APIRouter(prefix="/taxii2", dependencies=[Depends(caller), Depends(_check_accept)])
    root = f"/{api_root}"
    objects = root + "/collections/{collection_id}/objects/"

    @router.get("/")
    def discovery(request: Request) -> JSONResponse:
        here = str(request.url.replace(query=""))
        url = here + f"{api_root}/"
        return taxii_json({"title": title, "description": description, "default": url, "api_roots": [url]})

    @router.get(root + "/")
    def api_root_information() -> JSONResponse:
        return taxii_json(
            {
                "title": title,
                "description": description,
                "versions": [TAXII_MEDIA_TYPE],
                "max_content_length": max_content_length,
            }
        )

    @router.get(root + "/collections/")
    def collections(party: Party) -> JSONResponse:
        found = [_collection(c) for c in source.collections_for(party)]
        return taxii_json({"collections": found} if found else {})

    @router.get(root + "/collections/{collection_id}/")
    def one_collection(party: Party, collection_id: str) -> JSONResponse:
        return taxii_json(_collection(collection(party, collection_id)))

    @router.get(objects)
    def get_objects(request: Request, party: Party, collection_id: str) -> JSONResponse:
        page = fetch(request, party, collection_id)
        return _paged(collection_id, page, "objects", [dict(e.data) for e in page.entries])

    @router.get(objects + "{object_id}/")
    def get_object(request: Request, party: Party, collection_id: str, object_id: str) -> JSONResponse:
        page = fetch(request, party, collection_id, object_id=object_id)
        return _paged(collection_id, page, "objects", [dict(e.data) for e in page.entries])

    @router.get(objects + "{object_id}/versions/")
    def get_versions(request: Request, party: Party, collection_id: str, object_id: str) -> JSONResponse:
        page = fetch(request, party, collection_id, object_id, every=True)
        return _paged(collection_id, page, "versions", [format_timestamp(e.version) for e in page.entries])

    @router.get(root + "/collections/{collection_id}/manifest/")
    def get_manifest(request: Request, party: Party, collection_id: str) -> JSONResponse:
        page = fetch(request, party, collection_id)
        return _paged(collection_id, page, "objects", [_manifest_record(e) for e in page.entries])

    async def envelope(request: Request) -> dict[str, Any]:
        return await _read_envelope(request, max_content_length)

    @router.post(objects, status_code=202)
    def add_objects(
        party: Party, collection_id: str, pushed: Annotated[dict[str, Any], Depends(envelope)]
    ) -> JSONResponse:
        collection(party, collection_id, "write")
        return taxii_json(_status(source.accept(collection_id, party, pushed)), status=202)

    @router.get(root + "/status/{status_id}/")
    def get_status(party: Party, status_id: str) -> JSONResponse:
        info = source.status(status_id, party) if len(status_id) <= 200 else None
        if info is None:
            raise HTTPException(404, f"No status {status_id[:80]!r} for party {party}.")
        return taxii_json(_status(info))

    return router
