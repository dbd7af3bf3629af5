"""Deduplication of training snapshots: exact and near-duplicate records, and PII repetition.

A whole-snapshot operation (not a per-batch stage), called by the builder after the data files are
written::

    from tamis.dedup import DedupConfig, find_duplicates, pii_copies
    result = find_duplicates(batches, DedupConfig.from_mapping(policy_dedup_block))
    result.drop            # record ids to exclude with reason ``duplicate``
    result.counts()        # {"records", "dropped", "exact", "near", "clusters"} for the manifest
    report = pii_copies(batches, PiiEngine.for_mode("fast", directory=directory))
"""

from __future__ import annotations

from tamis.dedup._core import (
    REASON,
    DedupConfig,
    DuplicateResult,
    find_duplicates,
    normalise_text,
    shingles,
)
from tamis.dedup._pii import pii_copies

__all__ = [
    "REASON",
    "DedupConfig",
    "DuplicateResult",
    "find_duplicates",
    "normalise_text",
    "pii_copies",
    "shingles",
]
