"""Reading a world file's text into plain data, and remembering where each key sits.

Only a regular file is read (never a FIFO, a device or a directory, which could block or never end), and
at most :data:`MAX_FILE_BYTES` of it.

YAML is read with ruamel.yaml's round-trip loader (YAML 1.2, so ``NO`` and ``ON`` are strings) because it
records the line of every key and list item. Unquoted scalars that YAML would read as numbers, booleans or
timestamps are kept as their text (:class:`Plain`): every value in a world file is text (ids, markings,
topics) or a date we parse ourselves, so ``id: 007`` stays ``"007"`` and ``2019-02-30`` gets our message
rather than a ``ValueError`` from deep inside the YAML library. Aliases (``*name``) are refused, so that
no file can stand for more data than it holds, and nesting is bounded.

JSON (``.json``) is read once with :mod:`json`; the line of a key is looked up only when an error needs it
(see :mod:`.jsontext`).
"""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, MaxDepthExceededError
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.reader import ReaderError

from gsomia.domain.errors import Path, ScenarioError
from gsomia.domain.ids import shorten

from .jsontext import JsonLines, parse_json
from .yamlitems import ItemLines, quick_items

MAX_FILE_BYTES = 512 * 2**20
"""The largest world file read: a world of a million items takes about a fifth of it."""
MAX_DEPTH = 64
"""The deepest nesting read; a world file nests 7 deep, and deeper files would exhaust the stack."""
_TOO_DEEP = f"the file nests more than {MAX_DEPTH} levels deep; a world file nests only a few levels"

Lines = Callable[[Path], int | None]
"""Given a path into the file's data, the 1-based line of that key or list item, or None if unknown."""


class Plain(str):
    """The text of an unquoted YAML scalar that YAML would otherwise read as a number, bool or timestamp."""

    __slots__ = ()


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that keeps numbers, booleans and timestamps as their text."""


def _construct_plain(constructor: RoundTripConstructor, node: ScalarNode) -> Plain:
    return Plain(constructor.construct_scalar(node))


for _tag in ("int", "float", "bool", "timestamp"):
    # add_constructor copies the table into the subclass: ruamel's own constructor is left untouched.
    _Constructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct_plain)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (as it was before, after it).

    Reading a big world builds millions of small objects that all live on; each full pass of the collector
    walks every one of them, and on a million items those passes cost more than the reading itself. The
    objects hold no cycles to reclaim, and reference counting still frees everything else at once.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass(frozen=True, slots=True)
class Source:
    """A world file read into plain data, with the line of each key where known."""

    file: str
    data: object
    lines: Lines | None


class LineMap:
    """Lines of keys and items in data loaded by ruamel.yaml's round-trip loader."""

    def __init__(self, root: object) -> None:
        self._root = root

    def __call__(self, path: Path) -> int | None:
        node: Any = self._root
        line: int | None = None
        if not path:
            lc = getattr(node, "lc", None)
            return None if lc is None or lc.line is None else int(lc.line) + 1
        for part in path:
            in_map = isinstance(node, CommentedMap) and isinstance(part, str) and part in node
            in_seq = isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node)
            if not (in_map or in_seq):
                return None
            where = node.lc.data.get(part)
            line = None if not where else int(where[0]) + 1
            node = node[part]
        return line


def read_source(path: str | os.PathLike[str]) -> Source:
    """Read and parse the world file at ``path``; ScenarioError if it cannot be read or parsed."""
    file = os.fspath(path)
    raw = read_regular_file(file, "world file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ScenarioError("the file is not UTF-8 text; save it as UTF-8", file=file, line=line) from error
    return parse_text(text, file)


def read_regular_file(file: str, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``file``, refused unless it is a regular file of at most ``limit`` bytes.

    A FIFO or a device would block or never end, so the kind is checked before opening, and again on the
    open descriptor (opened non-blocking) in case the path was swapped in between.
    """
    try:
        _check_kind(os.stat(file), file, what, limit)
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            _check_kind(os.fstat(fd), file, what, limit)
            raw = handle.read(limit + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        hint = "; reading a world from stdin is not supported, give a file" if file == "-" else ""
        raise ScenarioError(f"cannot read the {what} ({reason}); check the path{hint}", file=file) from error
    if len(raw) > limit:  # it grew since it was checked
        raise _too_large(file, what, limit)
    return raw


def _check_kind(found: os.stat_result, file: str, what: str, limit: int) -> None:
    kind = _kind(found.st_mode)
    if kind is not None:
        raise ScenarioError(f"{kind}, not a regular file; give the path of a {what}", file=file)
    if found.st_size > limit:
        raise _too_large(file, what, limit)


def _too_large(file: str, what: str, limit: int) -> ScenarioError:
    return ScenarioError(
        f"the file is larger than {limit // 2**20} MiB, more than any {what} this gsomia reads; "
        "check the path, or split the file",
        file=file,
    )


def _kind(mode: int) -> str | None:
    """What a path that is not a regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "this is a directory"
    if stat.S_ISFIFO(mode):
        return "this is a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "this is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "this is a device"
    return "this is a special file"


def parse_text(text: str, file: str) -> Source:
    """Parse ``text`` as JSON when ``file`` ends in ``.json``, else as YAML."""
    if is_json(file):
        return Source(file, parse_json(text, file), JsonLines(text))
    return Source(file, *_parse_yaml(text, file))


def is_json(file: str) -> bool:
    """Whether ``file`` is read as JSON (by its name)."""
    return file.lower().endswith(".json")


def lines_of(text: str) -> Lines | None:
    """The line map of ``text`` (YAML or JSON), or None when it does not parse."""
    try:
        if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
            return JsonLines(text) if _parses_as_json(text) else LineMap(_loader().load(text))
        return LineMap(_loader().load(text))
    except Exception:  # the lines are a courtesy: without them errors still name the key
        return None


def _parses_as_json(text: str) -> bool:
    try:
        parse_json(text, "")
    except ScenarioError:
        return False
    return True


class _Composer(Composer):
    """ruamel's composer, refusing aliases: a world file writes each value out where it is used.

    An alias makes one node stand for many; a few lines of them (a "billion laughs") stand for more data
    than memory holds, or for more entries than any reader can walk.
    """

    def compose_node(self, parent: object, index: object) -> object:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            raise _AliasError(
                None,
                None,
                f"an alias (*{event.anchor}) repeats a value written elsewhere; world files do not use "
                "aliases or anchors: write the value out in full",
                event.start_mark,
            )
        return super().compose_node(parent, index)


class _AliasError(MarkedYAMLError):
    """An alias in a world file."""


def _loader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Composer = _Composer
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    yaml.max_depth = MAX_DEPTH
    return yaml


def _parse_yaml(text: str, file: str) -> tuple[object, Lines]:
    quick = _quick(text)
    if quick is not None:
        return quick
    try:
        data: object = _loader().load(text)
    except (_AliasError, MaxDepthExceededError) as error:
        raise _refused(error, file) from error
    except MarkedYAMLError as error:
        raise _yaml_error(error, file) from error
    except ReaderError as error:
        raise _character_error(error, text, file) from error
    except RecursionError as error:
        raise ScenarioError(_TOO_DEEP, file=file) from error
    except Exception as error:  # any other parser failure is still bad input, never a traceback
        raise ScenarioError(f"not valid YAML: {printable(str(error))}", file=file) from error
    return data, LineMap(data)


def _quick(text: str) -> tuple[object, Lines] | None:
    """The file read with its items on the quick road (:mod:`.yamlitems`), or None to read it whole.

    The rest of the file, without the items' lines, is read by the YAML loader, and must come back as a
    mapping whose ``items`` key is empty and sits on the line just before the first item: then the items
    were that key's value in the file as written. Anything else, an error included, and the caller reads
    the whole file with the YAML loader, which reads it (or names the line at fault) as it always did."""
    quick = quick_items(text)
    if quick is None:
        return None
    try:
        data: object = _loader().load(quick.rest)
    except Exception:  # the whole file is read again, and any error is reported from there
        return None
    if not isinstance(data, CommentedMap) or "items" not in data or data["items"] is not None:
        return None
    line, column = data.lc.key("items")
    if (line + 1, column) != (quick.first_line - 1, 0):
        return None
    data["items"] = quick.items
    return data, _QuickLines(LineMap(data), ItemLines(quick))


class _QuickLines:
    """Lines of a file read on the quick road: the items' from their text, the rest from the YAML loader
    (moved down past the items' lines when they came after them)."""

    def __init__(self, rest: Lines, items: ItemLines) -> None:
        self._rest = rest
        self._items = items

    def __call__(self, path: Path) -> int | None:
        if len(path) >= 2 and path[0] == "items":
            return self._items(path[1:])
        line = self._rest(path)
        return line if line is None or line < self._items.first else line + self._items.count


def printable(message: str, keep: int = 160) -> str:
    """A parser's message made safe to show on one line: cut short, control characters escaped."""
    cut = shorten(message, keep)
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in cut)


def _refused(error: MarkedYAMLError, file: str) -> ScenarioError:
    mark = error.problem_mark
    line = None if mark is None else mark.line + 1
    message = error.problem if isinstance(error, _AliasError) else _TOO_DEEP
    return ScenarioError(message or _TOO_DEEP, file=file, line=line)


def _character_error(error: ReaderError, text: str, file: str) -> ScenarioError:
    """A character YAML does not allow (a control character other than tab and newline)."""
    if not isinstance(error.character, int) or not isinstance(error.position, int):
        return ScenarioError(f"not valid YAML: {printable(str(error))}", file=file)
    line = text.count("\n", 0, error.position) + 1
    message = (
        f"the file holds the control character U+{error.character:04X}, which YAML does not allow; remove it"
    )
    return ScenarioError(message, file=file, line=line)


def _yaml_error(error: MarkedYAMLError, file: str) -> ScenarioError:
    mark = error.problem_mark or error.context_mark
    line = None if mark is None else mark.line + 1
    problem = printable(error.problem or error.context or "cannot parse")
    if "duplicate key" in problem:
        return ScenarioError(f"{problem}; a key may appear once in each mapping", file=file, line=line)
    context = f" ({error.context})" if error.context and error.problem else ""
    if context and error.context_mark is not None and error.context_mark.line + 1 != line:
        context = f" ({error.context} that starts on line {error.context_mark.line + 1})"
    return ScenarioError(f"not valid YAML: {problem}{context}", file=file, line=line)
