"""Whole-log questions of :mod:`gsomia.store.scan` asked of a SQLite database in a child process.

Why processes: SQLite as Debian and most distributions build it (3.40 here) uses the system
allocator with memory statistics on, so every allocation of every connection in one process takes one
global mutex. Two questions asked in threads of the process that is reading and hashing the leaves slowed
each other and it; each in a process of its own, they do not.

How the snapshot stays one: the parent holds the database's write lock (see
``gsomia.store.unit._sqlite_write_lock``) while each child opens the database read-only, begins a
transaction and makes its first read (:data:`gsomia.store.scan.SNAPSHOT_MARK`), which fixes its WAL
snapshot, and sends that mark back. Only when every child has reported (or :data:`START_WAIT_S` has
passed) does the parent let the lock go, and it takes a child's answers only if its mark equals its own
units'. A child then answers the questions it is sent, all in that one transaction, until its pipe closes.

How a child is started: a fresh interpreter (``sys.executable -c``, the parent's environment) that puts
the parent's ``sys.path`` in place of its own, so it runs the parent's copy of gsomia, and calls the
function named by :data:`ENTRY` with the database's path and its end of a socket pair, handed over by
file descriptor. Not ``multiprocessing``: ``fork`` would copy ``gsomia serve``'s other threads' locks
held, and ``spawn`` imports the parent's ``__main__`` script again in every child, running whatever it
does at top level (a release, say) once more if it lacks an ``if __name__ == "__main__"`` guard; gsomia
is a library, and a script calling ``verify`` owes it no such guard. A child that dies closes its end of
the pair: the parent reads end-of-file at once. Any failure (the child cannot start, reports another
snapshot, dies, times out or raises) gives :data:`FAILED`, never an answer: the caller then asks the
question itself. The children are ended (their pipes closed, waited for, killed if they linger) by
:func:`close_all`.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing, suppress
from multiprocessing.connection import Connection, Pipe, wait
from pathlib import Path
from typing import Any

from . import scan

# From how many leaves the questions go to child processes. Two children cost ~0.15 s of CPU to start (an
# interpreter and this module, ~0.07 s each), mostly while the parent hashes; at a million leaves they
# saved ~0.45 s of wall time over threads. Below about half that, threads are as fast or faster.
APART_FROM_LEAVES = 500_000
# How long the parent waits, holding the write lock, for a child to start and report its snapshot: a
# fresh interpreter starts in a tenth of a second or so; writers wait that long (their busy timeout is 30 s),
# and every verify would, where ``sys.executable`` cannot start a child at all (an embedded interpreter).
START_WAIT_S = 3.0
# How long one question may take in a child before it counts as failed (a million leaves: ~2 s).
ANSWER_WAIT_S = 3600.0
# How long close_all waits for a child to end once its pipe is closed, before it kills it.
END_WAIT_S = 2.0
# What a child runs, "module:function", imported by name in the child; called as (path, connection).
# A test names a child that goes wrong here (tests/contract/test_verify_processes_children.py).
ENTRY = "gsomia.store.scanproc:serve"
# The child's whole program: argv is [entry, path, fd, *the parent's sys.path]. The parent's path goes in
# before gsomia is imported, so the child imports the parent's gsomia, not one its own start-up finds.
_BOOTSTRAP = (
    "import sys\n"
    "sys.path[:] = sys.argv[4:]\n"
    "from gsomia.store.scanproc import _child\n"
    "_child(*sys.argv[1:4])\n"
)
# The questions a child answers: (fetch, sqlite, *args) -> answer, as in gsomia.store.scan.
_QUESTIONS: dict[str, Callable[..., object]] = {
    "records_match_leaves": scan.records_match_leaves,
    "tree_levels": scan.tree_levels,
}


class _Failed:
    """What :meth:`ChildScan.ask` gives when the child gave no answer it may be taken at."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED = _Failed()


class ChildScan:
    """One child process on a SQLite database, started at once. :meth:`settle` takes the mark of the
    snapshot it fixed (while the parent holds the write lock); :meth:`ask` has it answer a question on
    that snapshot, if the mark was the one expected; :func:`close_all` ends it. Never raises: a child that
    could not even be started gives FAILED like any other."""

    def __init__(self, path: str) -> None:
        self._agreed = False
        self._settled = threading.Event()
        self._busy = threading.Lock()  # one question at a time on the pipe
        self._process: subprocess.Popen[bytes] | None = None
        self._conn, theirs = Pipe()  # a socket pair; theirs goes to the child by its file descriptor
        try:
            self._process = _start(str(Path(path).resolve()), theirs.fileno())
        except Exception:  # no process to be had (no executable, too many processes): FAILED
            self._process = None
        finally:
            theirs.close()  # the child's copy is now its only one: when it ends, ours reads end-of-file

    def settle(self, deadline: float, expected: object) -> None:
        """Read the mark of the child's snapshot (by ``deadline``, a ``time.monotonic()``): its answers
        are taken only if it is ``expected``."""
        try:
            self._agreed = _said(self._receive(deadline), "mark") == expected
        finally:
            self._settled.set()

    def ask(self, question: str, *args: object) -> object:
        """The child's answer to ``question`` (a name in :data:`_QUESTIONS`), or FAILED."""
        if not self._settled.wait(START_WAIT_S + 1.0) or not self._agreed:
            return FAILED
        with self._busy:
            try:
                self._conn.send((question, args))
            except (OSError, ValueError):
                return self._failed()
            reply = self._receive(time.monotonic() + ANSWER_WAIT_S)
            answer, chunks = _said(reply, "answer"), _said(reply, "chunks")
            if answer is FAILED and type(chunks) is int:
                answer = self._chunks(chunks)
            return self._failed() if answer is FAILED else answer

    def _failed(self) -> _Failed:
        self._agreed = False  # nothing more is asked of it
        return FAILED

    def _chunks(self, count: int) -> object:
        """A list of byte strings sent one message each (the tree's levels: tens of MB at a million
        leaves, never pickled whole, so never held twice here)."""
        out: list[bytes] = []
        for _ in range(count):
            if not self._ready(time.monotonic() + ANSWER_WAIT_S):
                return FAILED
            try:
                out.append(self._conn.recv_bytes())
            except (EOFError, OSError):
                return FAILED
        return out

    def _ready(self, deadline: float) -> bool:
        """Whether the pipe can be read (a message, or end-of-file: the child ended) before ``deadline``."""
        if self._process is None:
            return False
        try:
            return bool(wait([self._conn], timeout=max(0.0, deadline - time.monotonic())))
        except (OSError, ValueError):  # the pipe was closed meanwhile (close_all)
            return False

    def _receive(self, deadline: float) -> object:
        if not self._ready(deadline):
            return FAILED
        try:
            return self._conn.recv()
        except Exception:  # end-of-file (the child died), a pipe cut, a message that does not unpickle
            return FAILED


def close_all(children: Sequence[ChildScan]) -> None:
    """End the children: every pipe closed first (each child then lets its snapshot go and exits, all at
    once), then each waited for; one that has not ended within :data:`END_WAIT_S` is killed."""
    for child in children:
        child._settled.set()
        child._agreed = False
        child._conn.close()
    for child in children:
        process = child._process
        if process is not None:
            try:
                process.wait(timeout=END_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(path: str, fd: int) -> subprocess.Popen[bytes] | None:
    """A child on ``path`` given the socket ``fd`` (see the module's docstring); None where file
    descriptors cannot be handed to a child (not POSIX) or there is no interpreter to run."""
    if os.name != "posix" or not sys.executable:
        return None
    where = [entry for entry in sys.path if isinstance(entry, str)]
    return subprocess.Popen(
        [sys.executable, "-c", _BOOTSTRAP, ENTRY, path, str(fd), *where],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(fd,),  # and no other: close_fds keeps every other child's pipe out of this one
    )


def _child(entry: str, path: str, fd: str) -> None:
    """The child's start (see :data:`_BOOTSTRAP`): run ``entry``, "module:function", on ``path`` and the
    connection on file descriptor ``fd``."""
    conn = Connection(int(fd))
    module, _, name = entry.partition(":")
    serve_on: Callable[[str, Connection], None] = getattr(importlib.import_module(module), name)
    serve_on(path, conn)


def _said(reply: object, kind: str) -> object:
    """What a reply ``(kind, what)`` carries; FAILED if it is not one of that kind (an error, say)."""
    if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == kind:
        return reply[1]
    return FAILED


def serve(path: str, conn: Connection) -> None:
    """The child: open ``path`` read-only, fix a snapshot, report its mark, answer questions on it."""
    try:
        with closing(_open(path)) as db:
            db.execute("BEGIN")
            conn.send(("mark", tuple(db.execute(scan.SNAPSHOT_MARK).fetchone())))

            def fetch(sql: str, params: Sequence[object]) -> list[Any]:
                return db.execute(sql.format(*["?"] * len(params)), tuple(params)).fetchall()

            while True:
                try:
                    question, args = conn.recv()
                except EOFError:  # the parent is done: the snapshot is let go with the connection
                    return
                answer = _QUESTIONS[question](fetch, True, *args)
                if isinstance(answer, list) and all(type(part) is bytes for part in answer):
                    conn.send(("chunks", len(answer)))
                    for part in answer:
                        conn.send_bytes(part)
                else:
                    conn.send(("answer", answer))
    except Exception as exc:  # reported; the parent takes it as no answer and asks the question itself
        with suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _open(path: str) -> sqlite3.Connection:
    """A read-only connection with the store's read settings (see gsomia.store.sqlite.PRAGMAS)."""
    db = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=30.0)
    try:
        db.text_factory = _lenient_text  # as the store reads text, so the marks compare equal
        for pragma in ("PRAGMA cache_size=-65536", f"PRAGMA mmap_size={1 << 30}", "PRAGMA query_only=1"):
            db.execute(pragma)
    except BaseException:
        db.close()
        raise
    return db


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
