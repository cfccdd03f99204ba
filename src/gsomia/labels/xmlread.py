"""Reading untrusted XML: defusedxml with every DTD refused, a size limit, and the line of each element.

Labels, bindings and SPIFs come from other parties. :func:`read_xml` refuses a DOCTYPE outright (so no
entity, internal or external, is ever declared, let alone expanded), refuses input larger than its limit
before parsing, and turns every parser failure into a :class:`LabelError` with the line. The elements it
returns carry their start line (:meth:`Doc.line`), so later checks can say where a value was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import (  # type: ignore[import-untyped] # defusedxml ships no type hints
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]

from .errors import LabelError


class _LineBuilder(TreeBuilder):
    """A tree builder that notes the line each element starts on (ElementTree keeps no line numbers)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Element, int] = {}
        self.expat: Any = None

    def start(self, tag: str, attrs: dict[str, str], /) -> Element:
        element = super().start(tag, attrs)
        self.lines[element] = int(self.expat.CurrentLineNumber) if self.expat is not None else 0
        return element


@dataclass(frozen=True, slots=True)
class Doc:
    """A parsed document: its root, where it came from, and the line of each element."""

    root: Element
    source: str
    lines: dict[Element, int] = field(repr=False)

    def line(self, element: Element) -> int | None:
        return self.lines.get(element)

    def error(self, message: str, element: Element, where: str) -> LabelError:
        """A LabelError at ``element`` (its line) naming ``where``."""
        return LabelError(message, where=where, line=self.line(element), source=self.source)


def read_xml(data: bytes | str, what: str, limit: int, source: str = "") -> Doc:
    """Parse ``data`` (``what`` names it in errors) safely; at most ``limit`` bytes."""
    if not isinstance(data, bytes | bytearray | memoryview | str):
        raise LabelError(f"{what} must be bytes or text, got {type(data).__name__}", source=source)
    size = len(data)  # a str is at least as many bytes as characters: the giant one is refused unencoded
    if isinstance(data, str) and size <= limit:
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise LabelError(
            f"{what} is {size} bytes; at most {limit} are read (refused unread, as a hostile file would be)",
            source=source,
        )
    if size == 0:
        raise LabelError(f"{what} is empty; give an XML document", source=source)
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.expat = parser.parser
    try:
        parser.feed(bytes(data) if not isinstance(data, str) else data)
        root = parser.close()
    except ParseError as exc:
        line = exc.position[0] if exc.position else None
        reason = str(exc).split(": line ")[0]
        raise LabelError(f"{what} is not well-formed XML ({reason})", line=line, source=source) from None
    except DTDForbidden:
        raise LabelError(
            f"{what} has a DOCTYPE; document type declarations are refused (no entity is ever expanded)",
            line=_line(parser),
            source=source,
        ) from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise LabelError(
            f"{what} declares or references an entity; entities are refused, never expanded",
            line=_line(parser),
            source=source,
        ) from None
    except DefusedXmlException as exc:
        raise LabelError(f"{what} uses a refused XML feature ({type(exc).__name__})", source=source) from None
    except (ValueError, LookupError) as exc:  # an encoding declaration expat or Python cannot honour
        raise LabelError(f"{what} cannot be decoded ({exc})", source=source) from None
    return Doc(root, source, builder.lines)


def _line(parser: DefusedXMLParser) -> int | None:
    try:
        return int(parser.parser.CurrentLineNumber)
    except (AttributeError, TypeError, ValueError):
        return None


def local(tag: object) -> tuple[str, str]:
    """``{namespace}name`` split into (namespace, name); no namespace gives ``""``."""
    text = tag if isinstance(tag, str) else ""
    if text.startswith("{"):
        namespace, _, name = text[1:].partition("}")
        return namespace, name
    return "", text


def text_of(element: Element) -> str:
    """The element's text with XML whitespace at either end removed (pretty-printing is not content)."""
    return (element.text or "").strip(" \t\r\n")
