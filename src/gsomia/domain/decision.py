"""What a decision says: the verdict, the route, the marking, and every rule's reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

RULES: tuple[str, ...] = (
    "caveats",
    "releasable-to",
    "agreement-in-force",
    "scope",
    "level-covered",
    "consent",
    "route",
    "marking",
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule's verdict on a decision, with a one-line detail a person can read."""

    rule: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Alternative:
    """A route that was tried and failed, with the rules it failed."""

    route: tuple[str, ...]
    agreements: tuple[str, ...]
    failed: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": list(self.route),
            "agreements": list(self.agreements),
            "reasons": [{"rule": r.rule, "ok": r.ok, "detail": r.detail} for r in self.failed],
        }


class Explainer(Protocol):
    def explain(self, decision: Decision) -> tuple[tuple[Reason, ...], tuple[Alternative, ...]]: ...


class Decision:
    """A verdict with its route and marking; ``reasons`` and ``alternatives`` are built when first read.

    Two decisions are equal when every field is, reasons and alternatives included.
    """

    __slots__ = (
        "_alternatives",
        "_explainer",
        "_reasons",
        "agreements",
        "allowed",
        "at",
        "holder",
        "item",
        "marking",
        "recipient",
        "route",
    )

    def __init__(
        self,
        item: str,
        recipient: str,
        holder: str,
        at: date,
        allowed: bool,
        route: tuple[str, ...],
        agreements: tuple[str, ...],
        marking: str | None,
        reasons: tuple[Reason, ...] | None = None,
        alternatives: tuple[Alternative, ...] | None = None,
        explainer: Explainer | None = None,
    ) -> None:
        self.item = item
        self.recipient = recipient
        self.holder = holder
        self.at = at
        self.allowed = allowed
        self.route = route
        self.agreements = agreements
        self.marking = marking
        self._reasons = reasons
        self._alternatives = alternatives
        self._explainer = explainer

    def _explain(self) -> None:
        if self._reasons is None or self._alternatives is None:
            if self._explainer is None:
                raise ValueError("this decision was built without reasons or a way to explain it")
            self._reasons, self._alternatives = self._explainer.explain(self)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        self._explain()
        assert self._reasons is not None
        return self._reasons

    @property
    def alternatives(self) -> tuple[Alternative, ...]:
        self._explain()
        assert self._alternatives is not None
        return self._alternatives

    def reason(self, rule: str) -> Reason:
        """The reason given by ``rule`` (one of :data:`RULES`)."""
        for r in self.reasons:
            if r.rule == rule:
                return r
        raise KeyError(rule)

    def _key(self) -> tuple[object, ...]:
        return (
            self.item,
            self.recipient,
            self.holder,
            self.at,
            self.allowed,
            self.route,
            self.agreements,
            self.marking,
            self.reasons,
            self.alternatives,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Decision(item={self.item!r}, recipient={self.recipient!r}, holder={self.holder!r}, "
            f"at={self.at.isoformat()}, allowed={self.allowed}, route={self.route!r}, "
            f"marking={self.marking!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The decision JSON: the fields above, reasons as ``{rule, ok, detail}``, then alternatives.

        Every dict and list in it is new: the caller may change any of them without changing what this or
        any other decision (sharing the same reasons) says next time."""
        if self._reasons is None or self._alternatives is None:
            self._explain()
        reasons, alternatives = self._reasons, self._alternatives
        assert reasons is not None
        assert alternatives is not None
        return {
            "item": self.item,
            "recipient": self.recipient,
            "holder": self.holder,
            "at": self.at.isoformat(),
            "allowed": self.allowed,
            "route": list(self.route),
            "agreements": list(self.agreements),
            "marking": self.marking,
            "reasons": [{"rule": r.rule, "ok": r.ok, "detail": r.detail} for r in reasons],
            "alternatives": [
                {
                    "route": list(a.route),
                    "agreements": list(a.agreements),
                    "reasons": [{"rule": r.rule, "ok": r.ok, "detail": r.detail} for r in a.failed],
                }
                for a in alternatives
            ]
            if alternatives
            else [],
        }
