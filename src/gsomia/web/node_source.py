"""The TAXII source of a node: each partner reads one collection, the releases addressed to it.

Every allowed release to a partner becomes a signed STIX 2.1 bundle (:mod:`gsomia.exchange.bundle`): the
item's metadata, its body sealed with HPKE to the partner's card, the originator's confidentiality label
with the partner's equivalent beside it (:mod:`gsomia.labels`), and the node's newest signed log head.
The collection serves those bundles' objects in release order (objects shared by every bundle, such as
gsomia's identity and extension definition, once).

Each release is checked again when it is served: if the node's agreements no longer allow it on its day
(an event recorded since, say a termination back-dated by a correction), it is withheld, not served.
Partners authenticate with the token issued by ``gsomia partner add``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from gsomia.bootstrap import Services
from gsomia.domain.errors import GsomiaError
from gsomia.domain.model import Item, Party
from gsomia.exchange.bundle import ItemMeta, Shipment, build_bundle
from gsomia.exchange.errors import BundleError
from gsomia.exchange.notes import note_kind
from gsomia.labels import Alternative, Classification, label_for_item, marking_definition
from gsomia.peers.partners import Partner
from gsomia.services import journal
from gsomia.services.ports import OutboxRow, ReleaseRow

from .taxii import CollectionInfo, Entry, Page, PageQuery, StatusDetail, StatusInfo, parse_timestamp

NAMESPACE = uuid.UUID("5d0c7e0e-3b5a-4f0e-9a59-6f1f2c2b7a10")
OBJECTS_PER_RELEASE = 16  # seq = release seq * 16 + the object's place in its bundle
NOTE_SEQ = 2**62  # consent decisions come after every release object of the same instant


def next_hop(row: ReleaseRow, me: str) -> str:
    """Whom this node hands a release to: the party after it on the release's route (its recipient on a
    direct route, the conduit's hub on a route through one, the next party when this node is the hub)."""
    route = [str(p) for p in row.decision.get("route", [])]
    if me in route[:-1]:
        return route[route.index(me) + 1]
    return row.recipient


def collection_id(party: str) -> str:
    """The id of the collection of releases addressed to ``party`` (the same on every serve)."""
    return str(uuid.uuid5(NAMESPACE, f"releases-to:{party}"))


class NodeTaxiiSource:
    """A :class:`~gsomia.web.taxii.TaxiiSource` over a node's services."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = threading.Lock()  # the services' stores are used by one request thread at a time
        self._bundles: dict[int, list[dict[str, Any]]] = {}  # release seq -> its bundle's objects
        self._statuses: dict[str, tuple[str, StatusInfo]] = {}  # status id -> (party, status)

    @property
    def services(self) -> Services:
        return self._services

    def authenticate(self, party: str | None, token: str) -> str | None:
        with self._lock:
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

    def page(self, collection: str, party: str, query: PageQuery) -> Page:
        if collection != collection_id(party):
            return Page([], more=False)
        with self._lock:
            entries = self._entries(party)
        out: list[Entry] = []
        for entry in entries:
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
        """Take the partner's receipts for our bundles (signed notes); anything else fails, named."""
        partner = self._services.partners.get(party)
        objects = envelope.get("objects", [])
        good: list[StatusDetail] = []
        bad: list[StatusDetail] = []
        for obj in objects if isinstance(objects, list) else []:
            oid = str(obj.get("id", "")) if isinstance(obj, dict) else ""
            version = str(obj.get("modified", "")) if isinstance(obj, dict) else ""
            if partner is None or collection != collection_id(party) or not isinstance(obj, dict):
                bad.append(StatusDetail(oid, version, "not a receipt from this partner for its collection"))
                continue
            try:
                with self._lock:
                    self._take(obj, partner)
            except GsomiaError as exc:
                bad.append(StatusDetail(oid, version, str(exc)[:500]))
                continue
            good.append(StatusDetail(oid, version))
        status = StatusInfo(str(uuid.uuid4()), "complete", datetime.now(UTC), tuple(good), tuple(bad))
        with self._lock:
            self._statuses[status.id] = (party, status)
        return status

    def _take(self, obj: dict[str, Any], partner: Partner) -> None:
        kind = note_kind(obj)
        exchange = self._services.sync.consents
        if kind == "receipt":
            self._services.sync.take_receipt(obj, partner)
        elif kind == "consent-request" and exchange is not None:
            exchange.take_request(obj, partner)
        elif kind == "incident" and self._services.sync.incidents is not None:
            self._services.sync.incidents.take(obj, partner)
        else:
            raise BundleError("not a receipt, a consent request or an incident report")

    def status(self, status_id: str, party: str) -> StatusInfo | None:
        with self._lock:
            owner, status = self._statuses.get(status_id, ("", None))
        return status if owner == party else None

    # -- building what is served ---------------------------------------------------------------------

    def _entries(self, party: str) -> list[Entry]:
        services = self._services
        me = services.settings.party
        rows = [r for r in services.releases.releases() if r.allowed and next_hop(r, me) == party]
        payloads = {b.release_seq: b for b in services.releases.outbox()}
        seen: set[tuple[str, str]] = set()
        out: list[Entry] = []
        for row in rows:
            box = payloads.get(row.seq)
            if box is None:
                continue
            why = self._withheld_because(row)
            if why is not None:  # the node would not release it today on that day: withheld, and logged
                self._log_withheld(row, party, why)
                continue
            added = _moment(row.recorded)
            for n, obj in enumerate(self._bundle(row, box, party)):
                stamp = obj.get("modified") or obj.get("created")  # an artifact (an observable) has none
                version = parse_timestamp(stamp) if stamp else added
                key = (obj["id"], stamp or "")
                if key in seen:
                    continue
                seen.add(key)
                seq = row.seq * OBJECTS_PER_RELEASE + n
                out.append(Entry(obj["id"], obj["type"], version, added, seq, obj))
            for n, note in enumerate(self._vouching(row, party), start=8):  # after the bundle's six objects
                if (note["id"], note["modified"]) not in seen:
                    seen.add((note["id"], note["modified"]))
                    stamp = parse_timestamp(note["created"])
                    out.append(
                        Entry(note["id"], "note", stamp, added, row.seq * OBJECTS_PER_RELEASE + n, note)
                    )
        exchange = services.sync.consents
        partner = services.partners.get(party)
        if exchange is not None and partner is not None:
            for n, note in enumerate(exchange.decisions_for(partner)):
                stamp = parse_timestamp(note["created"])
                out.append(Entry(note["id"], "note", stamp, stamp, NOTE_SEQ + n, note))
        return sorted(out, key=lambda e: e.cursor)

    def _vouching(self, row: ReleaseRow, party: str) -> list[dict[str, Any]]:
        """The originator's signed consent that lets this node pass on an item it holds (rule 6): it
        travels with the release, for the recipient's node to check."""
        exchange = self._services.sync.consents
        if exchange is None or row.holder != self._services.settings.party:
            return []
        return exchange.notes_for_release(row.holder, party, row.item)

    def _withheld_because(self, row: ReleaseRow) -> str | None:
        """None if the node's agreements still allow the release on its day by its route; else why not."""
        with self._services.store.read() as uow:
            decision = self._services.worldbook.decide(uow, row.item, row.recipient, row.at, row.holder)
        if decision.allowed and list(decision.route) == list(row.decision.get("route", [])):
            return None
        failing = next((r for r in decision.reasons if not r.ok), None)
        if decision.allowed:
            return f"now allowed only by {' → '.join(decision.route)}"
        return f"{failing.rule}: {failing.detail}" if failing is not None else "no route"

    def _log_withheld(self, row: ReleaseRow, party: str, why: str) -> None:
        """A ``withheld`` record (with its leaf), once per release and partner."""
        key = f"release:{row.seq}|{party}"
        with self._services.store.begin() as uow:
            if not uow.item_records([key], kind="withheld"):
                data = {"release": row.seq, "item": row.item, "partner": party, "reason": why[:2000]}
                journal.add_record(uow, "withheld", key, data)

    def _bundle(self, row: ReleaseRow, box: OutboxRow, party: str) -> list[dict[str, Any]]:
        found = self._bundles.get(row.seq)
        if found is None:
            found = self._bundles[row.seq] = list(self._build(row, box, party)["objects"])
        return found

    def _build(self, row: ReleaseRow, box: OutboxRow, party: str) -> dict[str, Any]:
        services = self._services
        partner = services.partners.get(party)
        if partner is None:
            raise PermissionError(f"{party} is not a partner of this node")
        with services.store.read() as uow:
            world = services.worldbook.with_items(uow, [row.item])
        item: Item = world.items[row.item]
        recipient_level = str(row.decision.get("marking") or "")
        created = _moment(row.recorded)
        label = label_for_item(item, world.parties[item.originator], _stamp(created))
        equivalent = _level(world.parties.get(party), recipient_level)
        if equivalent is not None:
            label = label.with_alternative(Alternative(party, party, equivalent))
        shipment = Shipment(
            sender=services.settings.party,
            release_seq=row.seq,
            originator=item.originator,
            recipient=party,
            route=tuple(row.decision.get("route", [])),
            decided=date.fromisoformat(row.at),
            item=ItemMeta(
                item.id,
                item.level,
                equivalent.marking if equivalent is not None else recipient_level,
                item.topics,
                item.releasable_to,
                item.caveats,
            ),
            body=services.releases.open_payload(box),
            marking_definition=marking_definition(label),
            log_head=services.audit.head().to_dict(),
            created=created,
        )
        return build_bundle(shipment, partner.card.hpke_key, services.keys.sign, services.keys.key_id)


def _level(party: Party | None, level: str) -> Classification | None:
    if party is None:
        return None
    found = next((lv for lv in party.levels if lv.id == level), None)
    return None if found is None else Classification(found.id, found.marking)


def _moment(recorded: str) -> datetime:
    """A release's recorded time, in UTC, to the millisecond (as bundles carry it)."""
    moment = datetime.fromisoformat(recorded).astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
