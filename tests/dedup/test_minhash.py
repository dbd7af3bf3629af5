"""The vectorised MinHash steps against rensa's own per-record objects and brute force."""

from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pyarrow as pa
import pytest

from tamis.dedup import DedupConfig, find_duplicates, normalise_text, shingles
from tamis.dedup._minhash import (
    _utf8,
    band_keys,
    candidate_pairs,
    components,
    shingle_ranges,
    signature_column,
    signature_matrix,
    signatures,
    similar,
    token_hashes,
)

rensa = pytest.importorskip("rensa")

ALPHABET = "abcdeé ß€😀xyz  "
WORDS = ["data", "team", "lyon", "paris", "équipe", "ß", "😀", "a", "engineering", "x" * 20]


def _texts(rng: random.Random, n: int) -> list[str]:
    out = ["", "a", "ab", "abcd", "abcde", "abcdef", "é", "😀😀😀😀😀😀"]
    for _ in range(n):
        if rng.random() < 0.5:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))))
        else:
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 15))))
    return out


def test_token_hash_is_rensas() -> None:
    rng = random.Random(1)
    tokens = ["".join(rng.choice(ALPHABET) for _ in range(k)) for k in range(70) for _ in range(5)]
    encoded = [t.encode() for t in tokens]
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    ends = np.cumsum([len(e) for e in encoded]).astype(np.int64)
    starts = ends - np.array([len(e) for e in encoded], dtype=np.int64)
    want = [int(h) for h in rensa.RMinHash.hash_token_sets([tokens])[0]]
    assert token_hashes(data, starts, ends).tolist() == want


@pytest.mark.parametrize(("size", "unit"), [(5, "char"), (1, "char"), (3, "word"), (1, "word")])
def test_shingle_ranges_cut_what_shingles_cuts(size: int, unit: str) -> None:
    texts = normalise_text(pa.array(_texts(random.Random(size), 200))).slice(3)
    data, offsets = _utf8(texts)
    starts, ends, rows = shingle_ranges(data, offsets, size, unit)
    raw = data.tobytes()
    for i, text in enumerate(texts.to_pylist()):
        part = slice(rows[i], rows[i + 1])
        got = [raw[s:e].decode() for s, e in zip(starts[part], ends[part], strict=True)]
        assert got == shingles(text, size, unit), text


@pytest.mark.parametrize(("size", "unit"), [(5, "char"), (2, "word")])
def test_signatures_are_rensas_per_record(size: int, unit: str) -> None:
    config = DedupConfig(shingle=size, shingle_unit=unit, num_perm=64, bands=8, seed=7)
    texts = normalise_text(pa.array(_texts(random.Random(2), 300)))
    sigs = signatures(texts, config)
    for text, sig in zip(texts.to_pylist(), sigs, strict=True):
        mh = rensa.RMinHash(num_perm=64, seed=7)
        mh.update(shingles(text, size, unit))
        assert sig.tolist() == list(mh.digest())


def test_signature_column_round_trip_and_similarity() -> None:
    sigs = np.random.default_rng(0).integers(0, 2**32, size=(5, 16), dtype=np.uint32)
    assert np.array_equal(signature_matrix(signature_column(sigs), 16), sigs)
    other = sigs.copy()
    other[:, :4] += 1  # 12 of 16 values equal: 0.75
    assert similar(sigs, other, 0.75).all() and not similar(sigs, other, 0.76).any()


def test_candidate_pairs_are_the_rows_sharing_a_band() -> None:
    keys = np.random.default_rng(3).integers(0, 6, size=(40, 4)).astype(np.int64)
    left, right = candidate_pairs(keys)
    want = {(i, j) for i, j in combinations(range(40), 2) if (keys[i] == keys[j]).any()}
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == want
    assert len(left) == len(want)  # no pair twice
    assert band_keys(np.zeros((3, 8), np.uint32), 4).shape == (3, 4)


@pytest.mark.parametrize("as_strings", [False, True])
def test_components_keep_the_smallest_node(as_strings: bool) -> None:
    rng = random.Random(4)
    edges = [(rng.randrange(60), rng.randrange(60)) for _ in range(45)]
    parent = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    def name(x: int) -> str | int:
        return f"r{x:03d}" if as_strings else x

    nodes, roots = components(
        pa.array([name(a) for a, _ in edges]), pa.array([name(b) for _, b in edges])
    )
    got = dict(zip(nodes.to_pylist(), roots.to_pylist(), strict=True))
    assert got == {name(x): name(find(x)) for e in edges for x in e}


def _reference(ids: list[str], texts: list[str], config: DedupConfig) -> dict[str, str]:
    """The per-record algorithm with rensa's own objects and LSH (the previous implementation),
    keeping the smallest id: dropped record -> representative."""
    norm = normalise_text(pa.array(texts)).to_pylist()
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first: dict[str, int] = {}
    for r in range(len(order)):  # r: rank by id
        text = norm[order[r]]
        if text in first:
            union(first[text], r)
        else:
            first[text] = r
    lsh = rensa.RMinHashLSH(
        threshold=config.threshold, num_perm=config.num_perm, num_bands=config.bands
    )
    sigs = {}
    for text, r in first.items():
        if not text:
            continue
        mh = rensa.RMinHash(num_perm=config.num_perm, seed=config.seed)
        mh.update(shingles(text, config.shingle, config.shingle_unit))
        for j in lsh.query(mh):
            if mh.jaccard(sigs[j]) >= config.threshold:
                union(j, r)
        lsh.insert(r, mh)
        sigs[r] = mh
    return {ids[order[r]]: ids[order[find(r)]] for r in range(len(order)) if find(r) != r}


def test_find_duplicates_is_the_per_record_algorithm_whatever_the_order() -> None:
    rng = random.Random(5)
    words = ["data", "team", "lyon", "paris", "great", "news", "hiring", "python", "spark"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) for _ in range(400)]
    texts += [t.upper() + "  " for t in texts[:30]] + ["", " ", None]  # type: ignore[list-item]
    ids = [f"id{rng.randrange(10**6):06d}-{i}" for i in range(len(texts))]
    config = DedupConfig(threshold=0.7)
    want = _reference(ids, [t or "" for t in texts], config)
    assert len(want) > 40  # exact and near (the upper-cased copies and shared word runs)
    for seed in range(3):  # any input order gives the same clusters and keepers
        rows = list(range(len(ids)))
        random.Random(seed).shuffle(rows)
        table = pa.table(
            {"record_id": [ids[i] for i in rows], "text": pa.array([texts[i] for i in rows])}
        )
        result = find_duplicates(table.to_batches(max_chunksize=97), config)
        got = dict(zip(result.drop.to_pylist(), result.representative.to_pylist(), strict=True))
        assert got == want
        assert result.counts()["clusters"] == len(set(want.values()))
        assert result.exact > 0 and result.near > 0
