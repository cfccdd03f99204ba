"""Consent across nodes: a holder's request goes to the originator's node; the decision comes back signed.

- A holder node (say JPN, holding KOR's item) records a consent request as usual (``gsomia consent
  request``); at its next sync it sends KOR each of its open requests for KOR's items or topics as a signed
  ``consent-request`` note. KOR records it as a request of its own, id ``JPN-<JPN's id>``, which KOR's
  officers grant or deny as any other (``gsomia consent grant JPN-C1``).
- KOR serves each decision on such a request (granted with its days, denied, revoked from a day) to JPN as
  a signed ``consent-decision`` note; JPN's next sync applies it to its own request, in KOR's name (KOR,
  the originator, is the only party whose decision the consent workflow accepts). JPN's onward release then
  passes or fails rule 6 on it. Both nodes' logs hold every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gsomia.domain.errors import GsomiaError
from gsomia.domain.ids import id_problem
from gsomia.domain.model import Consent
from gsomia.exchange.errors import BundleError
from gsomia.exchange.notes import build_note, open_note
from gsomia.services.consent import ConsentRequest, Consents, originator_of
from gsomia.services.ports import KeyRing, Store
from gsomia.services.replay import ConsentView
from gsomia.services.worldbook import Worldbook

from .clock import stix_now
from .partners import Partner

FIELDS = ("holder", "recipient", "item", "topic", "originator", "from", "until")
BINDING = ("holder", "recipient", "item", "topic")  # what a decision must name as the request did
DECISIONS = ("granted", "denied", "revoked")


class ConsentExchange:
    def __init__(
        self, store: Store, keys: KeyRing, worldbook: Worldbook, consents: Consents, party: str
    ) -> None:
        self._store = store
        self._keys = keys
        self._worldbook = worldbook
        self._consents = consents
        self._party = party
        self._stamps: dict[str, str] = {}  # note body digest -> when first served (a stable version)

    # -- the holder's side ---------------------------------------------------------------------------
    def requests_for(self, partner: Partner) -> list[dict[str, Any]]:
        """Signed notes of this node's open requests for consents ``partner`` decides."""
        out = []
        for view in self._consents.consents():
            if view.status != "requested" or view.terms.get("holder") != self._party:
                continue
            if self._originator(view) != partner.party:
                continue
            body = {"consent": view.id, **{k: view.terms[k] for k in FIELDS if k in view.terms}}
            out.append(self._note("consent-request", body))
        return out

    def take_decision(self, note: dict[str, Any], partner: Partner) -> str | None:
        """Apply ``partner``'s signed decision to our request; the new status, or None if nothing changed.

        The decision must name the terms this node asked for (holder, recipient, item or topic), and
        be the originator's: a BundleError says why not. It is kept (a ``consent-note`` record, the
        evidence that travels with onward releases) only with the change it makes, in one unit of
        work: a decision sent again, or an older one replayed after a newer, is neither applied nor kept.
        """
        body = open_note(note, "consent-decision", partner.card)
        _texts(body, ("consent", "status", "by", "note", "on", *FIELDS), "a consent decision")
        cid, status = body.get("consent") or "", body.get("status")
        if status not in DECISIONS:
            raise BundleError(
                f"a consent decision's status must be one of {', '.join(DECISIONS)}, not {status!r}"
            )
        if status == "revoked" and not body.get("on"):
            raise BundleError(f"{partner.party} revoked consent {cid!r} from no day ('on' is missing)")
        if body.get("by") not in (None, partner.party):
            raise BundleError(f"a decision {partner.party} signed names {body.get('by')!r} as its maker")
        try:
            view = self._consents.get(cid)
        except GsomiaError:
            raise BundleError(
                f"{partner.party} decided on consent {cid!r}, which this node never asked"
            ) from None
        if self._originator(view) != partner.party:
            raise BundleError(f"consent {cid!r} is not {partner.party}'s to decide")
        differs = _differing_terms(view.terms, body)
        if differs:
            raise BundleError(
                f"{partner.party}'s decision on consent {cid!r} names other terms than this node asked "
                f"({differs}); it is not applied"
            )
        if status == view.status:
            return None
        note_text = str(body.get("note") or "")
        if status == "granted" and view.status == "requested":
            self._consents.grant(
                cid,
                valid_from=body.get("from"),
                valid_until=body.get("until"),
                by=partner.party,
                evidence=note,
            )
        elif status == "denied" and view.status == "requested":
            self._consents.deny(cid, by=partner.party, note=note_text, evidence=note)
        elif status == "revoked" and view.status == "granted":
            self._consents.revoke(cid, str(body["on"]), by=partner.party, note=note_text, evidence=note)
        else:
            return None
        return str(status)

    # -- the originator's side -----------------------------------------------------------------------
    def take_request(self, note: dict[str, Any], partner: Partner) -> ConsentView:
        """Record ``partner``'s signed request as a request on this node (once). A request sent again is
        the one recorded; one under an id that names another request here (another holder's, or other
        terms) is refused, as is one for what this node did not originate."""
        body = open_note(note, "consent-request", partner.card)
        _texts(body, ("consent", *FIELDS), "a consent request")
        if body.get("holder") != partner.party:
            raise BundleError(
                f"{partner.party} may ask consent only for itself, not for {body.get('holder')!r}"
            )
        theirs = body.get("consent") or ""
        cid = f"{partner.party}-{theirs}"
        if not theirs or id_problem(cid) is not None:
            raise BundleError(f"consent id {theirs!r} cannot name a request here: {id_problem(cid)}")
        ask = ConsentRequest(
            holder=partner.party,
            recipient=body.get("recipient") or "",
            item=body.get("item"),
            topic=body.get("topic"),
            originator=body.get("originator"),
            valid_from=body.get("from"),
            valid_until=body.get("until"),
        )
        if self._originator_of_request(ask) != self._party:
            raise BundleError(
                f"this node ({self._party}) is not the originator of what {partner.party} asks for"
            )
        try:
            known = self._consents.get(cid)
        except GsomiaError:
            known = None
        if known is not None:
            differs = _differing_terms(known.terms, body)
            if differs:
                raise BundleError(
                    f"{partner.party}'s consent request {theirs!r} would be {cid!r} here, which names "
                    f"another request ({differs}); ask under another id"
                )
            return known
        try:
            return self._consents.request(ask, id=cid)
        except GsomiaError as exc:
            raise BundleError(
                f"{partner.party}'s consent request {theirs!r} cannot be recorded: {exc}"
            ) from None

    def decisions_for(self, partner: Partner) -> list[dict[str, Any]]:
        """Signed notes of this node's decisions on ``partner``'s requests (those it holds as
        ``<partner>-<their id>``, for ``partner`` as holder: never another party's that shares the prefix)."""
        prefix = f"{partner.party}-"
        out = []
        for view in self._consents.consents():
            if not view.id.startswith(prefix) or view.status == "requested":
                continue
            if view.terms.get("holder") != partner.party:
                continue
            body: dict[str, Any] = {
                "consent": view.id[len(prefix) :],
                "status": view.status,
                "by": self._party,
            }
            body |= {k: view.terms[k] for k in FIELDS if k in view.terms}
            if view.revoked_on is not None:
                body["on"] = view.revoked_on
            out.append(self._note("consent-decision", body))
        return out

    def notes_for_releases(
        self, holder: str, recipient: str, items: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """:meth:`notes_for_release` for many items at once (the consents read once): item -> notes."""
        views = [
            v
            for v in self._consents.consents()
            if v.terms.get("holder") == holder and v.terms.get("recipient") == recipient
        ]
        if not views:
            return {item: [] for item in items}
        kept: dict[str, list[dict[str, Any]]] = {}
        with self._store.read() as uow:
            for view in views:
                found = uow.item_records([view.id], kind="consent-note")
                kept[view.id] = [dict(r.data["note"]) for r in found[-1:]]
        return {
            item: [n for v in views if v.terms.get("item") in (None, item) for n in kept[v.id]]
            for item in items
        }

    def notes_for_release(self, holder: str, recipient: str, item: str) -> list[dict[str, Any]]:
        """The originators' signed decisions this node keeps on consents for ``holder`` to pass ``item`` to
        ``recipient``: they travel with the onward release, so the recipient's node can check rule 6."""
        out = []
        for view in self._consents.consents():
            terms = view.terms
            if terms.get("holder") != holder or terms.get("recipient") != recipient:
                continue
            if terms.get("item") not in (None, item):
                continue
            with self._store.read() as uow:
                kept = uow.item_records([view.id], kind="consent-note")
            out += [dict(r.data["note"]) for r in kept[-1:]]
        return out

    def record_granted(self, consent: Consent, originator: str) -> None:
        """Record on this node a consent ``originator`` granted (its signed decision travelled with an
        onward release this node accepted), once, as granted by the originator. Nothing is recorded if
        ``originator`` is not the party whose consent it is (the item's originator, or the one a topic
        consent names), or if the id it would take names another consent here."""
        cid = f"{originator}-{consent.holder}-{consent.item or consent.topic}"
        if id_problem(cid) is not None:
            return
        ask = ConsentRequest(
            holder=consent.holder,
            recipient=consent.recipient,
            item=consent.item,
            topic=consent.topic,
            originator=consent.originator if consent.topic is not None else None,
            valid_from=consent.valid_from,
            valid_until=consent.valid_until,
        )
        if self._originator_of_request(ask) != originator:
            return
        try:
            self._consents.get(cid)
            return
        except GsomiaError:
            pass
        self._consents.request(ask, id=cid)
        self._consents.grant(cid, by=originator)

    # -- helpers -------------------------------------------------------------------------------------
    def _note(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        key = f"{kind}|{sorted(body.items())}"
        at = self._stamps.setdefault(key, stix_now())
        return build_note(kind, body, at, self._keys.sign, self._keys.key_id)

    def _originator(self, view: ConsentView) -> str | None:
        try:
            with self._store.read() as uow:
                named = [str(view.terms["item"])] if "item" in view.terms else []
                return originator_of(view, self._worldbook.with_items(uow, named))
        except (KeyError, GsomiaError):
            return None

    def _originator_of_request(self, ask: ConsentRequest) -> str | None:
        """Whose consent ``ask`` is: its item's originator (a BundleError if it names another), or the
        originator a topic consent names; None for an unknown item."""
        if ask.item is None:
            return ask.originator
        with self._store.read() as uow:
            world = self._worldbook.with_items(uow, [ask.item])
        found = world.items.get(ask.item)
        if found is None:
            return None
        if ask.originator is not None and ask.originator != found.originator:
            raise BundleError(
                f"consent for item {ask.item!r} names {ask.originator} as its originator; the item is "
                f"{found.originator}'s"
            )
        return found.originator


def _texts(body: dict[str, Any], names: Sequence[str], what: str) -> None:
    """BundleError unless each of ``names`` in ``body`` is text (or absent)."""
    for name in names:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BundleError(f"{what}: {name!r} must be text, not {type(value).__name__}")


def _differing_terms(terms: dict[str, Any], body: dict[str, Any]) -> str:
    """The terms binding a consent (holder, recipient, item, topic; a topic consent's originator) on which
    ``body`` differs from ``terms``, named; empty if none."""
    names = BINDING + (("originator",) if terms.get("topic") is not None else ())
    return ", ".join(
        f"{name} {body.get(name)!r} not {terms.get(name)!r}"
        for name in names
        if body.get(name) != terms.get(name)
    )
