"""Lineage: what a snapshot commits to, and receipts that prove it to a member.

* :mod:`tamis.lineage.merkle`: the Merkle tree over the sorted member pseudonyms
  (``members_root`` in the manifest), inclusion and non-inclusion proofs;
* :mod:`tamis.lineage.signing`: the platform's Ed25519 signing key, signatures over canonical JSON;
* :mod:`tamis.lineage.receipts`: signed receipts, issued from a snapshot directory and verified
  offline (format and standalone recipe in ``docs/receipts.md``).
"""

from tamis.lineage.merkle import (
    EMPTY_ROOT,
    InclusionProof,
    LeafProof,
    MerkleTree,
    NonInclusionProof,
    merkle_root,
    root_from_path,
    verify_inclusion,
    verify_non_inclusion,
)
from tamis.lineage.receipts import (
    RECEIPT_FORMAT,
    ReceiptIssuer,
    SnapshotMembers,
    dump_receipt,
    issue_receipt,
    issue_receipts,
    parse_receipt,
    verify_receipt,
)
from tamis.lineage.signing import (
    SigningKey,
    canonical_json,
    load_public_key,
    load_signing_key,
    public_key_id,
    verify_json,
)

__all__ = [
    "EMPTY_ROOT",
    "RECEIPT_FORMAT",
    "InclusionProof",
    "LeafProof",
    "MerkleTree",
    "NonInclusionProof",
    "ReceiptIssuer",
    "SigningKey",
    "SnapshotMembers",
    "canonical_json",
    "dump_receipt",
    "issue_receipt",
    "issue_receipts",
    "load_public_key",
    "load_signing_key",
    "merkle_root",
    "parse_receipt",
    "public_key_id",
    "root_from_path",
    "verify_inclusion",
    "verify_json",
    "verify_non_inclusion",
    "verify_receipt",
]
