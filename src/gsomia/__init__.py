"""gsomia: exchange classified information only as security agreements allow, and prove it.

>>> import gsomia
>>> world = gsomia.load_world("korea-japan-2019.yaml")      # doctest: +SKIP
>>> world.decide("K-MSL-1", "JPN", "2020-06-01").route     # doctest: +SKIP
('KOR', 'JPN')
"""

from __future__ import annotations

from .domain.decision import RULES, Alternative, Decision, Reason
from .domain.errors import GsomiaError, LifecycleError, QueryError, ScenarioError, WorldError
from .domain.impact import Change, ImpactReport
from .domain.lifecycle import AgreementState
from .domain.world import Query, World
from .scenario import load_world

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
from importlib.metadata import PackageNotFoundError as _NotInstalled
from importlib.metadata import version as _dist_version

try:
    __version__ = _dist_version("gsomia")  # one place for the version: pyproject.toml
except _NotInstalled:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0+unknown"
