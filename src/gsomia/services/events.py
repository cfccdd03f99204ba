"""Lifecycle events as a service: notice, suspension, resumption, withdrawal, termination, amendment.

An event is checked by rebuilding the node's world with it (the lifecycle replays every event of the
agreement in date order), so an event that cannot apply, or that would make a later one impossible, is a
:class:`~gsomia.domain.errors.LifecycleError` and nothing is written. Each event is a record with its leaf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from gsomia.domain.lifecycle import Timeline

from .ports import Record, Store
from .worldbook import Worldbook

Scope = Sequence[str] | Literal["any"] | None
Row = Mapping[str, str | Sequence[str]]


class Events:
    def __init__(self, store: Store, worldbook: Worldbook) -> None:
        self._store = store
        self._worldbook = worldbook

    def add_event(
        self,
        agreement: str,
        kind: str,
        on: date | str,
        *,
        by: str | None = None,
        scope: Scope = None,
        equivalence: Sequence[Row] | object = None,
    ) -> Record:
        """Add one lifecycle event (an ``amend`` gives ``scope`` and/or ``equivalence``).

        ``equivalence`` is a table as a world file writes it (a list of rows); its shape is checked with
        the rest of the world, so anything else is an error naming it.
        """
        entry: dict[str, Any] = {
            "date": on.isoformat() if isinstance(on, date) else on,
            "agreement": agreement,
            "kind": kind,
        }
        if by is not None:
            entry["by"] = by
        if scope is not None:
            entry["scope"] = scope if isinstance(scope, str) else list(scope)
        if equivalence is not None:
            entry["equivalence"] = equivalence
        with self._store.begin() as uow:
            return self._worldbook.add_in(uow, "event", entry)

    def events(self) -> list[Record]:
        """Every lifecycle event on record, in the order added."""
        with self._store.read() as uow:
            return [r for r in uow.world_records() if r.kind == "event"]

    def timeline(self) -> list[Timeline]:
        """Each agreement's states with their dates, in id order."""
        return list(self._worldbook.world().timelines.values())
