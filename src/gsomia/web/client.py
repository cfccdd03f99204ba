"""Pulling from a partner's TAXII 2.1 server with ``taxii2-client`` (a client no one here wrote)."""

from __future__ import annotations

from typing import Any

from gsomia.domain.errors import GsomiaError

from .node_source import collection_id

PAGE = 1000
MAX_OBJECTS = (
    2_000_000  # a partner's collection is read whole: a bound, so an endless one cannot exhaust memory
)


def pull(url: str, party: str, token: str) -> list[dict[str, Any]]:
    """Every object in the collection the partner at ``url`` holds for ``party``, page by page."""
    import requests
    from taxii2client.exceptions import TAXIIServiceException  # type: ignore[import-untyped]
    from taxii2client.v21 import Collection, as_pages  # type: ignore[import-untyped]

    base = url.rstrip("/")
    target = f"{base}/taxii2/gsomia/collections/{collection_id(party)}/"
    try:
        collection = Collection(target, user=party, password=token)
        objects: list[dict[str, Any]] = []
        for envelope in as_pages(collection.get_objects, per_request=PAGE):
            objects.extend(envelope.get("objects", []))
            if len(objects) > MAX_OBJECTS:
                raise GsomiaError(f"{base} served more than {MAX_OBJECTS:,} objects; nothing was taken")
    except (requests.RequestException, TAXIIServiceException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GsomiaError(f"cannot pull from {base}: {first}") from None
    return objects


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
