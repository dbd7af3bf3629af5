"""Exact and near-duplicate detection over a whole snapshot.

Exact duplicates: texts equal after :func:`normalise_text` (NFKC, case folded, whitespace runs
collapsed to one space, trimmed), found with Arrow's dictionary encoding (no hash collisions).
Near duplicates: MinHash signatures over character (or word) shingles of the normalised text
(``rensa``'s batch API), candidates from LSH banding, then confirmed by the estimated Jaccard
similarity. Clusters are closed transitively and keep the record with the smallest ``record_id``,
so that the result does not depend on the order in which an engine sees the records.
The steps are in :mod:`tamis.dedup._minhash`; the Spark engine schedules the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tamis.dedup._minhash import candidate_pairs, components, lsh_keys, signatures, similar
from tamis.errors import TamisError

REASON = "duplicate"


@dataclass(frozen=True)
class DedupConfig:
    """How duplicates are found (the policy's ``dedup`` block per purpose).

    ``shingle`` is the shingle length in ``shingle_unit`` (characters by default: member texts
    are short); ``num_perm`` must be divisible by ``bands``. ``seed`` fixes the MinHash
    permutations, so the result is the same on every run.
    """

    exact: bool = True
    near: bool = True
    threshold: float = 0.8
    shingle: int = 5
    num_perm: int = 128
    bands: int = 16
    shingle_unit: Literal["char", "word"] = "char"
    seed: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise TamisError(f"dedup: threshold {self.threshold} must be in (0, 1]")
        if self.shingle < 1:
            raise TamisError(f"dedup: shingle {self.shingle} must be at least 1")
        if self.num_perm < 1 or self.bands < 1 or self.num_perm % self.bands:
            raise TamisError(
                f"dedup: num_perm ({self.num_perm}) must be a positive multiple of bands "
                f"({self.bands})"
            )
        if self.shingle_unit not in ("char", "word"):
            raise TamisError(f"dedup: shingle_unit {self.shingle_unit!r}: use char or word")

    @classmethod
    def from_mapping(cls, options: dict[str, Any] | None) -> DedupConfig:
        """From the policy's ``dedup`` mapping; an unknown key lists the known ones."""
        options = dict(options or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise TamisError(
                f"dedup: unknown key(s) {', '.join(unknown)}; available: {', '.join(sorted(known))}"
            )
        return cls(**options)


@dataclass
class DuplicateResult:
    """Records to drop (reason ``duplicate``) and the figures for the manifest.

    ``drop`` holds the record ids of every copy but the representative (the smallest
    ``record_id``) of each cluster, in input order; ``representative`` is parallel to it.
    ``exact`` and ``near`` count dropped records by how they were found; ``clusters`` counts
    clusters of two or more records.
    """

    drop: pa.Array
    representative: pa.Array
    exact: int = 0
    near: int = 0
    clusters: int = 0
    records: int = 0
    config: DedupConfig = field(default_factory=DedupConfig)

    def counts(self) -> dict[str, int]:
        """The manifest's ``dedup`` figures."""
        return {
            "records": self.records,
            "dropped": len(self.drop),
            "exact": self.exact,
            "near": self.near,
            "clusters": self.clusters,
        }


def normalise_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """NFKC, case-folded (Unicode lower case plus ß -> ss), whitespace collapsed and trimmed."""
    out = pc.utf8_normalize(pc.fill_null(texts, ""), form="NFKC")
    out = pc.utf8_lower(out)
    out = pc.replace_substring(out, "ß", "ss")
    out = pc.replace_substring_regex(out, r"\s+", " ")
    return pc.utf8_trim_whitespace(out)


def shingles(text: str, size: int, unit: str = "char") -> list[str]:
    """The shingles of a normalised text in text order, repeats included (MinHash ignores
    order and multiplicity); the whole text when it is shorter than one shingle."""
    if unit == "word":
        words = text.split(" ")
        if len(words) <= size:
            return [text]
        return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
    if len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(len(text) - size + 1)]


def find_duplicates(batches: Iterable[pa.RecordBatch], config: DedupConfig) -> DuplicateResult:
    """Duplicate records of a snapshot, given its batches (``record_id``, ``text``).

    A cluster keeps the record with the smallest ``record_id`` (UTF-8 byte order; among equal
    ids, the earlier one): a choice made by content, so that every engine keeps the same record
    whatever order it sees them in. ``drop`` lists the other records in input order.

    Deterministic: the result depends only on the records (ids and texts) and ``config``.
    """
    tables = [pa.Table.from_batches([b]).select(["record_id", "text"]) for b in batches]
    table = (
        pa.concat_tables(tables).combine_chunks()
        if tables
        else pa.table({"record_id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
    )
    n = table.num_rows
    empty = pa.array([], pa.string())
    if not n:
        return DuplicateResult(drop=empty, representative=empty, config=config)
    ids = table.column("record_id").combine_chunks()
    norm = normalise_text(table.column("text"))
    if isinstance(norm, pa.ChunkedArray):
        norm = norm.combine_chunks()
    # by_rank[r] is the row whose id is the r-th smallest; rank is its inverse.
    by_rank = pc.sort_indices(ids).to_numpy().astype(np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[by_rank] = np.arange(n, dtype=np.int64)

    # Exact: every row points at the smallest-id row with the same normalised text.
    if config.exact:
        codes = pc.dictionary_encode(norm).indices.to_numpy().astype(np.int64)
        best = np.full(int(codes.max()) + 1, n, dtype=np.int64)
        np.minimum.at(best, codes, rank)
        rep_rank = best[codes]
    else:
        rep_rank = rank.copy()
    exact_dropped = rep_rank != rank

    # Near: among the exact representatives with a text, pairs sharing an LSH band and confirmed
    # by their estimated Jaccard similarity; components keep their smallest id.
    root_rank = rep_rank
    if config.near:
        rows = np.flatnonzero(~exact_dropped & (pc.utf8_length(norm).to_numpy() > 0))
        left, right = candidate_pairs(lsh_keys(norm.take(pa.array(rows)), config))
        # Signatures again, for the (few) candidates only: memory stays at the band keys.
        involved, pair_index = np.unique(np.concatenate([left, right]), return_inverse=True)
        sigs = signatures(norm.take(pa.array(rows[involved])), config)
        confirmed = similar(
            sigs[pair_index[: len(left)]], sigs[pair_index[len(left) :]], config.threshold
        )
        if confirmed.any():
            nodes, roots = components(
                pa.array(rank[rows[left[confirmed]]]), pa.array(rank[rows[right[confirmed]]])
            )
            near_root = np.arange(n, dtype=np.int64)
            near_root[nodes.to_numpy()] = roots.to_numpy()
            root_rank = near_root[rep_rank]

    dropped = np.flatnonzero(root_rank != rank)
    representative = by_rank[root_rank[dropped]]
    exact = int(np.count_nonzero(exact_dropped))
    return DuplicateResult(
        drop=ids.take(pa.array(dropped)),
        representative=ids.take(pa.array(representative)),
        exact=exact,
        near=len(dropped) - exact,
        clusters=len(np.unique(root_rank[dropped])),
        records=n,
        config=config,
    )
