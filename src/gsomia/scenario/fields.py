"""Reading one value of a world file: its shape, its type, and an error that says where and what to do.

A :class:`Cursor` is a value with its path in the file. The readers here check one value each and raise
:class:`~gsomia.domain.errors.ScenarioError` naming the file, the line and the key.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from gsomia.domain.errors import Path, ScenarioError
from gsomia.domain.ids import MAX_ID_LENGTH, id_problem, shorten
from gsomia.domain.model import Duration, Unit

from .jsontext import Literal
from .source import Lines, Plain, is_json

T = TypeVar("T")

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only: \d would take ١٩ too
_LENGTH = re.compile(r"([0-9]+)([ymd])")
_UNITS: dict[str, Unit] = {"y": "y", "m": "m", "d": "d"}
MAX_YEARS = 1000
"""The longest length read: agreements run for years, and a longer one would overflow the calendar."""
_MOST = {"y": MAX_YEARS, "m": 12 * MAX_YEARS, "d": 366 * MAX_YEARS}
MAX_TEXT = 1000
"""The longest name or marking read (ids have their own, shorter limit)."""
_GUESSED = 100  # no suggestion is computed for a word longer than this: it cannot be a near miss
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


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

    def error(self, path: Path, message: str, line_path: Path | None = None) -> ScenarioError:
        """An error at ``path``, on the line of ``line_path`` (default: ``path``)."""
        line = self.line_of(path if line_path is None else line_path)
        return ScenarioError(message, path, file=self.file, line=line)

    @property
    def json(self) -> bool:
        """Whether the file is JSON (so advice is written as JSON)."""
        return is_json(self.file)


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
        return "an empty value (null)"
    if isinstance(value, Plain):
        return printable(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Literal):
        return f"the number {shorten(value.text)}"
    if isinstance(value, int | float):
        return f"the number {shorten(str(value))}"
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
    """``text`` in quotes for a message: cut short, with control and invisible characters escaped."""
    return repr(shorten(text))


def printable(text: str) -> str:
    """``text`` unquoted for a message: cut short, control and invisible characters escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in shorten(text))


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
            raise _unknown_key_error(cur, key, item, noun, known)
        out[key] = cur.at(key, item)
    for key in required:
        if key not in out:
            raise cur.at(key, None).error(f"missing; {noun} needs '{key}'")
    return out


def _unknown_key_error(cur: Cursor, key: str, item: object, noun: str, known: Sequence[str]) -> ScenarioError:
    close = _close(key, known)
    guess = f"did you mean '{close}'? " if close else ""
    message = f"unknown key {quote(key)}; {guess}{noun} takes only: {', '.join(known)}"
    if id_problem(key) is None:
        return cur.at(key, item).error(message)
    # a key that is no word (too long, or holding control characters) is named only in the message
    return cur.ctx.error(cur.path, message, line_path=(*cur.path, key))


def _close(word: str, words: Sequence[str]) -> str | None:
    """The word of ``words`` that ``word`` is probably a misspelling of, if any."""
    if len(word) > _GUESSED:
        return None
    close = difflib.get_close_matches(word, words, n=1)
    return close[0] if close else None


def entries(cur: Cursor, what: str) -> list[Cursor]:
    """Check ``cur`` is a list; return a cursor for each entry."""
    value = cur.value
    if not isinstance(value, list | tuple):
        hint = f"; write a list, like [{printable(value)}]" if isinstance(value, str) and value else ""
        raise cur.error(f"expected a list of {what}, got {describe(value)}{hint}")
    return [cur.at(i, item) for i, item in enumerate(value)]


def _string(cur: Cursor, what: str) -> str:
    value = cur.value
    if not isinstance(value, str):
        hint = "; write it in quotes" if isinstance(value, int | float | Literal) else ""
        raise cur.error(f"expected {what} as text, got {describe(value)}{hint}")
    if not value.strip():
        raise cur.error(f"{what} is empty; write {what}")
    return str(value)


def text(cur: Cursor, what: str) -> str:
    """A non-empty string of at most :data:`MAX_TEXT` characters (a name, a marking)."""
    value = _string(cur, what)
    if len(value) > MAX_TEXT:
        raise cur.error(f"{what} {quote(value)} is {len(value)} characters long; write at most {MAX_TEXT}")
    for char in value:
        if char in _BIDI or unicodedata.category(char) in ("Cc", "Cs"):
            raise cur.error(
                f"{what} {quote(value)} holds the control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}), which could hide or garble what is shown; remove it"
            )
    return value


def ident(cur: Cursor, what: str) -> str:
    """An id: text that :func:`gsomia.domain.ids.id_problem` accepts (visible characters, not too long)."""
    value = _string(cur, what)
    if value.isprintable() and len(value) <= MAX_ID_LENGTH and value.strip() == value:
        return value  # the common case, without a look at each character: nothing id_problem refuses
    problem = id_problem(value)
    if problem is not None:
        raise cur.error(f"{what} {quote(value)} {problem}")
    return value


def _a(what: str) -> str:
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def texts(cur: Cursor, what: str) -> tuple[str, ...]:
    """A list of non-empty strings, each ``what`` (a bare noun such as ``party id``)."""
    return tuple(ident(entry, _a(what)) for entry in entries(cur, f"{what}s"))


def texts_or_one(cur: Cursor, what: str) -> tuple[str, ...]:
    """A single non-empty string, or a non-empty list of them."""
    if isinstance(cur.value, str):
        return (ident(cur, _a(what)),)
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
    digits, unit = found.groups()
    amount = int(digits) if len(digits) <= 9 else _MOST[unit] + 1
    if amount > _MOST[unit]:
        raise cur.error(
            f"{describe(value)} is longer than {MAX_YEARS} years; write at most {MAX_YEARS}y, "
            f"{_MOST['m']}m or {_MOST['d']}d"
        )
    if amount == 0 and not zero_ok:
        raise cur.error(
            f"{describe(value)} is a term of zero length; give a positive length like 1y, 6m or 90d, "
            "or leave term out for an indefinite agreement"
        )
    return Duration(amount, _UNITS[unit])


def choice(cur: Cursor, what: str, options: Mapping[str, T]) -> T:
    """One of the words in ``options``; returns the value it maps to."""
    value = cur.value
    if isinstance(value, str) and value in options:
        return options[value]
    words = list(options)
    close = _close(value, words) if isinstance(value, str) else None
    guess = f"did you mean {close}? " if close else ""
    spelled = ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]
    raise cur.error(f"{describe(value)} is not {what}; {guess}write {spelled}")
