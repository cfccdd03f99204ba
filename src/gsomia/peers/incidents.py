"""Incidents: a holder tells an item's originator that the item was lost or compromised.

``gsomia incident report ITEM --detail TEXT`` records the report on the holder's node (an ``incident``
record, with its leaf) and, at the holder's next sync, sends it to the originator's node as a signed
``incident`` note; the originator's node checks the signature against the holder's card and records it
once. ``gsomia incidents`` lists both: those this node reported, and those reported to it.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from gsomia.domain.errors import GsomiaError
from gsomia.domain.ids import id_problem
from gsomia.exchange.errors import BundleError
from gsomia.exchange.notes import build_note, open_note
from gsomia.services import journal
from gsomia.services.ports import KeyRing, Store
from gsomia.services.worldbook import Worldbook

from .clock import stix_now
from .partners import Partner

MAX_DETAIL = 4000
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")


class Incidents:
    def __init__(self, store: Store, keys: KeyRing, worldbook: Worldbook, party: str) -> None:
        self._store = store
        self._keys = keys
        self._worldbook = worldbook
        self._party = party

    def report(self, item: str, detail: str) -> dict[str, Any]:
        """Record that ``item`` (held here) was lost or compromised, for its originator to be told."""
        if not detail.strip() or len(detail) > MAX_DETAIL:
            raise GsomiaError(f"--detail: say what happened, in 1 to {MAX_DETAIL} characters")
        with self._store.begin() as uow:
            world = self._worldbook.with_items(uow, [item])
            found = world.items.get(item)
            if found is None:
                raise GsomiaError(f"unknown item {item!r}; see: gsomia item list")
            data = {
                "id": f"I-{secrets.token_hex(6)}",
                "item": item,
                "originator": found.originator,
                "holder": self._party,
                "detail": detail,
                "at": stix_now(),
                "direction": "reported",
            }
            journal.add_record(uow, "incident", f"{self._party}:{data['id']}", data)
        return data

    def notes_for(self, partner: Partner) -> list[dict[str, Any]]:
        """Signed notes of the incidents this node reported about ``partner``'s items."""
        return [
            build_note("incident", _body(i), i["at"], self._keys.sign, self._keys.key_id)
            for i in self.incidents()
            if i["direction"] == "reported" and i["originator"] == partner.party
        ]

    def take(self, note: dict[str, Any], partner: Partner) -> dict[str, Any]:
        """Record ``partner``'s signed incident report about one of our items (once)."""
        body = open_note(note, "incident", partner.card)
        if body.get("holder") != partner.party or body.get("originator") != self._party:
            raise BundleError(f"{partner.party} may report only its own incidents about this node's items")
        _check_report(body, partner.party)
        key = f"{partner.party}:{body['id']}"
        with self._store.begin() as uow:
            found = self._worldbook.with_items(uow, [body["item"]]).items.get(body["item"])
            if found is None or found.originator != self._party:
                raise BundleError(
                    f"{partner.party} reports an incident about {body['item']!r}, which is not an item "
                    f"this node originated"
                )
            if not uow.item_records([key], kind="incident"):
                journal.add_record(uow, "incident", key, {**_body(body), "direction": "received"})
        return body

    def incidents(self, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        """Incidents this node reported and those reported to it, oldest first."""
        with self._store.read() as uow:
            return [dict(r.data) for r in uow.item_records_page(after, limit, kind="incident")]


def _check_report(body: dict[str, Any], sender: str) -> None:
    """BundleError unless ``body`` is a report as :meth:`Incidents.report` makes them: an id and an item
    (ids), the detail (1 to :data:`MAX_DETAIL` characters) and when (a STIX timestamp), all text."""
    for name in ("id", "item", "detail", "at"):
        if not isinstance(body.get(name), str):
            raise BundleError(f"{sender}'s incident report: {name!r} must be text")
    for name in ("id", "item"):
        problem = id_problem(body[name])
        if problem is not None:
            raise BundleError(f"{sender}'s incident report: {name} {body[name]!r}: {problem}")
    if not body["detail"].strip() or len(body["detail"]) > MAX_DETAIL:
        raise BundleError(f"{sender}'s incident report: its detail must hold 1 to {MAX_DETAIL} characters")
    if not _STAMP.fullmatch(body["at"]):
        raise BundleError(f"{sender}'s incident report: 'at' is not a timestamp ({body['at'][:40]!r})")


def _body(incident: dict[str, Any]) -> dict[str, Any]:
    return {k: incident[k] for k in ("id", "item", "originator", "holder", "detail", "at")}
