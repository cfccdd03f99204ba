"""Use cases over the ports: release, consent, lifecycle events, the node's world."""
