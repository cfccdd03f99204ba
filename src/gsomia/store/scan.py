"""Whole-log checks the database does itself, so that ``gsomia log verify`` need not carry millions of rows
into Python to find them as they should be.

Each function answers one question about the whole log with a few statements whose work stays inside the
database (and off the Python interpreter's lock, so the caller can hash the tree meanwhile):

- :func:`records_match_leaves`: does every record have exactly one leaf, holding exactly its record JSON,
  with the right label, and does every record leaf name a record that is stored?
- :func:`tree_levels`: the stored tree nodes of each level, in index order, as one byte string, when every
  level is whole (indices 0, 1, ... with no gap or repeat, each hash 32 bytes);
- :func:`leaf_data`: every leaf's data in index order, a chunk at a time, when the indices run 0, 1, ...
  without a gap;
- :func:`other_leaves`: the leaves that do not name a record (releases and bodies), which are few.

A "yes" is exact: it holds only if the rows are as the writers wrote them. A "no" (``False`` or ``None``)
says only that something differs, or that the question could not be answered this way (text stored in
another but equivalent form, say); the caller then runs its exact row-by-row check, which names the
fault. ``fetch`` is the unit of work's raw select (``{}`` standing for the driver's placeholder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from ..services.errors import StoredRowError

Fetch = Callable[[str, Sequence[object]], list[Any]]
HASH_SIZE = 32

# A leaf's ref names a record as "record:<seq>"; the first seven characters tell a record leaf.
_RECORD = "substr({l}.ref, 1, 7) = 'record:'"

# What any commit changes (the log's last leaf, the newest head): units that read equal marks read one
# snapshot (see gsomia.store.unit, SqlUnitOfWork.shared_snapshot). On SQLite it is a unit's first read.
SNAPSHOT_MARK = "SELECT (SELECT max(idx) FROM leaves), (SELECT data FROM heads ORDER BY seq DESC LIMIT 1)"


# The columns the questions read, as the migrations made them: (name, declared type, place in the primary
# key) on SQLite, (name, type) with no column collation on PostgreSQL. A table rebuilt with other types
# or collations (under which "=" is no longer byte equality) gets no answer here: verify reads every row.
_SQLITE_COLUMNS = {
    "records": {("seq", "INTEGER", 1), ("kind", "VARCHAR(32)", 0), ("key", "TEXT", 0), ("data", "TEXT", 0)},
    "leaves": {("idx", "INTEGER", 1), ("kind", "VARCHAR(32)", 0), ("ref", "TEXT", 0), ("data", "BLOB", 0)},
    "tree_nodes": {("level", "INTEGER", 1), ("idx", "BIGINT", 2), ("hash", "BLOB", 0)},
}
_POSTGRES_COLUMNS = {
    ("records", "seq", "bigint"),
    ("records", "kind", "character varying"),
    ("records", "key", "text"),
    ("records", "data", "text"),
    ("leaves", "idx", "bigint"),
    ("leaves", "kind", "character varying"),
    ("leaves", "ref", "text"),
    ("leaves", "data", "bytea"),
    ("tree_nodes", "level", "integer"),
    ("tree_nodes", "idx", "bigint"),
    ("tree_nodes", "hash", "bytea"),
}


def schema_as_made(fetch: Fetch, sqlite: bool) -> bool:
    """Whether the three tables the questions read have exactly the columns, types and (no) collations
    the migrations gave them."""
    if sqlite:
        for table, columns in _SQLITE_COLUMNS.items():
            found = fetch(f"SELECT name, type, pk FROM pragma_table_xinfo('{table}')", ())
            described = {(str(n), str(t).upper(), int(k)) for n, t, k in found}
            if described != columns or len(found) != len(columns):
                return False
        tables = "('records', 'leaves', 'tree_nodes')"
        sql = f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN {tables}"
        made = [row[0] for row in fetch(sql, ())]
        return len(made) == 3 and all(isinstance(x, str) and "COLLATE" not in x.upper() for x in made)
    sql = (
        "SELECT table_name, column_name, data_type, collation_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name IN ('records', 'leaves', 'tree_nodes')"
    )
    found = fetch(sql, ())
    return (
        len(found) == len(_POSTGRES_COLUMNS)
        and all(c is None for *_, c in found)
        and {(str(t), str(n), str(d)) for t, n, d, _ in found} == _POSTGRES_COLUMNS
    )


def _record_leaf_sql(sqlite: bool, pieces: Sequence[str]) -> str:
    """The bytes of a record's leaf built from its row: ``pieces`` are the five constant parts around the
    data, the key, the kind and the number (see gsomia.services.journal.RECORD_LEAF_PIECES)."""
    if len(pieces) != 5:
        raise ValueError("a record leaf has five constant pieces")
    if sqlite:
        parts = "{} || r.data || {} || json_quote(r.key) || {} || json_quote(r.kind) || {} || r.seq || {}"
        return f"CAST({parts} AS BLOB)"
    parts = "{} || r.data || {} || to_json(r.key)::text || {} || to_json(r.kind)::text || {} || r.seq || {}"
    return f"convert_to({parts}, 'UTF8')"


def records_match_leaves(
    fetch: Fetch, sqlite: bool, pieces: Sequence[str], leaf_kinds: Mapping[str, str]
) -> bool:
    """Whether every record has one leaf holding its record JSON byte for byte under the kind's label,
    no ref names two leaves, no seq two records, and every record leaf names a stored record.

    One pass over the record leaves, each finding its record by number (the records' primary key): each
    must match; as many must match as there are records, and no ref may repeat, so each record has its own.
    """
    kinds = " ".join("WHEN {} THEN {}" for _ in leaf_kinds)
    kind_params: list[object] = [v for pair in leaf_kinds.items() for v in pair]
    # SQLite stores any value in any column: a record's values must be of the types its leaf was built
    # from (json_quote of a blob fails; a blob's bytes would join the text). The leaf's own values need no
    # test: each is compared with "=" to a value of its type, and a blob never equals a text on SQLite.
    typed = (
        "typeof(r.seq) = 'integer' AND typeof(r.kind) = 'text' AND typeof(r.key) = 'text' "
        "AND typeof(r.data) = 'text' AND "
        if sqlite
        else ""
    )
    exact = "COLLATE BINARY" if sqlite else 'COLLATE "C"'  # byte equality, whatever a column says
    number = (
        "CAST(substr(l.ref, 8) AS INTEGER)"
        if sqlite
        else "CASE WHEN substr(l.ref, 8) ~ '^[0-9]{{1,18}}$' THEN CAST(substr(l.ref, 8) AS BIGINT) END"
    )
    matches = (
        f"r.seq IS NOT NULL AND {typed}l.ref {exact} = 'record:' || r.seq "
        f"AND l.data = {_record_leaf_sql(sqlite, pieces)} "
        f"AND l.kind {exact} = (CASE r.kind {kinds} ELSE '?' END)"
    )
    one_pass = (
        f"SELECT count(*), sum(CASE WHEN {matches} THEN 0 ELSE 1 END) FROM leaves l "
        f"LEFT JOIN records r ON r.seq = {number} WHERE {_RECORD.format(l='l')}"
    )
    ((leaves, unmatched),) = fetch(one_pass, [*pieces, *kind_params])
    ((records,),) = fetch("SELECT count(*) FROM records", ())
    if leaves != records or (unmatched or 0) != 0:
        return False
    if fetch(f"SELECT 1 FROM leaves GROUP BY ref {exact} HAVING count(*) > 1 LIMIT 1", ()):
        return False
    return not fetch("SELECT 1 FROM records GROUP BY seq HAVING count(*) > 1 LIMIT 1", ())


def tree_levels(fetch: Fetch, sqlite: bool) -> list[bytes] | None:
    """The stored nodes of each level (0 = the leaf hashes) joined in index order, or None if any level
    has a gap, a repeat, a hash that is not 32 bytes, or a level missing below the top."""
    if not sqlite:
        return _postgres_levels(fetch)
    levels: list[bytes] = []
    numbers = b""
    while True:
        ((count, whole, first, joined),) = fetch(_SQLITE_LEVEL, (len(levels),))
        if count == 0:
            break
        if len(numbers) < _WIDTH * count:
            numbers = _numbers(max(count, 2 * len(numbers) // _WIDTH))
        level = _unpicked(joined, count, numbers) if whole == count and first == 0 else None
        if level is None:
            return None
        levels.append(level)
    # every row was in some level 0, 1, ... read above: none at another level, nor of another type
    ((total,),) = fetch("SELECT count(*) FROM tree_nodes", ())
    return levels if total == sum(len(level) for level in levels) // HASH_SIZE else None


# One level's nodes in index order, with the order proved: SQLite (3.40) has no ORDER BY inside an
# aggregate, so the rows come in index order from the inner query and each index is written into the same
# concatenation, as the separator before its hash, in a fixed width; the caller holds the numbers so joined
# against 1, 2, ... (_unpicked), which proves the order the aggregate saw them in. A row whose index is not
# an integer or whose hash is not 32 bytes of blob has no number (``i`` NULL): count(i) falls short. One
# query a level, by the primary key (level, idx): grouping all levels at once sorted every row again.
# The number is the index plus 10**15 (an integer: no text made a row, so no allocation, which SQLite's
# allocator serialises between threads), written by group_concat as 16 digits, "1" and the index's 15.
_WIDTH = 16  # digits of a number; with a hash, 48 bytes: six 8-byte words, so _unpicked moves words
_SQLITE_LEVEL = (
    "SELECT count(*), count(i), min(i), CAST(group_concat(hash, i + 1000000000000000) AS BLOB) FROM "
    "(SELECT CASE WHEN typeof(idx) = 'integer' AND typeof(hash) = 'blob' AND length(hash) = 32 "
    "AND idx >= 0 AND idx < 1000000000000000 THEN idx END AS i, hash FROM tree_nodes WHERE level = {} "
    "ORDER BY idx)"
)


def _numbers(count: int) -> bytes:
    """The numbers of indices 0 .. count - 1 (each "1" and 15 digits), joined: built a digit column at a
    time (a column is a run of each digit, repeated), not a number at a time."""
    out = bytearray(_WIDTH * count)
    for place in range(_WIDTH):
        run = 10 ** (_WIDTH - 1 - place)  # the digit at this place changes every ``run`` numbers
        if place == 0:
            column = b"1" * count
        elif run >= count:
            column = b"0" * count
        else:
            cycle = b"".join(bytes([48 + digit]) * run for digit in range(10))
            column = (cycle * -(-count // len(cycle)))[:count]
        out[place::_WIDTH] = column
    return bytes(out)


def _unpicked(joined: object, count: int, numbers: bytes) -> bytes | None:
    """The hashes of a level read as ``hash0 num1 hash1 num2 ...`` (fixed widths), if the numbers are
    exactly 1, 2, ..., count - 1 in order; else None. Numbers and hashes are taken apart a column of
    8-byte words at a time (strided copies in C), not a node at a time."""
    step = (_WIDTH + HASH_SIZE) // 8
    if not isinstance(joined, bytes) or len(joined) != 8 * step * count - _WIDTH:
        return None
    words = memoryview(numbers[:_WIDTH] + joined).cast("Q")  # the first hash with its number (0) too
    found, hashes = bytearray(_WIDTH * count), bytearray(HASH_SIZE * count)
    into = memoryview(found).cast("Q")
    for place in range(_WIDTH // 8):
        into[place :: _WIDTH // 8] = words[place::step]
    if found != numbers[: _WIDTH * count]:
        return None
    into = memoryview(hashes).cast("Q")
    for place in range(HASH_SIZE // 8):
        into[place :: HASH_SIZE // 8] = words[_WIDTH // 8 + place :: step]
    return bytes(hashes)


def _postgres_levels(fetch: Fetch) -> list[bytes] | None:
    """tree_levels on PostgreSQL, whose aggregates take an ORDER BY: every level in one query."""
    sql = (
        "SELECT level, count(*), count(hash), min(length(hash)), max(length(hash)), "
        "string_agg(idx::text, ',' ORDER BY idx), string_agg(hash, ''::bytea ORDER BY idx) "
        "FROM tree_nodes GROUP BY level ORDER BY level"
    )
    levels: list[bytes] = []
    for position, (level, count, hashes, shortest, longest, indices, joined) in enumerate(fetch(sql, ())):
        whole = (
            type(level) is int
            and level == position
            and count == hashes
            and shortest == longest == HASH_SIZE
            and isinstance(joined, bytes)
            and len(joined) == HASH_SIZE * count
            and indices == ",".join(map(str, range(count)))
        )
        if not whole:
            return None
        levels.append(joined)
    return levels


def leaf_data(fetch: Fetch) -> Iterator[list[bytes]] | None:
    """Every leaf's data in index order, LEAF_CHUNK leaves at a time (the caller hashes each chunk as it
    comes, and never holds them all); None if the indices are not 0, 1, ... A chunk whose rows are not
    exactly its indices, or whose data is not bytes, raises StoredRowError when it is reached."""
    ((count, first, last),) = fetch("SELECT count(*), min(idx), max(idx) FROM leaves", ())
    if count and (type(first) is not int or type(last) is not int or (first, last) != (0, count - 1)):
        return None
    return _leaf_chunks(fetch, count)


LEAF_CHUNK = 1 << 16


def _leaf_chunks(fetch: Fetch, count: int) -> Iterator[list[bytes]]:
    sql = "SELECT idx, data FROM leaves WHERE idx >= {} AND idx < {} ORDER BY idx"
    for start in range(0, count, LEAF_CHUNK):
        stop = min(start + LEAF_CHUNK, count)
        rows = fetch(sql, (start, stop))
        # map() over itemgetters, not comprehensions: a million leaves pass here, and verify waits on them
        if list(map(_FIRST, rows)) != list(range(start, stop)):
            raise StoredRowError("leaves", start, "the leaves from here are not numbered 0, 1, ...")
        data = list(map(_SECOND, rows))
        if set(map(type, data)) != {bytes}:
            raise StoredRowError("leaves", start, "a leaf's data from here is not bytes")
        yield data


_FIRST, _SECOND = itemgetter(0), itemgetter(1)


def other_leaves(fetch: Fetch) -> list[Any]:
    """The rows (idx, kind, ref, data) of the leaves whose ref does not name a record, in index order."""
    sql = (
        "SELECT idx, kind, ref, data FROM leaves "
        f"WHERE coalesce({_RECORD.format(l='leaves')}, FALSE) = FALSE ORDER BY idx"
    )
    return fetch(sql, ())
