"""The one composition root: settings in, a node's services out.

``build(settings)`` opens the store the settings name, loads the node's keys and wires the use cases;
``compose`` does the wiring alone, for callers that bring their own store and keys (tests, tools).
``create_node`` makes a new node directory. Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from . import config
from .config import Settings
from .crypto import create_keys, load_keys
from .crypto.keys import KEY_DIR
from .exchange.stixcheck import ShapeMemo
from .peers.consents import ConsentExchange
from .peers.incidents import Incidents
from .peers.partners import Partners
from .peers.sync import Sync
from .services.consent import Consents
from .services.errors import NodeError
from .services.events import Events
from .services.items import Items
from .services.logcheck import Audit
from .services.logstore import LoggedStore
from .services.ports import KeyRing, Store
from .services.release import Releases
from .services.worldbook import ImportReport, Worldbook

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The shell's clock: services are handed it, they never read one themselves."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Services:
    """A node's use cases over its store and keys. Close it (or use ``with``) to release the store."""

    settings: Settings
    store: Store
    keys: KeyRing
    worldbook: Worldbook
    items: Items
    releases: Releases
    consents: Consents
    events: Events
    audit: Audit
    partners: Partners
    sync: Sync
    shapes: ShapeMemo  # judges bundles' STIX validity, remembering valid shapes in the node's directory

    def import_world(self, path: str | os.PathLike[str]) -> ImportReport:
        """Read the world file at ``path`` and add everything it holds (see ``Worldbook.import_spec``)."""
        from .scenario import read_spec

        spec, lines = read_spec(path)
        return self.worldbook.import_spec(spec, os.fspath(path), lines)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def compose(store: Store, keys: KeyRing, settings: Settings, clock: Clock = utc_now) -> Services:
    """Wire the use cases over ``store`` and ``keys``; every write keeps the transparency log's tree and
    signs a head in the same transaction (:class:`~gsomia.services.logstore.LoggedStore`)."""
    logged = LoggedStore(store, keys)
    worldbook = Worldbook(logged)
    party = settings.party if settings is not None else ""
    partners = Partners(logged, keys, party)
    consents = Consents(logged, worldbook)
    releases = Releases(logged, keys, worldbook, clock)
    shapes = shape_memo(keys, settings)
    return Services(
        settings=settings,
        store=logged,
        keys=keys,
        worldbook=worldbook,
        items=Items(logged, keys, worldbook),
        releases=releases,
        consents=consents,
        events=Events(logged, worldbook),
        audit=Audit(store, keys),  # the raw store: verify reads what is there, trusting none of it
        partners=partners,
        sync=Sync(
            logged,
            keys,
            worldbook,
            partners,
            party,
            ConsentExchange(logged, keys, worldbook, consents, party),
            releases.release,
            Incidents(logged, keys, worldbook, party),
            shapes,
        ),
        shapes=shapes,
    )


SHAPES_SECRET = b"gsomia/stix-shapes/v1"


def shape_memo(keys: KeyRing, settings: Settings | None) -> ShapeMemo:
    """The node's memo of bundle shapes' STIX validity: the valid ones remembered in its directory's
    shape file (see ``gsomia.store.shapefile``), tagged under a secret only its signing key can make
    (the SHA-256 of its Ed25519 signature, which is deterministic, of :data:`SHAPES_SECRET`)."""
    from .store.shapefile import shape_file_for

    if settings is None:
        return ShapeMemo()
    secret = hashlib.sha256(keys.sign(SHAPES_SECRET)).digest()
    return ShapeMemo(remembered=shape_file_for(settings.node_dir), secret=secret)


def build(settings: Settings, clock: Clock = utc_now) -> Services:
    """The node's services: its store opened (schema brought up to date), its keys loaded."""
    keys = load_keys(settings.node_dir)
    return compose(open_node_store(settings.database_url, create=False), keys, settings, clock)


def open_node_store(url: str, *, create: bool = True) -> Store:
    """The store at ``url``; a NodeError (bad input, exit 2) if it cannot be opened, or if it holds no
    node and ``create`` is false (only ``init`` creates a node's tables)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .store import open_store  # adapters load their drivers only when a node is opened

    try:
        return open_store(url, create=create)
    except NodeError:
        raise
    except (ValueError, OSError, SQLAlchemyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NodeError(f"cannot open the node's database {_redacted(url)}: {reason}") from None


def _redacted(url: str) -> str:
    """``url`` with any password hidden, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def create_node(node_dir: str | os.PathLike[str], *, party: str = "", database_url: str = "") -> Settings:
    """Make a new node at ``node_dir``: keys, database (schema created), then its settings file.

    Refuses a directory that already holds a node's settings, keys or default database.
    """
    values = {"node_dir": os.fspath(node_dir), "party": party}
    if database_url:
        values["database_url"] = database_url
    settings = Settings.resolve(config.checked(values, "the command line"))
    _refuse_existing(settings.node_dir)
    fresh = not settings.node_dir.exists()
    try:
        settings.node_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise NodeError(f"cannot make the node directory {settings.node_dir}: {reason}") from None
    try:
        open_node_store(settings.database_url).close()  # first: the step most likely to fail
        create_keys(settings.node_dir)
        config.write_file(settings.node_dir / config.SETTINGS_FILE, settings.file_values())
    except BaseException:
        _undo_init(settings.node_dir, fresh)
        raise
    return settings


def _undo_init(node_dir: Path, fresh: bool) -> None:
    """Remove what a failed ``init`` made, so that it can simply be run again."""
    if fresh:
        shutil.rmtree(node_dir, ignore_errors=True)
        return
    shutil.rmtree(node_dir / KEY_DIR, ignore_errors=True)
    for name in (config.SETTINGS_FILE, "node.db", "node.db-wal", "node.db-shm"):
        (node_dir / name).unlink(missing_ok=True)


def _refuse_existing(node_dir: Path) -> None:
    for name in (config.SETTINGS_FILE, KEY_DIR, "node.db"):
        if (node_dir / name).exists():
            raise NodeError(f"{node_dir} already holds a node ({name} exists); a node is never overwritten")
