"""An in-memory TaxiiSource for the web tests: parties with tokens, collections, and thousands of objects."""

from __future__ import annotations

import hmac
import uuid
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gsomia.web.taxii import (
    CollectionInfo,
    Entry,
    Page,
    PageQuery,
    StatusDetail,
    StatusInfo,
    format_timestamp,
    parse_timestamp,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
SHARED = "1f0c6b1e-7d1a-4c57-9a3a-000000000001"  # KOR reads and writes, JPN reads
JPN_ONLY = "1f0c6b1e-7d1a-4c57-9a3a-000000000002"
EMPTY = "1f0c6b1e-7d1a-4c57-9a3a-000000000003"  # KOR's, nothing in it
DROP = "1f0c6b1e-7d1a-4c57-9a3a-000000000004"  # USA may write, not read
TOKENS = {"KOR": "kor-secret", "JPN": "jpn-secret", "USA": "usa-secret"}
TYPES = ("indicator", "report", "note")


def stix_id(kind: str, n: int) -> str:
    return f"{kind}--{uuid.uuid5(uuid.NAMESPACE_URL, f'gsomia-test-{n}')}"


def stix_object(kind: str, n: int, version: datetime) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": stix_id(kind, n),
        "created": format_timestamp(START),
        "modified": format_timestamp(version),
        "name": f"object {n}",
    }


@dataclass
class MemorySource:
    """A TaxiiSource over lists: rows kept in (date_added, seq) order, found by bisection."""

    grants: dict[str, list[CollectionInfo]] = field(default_factory=dict)  # party -> what it sees
    rows: dict[str, list[Entry]] = field(default_factory=dict)  # collection -> entries in cursor order
    withheld: set[tuple[str, str]] = field(default_factory=set)  # (party, object id) never served
    statuses: dict[str, tuple[str, StatusInfo]] = field(default_factory=dict)  # id -> (owner, status)
    seq: int = 0
    pages_served: int = 0

    def authenticate(self, party: str | None, token: str) -> str | None:
        for who, secret in TOKENS.items():
            if hmac.compare_digest(secret.encode(), token.encode()) and party in (None, who):
                return who
        return None

    def collections_for(self, party: str) -> list[CollectionInfo]:
        return list(self.grants.get(party, []))

    def add(self, collection_id: str, data: dict[str, Any], date_added: datetime) -> Entry:
        self.seq += 1
        version = parse_timestamp(data.get("modified") or data["created"])
        entry = Entry(data["id"], data["type"], version, date_added, self.seq, data)
        rows = self.rows.setdefault(collection_id, [])
        assert not rows or rows[-1].cursor < entry.cursor, "rows are added in cursor order"
        rows.append(entry)
        return entry

    def page(self, collection_id: str, party: str, query: PageQuery) -> Page:
        self.pages_served += 1
        rows = self.rows.get(collection_id, [])
        start = bisect_right(rows, query.after, key=lambda e: e.cursor) if query.after else 0
        versions: dict[str, list[datetime]] = {}
        for row in rows:
            versions.setdefault(row.id, []).append(row.version)
        out: list[Entry] = []
        for row in rows[start:]:
            if (
                (query.added_after is not None and row.date_added <= query.added_after)
                or (query.ids and row.id not in query.ids)
                or (query.types and row.type not in query.types)
                or (party, row.id) in self.withheld
                or not query.versions.picks(
                    row.version, first=min(versions[row.id]), last=max(versions[row.id])
                )
            ):
                continue
            if len(out) == query.limit:
                return Page(out, more=True)
            out.append(row)
        return Page(out, more=False)

    def accept(self, collection_id: str, party: str, envelope: dict[str, Any]) -> StatusInfo:
        last = self.rows.get(collection_id, [])
        when = max(datetime.now(UTC), last[-1].date_added + timedelta(microseconds=1) if last else START)
        good, bad = [], []
        for obj in envelope["objects"]:
            stamp = obj.get("modified") or obj.get("created")
            if not isinstance(stamp, str):
                bad.append(StatusDetail(obj["id"], "", "no created or modified timestamp"))
                continue
            self.add(collection_id, obj, when)
            good.append(StatusDetail(obj["id"], stamp))
        status = StatusInfo(str(uuid.uuid4()), "complete", when, tuple(good), tuple(bad))
        self.statuses[status.id] = (party, status)
        return status

    def status(self, status_id: str, party: str) -> StatusInfo | None:
        owner, status = self.statuses.get(status_id, ("", None))
        return status if owner == party else None


def seeded_source(count: int = 2500, revised_every: int = 10) -> MemorySource:
    """``count`` objects in SHARED (three per date_added instant, so ties need seq), every
    ``revised_every``-th object revised 30 days later; two objects in JPN_ONLY; EMPTY and DROP have none."""
    shared = CollectionInfo(SHARED, "Shared with JPN", "KOR's exchange", can_read=True, can_write=True)
    source = MemorySource(
        grants={
            "KOR": [shared, CollectionInfo(EMPTY, "Nothing yet", can_write=True)],
            "JPN": [replace(shared, can_write=False), CollectionInfo(JPN_ONLY, "JPN's own")],
            "USA": [CollectionInfo(DROP, "Drop box", can_read=False, can_write=True)],
        }
    )
    for n in range(count):
        kind = TYPES[n % len(TYPES)]
        source.add(SHARED, stix_object(kind, n, START), START + timedelta(seconds=n // 3))
    later = START + timedelta(days=30)
    for n in range(0, count, revised_every):
        version = later + timedelta(seconds=n)
        source.add(SHARED, stix_object(TYPES[n % len(TYPES)], n, version), version)
    for n in range(2):
        source.add(JPN_ONLY, stix_object("report", 10_000 + n, START), START)
    return source
