"""Pulling from a partner's TAXII 2.1 server with ``taxii2-client`` (a client no one here wrote)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from gsomia.domain.errors import GsomiaError

from .collections import collection_id
from .stamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    import requests

C = TypeVar("C")
PAGE = 1000
# the first page is smaller: its bundles are made while the pull waits (a partner's server makes the rest
# while this node takes the first), and 600 objects are about the 200 bundles a receiving node takes in
# one unit of work
FIRST_PAGE = 600
TIMEOUT_S = 60.0  # seconds a partner may take to connect, or between two reads of an answer
MAX_EMPTY = 100  # empty pages in a row that say more objects follow: a server going round in circles
MAX_OBJECTS = 2_000_000  # objects in one pull: a bound, so an endless collection cannot keep a sync going


class Pages:
    """The pages of a pull, fetched one ahead on a thread of their own: while the caller takes one page,
    the partner serves the next. Iterate once; then :attr:`last` is where the next pull can start."""

    def __init__(self, url: str, party: str, token: str, added_after: str | None = None) -> None:
        self._queue: queue.Queue[list[dict[str, Any]] | BaseException | None] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._last: str | None = None
        self._done = False
        args = (url, party, token, added_after)
        threading.Thread(target=self._fetch, args=args, name="gsomia-pull", daemon=True).start()

    @property
    def last(self) -> str | None:
        """The greatest ``X-TAXII-Date-Added-Last`` the pages carried, once they were all read."""
        return self._last if self._done else None

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        try:
            while (found := self._queue.get()) is not None:
                if isinstance(found, BaseException):
                    raise found
                yield found
            self._done = True
        finally:
            self._stop.set()  # the caller stopped early: the fetching thread stops too

    def _fetch(self, url: str, party: str, token: str, added_after: str | None) -> None:
        try:
            for page in _pages(url, party, token, added_after, self._dates):
                if not self._put(page):
                    return
            self._put(None)
        except BaseException as exc:  # handed to the caller, which raises it
            self._put(exc)

    def _dates(self, last: str | None) -> None:
        self._last = last

    def _put(self, item: list[dict[str, Any]] | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False


def pull(
    url: str, party: str, token: str, added_after: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The objects in the collection the partner at ``url`` holds for ``party`` (only those added after
    ``added_after``, a TAXII timestamp, when given), page by page; and the greatest
    ``X-TAXII-Date-Added-Last`` the pages carried (None when nothing was served, or the server did not
    say): where the next pull can start."""
    found: list[str | None] = [None]
    objects: list[dict[str, Any]] = []
    for page in _pages(url, party, token, added_after, lambda last: found.__setitem__(0, last)):
        objects.extend(page)
    return objects, found[0]


def _pages(
    url: str, party: str, token: str, added_after: str | None, dates: Callable[[str | None], None]
) -> Iterator[list[dict[str, Any]]]:
    """The objects of each page, in order; ``dates`` is told the greatest date_added so far after each."""
    import requests
    from taxii2client.exceptions import TAXIIServiceException  # type: ignore[import-untyped]
    from taxii2client.v21 import Collection  # type: ignore[import-untyped]

    base = url.rstrip("/")
    target = f"{base}/taxii2/gsomia/collections/{collection_id(party)}/"
    lasts: list[datetime] = []
    try:
        with _bounded(Collection(target, user=party, password=token)) as collection:
            if not _watch_date_added(collection, lasts):
                added_after = None  # no headers to say how far this pull got: take everything, as before
            filters = {} if added_after is None else {"added_after": added_after}
            count = 0
            for envelope in _envelopes(collection.get_objects, filters, base):
                page = envelope.get("objects", [])
                page = page if isinstance(page, list) else []
                count += len(page)
                if count > MAX_OBJECTS:
                    raise GsomiaError(f"{base} served more than {MAX_OBJECTS:,} objects in one pull; stopped")
                dates(format_timestamp(max(lasts)) if lasts else None)
                yield page
    except (requests.RequestException, TAXIIServiceException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GsomiaError(f"cannot pull from {base}: {first}") from None


def _envelopes(
    get_objects: Callable[..., dict[str, Any]], filters: dict[str, str], base: str
) -> Iterator[dict[str, Any]]:
    """The envelopes of a pull, each page asked for after the one before by its ``next`` (as
    taxii2-client's ``as_pages`` does, but with a smaller first page; a server that serves fewer
    objects than asked is simply asked again). A server that says ``more`` without a new ``next``, or
    with :data:`MAX_EMPTY` empty pages in a row, is a GsomiaError: it would hold the sync for good."""
    envelope = get_objects(limit=FIRST_PAGE, **filters)
    previous: object = None
    empty = 0
    while True:
        yield envelope
        if not envelope.get("more", False):
            return
        token = envelope.get("next")
        if not isinstance(token, str) or not token or token == previous:
            raise GsomiaError(f"{base} said more objects follow but gave no new next token; stopped")
        empty = 0 if envelope.get("objects") else empty + 1
        if empty >= MAX_EMPTY:
            raise GsomiaError(f"{base} served {MAX_EMPTY} empty pages in a row, all saying more follow")
        previous = token
        envelope = get_objects(limit=PAGE, next=token, **filters)


def _bounded(collection: C) -> C:
    """``collection`` with every request of its session given up when connecting, or waiting for the
    next bytes of an answer, takes longer than :data:`TIMEOUT_S` (taxii2-client sets no timeout of its
    own: a partner that never answers would hold a sync for good). Use it in a ``with`` block: the
    session is closed at its end."""
    session = getattr(getattr(collection, "_conn", None), "session", None)
    sent = getattr(session, "request", None)
    if sent is None:
        return collection

    def request(method: str, url: str, **options: object) -> object:
        if options.get("timeout") is None:
            options["timeout"] = TIMEOUT_S
        return sent(method, url, **options)

    setattr(session, "request", request)  # noqa: B010 (an instance's method, replaced on that instance)
    return collection


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
        with _bounded(Collection(target, user=party, password=token)) as collection:
            status = collection.add_objects({"objects": objects})
    except (requests.RequestException, TAXIIServiceException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GsomiaError(f"cannot send receipts to {base}: {first}") from None
    if status.failure_count:
        raise GsomiaError(f"{base} refused {status.failure_count} receipt(s): {status.failures[:1]}")
