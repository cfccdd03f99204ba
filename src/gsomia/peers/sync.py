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
second pull of the same release changes nothing (the bundle id is the record's key), but for a full
pull's second look at a quarantined bundle (below), whose new outcome is recorded after the first.

The bundles of one pull are taken a chunk at a time, each chunk one unit of work
(:mod:`gsomia.peers.intake`): a crash loses at most the chunk in progress, and the next sync takes it
again. A pull asks only for what the partner added since the last one (its ``pull-cursor``, less a
margin); ``full=True`` (``gsomia sync --full``) asks for everything, and so also takes again what an
incremental pull cannot see: a release the partner withheld and serves again later under its first
``date_added``, a consent decision this node refused once. A full pull also checks every bundle recorded
as quarantined again, as this node's world stands now (an event or agreement recorded since may allow
it): a new outcome is recorded after the first, and the partner gets a receipt for it. A full pull is
marked pending when it begins and ended when its cursor is kept: one that did not end is made again by
the next sync, so no such receipt waits for someone to ask for ``--full``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gsomia.domain.days import day_before
from gsomia.domain.errors import GsomiaError
from gsomia.domain.model import Consent
from gsomia.exchange.bundle import EXTENSION_ID, bundle_ids, bundles_from_objects, release_of
from gsomia.exchange.cards import key_id_of
from gsomia.exchange.errors import BundleError
from gsomia.exchange.notes import note_kind, open_note
from gsomia.exchange.receipts import Receipt, build_receipt, open_receipt
from gsomia.exchange.stixcheck import ShapeMemo
from gsomia.ledger import LedgerError, TreeHead, verify_consistency
from gsomia.services import journal
from gsomia.services.ports import KeyRing, ReleaseRow, Store, UnitOfWork
from gsomia.services.release import next_hop
from gsomia.services.worldbook import Worldbook

from . import intake
from .clock import stix_now
from .consents import ConsentExchange
from .incidents import Incidents
from .intake import Intake, Received, decided, from_record
from .partners import Partner, Partners
from .pushing import Push, Pushing

__all__ = ["Forward", "PeerLog", "PeerLogError", "Pull", "Push", "Received", "Sync"]


class Paged(Protocol):
    """A pull's pages as they come; ``last`` (read once they all came) is the greatest ``date_added``."""

    def __iter__(self) -> Iterator[list[dict[str, Any]]]: ...
    @property
    def last(self) -> str | None: ...


Pull = Callable[[str, str, str, str | None], tuple[list[dict[str, Any]], str | None] | Paged]
"""``pull(url, party, token, added_after)``: the objects of the collection the partner at ``url`` holds
for ``party`` (only those added after ``added_after`` when it is given), and the greatest ``date_added``
the partner said it served (None if it served nothing or did not say); or those pages as they come
(:class:`Paged`, such as ``gsomia.web.client.Pages``), taken while the next is fetched. A pull written
before the cursor, answering the objects alone, is still taken (it then never advances the cursor)."""
PeerLog = Callable[[str, str, str, int | None], dict[str, Any]]
"""``peer_log(url, party, token, old)``: the partner's newest signed head (``{"head": ...}``), with the
consistency proof from ``old`` leaves (``proof``: hex hashes) when ``old`` is given."""


Forward = Callable[[str, str, str, str], object]
"""``forward(item, to, at, holder)``: record (and so send on) the release of ``item`` along its route."""


class PeerLogError(GsomiaError):
    """A partner's log does not extend the head this node kept: it was rolled back, forked or replaced."""


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
        shapes: ShapeMemo | None = None,
    ) -> None:
        self._forward = forward
        self.incidents = incidents
        self.consents = self._consents = consents
        self.decisions: list[tuple[str, str]] = []  # (consent, status or why not) from the last run
        self.resumed: list[str] = []  # partners the last run pulled in full because a full pull had not ended
        self._store = store
        self._keys = keys
        self._worldbook = worldbook
        self._partners = partners
        self._party = party
        self._intake = Intake(store, keys, worldbook, party, shapes)

    def run(
        self,
        pull: Pull,
        only: str | None = None,
        push: Push | None = None,
        peer_log: PeerLog | None = None,
        full: bool = False,
    ) -> list[Received]:
        """Pull from every partner this node pulls from (or only ``only``) and take in what is new; with
        ``push``, send each partner a signed receipt for every bundle taken (again: it keeps each outcome
        once); with ``peer_log``, first check that the partner's newest signed head extends the one kept
        last time (a :class:`PeerLogError`, before anything is pulled from it, if it does not).

        Each pull asks only for what the partner added since the cursor kept for it, less
        :data:`~gsomia.peers.intake.MARGIN`; ``full`` asks for everything. The cursor moves on once all
        that was pulled was taken (and the receipts sent): a failure before only means the next sync
        pulls from the old cursor again, and in full if the failed one was full (its re-checks' receipts
        go only with a full pull)."""
        if not self._party:
            raise GsomiaError("this node names no party; set party in gsomia.toml (gsomia init --party P)")
        self.decisions = []
        self.resumed = []
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
            kept = intake.kept_cursor(self._store, partner.party)
            whole = full or kept.full_pending  # a full pull that did not end is made again
            if kept.full_pending and not full:
                self.resumed.append(partner.party)
            if whole:
                kept = intake.begin_full(self._store, partner.party, kept)
            since = None if whole else intake.pull_since(kept)
            pages, last_of = _pulled(pull(partner.url, self._party, token, since))
            first = len(out)  # what this partner's pull took starts here
            # each chunk's receipts go out as the next chunk is taken (on a thread); the rest at the end
            pushing = None if push is None else Pushing(push, partner.url, self._party, token)
            try:
                decisions = self._take_pages(partner, pages, whole, out, pushing)
                # not at the server's date (a consent decision's may lie beyond a release still being
                # recorded) but at the newest release time taken, proven signed by the partner
                reached = intake.reached_by(out[first:], last_of())
                self._take_decisions(partner, decisions)
                if pushing is not None:
                    pushing.finish(self._owed(partner))
            except BaseException:
                if pushing is not None:
                    pushing.abandon()  # the sync fails now, not after the pushes still queued
                raise
            intake.keep_cursor(self._store, partner.party, kept, reached, since, full=whole)
        return out

    def _take_pages(
        self,
        partner: Partner,
        pages: Iterable[list[dict[str, Any]]],
        recheck: bool,
        out: list[Received],
        pushing: Pushing | None,
    ) -> list[dict[str, Any]]:
        """Take the bundles ``pages`` carry, a chunk (one unit of work) at a time, appending what was taken
        to ``out`` and handing each chunk's receipts to ``pushing``; answer the partner's signed decisions
        the pages carried (applied once the pull is taken)."""
        vouched: list[tuple[Consent, str]] = []
        decisions: list[dict[str, Any]] = []
        waiting: list[intake.Found] = []
        for group, final in _releases_whole(pages):
            vouched += self._vouched(group)
            decisions += [obj for obj in group if note_kind(obj) == "consent-decision"]
            waiting += bundles_from_objects(group)
            while waiting and (len(waiting) >= intake.CHUNK or final):
                chunk, waiting = waiting[: intake.CHUNK], waiting[intake.CHUNK :]
                receipts = self._take_chunk(partner, chunk, vouched, recheck, out)
                if pushing is not None:
                    pushing.send(receipts)
        return decisions

    def _owed(self, partner: Partner) -> list[dict[str, Any]]:
        """What this node sends ``partner`` besides receipts: its consent requests and incident reports."""
        notes = self._consents.requests_for(partner) if self._consents is not None else []
        return notes + (self.incidents.notes_for(partner) if self.incidents is not None else [])

    def _take_chunk(
        self,
        partner: Partner,
        chunk: list[intake.Found],
        vouched: list[tuple[Consent, str]],
        recheck: bool,
        out: list[Received],
    ) -> list[dict[str, Any]]:
        """Take ``chunk`` (committed in one unit of work), append what was taken to ``out``, and answer the
        signed receipts owed to ``partner`` for it."""
        taken = self._intake.take(partner, chunk, [c for c, _ in vouched], recheck=recheck)
        head = self._head()  # the head that unit signed (or a later one): the receipts show it
        receipts = []
        for (_, bundle, _), one in zip(chunk, taken, strict=True):
            out.append(one)
            self._follow_up(one, bundle, vouched)
            released = release_of(bundle) if bundle is not None else None
            if released is not None and released[0] == partner.party:
                receipts.append(self._receipt(one, released[1], head))
        return receipts

    def _follow_up(
        self, taken: Received, bundle: dict[str, Any] | None, vouched: list[tuple[Consent, str]]
    ) -> None:
        """What a newly taken bundle leads to, each in its own unit of work (after the chunk's committed):
        the consents that came with an accepted item recorded as granted, a conduit's item sent on."""
        if not taken.new:
            return
        if taken.status == "accepted" and self._consents is not None:
            for consent, originator in vouched:
                if consent.item != taken.item:
                    continue
                try:
                    self._consents.record_granted(consent, originator)
                except GsomiaError as exc:  # the item is kept; the consent riding with it is not recorded
                    self.decisions.append(
                        (f"{originator}: {consent.holder} to {consent.recipient}", f"refused: {exc}")
                    )
        if taken.status == "forwarding" and self._forward is not None and bundle:
            self._forward(str(taken.item), taken.route[-1], decided(bundle), taken.route[0])

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

    def _head(self) -> dict[str, Any]:
        """This node's newest signed head ({} before the first)."""
        with self._store.read() as uow:
            latest = uow.latest_head()
        return latest[1] if latest is not None else {}

    def _receipt(self, taken: Received, seq: int, head: dict[str, Any]) -> dict[str, Any]:
        receipt = Receipt(
            taken.bundle, taken.sender, seq, self._party, taken.status, taken.reason, stix_now(), head
        )
        return build_receipt(receipt, self._keys.sign, self._keys.key_id)

    def take_receipt(self, note: dict[str, Any], partner: Partner) -> Receipt:
        """Record the receipt ``partner`` sent for a bundle of ours (once for each outcome, the latest
        only: see :func:`_keep_receipts`); ExchangeError if it is not one
        signed by ``partner``'s key for one of our releases."""
        receipt = self._open_receipt(note, partner)
        with self._store.begin() as uow:
            problem = _unsent(uow, self._party, [receipt])[0]
            if problem is not None:
                raise BundleError(problem)
            _keep_receipts(uow, [(receipt, note)])
        return receipt

    def take_receipts(self, notes: list[dict[str, Any]], partner: Partner) -> list[str | None]:
        """Record the receipts ``partner`` sent (as :meth:`take_receipt`), all in one unit of work. For
        each note: None when it is good (kept now or before, or older than the one kept), or why it is not
        a receipt ``partner`` signed for one of our releases; such a note is left out, the others are kept
        all the same."""
        answers: list[str | None] = []
        opened: list[tuple[int, Receipt, dict[str, Any]]] = []
        for note in notes:
            try:
                opened.append((len(answers), self._open_receipt(note, partner), note))
            except GsomiaError as exc:
                answers.append(str(exc))
                continue
            answers.append(None)
        if opened:
            with self._store.begin() as uow:
                problems = _unsent(uow, self._party, [receipt for _, receipt, _ in opened])
                good = []
                for (at, receipt, note), problem in zip(opened, problems, strict=True):
                    if problem is None:
                        good.append((receipt, note))
                    else:
                        answers[at] = problem
                _keep_receipts(uow, good)
        return answers

    def _open_receipt(self, note: dict[str, Any], partner: Partner) -> Receipt:
        """The receipt ``note`` carries, checked whole (signed by ``partner``, for a bundle this node sent,
        with a note id) before anything of it is written."""
        receipt = open_receipt(note, partner.card)
        if receipt.sender != self._party:
            raise BundleError(f"the receipt is for a bundle sent by {receipt.sender}, not by this node")
        if not isinstance(note.get("id"), str):
            raise BundleError("the receipt's note has no id; send the note as it was built")
        return receipt

    def receipts(self, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        """The receipts partners sent for this node's bundles, oldest first."""
        with self._store.read() as uow:
            return [dict(r.data) for r in uow.item_records_page(after, limit, kind="receipt")]

    def inbox(self, after: int = 0, limit: int = 10_000) -> list[Received]:
        """The bundles received (after record ``after``, at most ``limit``), oldest first."""
        with self._store.read() as uow:
            return [from_record(r.data) for r in uow.item_records_page(after, limit, kind="received")]

    # -- one bundle ---------------------------------------------------------------------------------
    def _vouched(self, objects: list[dict[str, Any]]) -> list[tuple[Consent, str]]:
        """The consents granted by an originator that travel with onward releases: each a decision note
        signed by the key on that originator's card (a partner of this node), with its granting party. A
        consent revoked from a day still covers the days before it (a release decided for one of them
        stands), so a revocation travels as the grant of those days."""
        cards = {key_id_of(p.card.signing_key): p for p in self._partners.partners()}
        out: list[tuple[Consent, str]] = []
        for obj in objects:
            signer = cards.get(_signer(obj) or "") if note_kind(obj) == "consent-decision" else None
            if signer is None:
                continue
            try:
                body = open_note(obj, "consent-decision", signer.card)
                if body.get("by") != signer.party:
                    continue
                if body.get("status") == "granted":
                    out.append((_consent(body, signer.party), signer.party))
                elif body.get("status") == "revoked":
                    before = _before_revocation(body, signer.party)
                    if before is not None:
                        out.append((before, signer.party))
            except (GsomiaError, KeyError, TypeError, ValueError):
                continue  # not a usable decision: the release it rides with is judged without it
        return out


def _pulled(
    answer: object,
) -> tuple[Iterable[list[dict[str, Any]]], Callable[[], str | None]]:
    """A pull's answer as its pages and how to learn, once they are read, the greatest date_added: pages
    as they come (an object with ``last``, such as ``gsomia.web.client.Pages``), all objects at once
    with that date, or a list alone (a pull that does not tell how far it got: the cursor stays)."""
    if isinstance(answer, tuple):
        objects, last = answer
        return [list(objects)], lambda: last if isinstance(last, str) else None
    if isinstance(answer, list):
        return [answer], lambda: None
    if isinstance(answer, Iterable) and hasattr(answer, "last"):
        return answer, lambda: getattr(answer, "last", None)
    raise GsomiaError(f"a pull answered {type(answer).__name__}, not the objects pulled; this is a bug")


def _releases_whole(
    pages: Iterable[list[dict[str, Any]]],
) -> Iterator[tuple[list[dict[str, Any]], bool]]:
    """The pulled objects in groups that hold each release's objects whole, and whether a group is the
    last. A page may end inside a release (its marking, report and artifact, then the consents that ride
    with it), so each page's last release waits for the next page."""
    held: list[dict[str, Any]] = []
    for page in pages:
        held += page
        split = _last_release_start(held)
        if split:
            yield held[:split], False
            held = held[split:]
    yield held, True


def _last_release_start(objects: list[dict[str, Any]]) -> int:
    """Where the last release among ``objects`` starts: its marking (just before its report), else its
    report; 0 if there is no report."""
    at = next((i for i in range(len(objects) - 1, -1, -1) if _type(objects[i]) == "report"), None)
    if at is None:
        return 0
    refs = objects[at].get("object_marking_refs")
    marking = refs[0] if isinstance(refs, list) and refs else None
    if at > 0 and isinstance(objects[at - 1], dict) and objects[at - 1].get("id") == marking:
        return at - 1
    return at


def _type(obj: object) -> object:
    return obj.get("type") if isinstance(obj, dict) else None


def _keep_receipts(uow: UnitOfWork, checked: list[tuple[Receipt, dict[str, Any]]]) -> None:
    """A ``receipt`` record for each checked receipt that is the receiver's latest word on its bundle
    and says something new: its outcome (status and reason) differs from that of the latest kept for
    the bundle and receiver, and it was made at a later state of the receiver's log (its signed head is
    larger). A receipt sent again is kept once; one replayed or delivered late, older than the one kept,
    is not kept; a bundle the receiver quarantined and later accepted (checked again by a full pull) has
    both receipts kept, in order."""
    keys = [f"{r.bundle}|{r.receiver}" for r, _ in checked]
    latest: dict[str, tuple[int, tuple[object, object]]] = {}  # key -> (head size, outcome) of the latest
    for record in uow.item_records(keys, kind="receipt"):  # in record order: ties go to the later one
        size = _head_size(record.data)
        if record.key not in latest or size >= latest[record.key][0]:
            latest[record.key] = (size, _outcome(record.data))
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for key, (receipt, note) in zip(keys, checked, strict=True):
        data = receipt.to_dict()
        size, outcome = _head_size(data), _outcome(data)
        kept = latest.get(key)
        if kept is None or (outcome != kept[1] and size > kept[0]):
            latest[key] = (size, outcome)
            entries.append(("receipt", key, {**data, "note": note["id"]}))
    if entries:
        journal.add_records(uow, entries)


RUN_GAP = 16  # receipts whose release numbers lie further apart are read as ranges of their own


def _unsent(uow: UnitOfWork, me: str, receipts: Sequence[Receipt]) -> list[str | None]:
    """For each receipt, why it is not for a bundle this node (``me``) sent its receiver, or None: the
    release it names must be recorded here, allowed, handed to that receiver next, under that bundle id.
    The releases are read in ranges of nearby numbers (a push's receipts are for nearby releases)."""
    named = {r.seq for r in receipts if r.seq > 0}
    wanted = sorted(named)
    rows: dict[int, ReleaseRow] = {}
    start = 0
    for at in range(1, len(wanted) + 1):
        if at == len(wanted) or wanted[at] - wanted[at - 1] > RUN_GAP:
            read = uow.releases(wanted[start] - 1, wanted[at - 1])
            rows |= {row.seq: row for row in read if row.seq in named}
            start = at
    out: list[str | None] = []
    for receipt in receipts:
        row = rows.get(receipt.seq)
        if row is None or not row.allowed:
            out.append(f"the receipt names release {receipt.seq}, which this node never sent")
        elif (hop := next_hop(row, me)) != receipt.receiver:
            out.append(
                f"release {receipt.seq} went to {hop or 'no one from this node'}, not to {receipt.receiver}"
            )
        elif bundle_ids(me, receipt.seq)["bundle"] != receipt.bundle:
            out.append(f"the receipt names bundle {receipt.bundle}, not release {receipt.seq}'s")
        else:
            out.append(None)
    return out


def _outcome(data: dict[str, Any]) -> tuple[object, object]:
    return data.get("status"), data.get("reason")


def _head_size(data: dict[str, Any]) -> int:
    """The size of the receiver's signed head a receipt carries (-1 if it carries none)."""
    head = data.get("receiver_head")
    size = head.get("size") if isinstance(head, dict) else None
    return size if isinstance(size, int) and not isinstance(size, bool) else -1


def _signer(note: object) -> str | None:
    try:
        return str(note["extensions"][EXTENSION_ID]["signature"]["key_id"])  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def _before_revocation(body: dict[str, Any], originator: str) -> Consent | None:
    """The days a revoked consent still covers, as a grant of them (None if it covers none)."""
    last = day_before(date.fromisoformat(str(body["on"])))
    if last is None:  # revoked from the calendar's first day: no day before it
        return None
    consent = _consent(body, originator)
    until = last if consent.valid_until is None else min(consent.valid_until, last)
    if consent.valid_from is not None and until < consent.valid_from:
        return None
    return replace(consent, valid_until=until)


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
