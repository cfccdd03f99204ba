"""The bundle shapes a node found valid STIX 2.1, remembered across its processes: a file of tags.

``gsomia.exchange.stixcheck`` judges a bundle's STIX validity once per shape, in memory; a new process
(each ``gsomia sync``) would import the validator and judge again. :class:`ShapeFile` keeps the tags of
the shapes found valid in a file in the node's directory, one 64-digit hex tag a line, so that a later
process takes the verdict without the validator. A tag is an HMAC the memo makes with a secret of the
node's: the file holds nothing of a bundle, and a line written by anyone without the secret vouches for
nothing. It is a cache beside the node, not a record: deleting it costs only validations again.

Each tag is appended with one ``write`` to a file opened for appending (readable and writable by the
owner only), so lines of two processes never interleave; a line that is not a tag is ignored. At most
:data:`TAGS_KEPT` tags are kept: past them nothing more is written (a node sees a few shapes per item
class and label; a partner sending ever new shapes costs full validations, never an ever-growing file).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

FILE_NAME = "stix-shapes"
TAGS_KEPT = 4096
_TAG = re.compile(rb"[0-9a-f]{64}")


class ShapeFile:
    """The tags of valid shapes, in the file at ``path`` (made on the first tag)."""

    def __init__(self, path: Path, *, kept: int = TAGS_KEPT) -> None:
        self._path = path
        self._kept = kept
        self._lock = threading.Lock()
        self._tags: set[bytes] = set()
        self._read_to = 0  # bytes of the file read so far (it only grows)

    @property
    def path(self) -> Path:
        return self._path

    def holds(self, tag: bytes) -> bool:
        """Whether ``tag`` is in the file (read again from where it was last read, on a miss: another
        process may have added it). An unreadable file holds nothing."""
        with self._lock:
            if tag.hex().encode() in self._tags:
                return True
            self._read_more()
            return tag.hex().encode() in self._tags

    def add(self, tag: bytes) -> None:
        """Append ``tag`` unless it is there or :data:`TAGS_KEPT` tags are; a file that cannot be written
        is left as it is (the shape is judged again by the next process)."""
        line = tag.hex().encode()
        with self._lock:
            self._read_more()
            if line in self._tags or len(self._tags) >= self._kept:
                return
            try:
                handle = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(handle, line + b"\n")
                finally:
                    os.close(handle)
            except OSError:
                return
            self._tags.add(line)

    def _read_more(self) -> None:
        try:
            with open(self._path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size < self._read_to:
                    self._read_to = 0  # a new file in its place (the old one's tags stay good)
                handle.seek(self._read_to)
                more = handle.read()
        except OSError:
            return
        whole = more[: more.rfind(b"\n") + 1]  # a line still being written is read next time
        self._read_to += len(whole)
        self._tags.update(line for line in whole.split(b"\n") if _TAG.fullmatch(line))


def shape_file_for(node_dir: Path) -> ShapeFile:
    """The shape file of the node whose directory is ``node_dir``."""
    return ShapeFile(node_dir / FILE_NAME)
