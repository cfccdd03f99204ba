"""What an id may hold: ids are shown to people and compared by machines.

An id (party, level, agreement, item, topic, consent, caveat) is refused when it is empty, longer than
:data:`MAX_ID_LENGTH`, or holds a character that would let two ids look alike or hide what they say:
control characters (C0, DEL, C1), bidirectional overrides and isolates (U+202A to U+202E, U+2066 to U+2069),
the zero-width and other format characters (Unicode category Cf), unpaired surrogates, or whitespace at
either end.
"""

from __future__ import annotations

import unicodedata

MAX_ID_LENGTH = 200
SHOWN = 60  # characters of a bad value echoed in an error


def shorten(value: str, keep: int = SHOWN) -> str:
    """``value`` cut to ``keep`` characters for an error message, saying how long it really was."""
    if len(value) <= keep:
        return value
    return f"{value[:keep]}… ({len(value)} characters)"


def id_problem(value: str) -> str | None:
    """What is wrong with ``value`` as an id, or None when it is a good one."""
    if not value:
        return "is empty; give an id"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long; an id has at most {MAX_ID_LENGTH}"
    if value != value.strip():
        return "starts or ends with whitespace; remove it"
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs"):
            return (
                f"holds the invisible or control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}); ids hold only visible characters"
            )
    return None
