"""JSON world files: parsed once by :mod:`json`, with the line of a key found only when an error needs it.

The data comes from one pass of the standard library's C parser. Lines are found afterwards, and only for
the one path an error names: :class:`JsonLines` walks down that path in the text, skipping each sibling
value with the same C parser, so no second parse of the whole file is ever made up front.

Numbers that Python cannot hold as they are written (``1e400``, a 5,000-digit integer, ``NaN``) are kept
as :class:`Literal` so an error can show them as written instead of ``inf`` or a traceback.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from gsomia.domain.errors import Path, ScenarioError

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_MAX_INT_DIGITS = 30  # no value of a world file is a number this long: keep it as written
MAX_DEPTH = 64  # a world file nests 7 deep; walking deeper than this is not worth a line number


@dataclass(frozen=True, slots=True)
class Literal:
    """A JSON number as written, when Python would change it (overflow to inf) or cannot read it."""

    text: str


def _float(text: str) -> float | Literal:
    value = float(text)
    return value if math.isfinite(value) else Literal(text)


def _int(text: str) -> int | Literal:
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else Literal(text)


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return out


def parse_json(text: str, file: str) -> object:
    """The data of ``text``; ScenarioError naming the line if it is not JSON or repeats a key."""
    try:
        return json.loads(
            text, object_pairs_hook=_unique_pairs, parse_float=_float, parse_int=_int, parse_constant=Literal
        )
    except json.JSONDecodeError as error:
        raise ScenarioError(f"not valid JSON: {error.msg}", file=file, line=error.lineno) from error
    except _DuplicateKeyError as error:
        message = f"key {error.key!r} appears twice in one object; a key may appear once in each object"
        raise ScenarioError(message, file=file, line=duplicate_line(text, error.key)) from error
    except RecursionError as error:
        raise ScenarioError(
            "the file nests too deeply to read; a world file nests only a few levels", file=file
        ) from error


class JsonLines:
    """The line of a path into a JSON text that parses, found by walking the text down that path."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __call__(self, path: Path) -> int | None:
        try:
            at = _find(self._text, path)
        except (ValueError, IndexError, RecursionError):  # the line is a courtesy: never fail for it
            return None
        return None if at is None else self._text.count("\n", 0, at) + 1


def _skip(text: str, at: int) -> int:
    found = _SPACE.match(text, at)
    return at if found is None else found.end()


def _find(text: str, path: Path) -> int | None:
    """Offset of the key (in an object) or the value (in an array) that ``path`` ends at."""
    at = _skip(text, 0)
    found = at
    for part in path:
        opener = text[at : at + 1]
        if opener == "{" and isinstance(part, str):
            where = _member(text, at, part)
        elif opener == "[" and isinstance(part, int):
            where = _element(text, at, part)
        else:
            return None
        if where is None:
            return None
        found, at = where
    return found


def _member(text: str, at: int, wanted: str) -> tuple[int, int] | None:
    """(offset of key ``wanted``, offset of its value) in the object opening at ``at``."""
    at = _skip(text, at + 1)
    while text[at : at + 1] == '"':
        start = at
        key, at = _DECODER.raw_decode(text, at)
        at = _skip(text, _skip(text, at) + 1)  # past the colon
        if key == wanted:
            return start, at
        at = _after(text, at)
    return None


def _element(text: str, at: int, wanted: int) -> tuple[int, int] | None:
    """(offset, offset) of element ``wanted`` in the array opening at ``at``."""
    at = _skip(text, at + 1)
    for _ in range(wanted):
        if text[at : at + 1] in ("]", ""):
            return None
        at = _after(text, at)
    if text[at : at + 1] in ("]", ""):
        return None
    return at, at


def _after(text: str, at: int) -> int:
    """Past the value at ``at`` and the comma after it."""
    _value, end = _DECODER.raw_decode(text, at)
    end = _skip(text, end)
    return _skip(text, end + 1) if text[end : end + 1] == "," else end


def duplicate_line(text: str, key: str) -> int | None:
    """The line where ``key`` appears a second time in one object (the first such object in the text)."""
    try:
        return _duplicate(text, _skip(text, 0), key, 0)
    except (ValueError, IndexError, RecursionError):  # the line is a courtesy: the message names the key
        return None


def _duplicate(text: str, at: int, key: str, depth: int) -> int | None:
    if depth > MAX_DEPTH:
        return None
    opener = text[at : at + 1]
    if opener not in ("{", "["):
        return None
    seen: set[str] = set()
    at = _skip(text, at + 1)
    while text[at : at + 1] not in ("}", "]", ""):
        if opener == "{":
            start = at
            name, at = _DECODER.raw_decode(text, at)
            if name == key and name in seen:
                return text.count("\n", 0, start) + 1
            seen.add(name)
            at = _skip(text, _skip(text, at) + 1)
        inner = _duplicate(text, at, key, depth + 1)
        if inner is not None:
            return inner
        at = _after(text, at)
    return None
