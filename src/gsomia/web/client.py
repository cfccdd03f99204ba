"""Pulling from a partner's TAXII 2.1 server with ``taxii2-client`` (a client no one here wrote)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from gsomia.domain.errors import GsomiaError

from .collections import collection_id
from .stamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    import requests

PAGE = 1000
MAX_OBJECTS = (
    2_000_000  # a partner's collection is read whole: a bound, so an endless one cannot exhaust memory
)


def pull(
    url: str, party: str, token: str, added_after: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The objects in the collection the partner at ``url`` holds for ``party`` (only those added after
    ``added_after``, a TAXII timestamp, when given), page by page; and the greatest
    ``X-TAXII-Date-Added-Last`` the pages carried (None when nothing was served, or the server did not
    say): where the next pull can start."""
    import requests
    from taxii2client.exceptions import TAXIIServiceException  # type: ignore[import-untyped]
    from taxii2client.v21 import Collection, as_pages  # type: ignore[import-untyped]

    base = url.rstrip("/")
    target = f"{base}/taxii2/gsomia/collections/{collection_id(party)}/"
    lasts: list[datetime] = []
    try:
        collection = Collection(target, user=party, password=token)
        if not _watch_date_added(collection, lasts):
            added_after = None  # no headers to say how far this pull got: take everything, as before
        filters = {} if added_after is None else {"added_after": added_after}
        objects: list[dict[str, Any]] = []
        for envelope in as_pages(collection.get_objects, per_request=PAGE, **filters):
            objects.extend(envelope.get("objects", []))
            if len(objects) > MAX_OBJECTS:
                raise GsomiaError(f"{base} served more than {MAX_OBJECTS:,} objects; nothing was taken")
    except (requests.RequestException, TAXIIServiceException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GsomiaError(f"cannot pull from {base}: {first}") from None
    return objects, (format_timestamp(max(lasts)) if lasts else None)


def _watch_date_added(collection: object, lasts: list[datetime]) -> bool:
    """Have every response to ``collection``'s requests add its ``X-TAXII-Date-Added-Last`` (parsed) to
    ``lasts``; False when that cannot be done.

    taxii2-client returns a page's JSON only, not its headers; it sends every request through one
    ``requests.Session``, which takes response hooks. That session sits on the collection's private
    ``_conn`` (an ``_HTTPConnection``, whose ``session`` attribute is documented): the one place this
    module reaches into taxii2-client, so a release that moves it costs the incremental pull, not the
    pull."""
    session = getattr(getattr(collection, "_conn", None), "session", None)
    hooks = getattr(session, "hooks", None)
    if not isinstance(hooks, dict) or not isinstance(hooks.get("response"), list):
        return False

    def hook(response: requests.Response, *args: object, **kwargs: object) -> None:
        text = response.headers.get("X-TAXII-Date-Added-Last") if response.ok else None
        try:
            if text:
                lasts.append(parse_timestamp(text))
        except GsomiaError:
            pass  # a header this node cannot read does not move the cursor; the objects are still taken

    hooks["response"].append(hook)
    return True


def peer_log(url: str, party: str, token: str, old: int | None) -> dict[str, Any]:
    """The partner's newest signed head, with the consistency proof from ``old`` leaves when given."""
    import requests

    base = url.rstrip("/")
    path = "/gsomia/v1/log/head" if old is None else f"/gsomia/v1/log/consistency?old={old}"
    try:
        answer = requests.get(base + path, auth=(party, token), timeout=60)
    except requests.RequestException as exc:
        raise GsomiaError(f"cannot read {base}'s log head: {type(exc).__name__}") from None
    if answer.status_code != 200:
        raise GsomiaError(f"{base} refused its log head ({answer.status_code}): {answer.text[:200]}")
    found = answer.json()
    if not isinstance(found, dict):
        raise GsomiaError(f"{base} answered its log head with something else than an object")
    return found if old is not None else {"head": found}


def push(url: str, party: str, token: str, objects: list[dict[str, Any]]) -> None:
    """Add ``objects`` (receipts) to the collection the partner at ``url`` holds for ``party``."""
    import requests
    from taxii2client.exceptions import TAXIIServiceException
    from taxii2client.v21 import Collection

    base = url.rstrip("/")
    target = f"{base}/taxii2/gsomia/collections/{collection_id(party)}/"
    try:
        status = Collection(target, user=party, password=token).add_objects({"objects": objects})
    except (requests.RequestException, TAXIIServiceException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GsomiaError(f"cannot send receipts to {base}: {first}") from None
    if status.failure_count:
        raise GsomiaError(f"{base} refused {status.failure_count} receipt(s): {status.failures[:1]}")
