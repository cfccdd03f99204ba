"""Load a world file: read it, check its shape, then let the domain validate and compile it.

Every problem with the file, whether found while reading it or by the domain afterwards, comes out as one
:class:`~gsomia.domain.errors.ScenarioError` naming the file, the line and the key.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gsomia.domain.errors import ScenarioError, WorldError
from gsomia.domain.model import WorldSpec

from .fields import Context
from .reader import spec_from_data
from .source import Lines, gc_paused, lines_of, read_source

if TYPE_CHECKING:
    from gsomia.domain.world import World


def load_spec(path: str | os.PathLike[str]) -> WorldSpec:
    """Read the world file at ``path`` (YAML, or JSON if it ends in ``.json``) into a WorldSpec."""
    spec, _lines = _load(path)
    return spec


def read_spec(path: str | os.PathLike[str]) -> tuple[WorldSpec, Lines | None]:
    """:func:`load_spec`, with the file's line map (None when not known) for errors found later."""
    return _load(path)


def load_world(path: str | os.PathLike[str]) -> World:
    """Read, validate and compile the world file at ``path``; any problem is a ScenarioError."""
    from gsomia.domain.world import World  # imported here: the domain needs nothing from us to load

    with gc_paused():  # a big world is millions of objects that all live on (see gc_paused)
        spec, lines = _load(path)
        try:
            return World.from_spec(spec)
        except ScenarioError:
            raise
        except WorldError as error:
            raise locate(error, os.fspath(path), lines) from error


def locate(error: WorldError, file: str, source: str | Lines | None) -> ScenarioError:
    """``error`` as a ScenarioError naming ``file`` and the line of its path (or of its closest ancestor).

    ``source`` is the file's text, or its line map (``lines(path) -> line``), or None when neither is known.
    """
    if isinstance(error, ScenarioError) and error.file:
        return error
    lines = lines_of(source) if isinstance(source, str) else source
    return Context(file, lines).error(error.path, error.message)


def _load(path: str | os.PathLike[str]) -> tuple[WorldSpec, Lines | None]:
    with gc_paused():
        source = read_source(path)
        return spec_from_data(source.data, file=source.file, lines=source.lines), source.lines
