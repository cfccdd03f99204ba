"""Pieces of a world file on their own: one agreement, or one equivalence table (for ``impact --add``,
``impact --amend --table`` and the node's ``agreement add``). Errors name the file, line and key."""

from __future__ import annotations

import os

from gsomia.domain.model import Agreement, Table

from .fields import Context, Cursor
from .reader import read_agreement, read_table
from .source import read_source


def load_agreement(path: str | os.PathLike[str]) -> Agreement:
    """One agreement mapping, written as an entry of a world file's ``agreements`` list."""
    source = read_source(path)
    return read_agreement(Cursor(Context(source.file, source.lines), (), source.data))


def load_table(path: str | os.PathLike[str]) -> Table:
    """One equivalence table: a list of rows, written as an agreement's ``equivalence``."""
    source = read_source(path)
    return read_table(Cursor(Context(source.file, source.lines), (), source.data))
