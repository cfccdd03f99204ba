"""Receiving: pull what partners released to this node, check every bundle, keep it or quarantine it.

For each partner with a URL and a pull token, :meth:`Sync.run` fetches the collection of releases the
partner holds for this node (the fetching is injected: :data:`Pull`), puts each release's bundle back
together and checks it:

1. the bundle opens: it is signed by the key on the partner's card, addressed to this node, and its body
   unseals with this node's HPKE key (:func:`gsomia.exchange.bundle.open_bundle`);
2. this node's own engine and its own copy of the agreements allow the sender to send that item to this
   node on the day the sender decided it (the originator's level, topics, releasable-to and caveats as the
   bundle states them);
3. the item id is not already on this node as another item.

An accepted bundle becomes an item of this node (the originator kept as originator), its body sealed at
rest under this node's key, and a ``received`` record saying who sent it, by which route, the
originator's level and this node's equivalent marking. A bundle failing a check is recorded as
quarantined with the reason, and nothing of it is stored as received. Each bundle is recorded once: a
second pull of the same release changes nothing (the bundle id is the record's key), and a crash between
two bundles loses nothing (each is its own unit of work).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gsomia.domain import engine
from gsomia.domain.errors import GsomiaError
from gsomia.domain.lifecycle import Timeline
from gsomia.domain.model import Consent, Item
from gsomia.domain.world import World
from gsomia.exchange.bundle import EXTENSION_ID, Opened, bundles_from_objects, open_bundle, release_of
from gsomia.exchange.cards import key_id_of
from gsomia.exchange.errors import BundleError, ExchangeError
from gsomia.exchange.notes import note_kind, open_note
from gsomia.exchange.receipts import Receipt, build_receipt, open_receipt
from gsomia.ledger import LedgerError, TreeHead, verify_consistency
from gsomia.services import journal, worlddata
from gsomia.services.items import body_aad
from gsomia.services.ports import KeyRing, Store, UnitOfWork
from gsomia.services.worldbook import Worldbook

from .clock import stix_now
from .consents import ConsentExchange
from .incidents import Incidents
from .partners import Partner, Partners

Pull = Callable[[str, str, str], list[dict[str, Any]]]
"""``pull(url, party, token)``: every object of the collection the partner at ``url`` holds for ``party``."""
Push = Callable[[str, str, str, list[dict[str, Any]]], None]
"""``push(url, party, token, objects)``: add ``objects`` (receipts) to that collection."""
PeerLog = Callable[[str, str, str, int | None], dict[str, Any]]
"""``peer_log(url, party, token, old)``: the partner's newest signed head (``{"head": ...}``), with the
consistency proof from ``old`` leaves (``proof``: hex hashes) when ``old`` is given."""


Forward = Callable[[str, str, str, str], object]
"""``forward(item, to, at, holder)``: record (and so send on) the release of ``item`` along its route."""


class PeerLogError(GsomiaError):
    """A partner's log does not extend the head this node kept: it was rolled back, forked or replaced."""


@dataclass(frozen=True, slots=True)
class Received:
    """One bundle as this node took it: accepted, or quarantined with the reason."""

    bundle: str
    sender: str
    status: str  # accepted | quarantined
    reason: str
    item: str | None = None
    originator: str | None = None
    route: tuple[str, ...] = ()
    level: str | None = None  # the originator's level
    marking: str | None = None  # this node's equivalent
    new: bool = True  # False when it was already on record (a repeated pull)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "sender": self.sender,
            "status": self.status,
            "reason": self.reason,
            "item": self.item,
            "originator": self.originator,
            "route": list(self.route),
            "level": self.level,
            "marking": self.marking,
        }


class Sync:
    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        worldbook: Worldbook,
        partners: Partners,
        party: str,
        consents: ConsentExchange | None = None,
        forward: Forward | None = None,
        incidents: Incidents | None = None,
    ) -> None:
        self._forward = forward
        self.incidents = incidents
        self.consents = self._consents = consents
        self.decisions: list[tuple[str, str]] = []  # (consent, status or why not) from the last run
        self._store = store
        self._keys = keys
        self._worldbook = worldbook
        self._partners = partners
        self._party = party

    def run(
        self, pull: Pull, only: str | None = None, push: Push | None = None, peer_log: PeerLog | None = None
    ) -> list[Received]:
        """Pull from every partner this node pulls from (or only ``only``) and take in what is new; with
        ``push``, send each partner a signed receipt for every bundle taken (again: it keeps one); with
        ``peer_log``, first check that the partner's newest signed head extends the one kept last time
        (a :class:`PeerLogError`, before anything is pulled from it, if it does not)."""
        if not self._party:
            raise GsomiaError("this node names no party; set party in gsomia.toml (gsomia init --party P)")
        self.decisions = []
        chosen = [p for p in self._partners.partners() if only is None or p.party == only]
        if only is not None and not chosen:
            raise GsomiaError(f"{only} is not a partner of this node; see gsomia partner list")
        out: list[Received] = []
        for partner in chosen:
            token = self._partners.pull_token(partner)
            if partner.url is None or token is None:
                if only is not None:
                    raise GsomiaError(
                        f"no URL or token to pull from {partner.party}; gsomia partner add --url --token"
                    )
                continue
            if peer_log is not None:
                self._check_log(partner, token, peer_log)
            objects = pull(partner.url, self._party, token)
            receipts: list[dict[str, Any]] = []
            vouched = self._vouched(objects)
            for report, bundle, problem in bundles_from_objects(objects):
                taken = self._take(partner, report, bundle, problem, vouched)
                out.append(taken)
                if taken.status == "accepted" and taken.new and self._consents is not None:
                    for consent, originator in vouched:
                        if consent.item == taken.item:
                            self._consents.record_granted(consent, originator)
                if taken.status == "forwarding" and taken.new and self._forward is not None and bundle:
                    opened_day = _decided(bundle)
                    self._forward(str(taken.item), taken.route[-1], opened_day, taken.route[0])
                released = release_of(bundle) if bundle is not None else None
                if released is not None and released[0] == partner.party:
                    receipts.append(self._receipt(taken, released[1]))
            self._take_decisions(partner, objects)
            notes = receipts + (self._consents.requests_for(partner) if self._consents is not None else [])
            notes += self.incidents.notes_for(partner) if self.incidents is not None else []
            if push is not None and notes:
                push(partner.url, self._party, token, notes)
        return out

    def _take_decisions(self, partner: Partner, objects: list[dict[str, Any]]) -> None:
        """Apply the partner's signed decisions on this node's consent requests."""
        if self._consents is None:
            return
        for obj in objects:
            if note_kind(obj) != "consent-decision" or _signer(obj) != key_id_of(partner.card.signing_key):
                continue  # a decision another originator signed travels with a release (see _vouched)
            try:
                status = self._consents.take_decision(obj, partner)
            except GsomiaError as exc:
                self.decisions.append((str(obj.get("id")), f"refused: {exc}"))
                continue
            if status is not None:
                self.decisions.append((str(obj.get("id")), status))

    def _check_log(self, partner: Partner, token: str, peer_log: PeerLog) -> None:
        """The partner's newest head is signed by its card's key and extends the head kept last time;
        it is then kept in its place."""
        assert partner.url is not None
        with self._store.read() as uow:
            found = uow.item_records([partner.party], kind="peer-head")
        kept = TreeHead.from_dict(found[-1].data) if found else None
        answer = peer_log(partner.url, self._party, token, None if kept is None else kept.size)
        try:
            head = TreeHead.from_dict(answer["head"])
            proof = [bytes.fromhex(h) for h in answer.get("proof", [])]
        except (LedgerError, KeyError, TypeError, ValueError) as exc:
            raise PeerLogError(
                f"{partner.party}'s log head is malformed ({exc}); nothing was pulled"
            ) from None
        signer = Ed25519PublicKey.from_public_bytes(partner.card.signing_key)
        try:
            if head.key_id != key_id_of(partner.card.signing_key):
                raise InvalidSignature
            signer.verify(head.signature, head.signed_bytes())
        except InvalidSignature:
            raise PeerLogError(
                f"{partner.party}'s log head is not signed by the key on its card; nothing was pulled"
            ) from None
        if kept is not None and (
            head.size < kept.size
            or not verify_consistency(kept.size, head.size, kept.root_hash, head.root_hash, proof)
        ):
            raise PeerLogError(
                f"{partner.party}'s log (size {head.size}) does not extend the head this node kept (size "
                f"{kept.size}): it was rolled back, forked or replaced; nothing was pulled from "
                f"{partner.party}. Keep both heads as evidence and ask {partner.party} why."
            )
        if kept is None or (head.size, head.root_hash) != (kept.size, kept.root_hash):
            with self._store.begin() as uow:
                journal.add_record(uow, "peer-head", partner.party, dict(head.to_dict()))

    def _receipt(self, taken: Received, seq: int) -> dict[str, Any]:
        with self._store.read() as uow:
            latest = uow.latest_head()
        head = latest[1] if latest is not None else {}
        receipt = Receipt(
            taken.bundle, taken.sender, seq, self._party, taken.status, taken.reason, stix_now(), head
        )
        return build_receipt(receipt, self._keys.sign, self._keys.key_id)

    def take_receipt(self, note: dict[str, Any], partner: Partner) -> Receipt:
        """Record the receipt ``partner`` sent for a bundle of ours (once); ExchangeError if it is not one
        signed by ``partner``'s key for one of our releases."""
        receipt = open_receipt(note, partner.card)
        if receipt.sender != self._party:
            raise BundleError(f"the receipt is for a bundle sent by {receipt.sender}, not by this node")
        key = f"{receipt.bundle}|{receipt.receiver}"
        with self._store.begin() as uow:
            if not uow.item_records([key], kind="receipt"):
                journal.add_record(uow, "receipt", key, {**receipt.to_dict(), "note": note["id"]})
        return receipt

    def receipts(self, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        """The receipts partners sent for this node's bundles, oldest first."""
        with self._store.read() as uow:
            return [dict(r.data) for r in uow.item_records_page(after, limit, kind="receipt")]

    def inbox(self, after: int = 0, limit: int = 10_000) -> list[Received]:
        """The bundles received (after record ``after``, at most ``limit``), oldest first."""
        with self._store.read() as uow:
            return [_from_record(r.data) for r in uow.item_records_page(after, limit, kind="received")]

    # -- one bundle ---------------------------------------------------------------------------------
    def _vouched(self, objects: list[dict[str, Any]]) -> list[tuple[Consent, str]]:
        """The consents granted by an originator that travel with onward releases: each a decision note
        signed by the key on that originator's card (a partner of this node), with its granting party."""
        cards = {key_id_of(p.card.signing_key): p for p in self._partners.partners()}
        out: list[tuple[Consent, str]] = []
        for obj in objects:
            signer = cards.get(_signer(obj) or "") if note_kind(obj) == "consent-decision" else None
            if signer is None:
                continue
            try:
                body = open_note(obj, "consent-decision", signer.card)
                if body.get("status") != "granted" or body.get("by") != signer.party:
                    continue
                out.append((_consent(body, signer.party), signer.party))
            except (GsomiaError, KeyError, TypeError, ValueError):
                continue  # not a usable decision: the release it rides with is judged without it
        return out

    def _take(
        self,
        partner: Partner,
        report: str,
        bundle: dict[str, Any] | None,
        problem: str,
        vouched: list[tuple[Consent, str]] | None = None,
    ) -> Received:
        key = str(bundle["id"]) if bundle is not None else report
        with self._store.begin() as uow:
            known = _received(uow, key)
            if known is not None:
                return _again(known)
            if bundle is None:
                return self._quarantine(uow, key, partner.party, problem)
            try:
                opened = open_bundle(bundle, partner.card, self._keys.hpke_private(), recipient=self._party)
            except ExchangeError as exc:
                return self._quarantine(uow, key, partner.party, str(exc))
            return self._check_and_store(uow, key, partner, opened, [c for c, _ in vouched or []])

    def _check_and_store(
        self, uow: UnitOfWork, key: str, partner: Partner, opened: Opened, vouched: list[Consent]
    ) -> Received:
        shipment = opened.shipment
        meta = shipment.item
        if shipment.sender != partner.party:
            return self._quarantine(
                uow, key, partner.party, f"sent by {shipment.sender}, pulled from {partner.party}"
            )
        item = Item(meta.id, shipment.originator, meta.level, meta.topics, meta.releasable_to, meta.caveats)
        route = tuple(str(p) for p in shipment.route)
        me = self._party
        if me not in route[1:] or route[route.index(me, 1) - 1] != shipment.sender:
            why = f"the route {' → '.join(route)} does not have {shipment.sender} hand it to {me}"
            return self._quarantine(uow, key, partner.party, why)
        holder, final = route[0], route[-1]
        world = self._worldbook.world_in(uow)
        try:
            world.fits(item)
            facts = world if not vouched else WithConsents(world, vouched)
            decision = engine.decide(facts, item, final, shipment.decided, holder)
        except GsomiaError as exc:
            return self._quarantine(uow, key, partner.party, f"not an item of this node's world: {exc}")
        if not decision.allowed or tuple(decision.route) != route:
            failing = next((r for r in decision.reasons if not r.ok), None)
            why = f"{failing.rule}: {failing.detail}" if failing is not None else "no route"
            if decision.allowed:
                why = f"they allow it by {' → '.join(decision.route)} only"
            return self._quarantine(
                uow,
                key,
                partner.party,
                f"this node's agreements do not allow {holder} to send {meta.id} to {final} by "
                f"{' → '.join(route)} on {shipment.decided}: {why}",
            )
        if uow.item_records([meta.id]):
            return self._quarantine(
                uow, key, partner.party, f"item id {meta.id!r} is already used on this node"
            )
        data = worlddata.to_record(worlddata.item_data(item))
        journal.add_record(uow, "item", item.id, data)
        journal.add_body(uow, item.id, self._keys.seal(shipment.body, body_aad(item.id)))
        forwarding = final != me
        marking = world.holder_level(item, me, shipment.decided) if forwarding else decision.marking
        accepted = Received(
            key,
            partner.party,
            "forwarding" if forwarding else "accepted",
            f"to {final}, as the route's conduit" if forwarding else "",
            item.id,
            item.originator,
            route,
            item.level,
            marking,
        )
        self._record(uow, accepted, shipment.log_head)
        return accepted

    def _quarantine(self, uow: UnitOfWork, key: str, sender: str, reason: str) -> Received:
        found = Received(key, sender, "quarantined", reason[:2000])
        self._record(uow, found, None)
        return found

    def _record(self, uow: UnitOfWork, received: Received, head: dict[str, Any] | None) -> None:
        data = {**received.to_dict(), "at": stix_now(), "sender_head": head}
        journal.add_record(uow, "received", received.bundle, data)


def _received(uow: UnitOfWork, key: str) -> Received | None:
    found = uow.item_records([key], kind="received")
    return _from_record(found[-1].data) if found else None


def _again(known: Received) -> Received:
    return Received(
        known.bundle,
        known.sender,
        known.status,
        known.reason,
        known.item,
        known.originator,
        known.route,
        known.level,
        known.marking,
        new=False,
    )


def _from_record(data: dict[str, Any]) -> Received:
    route: Sequence[str] = data.get("route") or ()
    return Received(
        str(data["bundle"]),
        str(data["sender"]),
        str(data["status"]),
        str(data.get("reason", "")),
        data.get("item"),
        data.get("originator"),
        tuple(route),
        data.get("level"),
        data.get("marking"),
    )


def _decided(bundle: dict[str, Any]) -> str:
    """The day the release in ``bundle`` was decided for (read after the bundle was opened and checked)."""
    for obj in bundle["objects"]:
        if obj.get("type") == "report":
            return str(obj["extensions"][EXTENSION_ID]["release"]["decided"])
    raise BundleError("the bundle has no report")


class WithConsents:
    """A world's facts, with consents more: those an originator signed that travel with a release."""

    def __init__(self, world: World, consents: list[Consent]) -> None:
        self._world = world
        self._consents = consents

    def timelines_naming(self, a: str, b: str) -> Sequence[Timeline]:
        return self._world.timelines_naming(a, b)

    def conduits(self) -> Sequence[Timeline]:
        return self._world.conduits()

    def holder_level(self, item: Item, holder: str, at: date) -> str | None:
        return self._world.holder_level(item, holder, at)

    def find_consent(self, item: Item, sender: str, receiver: str, at: date) -> Consent | None:
        for consent in self._consents:
            if consent.originator in (None, item.originator) and consent.covers(item, sender, receiver, at):
                return consent
        return self._world.find_consent(item, sender, receiver, at)


def _signer(note: object) -> str | None:
    try:
        return str(note["extensions"][EXTENSION_ID]["signature"]["key_id"])  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def _consent(body: dict[str, Any], originator: str) -> Consent:
    def day(key: str) -> date | None:
        value = body.get(key)
        return None if value is None else date.fromisoformat(str(value))

    return Consent(
        holder=str(body["holder"]),
        recipient=str(body["recipient"]),
        item=body.get("item"),
        topic=body.get("topic"),
        originator=originator,
        valid_from=day("from"),
        valid_until=day("until"),
    )
