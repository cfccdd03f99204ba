"""The consent workflow: a holder asks, the originator grants or denies, and may later revoke.

::

    request (holder) ──> requested ──grant (originator, from/until)──> granted ──revoke (originator)─> revoked
                              └──────deny (originator)──────────> denied

Each step is a new record (with its ledger leaf); nothing is edited or deleted. What the world sees is
derived from the history (:mod:`gsomia.services.replay`): a granted consent covers its ``from``..``until``
days; revoked on day ``r`` it covers no day from ``r`` on, so releases decided for those days are refused
while decisions about earlier days stand. Expiry needs no record: a consent covers no day after ``until``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gsomia.domain.world import World, parse_day

from . import journal
from .errors import ConsentStateError, UnknownConsentError
from .ports import Store, UnitOfWork
from .replay import ConsentView, replay
from .worldbook import Pending, Worldbook, new_consent_id

Day = date | str | None
Evidence = Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What a holder asks for: an item, or a topic of an originator, from holder to recipient."""

    holder: str
    recipient: str
    item: str | None = None
    topic: str | None = None
    originator: str | None = None
    valid_from: Day = None
    valid_until: Day = None

    def terms(self) -> dict[str, Any]:
        given = {
            "holder": self.holder,
            "recipient": self.recipient,
            "item": self.item,
            "topic": self.topic,
            "originator": self.originator,
            "from": _text(self.valid_from),
            "until": _text(self.valid_until),
        }
        return {k: v for k, v in given.items() if v is not None}


def standing(view: ConsentView, at: date) -> str:
    """Where the consent stands on day ``at``: requested, denied, granted, expired, not-yet or revoked."""
    if view.status == "revoked" and view.revoked_on is not None and at >= date.fromisoformat(view.revoked_on):
        return "revoked"
    if view.status in ("requested", "denied"):
        return view.status
    if "until" in view.terms and at > date.fromisoformat(view.terms["until"]):
        return "expired"
    if "from" in view.terms and at < date.fromisoformat(view.terms["from"]):
        return "not-yet-valid"
    return "granted"


class Consents:
    def __init__(self, store: Store, worldbook: Worldbook) -> None:
        self._store = store
        self._worldbook = worldbook

    def request(self, ask: ConsentRequest, *, id: str | None = None) -> ConsentView:
        """Record a holder's request; checked as if it were granted, so a request names real things."""
        with self._store.begin() as uow:
            cid = id or new_consent_id(uow.world_records())
            if cid in replay(uow.world_records()).consents:
                raise ConsentStateError(f"consent id {cid!r} is already used; choose another")
            data = {"id": cid, **ask.terms()}
            checked = self._worldbook.check(uow, [Pending("consent", cid, {**data, "status": "granted"})])
            terms = checked.normalized("consents", checked.first_new)
            journal.add_record(uow, "consent", cid, {"id": cid, **terms, "status": "requested"})
            return self._view(uow, cid)

    def grant(
        self,
        cid: str,
        *,
        valid_from: Day = None,
        valid_until: Day = None,
        by: str | None = None,
        evidence: Evidence = None,
    ) -> ConsentView:
        """The originator grants a request, for ``from``..``until`` (default: the days asked for).
        ``evidence``: the originator's signed decision that says so (see :func:`_keep_evidence`)."""
        with self._store.begin() as uow:
            view = self._expect(uow, cid, "requested", "granted")
            decider = self._decider(uow, view, by)
            change: dict[str, Any] = {"id": cid, "status": "granted"}
            change.update({k: _text(v) for k, v in (("from", valid_from), ("until", valid_until)) if v})
            checked = self._worldbook.check(uow, [Pending("consent-status", cid, change)])
            window = checked.normalized("consents", checked.first_new)
            change.update({k: window[k] for k in ("from", "until") if k in window})
            journal.add_record(uow, "consent-status", cid, {**change, "by": decider})
            _keep_evidence(uow, cid, evidence)
            return self._view(uow, cid)

    def deny(
        self, cid: str, *, by: str | None = None, note: str = "", evidence: Evidence = None
    ) -> ConsentView:
        """The originator refuses a request."""
        with self._store.begin() as uow:
            view = self._expect(uow, cid, "requested", "denied")
            change = {"id": cid, "status": "denied", "by": self._decider(uow, view, by), "note": note}
            journal.add_record(uow, "consent-status", cid, change)
            _keep_evidence(uow, cid, evidence)
            return self._view(uow, cid)

    def revoke(
        self, cid: str, on: date | str, *, by: str | None = None, note: str = "", evidence: Evidence = None
    ) -> ConsentView:
        """The originator withdraws a granted consent: from day ``on``, it covers nothing."""
        day = parse_day(on, "on")
        with self._store.begin() as uow:
            view = self._expect(uow, cid, "granted", "revoked")
            decider = self._decider(uow, view, by)
            change = {"id": cid, "status": "revoked", "on": day.isoformat(), "by": decider}
            journal.add_record(uow, "consent-status", cid, {**change, "note": note})
            _keep_evidence(uow, cid, evidence)
            return self._view(uow, cid)

    def get(self, cid: str) -> ConsentView:
        with self._store.read() as uow:
            return self._view(uow, cid)

    def consents(self) -> list[ConsentView]:
        """Every consent ever requested or imported, with its history, oldest first."""
        with self._store.read() as uow:
            return list(replay(uow.world_records()).consents.values())

    # -- helpers -----------------------------------------------------------------------------------
    def _view(self, uow: UnitOfWork, cid: str) -> ConsentView:
        found = replay(uow.world_records()).consents.get(cid)
        if found is None:
            raise UnknownConsentError(f"unknown consent {cid!r}; see: gsomia consent list")
        return found

    def _expect(self, uow: UnitOfWork, cid: str, status: str, step: str) -> ConsentView:
        view = self._view(uow, cid)
        if view.status != status:
            raise ConsentStateError(
                f"consent {cid!r} is {view.status}; only a {status} consent can be {step}"
            )
        return view

    def _decider(self, uow: UnitOfWork, view: ConsentView, by: str | None) -> str:
        """The originator, who alone decides on the consent; ``by``, if given, must be that party."""
        named = [str(view.terms["item"])] if "item" in view.terms else []
        originator = originator_of(view, self._worldbook.with_items(uow, named))
        if by is not None and by != originator:
            raise ConsentStateError(
                f"only the originator {originator} can decide on consent {view.id!r}, not {by}"
            )
        return originator


def originator_of(view: ConsentView, world: World) -> str:
    """The party whose consent it is: the item's originator (whatever party the consent's terms name), or
    the one a topic consent names."""
    if "item" in view.terms:
        return world.items[str(view.terms["item"])].originator
    return str(view.terms["originator"])


def _keep_evidence(uow: UnitOfWork, cid: str, evidence: Evidence) -> None:
    """A ``consent-note`` record of the originator's signed decision that made this change, in the unit
    that makes it: the latest such record of a consent is always the decision that stands (it travels
    with onward releases); a decision that changes nothing is never kept."""
    if evidence is not None:
        journal.add_record(uow, "consent-note", cid, {"consent": cid, "note": dict(evidence)})


def _text(day: Day) -> str | None:
    return day.isoformat() if isinstance(day, date) else day
