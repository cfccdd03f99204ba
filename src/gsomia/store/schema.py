"""The node database as SQLAlchemy Core tables, and the one JSON codec every adapter stores with.

Every table is append-only: the adapters only ever INSERT, and migration 0001 installs triggers that make
the database itself refuse UPDATE and DELETE. Sequence numbers (``records.seq``, ``releases.seq``,
``leaves.idx``...) are assigned by the unit of work under the writer lock, not by the database, so they are
contiguous (no gaps from rolled-back transactions) and in commit order on SQLite and PostgreSQL alike.

JSON is stored as canonical text (sorted keys, no ASCII escaping, compact separators): what is read back
equals what was written, and markings such as 군사II급비밀 stay readable in the file.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from ..services.ports import WORLD_KINDS

# SQLite: INTEGER PRIMARY KEY is the rowid itself (no second index); PostgreSQL: BIGINT.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# the world's kinds as SQL (a new world kind needs a migration that rebuilds ix_records_world_seq), in the
# form each database evaluates cheapest for every inserted row (measured in bare scripts, item rows into a
# table with the index: SQLite 200,000 in 0.43 s with the chain of equalities, 0.83 s with IN, 0.38 s
# without the index; PostgreSQL 100,000 in 0.91-0.93 s with IN, 1.11-1.18 s with the chain, 0.74-0.82 s
# without)
WORLD_CONDITION = "kind IN (" + ", ".join(f"'{kind}'" for kind in WORLD_KINDS) + ")"
WORLD_CONDITION_SQLITE = "(" + " OR ".join(f"kind = '{kind}'" for kind in WORLD_KINDS) + ")"

records = Table(
    "records",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("key", Text, nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_records_kind_key", "kind", "key"),
    # the world's records by number, and only them (a partial index): a unit that reads the world records
    # after a given number (every process, once another has written) reads those, not every consent and
    # party before them; the query states the same condition (WORLD_RECORDS_AFTER)
    Index(
        "ix_records_world_seq",
        "seq",
        sqlite_where=text(WORLD_CONDITION_SQLITE),
        postgresql_where=text(WORLD_CONDITION),
    ),
)
WORLD_RECORDS_AFTER = (
    f"SELECT seq, kind, key, data FROM records WHERE {WORLD_CONDITION} AND seq > {{}} ORDER BY seq"
)
# SQLite, without statistics, prefers the (kind, key) index's equalities to the partial index's range:
# it is told which to use (PostgreSQL's planner picks the partial index by the table's statistics)
WORLD_RECORDS_AFTER_SQLITE = (
    "SELECT seq, kind, key, data FROM records INDEXED BY ix_records_world_seq "
    f"WHERE {WORLD_CONDITION_SQLITE} AND seq > {{}} ORDER BY seq"
)

bodies = Table(
    "bodies",
    metadata,
    Column("item", Text, primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)

# a long body's ciphertext, a sealed segment per row in order (migration 0008): its ``bodies`` row then
# holds an empty ciphertext (a sealed body never has one: its tag alone is 16 bytes), so neither writing
# nor reading it ever holds it whole. Append-only like the rest of the log.
body_segments = Table(
    "body_segments",
    metadata,
    Column("item", Text, primary_key=True),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

releases = Table(
    "releases",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("item", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("holder", Text, nullable=False),
    Column("at", String(10), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("decision", Text, nullable=False),
    Column("recorded", Text, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("release_seq", SEQ, ForeignKey("releases.seq"), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)

leaves = Table(
    "leaves",
    metadata,
    Column("idx", SEQ, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("ref", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_leaves_ref", "ref"),
)

tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

heads = Table(
    "heads",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("data", Text, nullable=False),
)

APPEND_ONLY_TABLES = (
    "records",
    "bodies",
    "releases",
    "outbox",
    "leaves",
    "tree_nodes",
    "heads",
    "body_segments",
)

# the tables whose rows are numbered by the unit of work, with their number column and first number
NUMBERED: dict[str, tuple[Table, Column[Any], int]] = {
    "records": (records, records.c.seq, 1),
    "releases": (releases, releases.c.seq, 1),
    "outbox": (outbox, outbox.c.seq, 1),
    "leaves": (leaves, leaves.c.idx, 0),
    "heads": (heads, heads.c.seq, 1),
}


def dump_json(value: dict[str, Any]) -> str:
    """The canonical text of a JSON object: sorted keys, UTF-8 as is, no NaN or Infinity."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object (dict), got {type(value).__name__}")
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def load_json(text: str) -> dict[str, Any]:
    """Read back what :func:`dump_json` wrote."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"stored JSON is not an object: {text[:60]!r}")
    return value


# -- people on the node (migration 0003): unlike the tables above these rows change (a password is replaced,
# a session ends), so they are outside the log and its triggers; each user, token and session row carries a
# seal (an HMAC under a key derived from the node's signing key) instead. See gsomia.services.users.

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("temporary", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created", String(32), nullable=False),
    Column("seal", String(64), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("created", String(32), nullable=False),
    Column("seal", String(64), nullable=False),
    Index("ix_api_tokens_user_name", "user_name"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("csrf", Text, nullable=False),
    Column("created", String(32), nullable=False),
    Column("expires", String(32), nullable=False),
    Column("seal", String(64), nullable=False),
    Index("ix_sessions_user_name", "user_name"),
    Index("ix_sessions_expires", "expires"),
)

rate_counts = Table(
    "rate_counts",
    metadata,
    Column("principal", String(200), primary_key=True),
    Column("window_start", BigInteger, primary_key=True, autoincrement=False),
    Column("hits", Integer, nullable=False),
)


# -- the node's last whole-log verification (migration 0004): one row per verification run, the newest is
# the one every worker's dashboard shows. Like the users' rows it is outside the log, sealed instead.

verifications = Table(
    "verifications",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("faults", Integer, nullable=False),
    Column("report", Text, nullable=False),
    Column("millis", BigInteger, nullable=False),
    Column("seal", String(64), nullable=False),
)


# -- what the node serves each partner (migration 0005): one row per allowed release, its bundle's objects
# as built once for the party it goes to next. Derived from the releases (which the log proves) and
# rebuilt from them if lost; outside the log and its triggers. Its content is signed by the node and its
# bodies sealed to the partner, so an altered row is refused by the partner, never read by another.

shipments = Table(
    "shipments",
    metadata,
    Column("release_seq", SEQ, primary_key=True, autoincrement=False),
    Column("next_hop", String(200), nullable=False),  # a party id (widened by migration 0006)
    Column("added", String(32), nullable=False),
    Column("objects", Text, nullable=False),
    Index("ix_shipments_next_hop", "next_hop", "release_seq"),
    Index("ix_shipments_next_hop_added", "next_hop", "added"),
)

# where each signed consent decision joined a partner's collection (migration 0009), placed when first
# served: after everything already in the collection, and every release shipped to that partner later is
# added after it. Kept so that every server process of the node, and the node after a restart, serves a
# decision where it was first served and ships later releases after it (see gsomia.store.shipments).

note_places = Table(
    "note_places",
    metadata,
    Column("next_hop", String(200), primary_key=True),  # the partner (a party id)
    Column("note", String(200), primary_key=True),  # the decision's STIX id
    Column("added", String(32), nullable=False),  # a STIX timestamp
    Column("seq", SEQ, nullable=False, autoincrement=False),  # the partner's notes counted from 1
)

# the outbox read by release number, a range at a time (also migration 0005)
Index("ix_outbox_release_seq", outbox.c.release_seq)


# -- what became of each envelope a partner pushed (migration 0006): one row per push, its TAXII status
# resource as JSON text, readable only by the party that pushed it, so any server worker of the node answers
# its status request. Like the shipments, outside the log and its triggers: the receipts, consent requests
# and incidents a push brings are recorded in the log; a status is only the answer to it, and the oldest
# rows are dropped past the newest 10,000 (see gsomia.store.statuses).

push_statuses = Table(
    "push_statuses",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False),
    Column("party", String(200), nullable=False),  # a party id (gsomia.domain.ids: up to 200)
    Column("status", Text, nullable=False),
    Index("ix_push_statuses_id", "id", unique=True),
)
