"""Reading one value of a world file: its shape, its type, and an error that says where and what to do.

A :class:`Cursor` is a value with its path in the file. The readers here check one value each and raise
:class:`~gsomia.domain.errors.ScenarioError` naming the file, the line and the key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from gsomia.domain.errors import Path, ScenarioError
from gsomia.domain.model import Duration, Unit

from .source import Lines, Plain

T = TypeVar("T")

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LENGTH = re.compile(r"(\d+)([ymd])")
_UNITS: dict[str, Unit] = {"y": "y", "m": "m", "d": "d"}


@dataclass(frozen=True, slots=True)
class Context:
    """The file being read and how to find a line in it."""

    file: str
    lines: Lines | None = None

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its closest ancestor that has one."""
        if self.lines is None:
            return None
        for end in range(len(path), -1, -1):
            line = self.lines(path[:end])
            if line is not None:
                return line
        return None

    def error(self, path: Path, message: str) -> ScenarioError:
        return ScenarioError(message, path, file=self.file, line=self.line_of(path))


@dataclass(frozen=True, slots=True)
class Cursor:
    """A value read from the file, with its path there."""

    ctx: Context
    path: Path
    value: object

    def at(self, key: str | int, value: object) -> Cursor:
        return Cursor(self.ctx, (*self.path, key), value)

    def error(self, message: str) -> ScenarioError:
        return self.ctx.error(self.path, message)


def describe(value: object) -> str:
    """A short, human description of a value found where something else was expected."""
    if value is None:
        return "an empty value"
    if isinstance(value, Plain):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return f"a value of type {type(value).__name__}"


def quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def fields(
    cur: Cursor, noun: str, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Cursor]:
    """Check ``cur`` is a mapping with all ``required`` keys and no others than ``optional``."""
    value = cur.value
    if not isinstance(value, Mapping):
        raise cur.error(f"expected {noun} written as a mapping of keys and values, got {describe(value)}")
    known = (*required, *optional)
    out: dict[str, Cursor] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise cur.error(f"keys are words like {known[0]}, but one here is {describe(key)}")
        if key not in known:
            raise cur.at(key, item).error(_unknown_key(key, noun, known))
        out[key] = cur.at(key, item)
    for key in required:
        if key not in out:
            raise cur.at(key, None).error(f"missing; {noun} needs '{key}'")
    return out


def _unknown_key(key: str, noun: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    guess = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key {quote(key)}; {guess}{noun} takes only: {', '.join(known)}"


def entries(cur: Cursor, what: str) -> list[Cursor]:
    """Check ``cur`` is a list; return a cursor for each entry."""
    value = cur.value
    if not isinstance(value, list | tuple):
        hint = f"; write a list, like [{value}]" if isinstance(value, str) and value else ""
        raise cur.error(f"expected a list of {what}, got {describe(value)}{hint}")
    return [cur.at(i, item) for i, item in enumerate(value)]


def text(cur: Cursor, what: str) -> str:
    """A non-empty string (an id, a name, a marking, a topic)."""
    value = cur.value
    if not isinstance(value, str):
        hint = "; write it in quotes" if isinstance(value, int | float) else ""
        raise cur.error(f"expected {what} as text, got {describe(value)}{hint}")
    if not value.strip():
        raise cur.error(f"{what} is empty; write {what}")
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise cur.error(f"{what} holds a NUL or an unpaired surrogate, which no database stores; remove it")
    return str(value)


def _a(what: str) -> str:
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def texts(cur: Cursor, what: str) -> tuple[str, ...]:
    """A list of non-empty strings, each ``what`` (a bare noun such as ``party id``)."""
    return tuple(text(entry, _a(what)) for entry in entries(cur, f"{what}s"))


def texts_or_one(cur: Cursor, what: str) -> tuple[str, ...]:
    """A single non-empty string, or a non-empty list of them."""
    if isinstance(cur.value, str):
        return (text(cur, _a(what)),)
    found = texts(cur, what)
    if not found:
        raise cur.error(f"no {what} given; give one {what} or a list of them")
    return found


def day(cur: Cursor) -> date:
    """A whole day: a YAML date or a ``YYYY-MM-DD`` string."""
    value = cur.value
    if isinstance(value, datetime):
        raise cur.error(f"{describe(value)} is a time, not a day; write a day as YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise cur.error(f"{describe(value)} is not a date; write a day as YYYY-MM-DD, like 2019-08-23")


def length(cur: Cursor, *, zero_ok: bool) -> Duration:
    """A calendar length ``<int><y|m|d>``; a zero length only when ``zero_ok``."""
    value = cur.value
    found = _LENGTH.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise cur.error(
            f"{describe(value)} is not a length; "
            "write a whole number and a unit y, m or d, like 1y, 6m or 90d"
        )
    amount = int(found.group(1))
    if amount == 0 and not zero_ok:
        raise cur.error(
            f"{describe(value)} is a term of zero length; give a positive length like 1y, 6m or 90d, "
            "or leave term out for an indefinite agreement"
        )
    return Duration(amount, _UNITS[found.group(2)])


def choice(cur: Cursor, what: str, options: Mapping[str, T]) -> T:
    """One of the words in ``options``; returns the value it maps to."""
    value = cur.value
    if isinstance(value, str) and value in options:
        return options[value]
    words = list(options)
    close = difflib.get_close_matches(value, words, n=1) if isinstance(value, str) else []
    guess = f"did you mean {close[0]}? " if close else ""
    spelled = ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]
    raise cur.error(f"{describe(value)} is not {what}; {guess}write {spelled}")
