"""Charts for the web UI, drawn on the server as SVG by pure functions: no JavaScript, no I/O.

- :func:`network_svg`: parties and their agreements on one day, coloured by state;
- :func:`timeline_svg`: one agreement's states, terms and events, Gantt-style;
- :func:`impact_svg`: a what-if's kept, re-routed, lost and gained flows.

Each returns one ``<svg>`` element as text (well-formed XML, every id and marking escaped, a ``<title>``
and a ``<desc>`` for screen readers, no external reference), the same bytes for the same input. Bad input
raises :class:`ChartError`, a :class:`gsomia.GsomiaError`.
"""

from __future__ import annotations

from .impact import impact_svg
from .network import network_svg
from .svg import ChartError
from .timeline import STATE_COLOURS, timeline_svg

__all__ = ["ChartError", "STATE_COLOURS", "impact_svg", "network_svg", "timeline_svg"]
