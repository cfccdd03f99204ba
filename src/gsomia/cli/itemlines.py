"""``gsomia item add-many``: JSON Lines of items, every line checked before anything is written.

One item a line, as a world file's ``items`` entry writes it, with where its body is::

    {"id": "K-1", "originator": "KOR", "level": "KR-II", "topics": ["naval"], "body_file": "K-1.txt"}

``releasable_to``, ``caveats`` and ``body_file`` may be left out (or null). A relative ``body_file`` is
relative to FILE's folder (for stdin, to the current directory). Lines are read as ``decide --queries``
reads them (:func:`gsomia.cli.queries.lines`: UTF-8, at most 64 KiB a line), at most :data:`MAX_LINES`
of them, and all are checked first: a bad one stops the command naming its line and field. Bodies are not
read here but one at a time as each item is added (:func:`new_items`), so one body at most is in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..domain.errors import GsomiaError
from ..services.items import MAX_BATCH, NewItem
from .queries import json_kind, json_object, lines, open_lines

MAX_LINES = MAX_BATCH  # items in one transaction
FIELDS = ("id", "originator", "level", "topics", "releasable_to", "caveats", "body_file")
_REQUIRED = ("id", "originator", "level", "topics")
_TEXTS = ("id", "originator", "level", "body_file")
_HAS = ", ".join(FIELDS)
_EXAMPLE = '{"id": "K-B-1", "originator": "KOR", "level": "KR-II", "topics": ["dprk-missile"]}'


class _LineError(Exception):
    """What is wrong with one line (its number and the file are added by :func:`read_all`)."""


@dataclass(frozen=True, slots=True)
class ItemLine:
    """One line of the file: the item, and the body file to read for it (None: no body)."""

    number: int
    item: NewItem
    body_file: Path | None


def read_all(source: str) -> list[ItemLine]:
    """Every item of ``source`` (``-``: stdin), all checked before anything is done: a GsomiaError naming
    the first bad line (counted from 1) and field, and at most :data:`MAX_LINES` of them."""
    where = "stdin" if source == "-" else source
    base = Path.cwd() if source == "-" else Path(source).parent
    out: list[ItemLine] = []
    with open_lines(source, "items") as handle:
        for number, line in enumerate(lines(handle, where), start=1):
            if number > MAX_LINES:
                raise GsomiaError(f"{where}: more than {MAX_LINES:,} lines; split them into several files")
            try:
                out.append(_parse(number, line, base))
            except _LineError as exc:
                raise GsomiaError(f"{where}, line {number}: {exc}; nothing was added") from None
    return out


def new_items(found: list[ItemLine], source: str, read: Callable[[Path], bytes]) -> Iterator[NewItem]:
    """Each line's item with its body, read by ``read`` only when the item is wanted; a body that cannot
    be read (missing, too big) is a GsomiaError naming its line."""
    where = "stdin" if source == "-" else source
    for line in found:
        if line.body_file is None:
            yield line.item
            continue
        try:
            body = read(line.body_file)
        except GsomiaError as exc:
            raise GsomiaError(f"{where}, line {line.number}, 'body_file': {exc}; nothing was added") from None
        yield replace(line.item, body=body)


def _parse(number: int, line: str, base: Path) -> ItemLine:
    """One line's item; anything wrong with it is an error saying which field and what."""
    try:
        data = json_object(line, FIELDS, _REQUIRED, _EXAMPLE, noun="item", word="field", has=_HAS)
    except ValueError as exc:
        raise _LineError(str(exc)) from None
    for key, value in data.items():
        _check(key, value)
    body_file = data.get("body_file")
    return ItemLine(
        number,
        NewItem(
            data["id"],
            data["originator"],
            data["level"],
            data["topics"],
            data.get("releasable_to"),
            data.get("caveats") or (),
        ),
        None if body_file is None else base / body_file,
    )


def _check(key: str, value: object) -> None:
    if value is None and key not in _REQUIRED:
        return  # an optional field left null: as if left out
    if key in _TEXTS:
        if not isinstance(value, str) or not value:
            raise _LineError(f"{key!r} must be a non-empty string, not {json_kind(value)}")
    elif not isinstance(value, list):
        raise _LineError(f'{key!r} must be a list of strings, like ["a", "b"], not {json_kind(value)}')
    else:
        bad = [v for v in value if not isinstance(v, str) or not v]
        if bad:
            raise _LineError(f"{key!r} must hold only non-empty strings, not {json_kind(bad[0])}")
