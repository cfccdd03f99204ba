"""Benchmarks and independent anchors for gsomia's decision engine (design.md §6).

``python -m benchmarks`` builds a seeded world (:mod:`benchmarks.world`), checks that gsomia agrees with
two independent encodings of design.md §3 (:mod:`benchmarks.cedar_engine`, :mod:`benchmarks.casbin_engine`)
and prints speed beside them, measured in the same run.
"""
