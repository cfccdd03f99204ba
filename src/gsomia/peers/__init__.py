"""A node's partners and what it exchanges with them: the use cases between the node's services and the
exchange formats (:mod:`gsomia.exchange`, :mod:`gsomia.labels`).

- :mod:`.partners`: the partner registry (cards, where to pull from, the tokens partners present);
- :mod:`.outgoing`: the releases a partner may pull, as signed, sealed STIX 2.1 bundles over TAXII.
"""
