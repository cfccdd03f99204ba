"""What a decision says: the verdict, the route, the marking, and every rule's reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

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
            "reasons": [r.to_dict() for r in self.failed],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    item: str
    recipient: str
    holder: str
    at: date
    allowed: bool
    route: tuple[str, ...]
    agreements: tuple[str, ...]
    marking: str | None
    reasons: tuple[Reason, ...]
    alternatives: tuple[Alternative, ...]

    def reason(self, rule: str) -> Reason:
        """The reason given by ``rule`` (one of :data:`RULES`)."""
        for r in self.reasons:
            if r.rule == rule:
                return r
        raise KeyError(rule)

    def to_dict(self) -> dict[str, Any]:
        """The decision JSON of design.md §4."""
        return {
            "item": self.item,
            "recipient": self.recipient,
            "holder": self.holder,
            "at": self.at.isoformat(),
            "allowed": self.allowed,
            "route": list(self.route),
            "agreements": list(self.agreements),
            "marking": self.marking,
            "reasons": [r.to_dict() for r in self.reasons],
            "alternatives": [a.to_dict() for a in self.alternatives],
        }
