"""Reading a world file's text into plain data, and remembering where each key sits.

YAML is read with ruamel.yaml's round-trip loader (YAML 1.2, so ``NO`` and ``ON`` are strings) because it
records the line of every key and list item. Unquoted scalars that YAML would read as numbers, booleans or
timestamps are kept as their text (:class:`Plain`): every value in a world file is text (ids, markings,
topics) or a date we parse ourselves, so ``id: 007`` stays ``"007"`` and ``2019-02-30`` gets our message
rather than a ``ValueError`` from deep inside the YAML library.

JSON (``.json``) is read with :mod:`json`; its lines come from reading the same text as YAML, which holds
for any JSON a person writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import ScalarNode

from gsomia.domain.errors import Path, ScenarioError

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
    try:
        with open(file, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ScenarioError(f"cannot read the world file ({reason}); check the path", file=file) from error
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ScenarioError("the file is not UTF-8 text; save it as UTF-8", file=file, line=line) from error
    return parse_text(text, file)


def parse_text(text: str, file: str) -> Source:
    """Parse ``text`` as JSON when ``file`` ends in ``.json``, else as YAML."""
    if file.lower().endswith(".json"):
        return Source(file, _parse_json(text, file), _quiet_lines(text))
    return Source(file, *_parse_yaml(text, file))


def lines_of(text: str) -> Lines | None:
    """The line map of ``text`` (YAML or JSON), or None when it does not parse."""
    return _quiet_lines(text)


def _loader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    return yaml


def _parse_yaml(text: str, file: str) -> tuple[object, Lines]:
    try:
        data: object = _loader().load(text)
    except MarkedYAMLError as error:
        raise _yaml_error(error, file) from error
    except RecursionError as error:
        raise ScenarioError("the file nests too deeply to read", file=file) from error
    except Exception as error:  # any other parser failure is still bad input, never a traceback
        raise ScenarioError(f"not valid YAML: {error}", file=file) from error
    return data, LineMap(data)


def _yaml_error(error: MarkedYAMLError, file: str) -> ScenarioError:
    mark = error.problem_mark or error.context_mark
    line = None if mark is None else mark.line + 1
    problem = error.problem or error.context or "cannot parse"
    if "duplicate key" in problem:
        return ScenarioError(f"{problem}; a key may appear once in each mapping", file=file, line=line)
    context = f" ({error.context})" if error.context and error.problem else ""
    if context and error.context_mark is not None and error.context_mark.line + 1 != line:
        context = f" ({error.context} that starts on line {error.context_mark.line + 1})"
    return ScenarioError(f"not valid YAML: {problem}{context}", file=file, line=line)


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


def _parse_json(text: str, file: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"not valid JSON: {error.msg}", file=file, line=error.lineno) from error
    except _DuplicateKeyError as error:
        message = f"key {error.key!r} appears twice in one object; a key may appear once in each object"
        raise ScenarioError(message, file=file, line=_duplicate_line(text)) from error
    except RecursionError as error:
        raise ScenarioError("the file nests too deeply to read", file=file) from error


def _duplicate_line(text: str) -> int | None:
    try:
        _loader().load(text)
    except MarkedYAMLError as error:
        return None if error.problem_mark is None else error.problem_mark.line + 1
    except Exception:  # the line is a courtesy: without it the message still names the key
        return None
    return None


def _quiet_lines(text: str) -> Lines | None:
    try:
        return LineMap(_loader().load(text))
    except Exception:  # the lines are a courtesy: without them errors still name the key
        return None
