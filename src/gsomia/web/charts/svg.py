"""A tiny SVG builder that cannot emit markup by accident.

Charts are trees of :class:`Element` values rendered by :func:`render`. Every text node and every attribute
value is escaped on the way out (``&``, ``<``, ``>``, ``"`` and, in attributes, tab and line breaks), and
characters XML 1.0 cannot hold at all (control characters, lone surrogates, U+FFFE/U+FFFF) become U+FFFD,
so any id or marking, in any script, comes out as well-formed XML that says exactly what it held. Tag and
attribute names are fixed by the chart code and checked against a strict pattern. Attributes render in the
order given and numbers with a fixed precision: the same chart gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from gsomia.domain.errors import GsomiaError

SVG_NS = "http://www.w3.org/2000/svg"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*\Z")
# everything XML 1.0 cannot carry: C0 controls but tab/LF/CR, surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)

Value = str | int | float


class ChartError(GsomiaError):
    """A chart was asked for with input it cannot draw (a wrong type, an empty date range...)."""


def clean(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def escape_text(text: str) -> str:
    """``text`` safe as element content."""
    return clean(text).translate(_TEXT)


def escape_attr(text: str) -> str:
    """``text`` safe inside a double-quoted attribute value, whitespace kept as written."""
    return clean(text).translate(_ATTR)


def num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros (``12``, ``3.5``, ``-0.25``)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _value(value: Value) -> str:
    if isinstance(value, bool):
        raise ChartError("an attribute value is a bool; give a string or a number")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return num(value)
    return value


@dataclass(slots=True)
class Element:
    """One element: a tag, attributes in the order given, and children (elements or text)."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    def add(self, *children: Element | str) -> Element:
        """Append ``children``; returns ``self`` so calls chain."""
        self.children.extend(children)
        return self


def el(tag: str, *children: Element | str, **attrs: Value) -> Element:
    """An element; attribute names use ``_`` for ``-`` (``data_state`` -> ``data-state``)."""
    return Element(tag, _attrs(attrs.items()), list(children))


def _attrs(pairs: Iterable[tuple[str, Value]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        name = key.rstrip("_").replace("_", "-")
        if not _NAME.match(name):
            raise ChartError(f"{name!r} is not an attribute name a chart may use")
        out[name] = _value(value)
    return out


def render(root: Element) -> str:
    """The element tree as XML text (no declaration: it embeds in HTML as it is)."""
    out: list[str] = []
    _write(root, out)
    return "".join(out)


def _write(node: Element, out: list[str]) -> None:
    if not _NAME.match(node.tag):
        raise ChartError(f"{node.tag!r} is not a tag name a chart may use")
    attrs = "".join(f' {k}="{escape_attr(v)}"' for k, v in node.attrs.items())
    if not node.children:
        out.append(f"<{node.tag}{attrs}/>")
        return
    out.append(f"<{node.tag}{attrs}>")
    for child in node.children:
        if isinstance(child, Element):
            _write(child, out)
        else:
            out.append(escape_text(child))
    out.append(f"</{node.tag}>")


def document(width: float, height: float, title: str, desc: str, *body: Element) -> str:
    """A whole chart: ``<svg>`` with a viewBox, role ``img``, a ``<title>`` and a ``<desc>`` first."""
    root = el(
        "svg",
        el("title", title),
        el("desc", desc),
        *body,
        xmlns=SVG_NS,
        viewBox=f"0 0 {num(width)} {num(height)}",
        width=width,
        height=height,
        role="img",
        font_family="sans-serif",
        font_size=12,
    )
    return render(root)


def legend(x: float, y: float, entries: Iterable[tuple[str, str, str, str]], per_row: int = 4) -> Element:
    """A legend of line swatches: each entry is (key, label, colour, dash pattern or ``""``), laid out
    ``per_row`` to a row; each entry's group carries ``data-legend`` = key."""
    group = el("g", class_="legend")
    for i, (key, label, colour, dash) in enumerate(entries):
        ex, ey = x + (i % per_row) * 150, y + (i // per_row) * 20
        line = el("line", x1=ex, y1=ey, x2=ex + 24, y2=ey, stroke=colour, stroke_width=4)
        if dash:
            line.attrs["stroke-dasharray"] = dash
        text = el("text", label, x=ex + 30, y=ey + 4)
        group.add(el("g", line, text, data_legend=key))
    return group


def shorten(text: str, keep: int = 24) -> str:
    """``text`` cut to ``keep`` characters with an ellipsis, for a label whose full text is in a title."""
    return text if len(text) <= keep else text[: keep - 1] + "…"
