"""Lineage: what a snapshot commits to, and receipts that prove it to a member.

* :mod:`tamis.lineage.merkle`: the Merkle tree over the sorted member pseudonyms
  (``members_root`` in the manifest), inclusion and non-inclusion proofs;
* :mod:`tamis.lineage.signing`: the platform's Ed25519 signing key, signatures over canonical JSON;
* :mod:`tamis.lineage.receipts`: signed receipts, issued from a snapshot directory and verified
  offline (format and standalone recipe in ``docs/receipts.md``).

The names below are imported from their modules on first use: a build that only needs the
Merkle root does not load the signing and receipt code (and ``cryptography``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamis._lazy import lazy_exports

if TYPE_CHECKING:
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

_HOMES = {
    "EMPTY_ROOT": "merkle",
    "InclusionProof": "merkle",
    "LeafProof": "merkle",
    "MerkleTree": "merkle",
    "NonInclusionProof": "merkle",
    "merkle_root": "merkle",
    "root_from_path": "merkle",
    "verify_inclusion": "merkle",
    "verify_non_inclusion": "merkle",
    "RECEIPT_FORMAT": "receipts",
    "ReceiptIssuer": "receipts",
    "SnapshotMembers": "receipts",
    "dump_receipt": "receipts",
    "issue_receipt": "receipts",
    "issue_receipts": "receipts",
    "parse_receipt": "receipts",
    "verify_receipt": "receipts",
    "SigningKey": "signing",
    "canonical_json": "signing",
    "load_public_key": "signing",
    "load_signing_key": "signing",
    "public_key_id": "signing",
    "verify_json": "signing",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, _HOMES)
