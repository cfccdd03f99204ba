"""Domain values back to the plain data of a world file (docs/world-file.md), as JSON-ready dicts.

The inverse of :func:`gsomia.scenario.spec_from_data`: for any valid spec, reading these dicts back gives
the same values. The node stores every world record in this normalized form, so what it exports is what
it validated, whatever spelling the input used.
"""

from __future__ import annotations

from typing import Any

from gsomia.domain.model import Agreement, Consent, Event, Item, Party, Table

Data = dict[str, Any]


def party_data(party: Party) -> Data:
    return {
        "id": party.id,
        "name": party.name,
        "levels": [{"id": level.id, "marking": level.marking} for level in party.levels],
    }


def table_data(table: Table) -> list[Data]:
    return [{who: list(levels) for who, levels in row.cells} for row in table]


def agreement_data(agreement: Agreement) -> Data:
    out: Data = {"id": agreement.id, "kind": agreement.kind, "parties": list(agreement.parties)}
    if agreement.name:
        out["name"] = agreement.name
    out["entry_into_force"] = agreement.entry_into_force.isoformat()
    if agreement.term is not None:
        out["term"] = str(agreement.term)
    out["renewal"] = "automatic" if agreement.renewal else "none"
    out["notice_period"] = str(agreement.notice_period)
    out["scope"] = "any" if agreement.scope is None else list(agreement.scope)
    if agreement.equivalence:
        out["equivalence"] = table_data(agreement.equivalence)
    if agreement.conduit is not None:
        out["conduit"] = agreement.conduit
    if agreement.hops:
        out["hops"] = list(agreement.hops)
    return out


def event_data(event: Event) -> Data:
    out: Data = {"date": event.date.isoformat(), "agreement": event.agreement, "kind": event.kind}
    if event.by is not None:
        out["by"] = event.by
    if event.scope_any:
        out["scope"] = "any"
    elif event.scope is not None:
        out["scope"] = list(event.scope)
    if event.equivalence is not None:
        out["equivalence"] = table_data(event.equivalence)
    return out


def item_data(item: Item) -> Data:
    out: Data = {"id": item.id, "originator": item.originator, "level": item.level}
    if item.topics:
        out["topics"] = list(item.topics)
    if item.releasable_to is not None:
        out["releasable_to"] = list(item.releasable_to)
    if item.caveats:
        out["caveats"] = list(item.caveats)
    return out


def consent_data(consent: Consent) -> Data:
    out: Data = {"holder": consent.holder, "recipient": consent.recipient}
    if consent.item is not None:
        out["item"] = consent.item
    if consent.topic is not None:
        out["topic"] = consent.topic
    if consent.originator is not None:
        out["originator"] = consent.originator
    if consent.valid_from is not None:
        out["from"] = consent.valid_from.isoformat()
    if consent.valid_until is not None:
        out["until"] = consent.valid_until.isoformat()
    return out


# -- records: the stored form ---------------------------------------------------------------------------
# A JSON object's keys have no order (stores and RFC 8785 sort them), but an equivalence row is written
# party by party and the spec keeps that order; records hold rows as [party, levels] pairs to keep it.
CELLS = "equivalence_cells"


def to_record(data: Data) -> Data:
    """A normalized agreement or event as it is stored: rows as ordered [party, levels] pairs."""
    if "equivalence" not in data:
        return data
    out = {k: v for k, v in data.items() if k != "equivalence"}
    out[CELLS] = [[[who, list(levels)] for who, levels in row.items()] for row in data["equivalence"]]
    return out


def from_record(data: Data) -> Data:
    """A stored agreement or event back in world-file form."""
    if CELLS not in data:
        return data
    out = {k: v for k, v in data.items() if k != CELLS}
    out["equivalence"] = [dict(row) for row in data[CELLS]]
    return out


_ORDER = {
    "": ("gsomia", "name", "parties", "agreements", "events", "items", "consents"),
    "parties": ("id", "name", "levels"),
    "agreements": (
        "id",
        "name",
        "kind",
        "parties",
        "conduit",
        "entry_into_force",
        "term",
        "renewal",
        "notice_period",
        "scope",
        "equivalence",
        "hops",
    ),
    "events": ("date", "agreement", "kind", "by", "scope", "equivalence"),
    "items": ("id", "originator", "level", "topics", "releasable_to", "caveats"),
    "consents": ("item", "topic", "originator", "holder", "recipient", "from", "until"),
}


def _ordered(entry: Data, keys: tuple[str, ...]) -> Data:
    return {k: entry[k] for k in keys if k in entry} | {k: v for k, v in entry.items() if k not in keys}


def world_file(data: Data) -> Data:
    """World data with keys in the order a person writes a world file (as docs/world-file.md does)."""
    out = _ordered(data, _ORDER[""])
    for section, keys in _ORDER.items():
        if section and section in out:
            out[section] = [_ordered(entry, keys) for entry in out[section]]
    return out
