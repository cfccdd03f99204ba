"""An agreement's state on any day: terms, renewal, notice, suspension, withdrawal, termination, amendment.

Term ends are ``E_k = eif + k * term`` (k >= 1, calendar arithmetic from entry into force, so month ends
clamp without drift). A notice given on day ``d`` ends the agreement at the first term end ``E`` with
``(d + 1 day) + notice_period <= E``; without a term it ends on ``(d + 1 day) + notice_period``. Every date
named as an end is the *first day not in force*. An agreement, once ended, never comes back: its in-force
days are the single interval ``[entry_into_force, end)``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from .errors import LifecycleError
from .model import Agreement, Event, Table

State = Literal["not-yet-in-force", "in-force", "notice-pending", "notice-suspended", "terminated", "expired"]
IN_FORCE_STATES: frozenset[State] = frozenset({"in-force", "notice-pending", "notice-suspended"})
_LONGEST_DAYS = {"y": 366, "m": 31, "d": 1}


@dataclass(frozen=True, slots=True)
class Segment:
    """From ``start`` until the next segment the agreement is in ``state``; ``cause`` says why."""

    start: date
    state: State
    cause: str


@dataclass(frozen=True, slots=True)
class Version:
    """Scope and equivalence table in effect from ``start`` (entry into force, or an amendment)."""

    start: date
    scope: tuple[str, ...] | None
    equivalence: Table


@dataclass(frozen=True, slots=True)
class AgreementState:
    agreement: str
    at: date
    state: State
    disputed: bool
    ends: date | None  # first day not in force, when known as of the events on record

    @property
    def in_force(self) -> bool:
        return self.state in IN_FORCE_STATES


@dataclass(frozen=True, slots=True)
class Timeline:
    agreement: Agreement
    segments: tuple[Segment, ...]
    end: date | None
    versions: tuple[Version, ...]

    def in_force(self, at: date) -> bool:
        return self.agreement.entry_into_force <= at and (self.end is None or at < self.end)

    def state(self, at: date) -> AgreementState:
        i = bisect_right([s.start for s in self.segments], at) - 1
        if i < 0:
            return AgreementState(self.agreement.id, at, "not-yet-in-force", False, self.end)
        state = self.segments[i].state
        return AgreementState(self.agreement.id, at, state, state == "notice-suspended", self.end)

    def version(self, at: date) -> Version:
        """The terms in effect on ``at``; before entry into force, the original ones."""
        i = bisect_right([v.start for v in self.versions], at) - 1
        return self.versions[max(i, 0)]


def term_end(agreement: Agreement, k: int) -> date:
    assert agreement.term is not None
    return agreement.term.times(k).after(agreement.entry_into_force)


def notice_end(agreement: Agreement, given: date, where: tuple[str | int, ...]) -> date:
    """First day not in force after a notice given on ``given``."""
    threshold = agreement.notice_period.after(given + timedelta(days=1))
    term = agreement.term
    if term is None:
        return threshold
    if not agreement.renewal:
        first = term_end(agreement, 1)
        if threshold > first:
            raise LifecycleError(
                f"a notice on {given} cannot take effect: {agreement.id} does not renew and its term ends on "
                f"{first}, but notice needs {agreement.notice_period} from the next day; the last valid "
                f"notice day was {_last_notice_day(agreement, first)}",
                where,
            )
        return first
    k = max(1, (threshold - agreement.entry_into_force).days // (_LONGEST_DAYS[term.unit] * term.amount))
    while term_end(agreement, k) < threshold:
        k += 1
    return term_end(agreement, k)


def _last_notice_day(agreement: Agreement, end: date) -> date:
    day = end
    while agreement.notice_period.after(day + timedelta(days=1)) > end:
        day -= timedelta(days=1)
    return day


class _Run:
    """Replays one agreement's events in order, refusing any that cannot apply."""

    def __init__(self, agreement: Agreement) -> None:
        self.agreement = agreement
        eif = agreement.entry_into_force
        self.segments = [Segment(eif, "in-force", "entry into force")]
        self.versions = [Version(eif, agreement.scope, agreement.equivalence)]
        self.pending: date | None = None
        self.suspended = False
        self.terminated: date | None = None
        self.hard_end = term_end(agreement, 1) if agreement.term and not agreement.renewal else None

    def end(self) -> date | None:
        ends = [d for d in (self.terminated, self.hard_end) if d is not None]
        if self.pending is not None and not self.suspended:
            ends.append(self.pending)
        return min(ends) if ends else None

    def mark(self, day: date, state: State, cause: str) -> None:
        if self.segments[-1].start == day:
            self.segments.pop()
        self.segments.append(Segment(day, state, cause))

    def apply(self, ev: Event) -> None:
        where: tuple[str | int, ...] = ("events", ev.index)
        a = self.agreement
        if ev.date < a.entry_into_force:
            raise LifecycleError(
                f"{ev.kind} on {ev.date} is before {a.id} entered into force ({a.entry_into_force})",
                (*where, "date"),
            )
        end = self.end()
        if end is not None and ev.date >= end:
            raise LifecycleError(
                f"{ev.kind} on {ev.date}: {a.id} is no longer in force (it ended on {end})", (*where, "date")
            )
        getattr(self, "_" + ev.kind.replace("-", "_"))(ev, where)

    def _notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if self.pending is not None:
            state = "suspended" if self.suspended else "pending"
            raise LifecycleError(
                f"a notice is already {state}; withdraw or resume it instead", (*where, "kind")
            )
        self.pending = notice_end(self.agreement, ev.date, (*where, "date"))
        self.mark(ev.date, "notice-pending", f"notice by {ev.by or 'a party'}; ends on {self.pending}")

    def _suspend_notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if self.pending is None or self.suspended:
            raise LifecycleError("suspend-notice needs a pending notice, and there is none", (*where, "kind"))
        self.suspended = True
        self.mark(ev.date, "notice-suspended", f"notice suspended by {ev.by or 'a party'} (disputed)")

    def _resume_notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if not self.suspended:
            raise LifecycleError(
                "resume-notice needs a suspended notice, and there is none", (*where, "kind")
            )
        self.suspended = False
        self.pending = notice_end(self.agreement, ev.date, (*where, "date"))
        self.mark(
            ev.date, "notice-pending", f"notice resumed by {ev.by or 'a party'}; ends on {self.pending}"
        )

    def _withdraw_notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if self.pending is None:
            raise LifecycleError(
                "withdraw-notice needs a pending or suspended notice, and there is none", (*where, "kind")
            )
        self.pending, self.suspended = None, False
        self.mark(ev.date, "in-force", f"notice withdrawn by {ev.by or 'a party'}")

    def _terminate(self, ev: Event, where: tuple[str | int, ...]) -> None:
        self.terminated = ev.date

    def _amend(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if ev.scope is None and not ev.scope_any and ev.equivalence is None:
            raise LifecycleError(
                "an amend must give a new scope or a new equivalence table", (*where, "kind")
            )
        last = self.versions[-1]
        scope = None if ev.scope_any else (ev.scope if ev.scope is not None else last.scope)
        table = ev.equivalence if ev.equivalence is not None else last.equivalence
        if last.start == ev.date:
            self.versions.pop()
        self.versions.append(Version(ev.date, scope, table))

    def finish(self) -> Timeline:
        end = self.end()
        if end is not None:
            if end == self.terminated:
                self.mark(end, "terminated", "terminated by mutual decision")
            elif self.pending is not None:
                self.mark(end, "terminated", "notice took effect")
            else:
                self.mark(end, "expired", "term ended without renewal")
        return Timeline(self.agreement, tuple(self.segments), end, tuple(self.versions))


def compile_timeline(agreement: Agreement, events: tuple[Event, ...]) -> Timeline:
    """Apply ``events`` (this agreement's) in date order, same-day ones in file order."""
    run = _Run(agreement)
    for ev in sorted(events, key=lambda e: (e.date, e.index)):
        run.apply(ev)
    return run.finish()
