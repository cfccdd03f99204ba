"""The node's HTTP face: one FastAPI app (:func:`gsomia.web.app.create_app`) serving TAXII 2.1 to partner
nodes (:mod:`gsomia.web.taxii`), with JSON errors in each API's own shape (:mod:`gsomia.web.problems`)."""
