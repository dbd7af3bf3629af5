"""The Merkle tree over sorted member pseudonyms: roots, inclusion and non-inclusion proofs."""

from __future__ import annotations

import hashlib
from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamis.errors import VerificationError
from tamis.lineage.merkle import (
    EMPTY_ROOT,
    InclusionProof,
    LeafProof,
    MerkleTree,
    NonInclusionProof,
    leaf_hash,
    merkle_root,
    node_hash,
    root_from_path,
    verify_inclusion,
    verify_non_inclusion,
)


def rfc6962_root(values: list[str]) -> bytes:
    """The textbook recursive definition (RFC 6962, section 2.1), to check the level-wise build."""
    if not values:
        return hashlib.sha256(b"").digest()
    if len(values) == 1:
        return hashlib.sha256(b"\x00" + values[0].encode()).digest()
    k = 1
    while k * 2 < len(values):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962_root(values[:k]) + rfc6962_root(values[k:])).digest()


# short strings over a small alphabet: many neighbours, shared prefixes, before/after edges
short_text = st.text(alphabet="0123abcé", max_size=4)
sorted_sets = st.lists(short_text, unique=True, max_size=70).map(sorted)


def test_empty_root_is_sha256_of_nothing() -> None:
    assert hashlib.sha256(b"").hexdigest() == EMPTY_ROOT
    assert merkle_root([]) == EMPTY_ROOT
    assert MerkleTree([]).root.hex() == EMPTY_ROOT


def test_one_leaf_root_is_its_leaf_hash() -> None:
    assert merkle_root(["a"]) == hashlib.sha256(b"\x00a").hexdigest()


def test_three_leaves_split_at_largest_power_of_two() -> None:
    a, b, c = (leaf_hash(x) for x in "abc")
    assert merkle_root(["a", "b", "c"]) == node_hash(node_hash(a, b), c).hex()


@pytest.mark.parametrize("n", [*range(0, 18), 31, 32, 33, 63, 64, 65, 100])
def test_root_matches_rfc6962_for_every_small_size(n: int) -> None:
    values = [f"{i:05d}" for i in range(n)]
    assert MerkleTree(values).root == rfc6962_root(values)


@settings(max_examples=200)
@given(sorted_sets)
def test_root_matches_rfc6962(values: list[str]) -> None:
    assert MerkleTree(values).root == rfc6962_root(values)


@pytest.mark.parametrize(
    ("values", "message"),
    [(["b", "a"], "sorts before"), (["a", "a"], "repeats"), (["a", "c", "b"], "item 2")],
)
def test_leaves_must_be_strictly_ascending(values: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MerkleTree(values)


@settings(max_examples=200)
@given(sorted_sets, st.lists(short_text, max_size=10))
def test_members_prove_inclusion_and_others_non_inclusion(
    values: list[str], probes: list[str]
) -> None:
    tree = MerkleTree(values)
    for i, value in enumerate(values):
        proof = tree.prove(value)
        assert isinstance(proof, InclusionProof)
        assert proof.leaf.index == i and proof.tree_size == len(values)
        verify_inclusion(proof, value, tree.root)
        assert value in tree
    for probe in probes:
        proof = tree.prove(probe)
        if probe in values:
            assert isinstance(proof, InclusionProof)
            continue
        assert isinstance(proof, NonInclusionProof)
        verify_non_inclusion(proof, probe, tree.root)
        assert probe not in tree


def test_non_inclusion_edges() -> None:
    tree = MerkleTree(["b", "d", "f"])
    before, between, after = tree.prove("a"), tree.prove("c"), tree.prove("g")
    assert isinstance(before, NonInclusionProof) and before.predecessor is None
    assert before.successor is not None and before.successor.index == 0
    assert isinstance(after, NonInclusionProof) and after.successor is None
    assert after.predecessor is not None and after.predecessor.index == 2
    assert isinstance(between, NonInclusionProof)
    assert between.predecessor is not None and between.predecessor.ref == "b"
    assert between.successor is not None and between.successor.ref == "d"
    for ref, proof in (("a", before), ("c", between), ("g", after)):
        verify_non_inclusion(proof, ref, tree.root)

    empty = MerkleTree([])
    proof = empty.prove("x")
    assert proof == NonInclusionProof(0, None, None)
    verify_non_inclusion(proof, "x", empty.root)


def test_inclusion_proof_does_not_hold_for_another_ref_or_root() -> None:
    tree = MerkleTree(["a", "b", "c"])
    proof = tree.prove("b")
    assert isinstance(proof, InclusionProof)
    with pytest.raises(VerificationError, match="not 'c'"):
        verify_inclusion(proof, "c", tree.root)
    with pytest.raises(VerificationError, match="does not lead to the root"):
        verify_inclusion(proof, "b", MerkleTree(["a", "b"]).root)
    forged = InclusionProof(3, LeafProof("bb", 1, proof.leaf.path))
    with pytest.raises(VerificationError, match="does not lead to the root"):
        verify_inclusion(forged, "bb", tree.root)


def test_non_inclusion_proofs_that_lie() -> None:
    values = ["a", "c", "e", "g", "i"]
    tree = MerkleTree(values)
    root = tree.root
    leaf = tree.leaf_proof
    cases = {
        # "e" is in: skipping over it with two real but non-adjacent leaves
        "not adjacent": (NonInclusionProof(5, leaf(1), leaf(3)), "e"),
        # claiming the first leaf is the last one
        "must be the last leaf": (NonInclusionProof(5, leaf(0), None), "b"),
        "must be the first leaf": (NonInclusionProof(5, None, leaf(4)), "h"),
        "does not sort before": (NonInclusionProof(5, leaf(2), leaf(3)), "d"),
        "does not sort after": (NonInclusionProof(5, leaf(0), leaf(1)), "d"),
        "only for the empty set": (NonInclusionProof(0, None, None), "b"),
    }
    for reason, (proof, ref) in cases.items():
        with pytest.raises(VerificationError, match=reason):
            verify_non_inclusion(proof, ref, root)


def test_path_length_and_index_are_checked() -> None:
    tree = MerkleTree(["a", "b", "c", "d", "e"])
    good = tree.leaf_proof(4)
    with pytest.raises(VerificationError, match="outside"):
        root_from_path("e", 5, 5, good.path)
    with pytest.raises(VerificationError, match="longer"):
        root_from_path("e", 4, 5, (*good.path, good.path[0]))
    with pytest.raises(VerificationError, match="shorter"):
        root_from_path("a", 0, 5, tree.leaf_proof(0).path[:-1])


def test_lying_about_index_or_tree_size_cannot_fake_adjacency() -> None:
    """A proof binds a leaf's position even when the claimed tree size is false.

    For every leaf of real trees up to 24 leaves, find every (index, tree size) that its real audit
    path verifies under; no two leaves that are not neighbours may then pass as neighbours, and
    only the real first and last leaves may pass as first or last.
    """
    for n in range(1, 25):
        values = [f"{i:03d}" for i in range(n)]
        tree = MerkleTree(values)
        claims: dict[tuple[int, int], int] = {}  # (claimed index, claimed size) -> real index
        for real in range(n):
            path = tree.leaf_proof(real).path
            for size in range(1, 2 * n + 3):
                for index in range(size):
                    try:
                        ok = root_from_path(values[real], index, size, path) == tree.root
                    except VerificationError:
                        ok = False
                    if ok:
                        claims[(index, size)] = real
        for (index, size), real in claims.items():
            if index == 0:
                assert real == 0
            if index == size - 1:
                assert real == n - 1
            successor = claims.get((index + 1, size))
            if successor is not None:
                assert successor == real + 1, (n, index, size)


def test_tree_of_many_leaves_reuses_levels() -> None:
    values = [f"{i:08x}" for i in range(0, 3000, 3)]
    tree = MerkleTree(values)
    assert len(tree) == 1000
    assert tree.root == rfc6962_root(values)
    for index in range(len(values)):
        assert tree.path_hex(index) == [p.hex() for p in tree.path(index)]
    for probe in ("00000003", "00000004", "fffffff0", ""):
        proof = tree.prove(probe)
        if isinstance(proof, InclusionProof):
            verify_inclusion(proof, probe, tree.root)
        else:
            verify_non_inclusion(proof, probe, tree.root)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.text(alphabet="0123456789abcdef", min_size=1, max_size=5),
        min_size=70,
        max_size=3000,
        unique=True,
    ).map(sorted),
    st.lists(st.text(alphabet="0123456789abcdefg", max_size=6), max_size=40),
)
def test_prefix_buckets_and_cached_paths_agree_with_plain_bisect(
    values: list[str], probes: list[str]
) -> None:
    """Trees big enough for the lookup buckets and the path cache (several hundred leaves)."""
    tree = MerkleTree(values)
    for probe in [*probes, *values[:: max(1, len(values) // 50)], "", "g", "0", "fffff"]:
        expected = bisect_left(values, probe)
        found = expected < len(values) and values[expected] == probe
        assert tree.locate(probe) == (expected, found)
    for index in range(0, len(values), max(1, len(values) // 97)):
        assert tree.path_hex(index) == [p.hex() for p in tree.path(index)]
        assert tree.path_hex(len(values) - 1 - index) == [
            p.hex() for p in tree.path(len(values) - 1 - index)
        ]
