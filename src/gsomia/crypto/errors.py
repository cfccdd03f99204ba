"""The errors the node's key ring raises.

::

    GsomiaError                  (gsomia.domain.errors)
     └── CryptoError             a key or a sealed body could not be used
          ├── KeyFileError       the node's key files are missing, unreadable, malformed or already there
          └── SealError          a sealed body does not open: wrong key, wrong associated data, or tampered

Opening never returns bytes that were not sealed under this key with this associated data: AES-GCM
authenticates the ciphertext and AES-GCM-SIV the wrapped key (AES-KW for bodies sealed earlier), and
either failing is one ``SealError``.
"""

from __future__ import annotations

from gsomia.domain.errors import GsomiaError


class CryptoError(GsomiaError):
    """Base of the key ring's errors."""


class KeyFileError(CryptoError):
    """A node key file is missing, unreadable or malformed, or would be overwritten."""


class SealError(CryptoError):
    """A sealed body failed to open: it was tampered with, or opened with the wrong key or associated data."""
