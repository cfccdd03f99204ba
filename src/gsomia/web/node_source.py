"""The TAXII source of a node: each partner reads one collection, the releases addressed to it.

Every allowed release to a partner is served as its signed STIX 2.1 bundle's objects, made once by
:mod:`gsomia.web.shipping` and kept in the shipment store: the release's marking, report and artifact
(and the consent notes riding with it) in release order, after the objects every bundle shares (gsomia's
identity and extension definition, this node's identity), which are served once, first. Pages are read
by release number from the shipment store, so a page costs the same in a collection of any size.

Each release is checked again when it is served: if the node's agreements no longer allow it on its day
(an event recorded since, say a termination back-dated by a correction), it is withheld, not served, and
the withholding logged. Partners authenticate with the token issued by ``gsomia partner add``.
"""

from __future__ import annotations

import enum
import heapq
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from gsomia.bootstrap import Services
from gsomia.domain.decision import Decision
from gsomia.domain.errors import GsomiaError
from gsomia.exchange import stixcheck
from gsomia.exchange.bundle import EXTENSION_ID, shared_objects, stix_time
from gsomia.exchange.errors import BundleError
from gsomia.exchange.notes import note_kind
from gsomia.peers.partners import Partner
from gsomia.services import journal
from gsomia.services.ports import ShipmentRow
from gsomia.store.shipments import shipment_store_for
from gsomia.store.statuses import StatusRow, status_store_for

from .collections import collection_id as collection_id
from .shipping import MAX_PLACES, OWN_PLACES, Shipping, release_objects
from .taxii import (
    CollectionInfo,
    Entry,
    Page,
    PageQuery,
    StatusDetail,
    StatusInfo,
    VersionMatch,
    format_timestamp,
    parse_timestamp,
)

OBJECTS_PER_RELEASE = MAX_PLACES  # seq = release seq * MAX_PLACES + the object's place in its bundle
PREPARE_EVERY = 1.0  # seconds between a server's rounds of building bundles before partners ask
BUILD_STEP = 100  # releases the builder looks at while it holds the source's lock (pages wait no longer)
STOP_POLL = 0.1  # seconds within which the background builder sees that it is to stop
REPORT_PLACE = 4  # a release's report, among its objects (see gsomia.exchange.bundle)
NOTE_SEQ = 2**62  # consent decisions (numbered as first served) come after every release object of an instant


_log = logging.getLogger(__name__)


class NodeTaxiiSource:
    """A :class:`~gsomia.web.taxii.TaxiiSource` over a node's services."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = threading.Lock()  # the services' stores are used by one request thread at a time
        self._shipping = Shipping(services, shipment_store_for(services.store))
        me = services.settings.party
        self._shared = shared_objects(me) if me else []  # served once, before any release
        stixcheck.warm()  # the bundles this source builds are validated: no request pays for the import
        # the node's pushes' statuses (the newest 10,000), for partners to read back from any worker
        self._statuses = status_store_for(services.store)
        # decisions placed in a partner's collection that are no longer among the node's (a grant since
        # revoked is a new decision): (partner, note id), so their absence sends no page to read them again
        self._gone: set[tuple[str, str]] = set()
        self._wake = threading.Event()  # set when a page left bundles to build: the builder goes on now
        self._asking = 0  # requests waiting for the lock: the builder gives way to them between its steps
        self._asking_changed = threading.Condition()

    @property
    def services(self) -> Services:
        return self._services

    def authenticate(self, party: str | None, token: str) -> str | None:
        with self._turn():
            return self._services.partners.authenticate(party, token)

    def collections_for(self, party: str) -> Sequence[CollectionInfo]:
        return [
            CollectionInfo(
                collection_id(party),
                f"Releases to {party}",
                f"What {self._services.settings.party or 'this node'} released to {party}",
                can_read=True,
                can_write=True,  # the partner adds its receipts here
            )
        ]

    def prepare(self, stop: threading.Event | None = None) -> None:
        """Build the bundles of every partner's new releases now, before the partner asks for them (a
        server does this in the background, so a sync finds them made). The source's lock is held for
        :data:`BUILD_STEP` releases at a time, and between two steps any request waiting for the source
        goes first: a page waits for one step at most, not for them all. Stops between two steps once
        ``stop`` is set."""
        for partner in self._services.partners.partners():
            while True:
                with self._asking_changed:
                    while not self._asking_changed.wait_for(lambda: not self._asking, timeout=STOP_POLL):
                        if stop is not None and stop.is_set():
                            return
                if stop is not None and stop.is_set():
                    return
                with self._lock:
                    if not self._shipping.catch_up(partner.party, _one_step, step=BUILD_STEP):
                        break

    def prepare_forever(self, every: float = PREPARE_EVERY, stop: threading.Event | None = None) -> None:
        """:meth:`prepare` every ``every`` seconds, and at once when a page left bundles to build, until
        ``stop`` is set (seen within :data:`STOP_POLL` seconds, or a step); a failure is logged, and the
        next round tries again (a partner's page builds what it needs in any case)."""
        stop = stop or threading.Event()
        due = time.monotonic() + every
        while not stop.is_set():
            woken = self._wake.wait(min(STOP_POLL, every))
            if stop.is_set():
                return
            if not woken and time.monotonic() < due:
                continue
            self._wake.clear()
            due = time.monotonic() + every
            try:
                self.prepare(stop)
            except Exception:  # the server must go on serving; the next round or page retries
                _log.exception("building bundles for partners failed; retrying in %.0f s", every)

    def page(self, collection: str, party: str, query: PageQuery) -> Page:
        if collection != collection_id(party):
            return Page([], more=False)
        with self._turn():
            left = self._fill(party, query)
            # the releases this page may serve: those shipped when its notes are taken (in one snapshot of
            # the collection). One shipped later (by another request, the background builder or another
            # server process) may sort after a note placed meanwhile that this page does not hold, and must
            # not carry the page's position past that note.
            shipped, notes = self._notes(party)
        page = self._page(party, query, shipped, notes)
        if page.more or left is _Left.NONE:
            if left is _Left.SOME:
                self._wake.set()  # the builder goes on with the pages after this one while it is taken
            return page
        # a page that is not full ends the pull, so only once nothing is left to build (it may serve fewer
        # entries than the bundles made for it: some withheld, or before its position): all are made now,
        # and the page made again if that looked at any release it had not
        with self._turn():
            looked = self._shipping.looked(party)
            self._shipping.catch_up(party)
            if self._shipping.looked(party) == looked:
                return page
            shipped, notes = self._notes(party)
        return self._page(party, query, shipped, notes)

    def _page(self, party: str, query: PageQuery, shipped: int, notes: list[Entry]) -> Page:
        out: list[Entry] = []
        released = self._released(party, query, shipped)
        for entry in heapq.merge(released, notes, key=lambda e: e.cursor):
            if query.after is not None and entry.cursor <= query.after:
                continue
            if (
                (query.added_after is not None and entry.date_added <= query.added_after)
                or (query.ids and entry.id not in query.ids)
                or (query.types and entry.type not in query.types)
                or not query.versions.picks(entry.version, first=entry.version, last=entry.version)
            ):
                continue
            if len(out) == query.limit:
                return Page(out, more=True)
            out.append(entry)
        return Page(out, more=False)

    def accept(self, collection: str, party: str, envelope: dict[str, Any]) -> StatusInfo:
        """Take the partner's receipts for our bundles (signed notes, all in one unit of work), consent
        requests and incident reports; anything else fails, named."""
        partner = self._services.partners.get(party)
        objects = envelope.get("objects", [])
        outcome: list[tuple[str, str, str | None]] = []  # (id, version, why not) in the order given
        receipts: list[tuple[int, dict[str, Any]]] = []
        for obj in objects if isinstance(objects, list) else []:
            oid = str(obj.get("id", "")) if isinstance(obj, dict) else ""
            version = str(obj.get("modified", "")) if isinstance(obj, dict) else ""
            outcome.append((oid, version, None))
            if partner is None or collection != collection_id(party) or not isinstance(obj, dict):
                outcome[-1] = (oid, version, "not a receipt from this partner for its collection")
            elif note_kind(obj) == "receipt":
                receipts.append((len(outcome) - 1, obj))
            else:
                try:
                    with self._turn():
                        self._take(obj, partner)
                except GsomiaError as exc:
                    outcome[-1] = (oid, version, str(exc)[:500])
        if receipts and partner is not None:
            with self._turn():
                answers = self._services.sync.take_receipts([obj for _, obj in receipts], partner)
            for (at, _), why in zip(receipts, answers, strict=True):
                oid, version, _ = outcome[at]
                outcome[at] = (oid, version, None if why is None else why[:500])
        good = tuple(StatusDetail(oid, version) for oid, version, why in outcome if why is None)
        bad = tuple(StatusDetail(oid, version, why) for oid, version, why in outcome if why is not None)
        status = StatusInfo(str(uuid.uuid4()), "complete", datetime.now(UTC), good, bad)
        self._statuses.add(StatusRow(status.id, party, _status_data(status)))
        return status

    def _take(self, obj: dict[str, Any], partner: Partner) -> None:
        kind = note_kind(obj)
        exchange = self._services.sync.consents
        if kind == "consent-request" and exchange is not None:
            exchange.take_request(obj, partner)
        elif kind == "incident" and self._services.sync.incidents is not None:
            self._services.sync.incidents.take(obj, partner)
        else:
            raise BundleError("not a receipt, a consent request or an incident report")

    def status(self, status_id: str, party: str) -> StatusInfo | None:
        found = self._statuses.get(status_id, party)
        try:
            return None if found is None else _status_info(found.status)
        except (KeyError, TypeError, ValueError):  # a row edited behind the node's back: as good as gone
            return None

    # -- what is served ------------------------------------------------------------------------------

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """The source's lock for a request: the background builder lets it in at its next step."""
        with self._asking_changed:
            self._asking += 1
        try:
            with self._lock:
                yield
        finally:
            with self._asking_changed:
                self._asking -= 1
                self._asking_changed.notify_all()

    def _fill(self, party: str, query: PageQuery) -> _Left:
        """Build ``party``'s bundles, in release order, until this page can be full; whether some may be
        left to build (which the background builder goes on with while the partner takes this page). A
        page asked for by id, type or version picks from the whole collection: everything is built
        first."""
        if query.ids or query.types or query.versions != VersionMatch():
            self._shipping.catch_up(party)
            return _Left.NONE
        want = _releases_filling(query.limit)
        if self._ahead(party, query, want) >= want:
            return _Left.UNKNOWN  # enough made already; whether more are to be made, no step looked
        enough = self._shipping.catch_up(
            party, lambda: self._ahead(party, query, want) >= want, step=max(want, BUILD_STEP)
        )
        return _Left.SOME if enough else _Left.NONE

    def _start(self, party: str, query: PageQuery) -> int | None:
        """The release the page's entries may start at (None: no release shipped so far lies that late)."""
        bounds = [c.date_added for c in (query.after,) if c is not None]
        bounds += [query.added_after] if query.added_after is not None else []
        if not bounds or query.ids:
            return 0
        return self._shipping.shipments.first_at(party, stix_time(max(bounds)))

    def _ahead(self, party: str, query: PageQuery, most: int) -> int:
        """Releases shipped to ``party`` from where the page starts (counted up to ``most``)."""
        start = self._start(party, query)
        if start is None:
            return 0
        if query.after is not None and query.after.seq < NOTE_SEQ:  # inside a release's objects
            start = max(start, query.after.seq // OBJECTS_PER_RELEASE)
        return self._shipping.shipments.count(party, start, most)

    def _released(self, party: str, query: PageQuery, shipped: int) -> Iterator[Entry]:
        """The shared objects, then every release's objects from the first one the query can want on up
        to release ``shipped``, in release order (which is date_added order), each release checked again
        as it is served."""
        shipments = self._shipping.shipments
        first = shipments.page(party, 0, 1)
        if not first or first[0].release_seq > shipped:
            return
        added = parse_timestamp(first[0].added)
        for place, obj in enumerate(self._shared, start=1):
            yield Entry(obj["id"], obj["type"], _version(obj, added), added, place, obj)
        start = self._start(party, query)
        if start is None:
            return
        step = max(8, _releases_filling(query.limit))
        while True:
            rows = shipments.page(party, start, step)
            ended = len(rows) < step or rows[-1].release_seq >= shipped
            rows = [row for row in rows if row.release_seq <= shipped]
            with self._turn():
                served = self._served(rows, party)
            for row in served:
                added = parse_timestamp(row.added)
                for place, obj in release_objects(row):
                    seq = row.release_seq * OBJECTS_PER_RELEASE + place
                    yield Entry(obj["id"], obj["type"], _version(obj, added), added, seq, obj)
            if ended:
                return
            start = rows[-1].release_seq + 1

    def _served(self, rows: Sequence[ShipmentRow], party: str) -> list[ShipmentRow]:
        """``rows`` but those the node's agreements no longer allow on their day (withheld, and logged)."""
        facts = [(row, _release_facts(row)) for row in rows]
        services = self._services
        with services.store.read() as uow:
            world = services.worldbook.with_items(uow, [f["item"] for _, f in facts])
            verdicts = [
                world.decide(f["item"], f["route"][-1], f["decided"], f["route"][0]) for _, f in facts
            ]
        out = []
        for (row, fact), decision in zip(facts, verdicts, strict=True):
            why = _why_not(decision, fact["route"])
            if why is None:
                out.append(row)
            else:  # the node would not release it today on that day: withheld, and logged
                self._log_withheld(row.release_seq, fact["item"], party, why)
        return out

    def _notes(self, party: str) -> tuple[int, list[Entry]]:
        """The newest release shipped to ``party`` and this node's signed decisions on its consent
        requests, each where it was first served, as one snapshot of the collection saw them.

        A decision enters the partner's collection when a server process of the node first serves it:
        after every entry already there (no earlier than the newest release shipped to the partner or the
        newest decision served to it, whatever the clock says, and with the next note number), and every
        release shipped to the partner from then on is added after it. The places are kept in the node's
        database (:meth:`~gsomia.services.ports.ShipmentStore.place`), so nothing joins the collection
        behind a position a pull has reached, across restarts and server processes, and a partner's cursor
        (a release time it took) never passes a decision it has not been served."""
        exchange = self._services.sync.consents
        partner = self._services.partners.get(party)
        store = self._shipping.shipments
        if exchange is None or partner is None:
            return store.place(party, []).shipped, []
        known = {str(note["id"]): note for note in exchange.decisions_for(partner)}
        found = store.place(party, [(k, stix_time(parse_timestamp(n["created"]))) for k, n in known.items()])
        unknown = [k for k in found.places if k not in known and (party, k) not in self._gone]
        if unknown:
            # placed by another process since the decisions were read: read them again, and serve only
            # what the node holds now (a grant read before its revocation, placed just now behind the
            # revocation another process placed, must not be served after it)
            known = {str(note["id"]): note for note in exchange.decisions_for(partner)}
            self._gone.update((party, k) for k in found.places if k not in known)
        out = []
        for key, (added, number) in found.places.items():
            note = known.get(key)
            if note is not None:
                at, version = parse_timestamp(added), parse_timestamp(note["created"])
                out.append(Entry(note["id"], "note", version, at, NOTE_SEQ + number, note))
        return found.shipped, sorted(out, key=lambda e: e.cursor)

    def _log_withheld(self, release: int, item: str, party: str, why: str) -> None:
        """A ``withheld`` record (with its leaf), once per release and partner."""
        key = f"release:{release}|{party}"
        with self._services.store.begin() as uow:
            if not uow.item_records([key], kind="withheld"):
                data = {"release": release, "item": item, "partner": party, "reason": why[:2000]}
                journal.add_record(uow, "withheld", key, data)


class _Left(enum.Enum):
    """Whether releases may be left without their bundles once a page has made what it needs."""

    NONE = "none"  # every release looked at
    SOME = "some"  # it stopped once the page could be full: the builder goes on
    UNKNOWN = "unknown"  # enough were made before: whether more are to be made, no step looked


def _one_step() -> bool:
    return True


def _releases_filling(limit: int) -> int:
    """Releases whose objects fill a page of ``limit`` entries, whatever else it holds."""
    return limit // len(OWN_PLACES) + 2


def _release_facts(row: ShipmentRow) -> dict[str, Any]:
    """What the release's report says (signed by this node when the bundle was made): item, route, day."""
    for place, obj in release_objects(row):
        if place == REPORT_PLACE:
            extension = obj["extensions"][EXTENSION_ID]
            release = extension["release"]
            return {
                "item": str(extension["item"]["id"]),
                "route": [str(p) for p in release["route"]],
                "decided": str(release["decided"]),
            }
    raise BundleError(f"shipment of release {row.release_seq} has no report; rebuild the node's shipments")


def _why_not(decision: Decision, route: list[str]) -> str | None:
    """None if ``decision`` still allows the release by its route; else why not."""
    if decision.allowed and list(decision.route) == route:
        return None
    if decision.allowed:
        return f"now allowed only by {' → '.join(decision.route)}"
    failing = next((r for r in decision.reasons if not r.ok), None)
    return f"{failing.rule}: {failing.detail}" if failing is not None else "no route"


def _version(obj: Mapping[str, Any], added: datetime) -> datetime:
    stamp = obj.get("modified") or obj.get("created")  # an artifact (an observable) has none
    return parse_timestamp(stamp) if stamp else added


def _status_data(status: StatusInfo) -> dict[str, Any]:
    """A push's status as the plain JSON object the status store keeps."""
    stamp = status.request_timestamp
    return {
        "id": status.id,
        "status": status.status,
        "request_timestamp": None if stamp is None else format_timestamp(stamp),
        "successes": [_detail_data(d) for d in status.successes],
        "failures": [_detail_data(d) for d in status.failures],
        "pendings": [_detail_data(d) for d in status.pendings],
        "total_count": status.total_count,
    }


def _detail_data(detail: StatusDetail) -> dict[str, str]:
    return {"id": detail.id, "version": detail.version, "message": detail.message}


def _status_info(data: Mapping[str, Any]) -> StatusInfo:
    """Read back what :func:`_status_data` made."""
    stamp = data.get("request_timestamp")

    def details(key: str) -> tuple[StatusDetail, ...]:
        return tuple(StatusDetail(d["id"], d["version"], d["message"]) for d in data.get(key, []))

    return StatusInfo(
        str(data["id"]),
        str(data["status"]),
        None if stamp is None else parse_timestamp(stamp),
        details("successes"),
        details("failures"),
        details("pendings"),
        data.get("total_count"),
    )
