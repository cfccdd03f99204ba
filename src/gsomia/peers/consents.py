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
from gsomia.services import journal
from gsomia.services.consent import ConsentRequest, Consents, originator_of
from gsomia.services.ports import KeyRing, Store
from gsomia.services.replay import ConsentView
from gsomia.services.worldbook import Worldbook

from .clock import stix_now
from .partners import Partner

FIELDS = ("holder", "recipient", "item", "topic", "originator", "from", "until")


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
        """Apply ``partner``'s signed decision to our request; the new status, or None if nothing changed."""
        body = open_note(note, "consent-decision", partner.card)
        cid, status = str(body.get("consent", "")), str(body.get("status", ""))
        try:
            view = self._consents.get(cid)
        except GsomiaError:
            raise BundleError(
                f"{partner.party} decided on consent {cid!r}, which this node never asked"
            ) from None
        if self._originator(view) != partner.party:
            raise BundleError(f"consent {cid!r} is not {partner.party}'s to decide")
        if status == view.status:
            return None
        self._keep(cid, note)
        if status == "granted" and view.status == "requested":
            self._consents.grant(
                cid, valid_from=body.get("from"), valid_until=body.get("until"), by=partner.party
            )
        elif status == "denied" and view.status == "requested":
            self._consents.deny(cid, by=partner.party, note=str(body.get("note", "")))
        elif status == "revoked" and view.status == "granted":
            self._consents.revoke(cid, str(body["on"]), by=partner.party, note=str(body.get("note", "")))
        else:
            return None
        return status

    # -- the originator's side -----------------------------------------------------------------------
    def take_request(self, note: dict[str, Any], partner: Partner) -> ConsentView:
        """Record ``partner``'s signed request as a request on this node (once)."""
        body = open_note(note, "consent-request", partner.card)
        if body.get("holder") != partner.party:
            raise BundleError(
                f"{partner.party} may ask consent only for itself, not for {body.get('holder')!r}"
            )
        theirs = str(body.get("consent", ""))
        cid = f"{partner.party}-{theirs}"
        if id_problem(cid) is not None:
            raise BundleError(f"consent id {theirs!r} cannot name a request here: {id_problem(cid)}")
        try:
            return self._consents.get(cid)
        except GsomiaError:
            pass
        ask = ConsentRequest(
            holder=partner.party,
            recipient=str(body.get("recipient", "")),
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
            return self._consents.request(ask, id=cid)
        except GsomiaError as exc:
            raise BundleError(
                f"{partner.party}'s consent request {theirs!r} cannot be recorded: {exc}"
            ) from None

    def decisions_for(self, partner: Partner) -> list[dict[str, Any]]:
        """Signed notes of this node's decisions on ``partner``'s requests."""
        prefix = f"{partner.party}-"
        out = []
        for view in self._consents.consents():
            if not view.id.startswith(prefix) or view.status == "requested":
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
        onward release this node accepted), once, as granted by the originator."""
        cid = f"{originator}-{consent.holder}-{consent.item or consent.topic}"
        if id_problem(cid) is not None:
            return
        try:
            self._consents.get(cid)
            return
        except GsomiaError:
            pass
        ask = ConsentRequest(
            holder=consent.holder,
            recipient=consent.recipient,
            item=consent.item,
            topic=consent.topic,
            originator=consent.originator if consent.topic is not None else None,
            valid_from=consent.valid_from,
            valid_until=consent.valid_until,
        )
        self._consents.request(ask, id=cid)
        self._consents.grant(cid, by=originator)

    def _keep(self, cid: str, note: dict[str, Any]) -> None:
        with self._store.begin() as uow:
            journal.add_record(uow, "consent-note", cid, {"consent": cid, "note": note})

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
        if ask.originator is not None:
            return ask.originator
        if ask.item is None:
            return None
        with self._store.read() as uow:
            world = self._worldbook.with_items(uow, [ask.item])
        found = world.items.get(ask.item)
        return None if found is None else found.originator
