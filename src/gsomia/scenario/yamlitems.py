"""The quick road for a YAML world file's items: the bulk of a big file, read without a YAML library.

A world of a million items is a YAML file of about 90 MB, nearly all of it the ``items`` list, and the
round-trip YAML loader (pure Python, keeping every key's line) reads it in minutes. When that list is
written the way ``gsomia export`` (or a generator) writes it, each item on its own lines::

    items:
    - id: K-1
      originator: KOR
      topics: [dprk-missile, naval]

or each item a one-line flow mapping (``- {id: K-1, originator: KOR, topics: [naval]}``), and every key
and value is a plain word, the list is read here instead: checked against that strict form by one regular
expression, turned into JSON text by plain substitutions and read by :mod:`json`'s C parser. The rest of the
file (parties, agreements, events, consents: small) still goes through the YAML loader without the items'
lines; the lines of what came after them are moved back down by as many.

Only text whose meaning is plain is taken: a word starts with a letter or ``_`` and holds only letters,
digits, ``_ . - /``, and is none of the words YAML 1.2 reads as null or a boolean, so YAML reads each as
the same string; a key is lowercase. Anything else (a quoted value, a comment, a blank line, an anchor, a
directive, a repeated key, tabs or CRLF line ends) and the whole file takes the YAML loader, which reads
it, or names the line at fault, exactly as before. The line of an item or key is found only when an error
needs it (:class:`ItemLines`), by walking the items' text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from gsomia.domain.errors import Path

_WORDS = "null|Null|NULL|true|True|TRUE|false|False|FALSE"
_SCALAR = rf"(?!(?:{_WORDS})(?![\w./-]))[^\W\d][\w./-]*"
_KEY = rf"(?!(?:{_WORDS})(?![a-z_]))[a-z][a-z_]*"
_LIST = rf"\[(?:{_SCALAR}(?:, {_SCALAR})*+)?\]"
_VALUE = rf"(?:{_SCALAR}|{_LIST})"
_MEMBER = rf"{_KEY}: {_VALUE}"
_FLOW_MEMBER = rf"{_KEY}: (?:{_SCALAR}|{_LIST})"
# the items key at the start of a line, with nothing after it, then the first item's dash
_ITEMS = re.compile(r"^items:\n( *)- ", re.MULTILINE)
# what the quick road leaves to the YAML loader wherever it is: tabs, CR, control characters, the line
# breaks YAML knows beside LF (NEL, LS, PS: they would shift line numbers), a BOM, directives and documents
_BAD_TEXT = re.compile(r"[\t\r\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\ufeff]|^%|^---|^\.\.\.", re.MULTILINE)


def _block(indent: str) -> re.Pattern[str]:
    """Items written as block mappings, the dash at ``indent`` (possessive: no state kept to backtrack)."""
    start = rf"{indent}- {_MEMBER}\n"
    member = rf"{indent}  {_MEMBER}\n"
    return re.compile(rf"(?:{start}(?:{member})*+)++")


def _flow(indent: str) -> re.Pattern[str]:
    """Items written as one-line flow mappings, the dash at ``indent``."""
    return re.compile(rf"(?:{indent}- \{{{_FLOW_MEMBER}(?:, {_FLOW_MEMBER})*+\}}\n)++")


@dataclass(frozen=True, slots=True)
class QuickItems:
    """The items list read on the quick road, and where its text sits in the file."""

    items: list[object]
    text: str  # the items' lines, each ending in a newline
    first_line: int  # the 1-based line of the first item
    line_count: int  # the items' lines
    indent: str
    flow: bool
    rest: str  # the whole file without the items' lines (those after them move up by ``line_count``)


def quick_items(text: str) -> QuickItems | None:
    """The items of a YAML world file read without a YAML library, or None if the file must take the
    YAML loader (see the module's docstring for what is taken)."""
    found = _ITEMS.search(text)
    if found is None or _ITEMS.search(text, found.end()) is not None:  # none, or two: the YAML loader's
        return None
    indent = found.group(1)
    start = found.start(1)
    padded = text if text.endswith("\n") else text + "\n"
    flow = padded.startswith("- {", start + len(indent))
    matched = (_flow if flow else _block)(indent).match(padded, start)
    if matched is None:
        return None
    end = matched.end()
    rest = padded[end : end + 1]
    if rest and not (rest.isalpha() or rest == "_"):  # what follows must be the next top-level key
        return None
    block = padded[start:end]
    rest_text = padded[:start] + padded[end:]  # the strict form holds none of _BAD_TEXT: look at the rest
    if _BAD_TEXT.search(rest_text) is not None:
        return None
    try:
        items = json.loads(_as_json(block, indent, flow))
    except ValueError:
        return None
    # JSON keeps the last of a repeated key; in the strict form ": " follows each key and nothing else,
    # so the items hold as many keys as the text only if none was repeated (YAML refuses a repeated key)
    if not isinstance(items, list) or sum(map(len, items)) != block.count(": "):
        return None
    first_line = text.count("\n", 0, start) + 1
    return QuickItems(items, block, first_line, block.count("\n"), indent, flow, rest_text)


def _as_json(block: str, indent: str, flow: bool) -> str:
    """The JSON text of items in the strict form ``_block``/``_flow`` matched.

    In that form ``: `` only follows a key, ``, `` only separates, a line only ends after a word, a
    ``]`` or (flow) a ``}``, brackets and braces only delimit, and no word holds a quote; so plain
    substitutions, each a pass of ``str.replace``, put the quotes and commas in. ``\x03`` stands for an
    empty list meanwhile (the form holds no control character)."""
    t = block.replace("[]", "\x03") if "[]" in block else block
    empty = t is not block
    item = "\n" + indent + ("- {" if flow else "- ")
    if empty:
        t = t.replace(": \x03", '":\x03')
    if flow:
        if empty:
            t = t.replace("\x03}" + item, '\x03},{"').replace("\x03, ", '\x03,"')
        t = t.replace("]}" + item, '"]},{"').replace("}" + item, '"},{"').replace("], ", '"],"')
    else:
        member = "\n" + indent + "  "
        if empty:
            t = t.replace("\x03" + member, '\x03,"').replace("\x03" + item, '\x03},{"')
        t = t.replace("]" + member, '"],"').replace("]" + item, '"]},{"')
        t = t.replace(member, '","').replace(item, '"},{"')
    t = t.replace(": [", '":["').replace(": ", '":"').replace(", ", '","')
    if empty:
        t = t.replace("\x03", "[]")
    # without the first dash (and brace) and the last line end (and brace); the last value is a word, a
    # list or an empty list
    body = t[len(item) - 1 : len(t) - (2 if flow else 1)]
    if body.endswith("[]"):
        return '[{"' + body + "}]"
    if body.endswith("]"):
        return '[{"' + body[:-1] + '"]}]'
    return '[{"' + body + '"}]'


class ItemLines:
    """Lines of paths under ``items`` in the quick road's text, found by walking it when asked."""

    def __init__(self, quick: QuickItems) -> None:
        self._text = quick.text
        self._first = quick.first_line
        self.first = quick.first_line  # lines of the rest of the file from here on come after the items
        self.count = quick.line_count
        self._start = "\n" + quick.indent + "- "
        self._flow = quick.flow
        self._count = len(quick.items)

    def __call__(self, path: Path) -> int | None:
        """The line of ``path`` (``(index,)``, ``(index, key)`` or ``(index, key, n)``), or None."""
        if not path or type(path[0]) is not int or not 0 <= path[0] < self._count:
            return None
        at, line = 0, self._first
        for _ in range(path[0]):
            at = self._text.find(self._start, at) + 1
        line += self._text.count("\n", 0, at)
        if len(path) == 1 or self._flow:
            return line if len(path) == 1 or self._has(at, path[1]) else None
        end = self._text.find(self._start, at)
        lines = self._text[at : len(self._text) if end < 0 else end + 1].split("\n")
        key = path[1]
        for n, text in enumerate(lines):
            if isinstance(key, str) and text.lstrip(" -").startswith(key + ": "):
                return line + n
        return None

    def _has(self, at: int, key: object) -> bool:
        end = self._text.find("\n", at)
        entry = self._text[at:end]
        return isinstance(key, str) and (f"{{{key}: " in entry or f", {key}: " in entry)
