"""The transparency log core: RFC 9162 Merkle tree, RFC 8785 records, signed tree heads, log audit.

Pure: standard library plus ``rfc8785``; no I/O, clock or randomness. Signing is injected.

- ``tree``: leaf/node hashing, root and proofs from a list of leaf hashes (the reference path)
- ``incremental``: ``MerkleTree``, which stores perfect-subtree hashes for O(log n) proofs
- ``verify``: RFC 9162 §2.1.3.2 / §2.1.4.2 proof verification
- ``canonical``: RFC 8785 canonical JSON
- ``head``: ``TreeHead``, its signed bytes, ``sign_head`` / ``verify_head``
- ``audit``: ``verify_log`` over a whole log
- ``errors``: the error tree
"""

from gsomia.ledger import frontier
from gsomia.ledger.audit import LogFault, verify_log
from gsomia.ledger.canonical import JsonValue, canonical
from gsomia.ledger.errors import (
    CanonicalError,
    HashFormatError,
    HeadFormatError,
    LedgerError,
    ProofRangeError,
)
from gsomia.ledger.head import (
    HEAD_TYPE,
    HEAD_VERSION,
    Signer,
    TreeHead,
    Verifier,
    head_signing_bytes,
    sign_head,
    verify_head,
)
from gsomia.ledger.incremental import MerkleTree, Node
from gsomia.ledger.tree import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_hashes,
    node_hash,
    root_from_leaf_hashes,
)
from gsomia.ledger.verify import verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HEAD_TYPE",
    "HEAD_VERSION",
    "CanonicalError",
    "HashFormatError",
    "HeadFormatError",
    "JsonValue",
    "LedgerError",
    "LogFault",
    "MerkleTree",
    "Node",
    "ProofRangeError",
    "Signer",
    "TreeHead",
    "Verifier",
    "canonical",
    "consistency_proof",
    "head_signing_bytes",
    "inclusion_proof",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "root_from_leaf_hashes",
    "sign_head",
    "verify_consistency",
    "verify_head",
    "verify_inclusion",
    "verify_log",
    "frontier",
]
