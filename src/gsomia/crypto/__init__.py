"""Node keys and sealing: AES-256-GCM bodies under per-item keys wrapped by the node key; Ed25519 signing.

Randomness and key files live here, never in the domain. ``NodeKeys`` implements
:class:`gsomia.services.ports.KeyRing`.
"""

from __future__ import annotations

from .errors import CryptoError, KeyFileError, SealError
from .keys import NodeKeys, create_keys, key_id_of, load_keys

__all__ = ["CryptoError", "KeyFileError", "NodeKeys", "SealError", "create_keys", "key_id_of", "load_keys"]
