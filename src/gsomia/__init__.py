"""gsomia: exchange classified information only as security agreements allow, and prove it.

>>> import gsomia
>>> world = gsomia.load_world("korea-japan-2019.yaml")      # doctest: +SKIP
>>> world.decide("K-MSL-1", "JPN", "2020-06-01").route     # doctest: +SKIP
('KOR', 'JPN')

The names below are loaded when first asked for (PEP 562), so that a command importing one part of the
package (a node's log verify, say) does not pay for the world-file reader or the package metadata.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .domain.decision import RULES, Alternative, Decision, Reason
    from .domain.errors import GsomiaError, LifecycleError, QueryError, ScenarioError, WorldError
    from .domain.impact import Change, ImpactReport
    from .domain.lifecycle import AgreementState
    from .domain.world import Query, World
    from .scenario import load_world

    __version__: str

_HOMES = {
    "AgreementState": ".domain.lifecycle",
    "Alternative": ".domain.decision",
    "Change": ".domain.impact",
    "Decision": ".domain.decision",
    "GsomiaError": ".domain.errors",
    "ImpactReport": ".domain.impact",
    "LifecycleError": ".domain.errors",
    "Query": ".domain.world",
    "QueryError": ".domain.errors",
    "RULES": ".domain.decision",
    "Reason": ".domain.decision",
    "ScenarioError": ".domain.errors",
    "World": ".domain.world",
    "WorldError": ".domain.errors",
    "load_world": ".scenario",
}

__all__ = [
    "AgreementState",
    "Alternative",
    "Change",
    "Decision",
    "GsomiaError",
    "ImpactReport",
    "LifecycleError",
    "Query",
    "QueryError",
    "RULES",
    "Reason",
    "ScenarioError",
    "World",
    "WorldError",
    "load_world",
]


def __getattr__(name: str) -> object:
    """A public name (or ``__version__``), imported from its module the first time it is asked for."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("gsomia")  # one place for the version: pyproject.toml
        except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
            found = "0+unknown"
    elif name in _HOMES:
        found = getattr(import_module(_HOMES[name], __name__), name)
    else:
        raise AttributeError(f"module 'gsomia' has no attribute {name!r}")
    globals()[name] = found
    return found


def __dir__() -> list[str]:
    """The public names and the module's own dunders (not the helpers this file imports)."""
    return sorted({*(n for n in globals() if n.startswith("_")), *__all__, "__version__"})
