"""Who is acting: the user a write is done for, so that the log says who did it.

The web layer sets :data:`ACTOR` once it has checked the caller's role (each request runs in its own
context); a unit of work that writes anything while an actor is set also writes an ``attribution`` record
naming the actor and every record and release it wrote, in the same transaction, with its own leaf
(:class:`~gsomia.services.logstore.LoggedStore`). Command-line writes run as the node's operator and carry
no attribution record.
"""

from __future__ import annotations

from contextvars import ContextVar

ACTOR: ContextVar[str | None] = ContextVar("gsomia_actor", default=None)
