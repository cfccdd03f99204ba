"""What an id may hold: ids are shown to people and compared by machines.

An id (party, level, agreement, item, topic, consent, caveat) is refused when it is empty, longer than
:data:`MAX_ID_LENGTH`, or holds a character that would let two ids look alike or hide what they say:
control characters (C0, DEL, C1), bidirectional overrides and isolates (U+202A to U+202E, U+2066 to U+2069),
the zero-width and other format characters (Unicode category Cf), unpaired surrogates, or whitespace at
either end.

An error that echoes a value someone gave (an unknown id, a bad id) cuts it with :func:`quoted`, and an
unknown id comes with the close matches :func:`unknown` finds among the known ones.
"""

from __future__ import annotations

import difflib
import unicodedata
from bisect import bisect_left
from collections.abc import Collection

MAX_ID_LENGTH = 200
SHOWN = 60  # characters of a bad value echoed in an error
_SCAN_ALL = 5_000  # up to this many known ids, every one is a candidate for "did you mean"
_NEIGHBOURS = 40  # beyond it, only this many ids on either side in sorted order are


def shorten(value: str, keep: int = SHOWN) -> str:
    """``value`` cut to ``keep`` characters for an error message, saying how long it really was."""
    if len(value) <= keep:
        return value
    return f"{value[:keep]}… ({len(value)} characters)"


def quoted(value: object, keep: int = SHOWN) -> str:
    """``value`` quoted for an error message (``'K-9'``), a long one cut to ``keep`` characters."""
    if not isinstance(value, str):
        return shorten(repr(value), keep)
    if len(value) <= keep:
        return repr(value)
    return f"{value[:keep]!r}… ({len(value)} characters)"


def id_problem(value: str) -> str | None:
    """What is wrong with ``value`` as an id, or None when it is a good one."""
    if not value:
        return "is empty; give an id"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long; an id has at most {MAX_ID_LENGTH}"
    if value != value.strip():
        return "starts or ends with whitespace; remove it"
    if value.isprintable():  # no Cc, Cf or Cs character can be printable: the common case stops here
        return None
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs"):
            return (
                f"holds the invisible or control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}); ids hold only visible characters"
            )
    return None


def close_matches(value: str, known: Collection[str], n: int = 3) -> list[str]:
    """Up to ``n`` known ids that look like ``value`` (none for a value too long to be an id).

    Among many ids (a world of a million items), only the sorted neighbours of ``value`` are compared,
    which finds the usual slips (a wrong last character) without comparing against every id; pass a
    list or tuple already sorted to spare the sort.
    """
    if not value or len(value) > MAX_ID_LENGTH or not known:
        return []
    if len(known) <= _SCAN_ALL:
        return difflib.get_close_matches(value, list(known), n=n)
    ordered = known if isinstance(known, list | tuple) else sorted(known)
    at = bisect_left(ordered, value)
    near = ordered[max(0, at - _NEIGHBOURS) : at + _NEIGHBOURS]
    return difflib.get_close_matches(value, near, n=n)


def unknown(what: str, value: object, known: Collection[str], where: str = "") -> str:
    """``unknown item 'K-9'; did you mean 'K-1'? the world has 1 items``: names the value (cut if long),
    the close matches, and ``where`` (what the known ones are, or where to declare one)."""
    close = close_matches(value, known) if isinstance(value, str) else []
    guess = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    tail = (" " if close else "; ") + where if where else ""
    return f"unknown {what} {quoted(value)}{guess}{tail}"
