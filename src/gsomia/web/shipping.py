"""Building what a node serves each partner, once: every allowed release becomes a signed bundle.

Each allowed release goes to the party after this node on its route (its recipient on a direct route,
the conduit's hub on a route through one, the next party when this node is the hub). :class:`Shipping`
turns the releases a partner has not yet been given a bundle for into signed STIX 2.1 bundles
(:mod:`gsomia.exchange.bundle`): the item's metadata, its body sealed with HPKE to the partner's card,
the originator's confidentiality label with the partner's equivalent beside it (:mod:`gsomia.labels`),
the node's newest signed log head, and, for an item this node holds from another originator, that
originator's signed consent. The bundle's own objects are kept in the shipment store (a row per release),
so a bundle is made once, not on every page served nor again after a restart.

Releases are read a range at a time through the node's logged store, each proven by its leaf; the
shipment rows are added in release order with a ``added`` time that never goes back for one partner
(the release's recorded time, or the partner's previous row's if the clock stepped back), and that lies
after every consent decision already served to that partner (the shipment store sees to both, under one
lock with the decisions' places: :class:`gsomia.services.ports.ShipmentStore`), so that each new row
sorts after any position a partner's pull has reached and its ``added_after`` finds everything added
since, whichever server process of the node shipped it or served the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson

from gsomia.bootstrap import Services
from gsomia.domain.model import Item, Party
from gsomia.domain.world import World
from gsomia.exchange.bundle import ItemMeta, Shipment, build_bundle, stix_time
from gsomia.exchange.errors import ExchangeError
from gsomia.labels import Alternative, Classification, label_for_item, marking_definition
from gsomia.peers.partners import Partner
from gsomia.services.ports import OutboxRow, ReleaseRow, ShipmentRow, ShipmentStore
from gsomia.services.release import next_hop

RANGE = 500  # releases read (and bundles built) per step of a catch-up
OWN_PLACES = (0, 4, 5)  # a bundle's own objects: its marking, report and artifact (see exchange.bundle)
NOTE_PLACE = 8  # the first place of the consent notes that travel with a release
MAX_PLACES = 2**20  # places a release's objects may take (its objects' order in a collection needs a bound)


class Shipping:
    """Keeps each partner's shipments up to date with the node's releases."""

    def __init__(self, services: Services, shipments: ShipmentStore) -> None:
        self._services = services
        self._shipments = shipments
        self._scanned: dict[str, int] = {}  # party -> the last release seq looked at for it

    @property
    def shipments(self) -> ShipmentStore:
        return self._shipments

    def looked(self, party: str) -> int:
        """The last release looked at for ``party`` by this process (0 before any)."""
        return self._scanned.get(party, 0)

    def catch_up(self, party: str, enough: Callable[[], bool] | None = None, step: int = RANGE) -> bool:
        """Make and keep the bundle of every allowed release to ``party`` that has none yet, in release
        order, looking at ``step`` releases at a time; after each step, stop if ``enough()`` says so.
        True if it stopped so with releases perhaps left to look at (a later call goes on from there).

        Callers serialize calls (the TAXII source holds its lock); another process doing the same at the
        same time only makes rows that are then dropped."""
        partner = self._services.partners.get(party)
        if partner is None:
            return False
        last = self._shipments.last(party)
        scanned = max(self._scanned.get(party, 0), last.release_seq if last is not None else 0)
        added = last.added if last is not None else ""  # the store raises it past notes served since
        while True:
            until = scanned + step
            with self._services.store.read() as uow:
                rows = list(uow.releases(scanned, until))
                boxes = {b.release_seq: b for b in uow.outbox(scanned, until)}
                me = self._services.settings.party
                wanted = [
                    (r, boxes[r.seq])
                    for r in rows
                    if r.allowed and r.seq in boxes and next_hop(r, me) == party  # never one not ours to send
                ]
                world = self._services.worldbook.with_items(uow, [r.item for r, _ in wanted])
                latest = uow.latest_head()
            head = latest[1] if latest is not None else self._services.audit.head().to_dict()
            made: list[ShipmentRow] = []
            vouching = self._vouching([row for row, _ in wanted], party)
            for row, box in wanted:
                added = max(added, stix_time(_moment(row.recorded)))
                bundle = self._build(world, row, box, partner, head)
                objects = [[place, bundle["objects"][place]] for place in OWN_PLACES]
                notes = vouching.get(row.seq, [])
                if NOTE_PLACE + len(notes) > MAX_PLACES:
                    raise ExchangeError(
                        f"release {row.seq} would carry {len(notes):,} consents; at most "
                        f"{MAX_PLACES - NOTE_PLACE:,} fit in a bundle: revoke stale ones, release again"
                    )
                objects += [[NOTE_PLACE + n, note] for n, note in enumerate(notes)]
                made.append(ShipmentRow(row.seq, party, added, orjson.dumps(objects).decode()))
            self._shipments.add(made)
            if rows:
                scanned = rows[-1].seq
            self._scanned[party] = scanned
            if len(rows) < step:
                return False
            if enough is not None and enough():
                return True

    def _vouching(self, rows: Sequence[ReleaseRow], party: str) -> dict[int, list[dict[str, Any]]]:
        """Release seq -> the originator's signed consents that let this node pass on an item it holds
        (rule 6): they travel with the release, for the recipient's node to check."""
        exchange = self._services.sync.consents
        me = self._services.settings.party
        held = [row for row in rows if row.holder == me]
        if exchange is None or not held:
            return {}
        notes = exchange.notes_for_releases(me, party, [row.item for row in held])
        return {row.seq: notes[row.item] for row in held}

    def _build(
        self, world: World, row: ReleaseRow, box: OutboxRow, partner: Partner, head: dict[str, Any]
    ) -> dict[str, Any]:
        services = self._services
        party = partner.party
        item: Item = world.items[row.item]
        recipient_level = str(row.decision.get("marking") or "")
        created = _moment(row.recorded)
        label = label_for_item(item, world.parties[item.originator], stix_time(created))
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
            log_head=head,
            created=created,
        )
        return build_bundle(
            shipment, partner.card.hpke_key, services.keys.sign, services.keys.key_id, shapes=services.shapes
        )


def release_objects(row: ShipmentRow) -> Sequence[tuple[int, dict[str, Any]]]:
    """A shipment's objects with their places in the release's bundle."""
    return [(int(place), obj) for place, obj in orjson.loads(row.objects)]


def _level(party: Party | None, level: str) -> Classification | None:
    if party is None:
        return None
    found = next((lv for lv in party.levels if lv.id == level), None)
    return None if found is None else Classification(found.id, found.marking)


def _moment(recorded: str) -> datetime:
    """A release's recorded time, in UTC, to the millisecond (as bundles carry it)."""
    moment = datetime.fromisoformat(recorded).astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
