"""Benchmarks and independent anchors for gsomia's decision engine (benchmarks/README.md).

``python -m benchmarks`` builds a seeded world (:mod:`benchmarks.world`), checks that gsomia agrees with
two independent encodings of the decision rules in docs/rules.md
(:mod:`benchmarks.cedar_engine`, :mod:`benchmarks.casbin_engine`)
and prints speed beside them, measured in the same run.
"""
