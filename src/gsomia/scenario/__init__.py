"""World files (YAML or JSON) to domain values, with errors that name the file, the line and the key.

``load_spec(path)`` reads a file into a :class:`~gsomia.domain.model.WorldSpec`; ``load_world(path)`` also
validates and compiles it; ``spec_from_data`` takes data already parsed; ``locate`` turns a domain
``WorldError`` into a ``ScenarioError`` pointing at the line.
"""

from __future__ import annotations

from .fragments import load_agreement, load_table
from .loader import load_spec, load_world, locate, read_spec
from .reader import read_items, spec_from_data
from .source import Lines, gc_paused

__all__ = [
    "Lines",
    "gc_paused",
    "load_agreement",
    "load_spec",
    "load_table",
    "load_world",
    "locate",
    "read_items",
    "read_spec",
    "spec_from_data",
]
