"""``gsomia decide --queries``: JSON Lines of queries decided in order, each line read with a bound.

A batch never stops at a bad line: each one is answered in its place by ``{"line": N, "error": "..."}``
(N counted from 1; a blank line is a bad line too, so output line N always answers input line N) and the
command exits 2 once every line is answered. A line longer than :data:`MAX_LINE_BYTES` stops the whole
command (exit 2): it is read with ``readline(limit)``, so an endless line (``/dev/zero``) costs 64 KiB of
memory and stops at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import typer

from ..domain.errors import GsomiaError, QueryError
from ..domain.world import Query, World
from . import console

MAX_LINE_BYTES = 64 * 1024
MAX_QUERIES = 10_000  # lines read whole by read_all (gsomia release-many: one transaction)
QUERY_KEYS = ("item", "to", "at", "holder")
_REQUIRED = ("item", "to", "at")
_EXAMPLE = '{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-23"}'
_HAS = "item, to, at and optionally holder"


def answer_all(world: World, source: str) -> None:
    """Answer every line of ``source`` (``-``: stdin) as one JSON line on stdout; exit 2 if any was bad."""
    where = "stdin" if source == "-" else source
    bad = 0
    with open_lines(source) as handle:
        for number, line in enumerate(lines(handle, where), start=1):
            result = answer(world, number, line)
            bad += "error" in result
            console.json_line(result)
    if bad:
        console.error_line(f"{bad} bad line(s) in {where}; each is answered in its place with its error")
        raise typer.Exit(2)


def read_all(source: str) -> list[Query]:
    """Every query of ``source`` (``-``: stdin), all read before anything is done: GsomiaError naming
    the first bad line (counted from 1), and at most :data:`MAX_QUERIES` of them."""
    where = "stdin" if source == "-" else source
    out: list[Query] = []
    with open_lines(source) as handle:
        for number, line in enumerate(lines(handle, where), start=1):
            if number > MAX_QUERIES:
                raise GsomiaError(f"{where}: more than {MAX_QUERIES:,} lines; split them into several files")
            try:
                out.append(parse_query(line))
            except QueryError as exc:
                raise GsomiaError(f"{where}, line {number}: {exc}; nothing was recorded") from None
    return out


def lines(handle: IO[bytes], where: str) -> Iterator[str]:
    """Each line of ``handle`` as text, without its line ending; never more than the cap in memory."""
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise GsomiaError(
                f"{where}: line {number} is longer than {MAX_LINE_BYTES // 1024} KiB; a query is one short "
                "JSON object per line (split the file into lines)"
            )
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise GsomiaError(
                f"{where}: the queries are not UTF-8 text (line {number}); save them as UTF-8"
            ) from None


@contextmanager
def open_lines(source: str, what: str = "queries") -> Iterator[IO[bytes]]:
    """``source`` opened for :func:`lines` (``-``: stdin); a GsomiaError saying it cannot read ``what``."""
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115 -- closed below, after the last line
    except OSError as exc:
        reason = exc.strerror or exc
        raise GsomiaError(f"{source}: cannot read the {what} ({reason}); check the path") from None
    with handle:
        yield handle


def parse_query(line: str) -> Query:
    """One JSON Lines query; anything wrong with it is a :class:`QueryError` saying what."""
    try:
        data = json_object(line, QUERY_KEYS, _REQUIRED, _EXAMPLE, noun="query", word="key", has=_HAS)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    for key in QUERY_KEYS:
        value = data.get(key)
        if key in data and not isinstance(value, str) and not (key == "holder" and value is None):
            raise QueryError(f"{key!r} must be a string (text in quotes), not {json_kind(value)}")
    return Query(data["item"], data["to"], data["at"], data.get("holder"))


def json_object(
    line: str, fields: Sequence[str], required: Sequence[str], example: str, *, noun: str, word: str, has: str
) -> dict[str, Any]:
    """The JSON object on one line of JSON Lines, holding only ``fields`` and every ``required`` one; a
    ValueError otherwise, saying what is wrong and showing ``example`` (``noun``: what a line holds,
    ``word``: what its members are called, ``has``: them, as the error lists them)."""
    a = "an" if noun[:1] in "aeiou" else "a"
    if not line.strip():
        raise ValueError(f"empty line; write one {noun} per line, like {example}")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno}); write one object per line") from None
    if not isinstance(data, dict):
        raise ValueError(f"{a} {noun} is a JSON object like {example}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {word} {unknown[0]!r}; {a} {noun} has {has}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"missing {word} {missing[0]!r}; {a} {noun} looks like {example}")
    return data


def json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words: ``null``, ``true``, ``the number 7``, ``an array``..."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"the number {json.dumps(value)}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}" if value else "an empty string"
    return "an array" if isinstance(value, list) else "an object"


def answer(world: World, number: int, line: str) -> dict[str, Any]:
    """The decision JSON for one line, or ``{"line": number, "error": ...}`` if the line is bad input."""
    try:
        query = parse_query(line)
        decision = world.decide(query.item, query.recipient, query.at, query.holder)
    except QueryError as exc:
        return {"line": number, "error": str(exc)}
    return decision.to_dict()
