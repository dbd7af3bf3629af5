"""Exact and near-duplicate detection over a whole snapshot.

Exact duplicates: texts equal after :func:`normalise_text` (NFKC, case folded, whitespace runs
collapsed to one space, trimmed), found with Arrow's dictionary encoding (no hash collisions).
Near duplicates: MinHash signatures over character (or word) shingles of the normalised text,
candidates from LSH banding (``rensa``), then confirmed by the estimated Jaccard similarity.
Clusters are closed transitively (union-find) and keep their first record in snapshot order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

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

    ``drop`` holds the record ids of every copy but the representative (the first in snapshot
    order) of each cluster; ``representative`` is parallel to it. ``exact`` and ``near`` count
    dropped records by how they were found; ``clusters`` counts clusters of two or more records.
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


class _UnionFind:
    """Union-find whose root is always the smallest index (the first in snapshot order)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(i, i) != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo


def _import_rensa() -> Any:
    try:
        import rensa
    except ImportError:  # pragma: no cover - depends on the environment
        raise TamisError(
            "near-duplicate detection needs rensa: pip install 'tamis[dedup]'"
        ) from None
    return rensa


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
    """Duplicate records of a snapshot, given its batches (``record_id``, ``text``) in order.

    Deterministic: the result depends only on the texts, their order and ``config``.
    """
    tables = [pa.Table.from_batches([b]).select(["record_id", "text"]) for b in batches]
    table = (
        pa.concat_tables(tables).combine_chunks()
        if tables
        else pa.table({"record_id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
    )
    n = table.num_rows
    ids = table.column("record_id")
    norm = normalise_text(table.column("text"))
    if isinstance(norm, pa.ChunkedArray):
        norm = norm.combine_chunks()

    uf = _UnionFind()
    exact_dropped: set[int] = set()
    if config.exact and n:
        codes = pc.dictionary_encode(norm).indices
        rows = pa.table({"code": codes, "row": pa.array(range(n), pa.int64())})
        first = rows.group_by("code", use_threads=False).aggregate([("row", "min")])
        first_of = pa.array(
            pc.take(
                first.column("row_min"),
                pc.index_in(codes, first.column("code")),
            )
        )
        dup_rows = pc.indices_nonzero(pc.not_equal(first_of, rows.column("row"))).to_pylist()
        first_list = first_of.to_pylist()
        for r in dup_rows:
            uf.union(first_list[r], r)
        exact_dropped = set(dup_rows)

    near_candidates: set[int] = set()
    if config.near and n:
        rensa = _import_rensa()
        lsh = rensa.RMinHashLSH(
            threshold=config.threshold, num_perm=config.num_perm, num_bands=config.bands
        )
        texts = norm.to_pylist()
        sigs: dict[int, Any] = {}
        for i, text in enumerate(texts):
            if i in exact_dropped or not text:
                continue
            mh = rensa.RMinHash(num_perm=config.num_perm, seed=config.seed)
            mh.update(shingles(text, config.shingle, config.shingle_unit))
            for j in sorted(lsh.query(mh)):
                if mh.jaccard(sigs[j]) >= config.threshold:
                    uf.union(j, i)
                    near_candidates.add(i)
            lsh.insert(i, mh)
            sigs[i] = mh

    drop_rows: list[int] = []
    reps: list[int] = []
    members: dict[int, int] = {}
    for i in sorted(set(uf.parent) | exact_dropped | near_candidates):
        root = uf.find(i)
        if root != i:
            drop_rows.append(i)
            reps.append(root)
            members[root] = members.get(root, 1) + 1
    exact = sum(1 for r in drop_rows if r in exact_dropped)
    take = pa.array(drop_rows, pa.int64())
    return DuplicateResult(
        drop=pc.take(ids, take).combine_chunks() if n else pa.array([], pa.string()),
        representative=(
            pc.take(ids, pa.array(reps, pa.int64())).combine_chunks()
            if n
            else pa.array([], pa.string())
        ),
        exact=exact,
        near=len(drop_rows) - exact,
        clusters=len(members),
        records=n,
        config=config,
    )
