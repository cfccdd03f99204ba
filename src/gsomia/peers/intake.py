"""Taking a partner's bundles: checked one by one, written a chunk of bundles per unit of work.

:class:`Intake` takes the bundles of one pull :data:`CHUNK` at a time, each chunk in one unit of work (one
transaction, one signed head) instead of one per bundle. Within a chunk every bundle is still looked up by
its key before it is taken, and the lookups see what the same unit of work wrote before, so a bundle
served twice in one pull is recorded once. An unexpected exception rolls back the chunk in progress only:
the chunks committed before it stay, and the next sync finds their bundles on record and takes the rest.

A pull can start where the last one stopped: the newest release time among the bundles it took and
proved signed by the partner (each report's ``created``, when the partner recorded the release; no later
than the greatest ``date_added`` the server said it served) is kept as a ``pull-cursor`` record per
partner, and the next pull asks only for objects added after it, less :data:`MARGIN`
(:func:`pull_since`). Not the greatest ``date_added`` the server said it served
(``X-TAXII-Date-Added-Last``): that also counts the partner's signed consent decisions, which can lie
beyond a release still being recorded, or recorded after the partner's clock stepped back; a release's
``date_added`` is never earlier than its recorded time nor than the ``date_added`` of any release shipped
before it, so no release still to come lies before the cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from gsomia.domain import engine
from gsomia.domain.decision import Decision
from gsomia.domain.errors import GsomiaError
from gsomia.domain.index import Verdict
from gsomia.domain.lifecycle import Timeline
from gsomia.domain.model import Consent, Item
from gsomia.domain.world import World
from gsomia.exchange.bundle import EXTENSION_ID, Opened, open_bundle
from gsomia.exchange.errors import BundleError, ExchangeError
from gsomia.exchange.stixcheck import ShapeMemo
from gsomia.services import journal, worlddata
from gsomia.services.items import body_aad
from gsomia.services.ports import KeyRing, SealedBody, Store, UnitOfWork
from gsomia.services.worldbook import Worldbook

from .clock import stix_now
from .partners import Partner

CHUNK = 200
"""Bundles taken per unit of work. Each unit checks the log before it starts and signs a head when it
commits; a chunk shares that cost among its bundles, and a crash loses at most the chunk in progress."""

MARGIN = timedelta(seconds=1)
"""How much earlier than the kept cursor an incremental pull starts. The partner's server ships releases
in release order, each added at its recorded time to the millisecond or, if that is earlier, at the time
of the release shipped before it, and after every consent decision it has served the partner
(:mod:`gsomia.web.shipping`, the places kept in its database): whatever joins the collection sorts after
all that is in it, across the partner's server restarts and processes, so a release not yet shipped when
a pull took releases up to the cursor is added no earlier than the cursor, and a millisecond would do.
The second is kept for a partner on an earlier version (whose decisions could sort before a release still
being recorded, or be placed again after a restart), as long as the newest release the same pull takes
is less than a second newer. A longer gap there, or a release the partner withheld and serves again later
under its first ``date_added``, needs ``gsomia sync --full``. What is pulled again is recognized by its
key (the bundle id): one lookup each."""

SERVER_DATE_MARGIN = timedelta(seconds=1)
"""The margin for a cursor recorded before cursors were release times (a server's ``date_added``, which
a consent decision can have put beyond a release). The next cursor kept replaces it."""

RELEASE_TIME = "release-time"  # the basis of a cursor kept at a release time (see PullCursor)
PENDING = "pending"  # a cursor's ``full``: a full pull began and has not ended (see begin_full)

Found = tuple[str, dict[str, Any] | None, str]
"""A bundle as :func:`gsomia.exchange.bundle.bundles_from_objects` rebuilt it: (report id, bundle or
None, the problem when None)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Received:
    """One bundle as this node took it: accepted, or quarantined with the reason."""

    bundle: str
    sender: str
    status: str  # accepted | forwarding | quarantined
    reason: str
    item: str | None = None
    originator: str | None = None
    route: tuple[str, ...] = ()
    level: str | None = None  # the originator's level
    marking: str | None = None  # this node's equivalent
    new: bool = True  # False when it was already on record (a repeated pull)
    released: datetime | None = None  # when the sender recorded it, once its signature is checked

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


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    if size < 1:
        raise ValueError(f"a chunk holds at least one bundle, not {size}")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- the pull cursor --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PullCursor:
    """Where the last pull from a partner got to: ``at`` (a timestamp, or None before any), and whether
    it is a release time (``by_release``) or, recorded by an earlier version, a server's ``date_added``."""

    at: str | None = None
    by_release: bool = True
    full_pending: bool = False  # a full pull began and did not end (its receipts unsent, say)


def kept_cursor(store: Store, party: str) -> PullCursor:
    """The cursor last recorded for ``party`` (``PullCursor()`` if none)."""
    with store.read() as uow:
        found = uow.item_records([party], kind="pull-cursor")
    if not found:
        return PullCursor()
    data = found[-1].data
    at = data.get("date_added")
    return PullCursor(
        at if isinstance(at, str) else None, data.get("basis") == RELEASE_TIME, data.get("full") == PENDING
    )


def begin_full(store: Store, party: str, kept: PullCursor) -> PullCursor:
    """Record that a full pull from ``party`` begins (the kept cursor, marked ``full: pending``), so that
    if it does not end (a failed push of its receipts, a crash) the next sync pulls in full again: the
    receipts for outcomes a full pull's re-check changed go only with a full pull. The cursor as kept."""
    if kept.full_pending:
        return kept
    marked = PullCursor(kept.at, kept.by_release, True)
    with store.begin() as uow:
        journal.add_record(uow, "pull-cursor", party, _cursor_data(marked, None))
    return marked


def _cursor_data(cursor: PullCursor, since: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "date_added": cursor.at,
        "basis": RELEASE_TIME if cursor.by_release else "server-date",
        "added_after": since,
        "at": stix_now(),
    }
    if cursor.full_pending:
        data["full"] = PENDING
    return data


def pull_since(cursor: PullCursor) -> str | None:
    """What to ask for as ``added_after``: the cursor less :data:`MARGIN` (less
    :data:`SERVER_DATE_MARGIN` for a cursor an earlier version kept; None, everything, if there is no
    cursor or one that is not a timestamp)."""
    moment = _moment(cursor.at)
    margin = MARGIN if cursor.by_release else SERVER_DATE_MARGIN
    if moment is None or moment - datetime.min.replace(tzinfo=UTC) < margin:
        return None  # no cursor, or one too early to start before: everything
    return _stamp(moment - margin)


def keep_cursor(
    store: Store,
    party: str,
    kept: PullCursor,
    reached: datetime | None,
    since: str | None,
    *,
    full: bool = False,
) -> bool:
    """Record ``reached`` (the newest release time the pull took) as ``party``'s cursor if it is later
    than ``kept``, or replaces a cursor an earlier version kept, or a ``full`` pull found the partner's
    releases end elsewhere, or a ``full`` pull ends one marked pending (:func:`begin_full`): True if it
    was recorded. Called once every chunk of the pull committed and its receipts were sent: a crash
    before only means the next pull starts earlier (in full, if a full one was pending)."""
    ending = full and kept.full_pending
    if reached is None:
        if not ending:
            return False
        cursor = PullCursor(kept.at, kept.by_release)  # nothing taken: the cursor stays, no longer pending
    else:
        before = _moment(kept.at)
        unchanged = reached == before or (before is not None and reached < before and not full)
        if before is not None and kept.by_release and unchanged and not ending:
            return False
        cursor = PullCursor(_stamp(reached))
    with store.begin() as uow:
        journal.add_record(uow, "pull-cursor", party, _cursor_data(cursor, since))
    return True


def reached_by(taken: Iterable[Received], served_last: str | None) -> datetime | None:
    """The cursor a pull reached: the newest release time among the bundles it took (now or, pulled
    again, when first taken) whose signature checked out, no later than ``served_last`` (the greatest
    ``date_added`` the server said it served); None if the server did not say or nothing such was taken."""
    ceiling = _moment(served_last)
    if ceiling is None:
        return None
    times = [r.released for r in taken if r.released is not None]
    return min(max(times), ceiling) if times else None


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # not a time, or one beyond the calendar once in UTC
        return None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- taking the bundles -----------------------------------------------------------------------------
class Intake:
    """Checks bundles from partners and keeps or quarantines them, a chunk per unit of work."""

    def __init__(
        self, store: Store, keys: KeyRing, worldbook: Worldbook, party: str, shapes: ShapeMemo | None = None
    ) -> None:
        self._store = store
        self._keys = keys
        self._worldbook = worldbook
        self._party = party
        self._shapes = shapes  # judges each bundle's STIX validity (None: the process's own memo)

    def take(
        self, partner: Partner, found: Sequence[Found], vouched: list[Consent], *, recheck: bool = False
    ) -> list[Received]:
        """Take ``found`` (pulled from ``partner``) in one unit of work, in order: all of it is recorded
        when this returns, none of it if it raises. ``vouched``: the consents that travelled with it.

        A bundle on record already is taken as it was recorded; with ``recheck`` (a full pull), one
        recorded as quarantined is checked again, as this node's world stands now (an event or agreement
        recorded since may allow it): if it passes, or fails for another reason, that outcome is recorded
        after the first (the inbox keeps both); if it fails as before, nothing is written."""
        keys = [str(bundle["id"]) if bundle is not None else report for report, bundle, _ in found]
        with self._store.begin() as uow:
            # what was taken before, read at once (the newest record per bundle); then kept up to date
            known = {r.key: from_record(r.data) for r in uow.item_records(keys, kind="received")}
            out = []
            writes = _Writes()
            for key, one in zip(keys, found, strict=True):
                earlier = known.get(key)
                if earlier is None:
                    taken = self._take(uow, writes, partner, *one, vouched)
                elif recheck and earlier.status == "quarantined" and one[1] is not None:
                    taken = self._again_checked(uow, writes, partner, one, vouched, earlier)
                else:
                    taken = _again(earlier)
                known[key] = taken
                out.append(taken)
            writes.flush(uow)
            return out

    def _again_checked(
        self,
        uow: UnitOfWork,
        writes: _Writes,
        partner: Partner,
        one: Found,
        vouched: list[Consent],
        earlier: Received,
    ) -> Received:
        """A quarantined bundle checked again: its new outcome, written only if it differs."""
        trial = _Writes(writes.items)
        taken = self._take(uow, trial, partner, *one, vouched)
        if taken.status == earlier.status and taken.reason == earlier.reason:
            return _again(earlier)
        writes.extend(trial)
        return taken

    def _take(
        self,
        uow: UnitOfWork,
        writes: _Writes,
        partner: Partner,
        report: str,
        bundle: dict[str, Any] | None,
        problem: str,
        vouched: list[Consent],
    ) -> Received:
        key = str(bundle["id"]) if bundle is not None else report
        if bundle is None:
            return self._quarantine(writes, key, partner.party, problem)
        try:
            opened = open_bundle(
                bundle, partner.card, self._keys.hpke_private(), recipient=self._party, shapes=self._shapes
            )
        except ExchangeError as exc:
            return self._quarantine(writes, key, partner.party, str(exc))
        return self._check_and_store(uow, writes, key, partner, opened, vouched)

    def _check_and_store(
        self,
        uow: UnitOfWork,
        writes: _Writes,
        key: str,
        partner: Partner,
        opened: Opened,
        vouched: list[Consent],
    ) -> Received:
        shipment = opened.shipment
        meta = shipment.item

        def quarantine(why: str) -> Received:  # signed by the partner: its release time is a cursor
            return self._quarantine(writes, key, partner.party, why, shipment.created)

        if shipment.sender != partner.party:
            return quarantine(f"sent by {shipment.sender}, pulled from {partner.party}")
        item = Item(meta.id, shipment.originator, meta.level, meta.topics, meta.releasable_to, meta.caveats)
        route = tuple(str(p) for p in shipment.route)
        me = self._party
        if me not in route[1:] or route[route.index(me, 1) - 1] != shipment.sender:
            why = f"the route {' → '.join(route)} does not have {shipment.sender} hand it to {me}"
            return quarantine(why)
        holder, final = route[0], route[-1]
        world = self._worldbook.world_in(uow)
        try:
            world.fits(item)
            decision = _decided(world, item, route, shipment.decided, vouched)
        except GsomiaError as exc:
            return quarantine(f"not an item of this node's world: {exc}")
        if isinstance(decision, Decision) and (not decision.allowed or tuple(decision.route) != route):
            failing = next((r for r in decision.reasons if not r.ok), None)
            why = f"{failing.rule}: {failing.detail}" if failing is not None else "no route"
            if decision.allowed:
                why = f"they allow it by {' → '.join(decision.route)} only"
            return quarantine(
                f"this node's agreements do not allow {holder} to send {meta.id} to {final} by "
                f"{' → '.join(route)} on {shipment.decided}: {why}"
            )
        if meta.id in writes.items or uow.item_records([meta.id]):
            return quarantine(f"item id {meta.id!r} is already used on this node")
        writes.item(item, self._keys.seal(shipment.body, body_aad(item.id)))
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
            released=shipment.created,
        )
        writes.received(accepted, shipment.log_head)
        return accepted

    @staticmethod
    def _quarantine(
        writes: _Writes, key: str, sender: str, reason: str, released: datetime | None = None
    ) -> Received:
        found = Received(key, sender, "quarantined", reason[:2000], released=released)
        writes.received(found, None)
        return found


class _Writes:
    """What taking a chunk writes, gathered as its bundles are checked and written together at the end
    (records and their leaves in two statements, not two per record); nothing is written if a bundle's
    check raises."""

    def __init__(self, items: set[str] | None = None) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []
        self.bodies: list[tuple[str, SealedBody]] = []
        self.items: set[str] = set(items or ())  # ids of the items taken in this chunk

    def extend(self, other: _Writes) -> None:
        """Take on what ``other`` (a trial on this chunk's behalf) would write."""
        self.records += other.records
        self.bodies += other.bodies
        self.items |= other.items

    def item(self, item: Item, sealed: SealedBody) -> None:
        self.records.append(("item", item.id, worlddata.to_record(worlddata.item_data(item))))
        self.bodies.append((item.id, sealed))
        self.items.add(item.id)

    def received(self, taken: Received, head: dict[str, Any] | None) -> None:
        when = {} if taken.released is None else {"released": _stamp(taken.released)}
        self.records.append(
            ("received", taken.bundle, {**taken.to_dict(), "at": stix_now(), "sender_head": head, **when})
        )

    def flush(self, uow: UnitOfWork) -> None:
        journal.add_records(uow, self.records)
        for item, sealed in self.bodies:
            journal.add_body(uow, item, sealed)


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
        released=known.released,
    )


def from_record(data: dict[str, Any]) -> Received:
    """A ``received`` record's data as the :class:`Received` it recorded."""
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
        released=_moment(data["released"]) if isinstance(data.get("released"), str) else None,
    )


def decided(bundle: dict[str, Any]) -> str:
    """The day the release in ``bundle`` was decided for (read after the bundle was opened and checked)."""
    for obj in bundle["objects"]:
        if obj.get("type") == "report":
            return str(obj["extensions"][EXTENSION_ID]["release"]["decided"])
    raise BundleError("the bundle has no report")


def _decided(
    world: World, item: Item, route: tuple[str, ...], day: date, vouched: list[Consent]
) -> Decision | Verdict:
    """This node's own decision on ``item`` going along ``route`` on ``day``: from the world's compiled
    index (memoised per item class) when that allows it by that very route and no consent travelled
    with it; otherwise the engine's, rule by rule, whose reasons say why not. Both give the same
    verdict (the index is compiled from the rules the engine applies)."""
    holder, final = route[0], route[-1]
    if not vouched and holder in world.parties and final in world.parties and holder != final:
        verdict = world.verdict_for(item, final, day, holder)
        if verdict.allowed and verdict.route == route:
            return verdict
    facts = world if not vouched else WithConsents(world, vouched)
    return engine.decide(facts, item, final, day, holder)


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
