"""A node's world is the replay of its append-only records into the plain data of a world file.

Pure: records in, data out. Records apply in ``seq`` order; a world-file section keeps the order its
records were added in (so same-day events keep their order). Consents are the exception: a consent is a
``consent`` record (a request, or a consent imported already granted) followed by ``consent-status``
records, and only its current form reaches the world:

- requested, or denied: not in the world;
- granted: in the world with the granted ``from`` / ``until``;
- revoked on day ``r``: in the world until ``r - 1`` at the latest (history before the revocation stands),
  or not at all if that leaves no day (nor if ``r - 1`` is a day gsomia does not take: see
  :mod:`gsomia.domain.days`).

Each section entry remembers the ``seq`` of the record it came from, so an error found in the rebuilt
world can name the record that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from gsomia.domain.days import FIRST_DAY, day_before

from .ports import Record
from .worlddata import from_record

Data = dict[str, Any]
ConsentStatus = Literal["requested", "granted", "denied", "revoked"]
SECTIONS = {"party": "parties", "agreement": "agreements", "event": "events", "item": "items"}
CONSENT_FIELDS = ("holder", "recipient", "item", "topic", "originator", "from", "until")


@dataclass(frozen=True, slots=True)
class ConsentView:
    """A consent as its records leave it: who asked, what for, and where it stands."""

    id: str
    terms: Data  # holder, recipient, item | topic + originator, and from / until as last set
    status: ConsentStatus
    revoked_on: str | None = None
    history: tuple[Record, ...] = ()

    def world_entry(self) -> Data | None:
        """The consent as a world file states it now, or None when it covers no day."""
        if self.status not in ("granted", "revoked"):
            return None
        entry = {k: self.terms[k] for k in CONSENT_FIELDS if self.terms.get(k) is not None}
        if self.revoked_on is not None:
            last = _eve(self.revoked_on)
            if last is None:
                return None
            entry["until"] = min(entry.get("until", last), last)
            if "from" in entry and entry["from"] > entry["until"]:
                return None
        return entry

    def to_dict(self) -> Data:
        return {
            "id": self.id,
            **{k: self.terms[k] for k in CONSENT_FIELDS if self.terms.get(k) is not None},
            "status": self.status,
            "revoked_on": self.revoked_on,
            "history": [{"seq": r.seq, "kind": r.kind, **r.data} for r in self.history],
        }


@dataclass(slots=True)
class Replay:
    """The world file's data, the consents by id, and which record each section entry came from."""

    data: Data
    consents: dict[str, ConsentView] = field(default_factory=dict)
    origins: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def origin(self, section: str, index: int) -> tuple[int, str] | None:
        """(seq, key) of the record behind entry ``index`` of ``section``, if there is one."""
        found = self.origins.get(section, [])
        return found[index] if 0 <= index < len(found) else None

    def index_of(self, section: str, seq: int) -> int:
        """Where the entry of record ``seq`` sits in ``section``."""
        return [s for s, _key in self.origins.get(section, [])].index(seq)


def replay(records: Iterable[Record]) -> Replay:
    """Fold ``records`` (in seq order) into a world file's data."""
    out = Replay({"gsomia": 1, "parties": [], "agreements": [], "events": [], "items": [], "consents": []})
    for record in records:
        if record.kind == "meta":
            _meta(out.data, record)
        elif record.kind in SECTIONS:
            section = SECTIONS[record.kind]
            out.data[section].append(from_record(record.data))
            out.origins.setdefault(section, []).append((record.seq, record.key))
        elif record.kind == "consent":
            out.consents[record.key] = ConsentView(
                record.key, _terms(record.data), record.data.get("status", "requested"), history=(record,)
            )
        elif record.kind == "consent-status" and record.key in out.consents:
            out.consents[record.key] = apply_status(out.consents[record.key], record)
    for view in out.consents.values():
        entry = view.world_entry()
        if entry is not None:
            out.data["consents"].append(entry)
            out.origins.setdefault("consents", []).append((view.history[-1].seq, view.id))
    return out


def _eve(revoked_on: str) -> str | None:
    """The last day a consent revoked on ``revoked_on`` covers; None when that is no day gsomia takes (it
    was revoked on the first one, or, in an older record, on the calendar's very first day)."""
    last = day_before(date.fromisoformat(revoked_on))
    return None if last is None or last < FIRST_DAY else last.isoformat()


def _meta(data: Data, record: Record) -> None:
    if record.key == "name":
        name = record.data.get("name") or ""
        if name:
            data["name"] = name
        else:
            data.pop("name", None)


def _terms(data: Data) -> Data:
    return {k: data[k] for k in CONSENT_FIELDS if data.get(k) is not None}


def apply_status(view: ConsentView, record: Record) -> ConsentView:
    """``view`` after one ``consent-status`` record: granted (with its window), denied, or revoked."""
    status: ConsentStatus = record.data["status"]
    terms = dict(view.terms)
    if status == "granted":
        for key in ("from", "until"):
            if key in record.data:
                terms[key] = record.data[key]
                if terms[key] is None:
                    del terms[key]
    revoked_on = record.data.get("on") if status == "revoked" else view.revoked_on
    return ConsentView(view.id, terms, status, revoked_on, (*view.history, record))
