"""Merkle trees over sorted sets of strings, with inclusion and non-inclusion proofs.

The tree is the one of RFC 6962 / RFC 9162 (Certificate Transparency), over the UTF-8 bytes of
each string, in ascending order (Python ``str`` order, which is the byte order of UTF-8):

* ``leaf(x)    = SHA-256(0x00 || utf8(x))``
* ``node(l, r) = SHA-256(0x01 || l || r)``
* the root of ``n > 1`` leaves splits them at ``k``, the largest power of two below ``n``:
  ``root(D[0:n]) = node(root(D[0:k]), root(D[k:n]))``; the root of one leaf is its leaf hash;
* the root of the empty set is ``SHA-256("")`` (``e3b0c442...b855``), :data:`EMPTY_ROOT`.

The 0x00/0x01 prefixes keep leaves and inner nodes apart, so a node can never pass for a leaf.
Built level by level, the same tree is: hash neighbours in pairs, and carry a level's last node
up unchanged when the level has an odd number of nodes (it is never duplicated).

An inclusion proof for the leaf at ``index`` in a tree of ``tree_size`` leaves is the RFC 9162
audit path: the sibling hashes from the leaf up to the root, bottom first. The verifier derives
left/right from ``index`` and ``tree_size`` (:func:`root_from_path`), so a proof also proves the
leaf's position.

A non-inclusion proof for ``x`` in a sorted set is the pair of adjacent leaves around it: the
predecessor (the largest member below ``x``) and the successor (the smallest member above), each
with its index and audit path, and ``index(successor) == index(predecessor) + 1``. Before the first
member the predecessor is absent and the successor has index 0; after the last member the
successor is absent and the predecessor has index ``tree_size - 1``; for the empty set both are
absent and the root is :data:`EMPTY_ROOT`.

:class:`MerkleTree` is built once (about two hash calls per member) and keeps every level as one
contiguous ``bytes`` (32 bytes a node), so that proofs for many members reuse it, in
O(log n) each.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from tamis.errors import VerificationError

HASH_BYTES = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
MAX_PATH = 64  # a path longer than this would need a tree of more than 2**64 leaves

_sha256 = hashlib.sha256


def leaf_hash(ref: str) -> bytes:
    """The hash of one leaf: ``SHA-256(0x00 || utf8(ref))``."""
    return _sha256(LEAF_PREFIX + ref.encode("utf-8")).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: ``SHA-256(0x01 || left || right)``."""
    return _sha256(NODE_PREFIX + left + right).digest()


@dataclass(frozen=True)
class LeafProof:
    """A leaf of the tree, its position and its audit path (sibling hashes, bottom first)."""

    ref: str
    index: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class InclusionProof:
    """``ref`` is the leaf at ``leaf.index`` of a tree of ``tree_size`` leaves."""

    tree_size: int
    leaf: LeafProof


@dataclass(frozen=True)
class NonInclusionProof:
    """The two adjacent leaves around an absent value (either may be absent at the edges)."""

    tree_size: int
    predecessor: LeafProof | None
    successor: LeafProof | None


class MerkleTree:
    """A Merkle tree over a strictly ascending sequence of strings, built once, proved many times.

    >>> tree = MerkleTree(["a", "c"])
    >>> tree.prove("a").leaf.index, tree.prove("b").successor.ref
    (0, 'c')
    """

    __slots__ = ("_buckets", "_levels", "_prefix", "_refs", "_top_paths", "_widths")

    def __init__(self, sorted_refs: Sequence[str]) -> None:
        # a tuple of str is untracked by the garbage collector, which then never walks its
        # million items (a list of them made every collection cost milliseconds)
        refs = tuple(sorted_refs)
        for i in range(1, len(refs)):
            if not refs[i - 1] < refs[i]:
                relation = "repeats" if refs[i - 1] == refs[i] else "sorts before"
                raise ValueError(
                    f"Merkle leaves must be strictly ascending: item {i} ({refs[i]!r}) "
                    f"{relation} item {i - 1} ({refs[i - 1]!r})"
                )
        self._refs = refs
        self._levels = _build_levels(refs)
        # nodes per level, root level left out: where a path step finds its sibling
        self._widths = [len(level) // HASH_BYTES for level in self._levels[:-1]]
        # locate()'s prefix index, made on first use (a tree built for its root needs none)
        self._prefix = -1
        self._buckets: dict[str, tuple[int, int]] = {}
        # hex paths from level _TOP_LEVEL up, by node: shared by the 2**_TOP_LEVEL leaves below
        self._top_paths: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, str) and self.locate(ref)[1]

    @property
    def root(self) -> bytes:
        """The root hash (32 bytes); ``SHA-256("")`` for the empty tree."""
        if not self._refs:
            return bytes.fromhex(EMPTY_ROOT)
        return self._levels[-1]

    @property
    def root_hex(self) -> str:
        """The root hash in lowercase hex."""
        return self.root.hex()

    def index(self, ref: str) -> int | None:
        """The leaf index of ``ref``, or ``None`` when it is not in the set."""
        i, found = self.locate(ref)
        return i if found else None

    def locate(self, ref: str) -> tuple[int, bool]:
        """Where ``ref`` is, or would be inserted: ``(index, found)``.

        When ``ref`` is absent, ``index`` is that of its successor (``len(tree)`` past the end).
        """
        if self._prefix < 0:
            self._prefix, self._buckets = _prefix_buckets(self._refs)
        span = self._buckets.get(ref[: self._prefix]) if self._prefix else None
        if span is None:
            i = bisect_left(self._refs, ref)
        else:  # every leaf before the bucket sorts before ref, every leaf after it sorts after
            i = bisect_left(self._refs, ref, span[0], span[1])
        return i, i < len(self._refs) and self._refs[i] == ref

    def ref(self, index: int) -> str:
        """The leaf value at ``index``."""
        return self._refs[index]

    def path(self, index: int) -> list[bytes]:
        """The audit path of the leaf at ``index``: sibling hashes, bottom first."""
        if not 0 <= index < len(self._refs):
            raise IndexError(f"leaf index {index} is outside a tree of {len(self._refs)} leaves")
        return self._path(index, 0, len(self._widths))

    def _path(self, node: int, first: int, stop: int) -> list[bytes]:
        """Sibling hashes of ``node`` (on level ``first``) and its ancestors below ``stop``."""
        path: list[bytes] = []
        levels, widths = self._levels, self._widths
        for level in range(first, min(stop, len(widths))):
            sibling = node ^ 1
            if sibling < widths[level]:  # the last node of an odd level has no sibling: carried up
                start = sibling * HASH_BYTES
                path.append(levels[level][start : start + HASH_BYTES])
            node >>= 1
        return path

    def path_hex(self, index: int) -> list[str]:
        """:meth:`path` in hex, faster for many leaves: the upper part of paths is cached."""
        if not 0 <= index < len(self._refs):
            raise IndexError(f"leaf index {index} is outside a tree of {len(self._refs)} leaves")
        bottom: list[str] = []
        levels, widths = self._levels, self._widths
        node = index
        for level in range(min(_TOP_LEVEL, len(widths))):
            sibling = node ^ 1
            if sibling < widths[level]:
                start = sibling * HASH_BYTES
                bottom.append(levels[level][start : start + HASH_BYTES].hex())
            node >>= 1
        return bottom + self._top_hex(index >> _TOP_LEVEL)

    def _top_hex(self, node: int) -> list[str]:
        """The hex path of ``node`` of level ``_TOP_LEVEL`` up to the root (cached)."""
        top = self._top_paths.get(node)
        if top is None:
            top = [p.hex() for p in self._path(node, _TOP_LEVEL, len(self._widths))]
            self._top_paths[node] = top
        return top

    def leaf_proof(self, index: int) -> LeafProof:
        """The leaf at ``index`` with its audit path."""
        return LeafProof(self._refs[index], index, tuple(self.path(index)))

    def prove(self, ref: str) -> InclusionProof | NonInclusionProof:
        """An inclusion proof if ``ref`` is in the set, otherwise a non-inclusion proof."""
        n = len(self._refs)
        i, found = self.locate(ref)
        if found:
            return InclusionProof(n, self.leaf_proof(i))
        return NonInclusionProof(
            n,
            self.leaf_proof(i - 1) if i > 0 else None,
            self.leaf_proof(i) if i < n else None,
        )


_TOP_LEVEL = 8  # path_hex caches paths above this level (one per 256 leaves)
_BUCKET_LEAVES = 4  # locate() looks up a prefix bucket of about this many leaves


def _prefix_buckets(refs: Sequence[str]) -> tuple[int, dict[str, tuple[int, int]]]:
    """Index a sorted list by prefix: ``(length, {prefix: (start, stop)})``, so that a lookup
    bisects a few leaves instead of all of them. Leaves that share a prefix are contiguous in
    sorted order. The length assumes hex-like refs (16 symbols); any other text stays correct,
    only with uneven buckets. No index (length 0) for small trees."""
    length = 0
    while 16 ** (length + 1) * _BUCKET_LEAVES <= len(refs):
        length += 1
    buckets: dict[str, tuple[int, int]] = {}
    if length:
        start = 0
        for prefix, group in groupby(refs, key=lambda ref: ref[:length]):
            stop = start + sum(1 for _ in group)
            buckets[prefix] = (start, stop)
            start = stop
    return length, buckets


def _build_levels(refs: Sequence[str]) -> list[bytes]:
    """Every level of the tree, leaves first, root last, each as concatenated 32-byte hashes."""
    if not refs:
        return [b""]
    sha, leaf_prefix, node_prefix = _sha256, LEAF_PREFIX, NODE_PREFIX
    level = b"".join([sha(leaf_prefix + ref.encode("utf-8")).digest() for ref in refs])
    levels = [level]
    while len(level) > HASH_BYTES:
        width = len(level)
        odd = (width // HASH_BYTES) % 2
        paired = width - HASH_BYTES if odd else width
        # left || right of a pair is one contiguous 64-byte slice of the level
        parents = [
            sha(node_prefix + level[k : k + 2 * HASH_BYTES]).digest()
            for k in range(0, paired, 2 * HASH_BYTES)
        ]
        if odd:
            parents.append(level[paired:])  # carried up unchanged
        level = b"".join(parents)
        levels.append(level)
    return levels


def merkle_root(sorted_refs: Sequence[str]) -> str:
    """The hex root over a strictly ascending sequence of strings (:data:`EMPTY_ROOT` if empty).

    >>> merkle_root([]) == EMPTY_ROOT
    True
    """
    return MerkleTree(sorted_refs).root_hex


def root_from_path(ref: str, index: int, tree_size: int, path: Sequence[bytes]) -> bytes:
    """Recompute the root from a leaf, its index, the tree size and its path (RFC 9162, 2.1.3.2).

    Raises :class:`VerificationError` when the index is outside the tree or the path does not
    have the length that the index and tree size call for.
    """
    if not 0 <= index < tree_size:
        raise VerificationError(f"leaf index {index} is outside a tree of {tree_size} leaves")
    fn, sn = index, tree_size - 1
    r = leaf_hash(ref)
    for p in path:
        if sn == 0:
            raise VerificationError(f"the path of leaf {index} is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"the path of leaf {index} is shorter than the tree is deep")
    return r


def _check_leaf(leaf: LeafProof, tree_size: int, root: bytes, role: str) -> None:
    if len(leaf.path) > MAX_PATH or any(len(p) != HASH_BYTES for p in leaf.path):
        raise VerificationError(f"the {role}'s path is malformed")
    if root_from_path(leaf.ref, leaf.index, tree_size, leaf.path) != root:
        raise VerificationError(f"the {role}'s path does not lead to the root")


def verify_inclusion(proof: InclusionProof, ref: str, root: bytes) -> None:
    """Check that ``proof`` shows ``ref`` in the set whose root is ``root``; raise if not."""
    if proof.leaf.ref != ref:
        raise VerificationError(f"the proof is for leaf {proof.leaf.ref!r}, not {ref!r}")
    _check_leaf(proof.leaf, proof.tree_size, root, "leaf")


def verify_non_inclusion(proof: NonInclusionProof, ref: str, root: bytes) -> None:
    """Check that ``proof`` shows ``ref`` absent from the set with root ``root``; raise if not."""
    pred, succ, size = proof.predecessor, proof.successor, proof.tree_size
    if pred is None and succ is None:
        if size != 0 or root.hex() != EMPTY_ROOT:
            raise VerificationError("a proof with no neighbours holds only for the empty set")
        return
    if pred is not None:
        if not pred.ref < ref:
            raise VerificationError(f"the predecessor {pred.ref!r} does not sort before {ref!r}")
        if succ is None and pred.index != size - 1:
            raise VerificationError("with no successor, the predecessor must be the last leaf")
        _check_leaf(pred, size, root, "predecessor")
    if succ is not None:
        if not ref < succ.ref:
            raise VerificationError(f"the successor {succ.ref!r} does not sort after {ref!r}")
        if pred is None and succ.index != 0:
            raise VerificationError("with no predecessor, the successor must be the first leaf")
        _check_leaf(succ, size, root, "successor")
    if pred is not None and succ is not None and succ.index != pred.index + 1:
        raise VerificationError("the predecessor and the successor are not adjacent leaves")
