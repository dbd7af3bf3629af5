"""MinHash signatures, LSH band keys, similarity and clusters: the parts both engines share.

Every step works on whole Arrow arrays or NumPy matrices, never one Python object per record:

- :func:`signatures`: the shingles of each normalised text are located in the text's UTF-8
  buffer (every shingle is a byte range of its text: ``n`` characters, or ``n`` words joined by
  one space), hashed in NumPy with rensa's own token hash (FxHash of the UTF-8 bytes, checked
  against rensa once per process), and turned into signatures by rensa's batch API
  (``RMinHash.digest_matrix_from_flat_token_hashes``). The signatures are exactly those of
  ``RMinHash(num_perm, seed).update(shingles(text))``; if the installed rensa hashes tokens
  differently, the shingles are handed to rensa as strings instead (same result, slower).
- :func:`band_keys`: one 64-bit key per LSH band (a mix of the band's values); :func:`lsh_keys`
  computes them chunk by chunk without keeping the signatures;
- :func:`candidate_pairs`: rows that share a key in some band (the embedded engine; Spark groups
  the same keys with a shuffle);
- :func:`similar`: the estimated Jaccard similarity (share of equal values) against the threshold,
  as ``RMinHash.jaccard`` computes it;
- :func:`components`: connected components of confirmed pairs, each named by its smallest node.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tamis.errors import TamisError

CHUNK_TEXTS = 1024  # texts per rensa call: token hashes of a chunk stay in the CPU cache
_U64 = np.uint64
_M32 = _U64(0xFFFF_FFFF)
# rensa's token hash (rensa 0.5, ALGORITHM_VERSION 2: src/utils.rs, calculate_hash_fast).
_FX_K = _U64(0xF135_7AEA_2E62_A9C5)
_FX_SEED1 = _U64(0x243F_6A88_85A3_08D3)
_FX_SEED2 = _U64(0x1319_8A2E_0370_7344)
_FX_ZERO_GUARD = _U64(0xA409_3822_299F_31D0)
_FX_ROTATE = 26
# Band keys: a multiply-xorshift mix (splitmix64's constants).
_MIX_1 = _U64(0xBF58_476D_1CE4_E5B9)
_MIX_2 = _U64(0x94D0_49BB_1331_11EB)
_GOLDEN = _U64(0x9E37_79B9_7F4A_7C15)


def import_rensa() -> Any:
    try:
        import rensa
    except ImportError:  # pragma: no cover - depends on the environment
        raise TamisError(
            "near-duplicate detection needs rensa: pip install 'tamis[dedup]'"
        ) from None
    return rensa


# --- shingles as byte ranges -----------------------------------------------------------------


def _utf8(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of ``texts`` (nulls as empty) and the ``n + 1`` byte offsets of each."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    arr = pc.fill_null(texts, "").cast(pa.large_string())
    n = len(arr)
    _validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    if data_buf is None or not n:
        return np.zeros(0, dtype=np.uint8), np.zeros(n + 1, dtype=np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    return np.frombuffer(data_buf, dtype=np.uint8)[first:last], offsets - first


def shingle_ranges(
    data: np.ndarray, offsets: np.ndarray, size: int, unit: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte ranges of the shingles of every text, as :func:`tamis.dedup.shingles` cuts them.

    Returns ``(starts, ends, row_offsets)``: shingle ``s`` of text ``t`` (``row_offsets[t] <= s <
    row_offsets[t + 1]``) is ``data[starts[s]:ends[s]]``. A text of at most ``size`` units is one
    shingle (the whole text).
    """
    n = len(offsets) - 1
    first, last = int(offsets[0]), int(offsets[-1])
    lo, hi = offsets[:-1], offsets[1:]
    if unit == "word":  # words are separated by exactly one space in a normalised text
        cuts = first + np.flatnonzero(data[first:last] == 0x20)
        begin = np.searchsorted(cuts, lo)  # first space of each text
        units = np.searchsorted(cuts, hi) - begin + 1  # words per text
    else:  # a character starts at every byte that is not a UTF-8 continuation byte
        cuts = first + np.flatnonzero((data[first:last] & 0xC0) != 0x80)
        begin = np.searchsorted(cuts, lo)  # first character of each text
        units = np.searchsorted(cuts, hi) - begin
    whole = units <= size
    counts = np.where(whole, 1, units - size + 1)
    row_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=row_offsets[1:])
    total = int(row_offsets[-1])
    text = np.repeat(np.arange(n), counts)
    j = np.arange(total, dtype=np.int64) - row_offsets[:-1][text]  # shingle number in its text
    is_whole = whole[text]
    if unit == "word":
        # Shingle j spans words j .. j+size-1: after space j-1 (or the text start), up to
        # space j+size-1 (or the text end).
        padded = np.concatenate([cuts, [last]]).astype(np.int64)
        b = begin[text] + j
        starts = np.where(j == 0, lo[text], padded[np.maximum(b - 1, 0)] + 1)
        ends = np.where(
            j + size == units[text], hi[text], padded[np.minimum(b + size - 1, len(padded) - 1)]
        )
    else:
        padded = np.concatenate([cuts, [last]]).astype(np.int64)
        b = begin[text] + j
        starts = padded[b]
        ends = padded[np.minimum(b + size, len(padded) - 1)]
    starts = np.where(is_whole, lo[text], starts)
    ends = np.where(is_whole, hi[text], ends)
    return starts, ends, row_offsets


# --- rensa's token hash, vectorised ----------------------------------------------------------


def _words(data: np.ndarray) -> np.ndarray:
    """The little-endian u64 that starts at every byte of ``data`` (zero-padded)."""
    padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
    n = len(data) + 1
    u64 = np.lib.stride_tricks.as_strided(padded, shape=(n, 8), strides=(1, 1), writeable=False)
    return np.ascontiguousarray(u64).view("<u8").ravel()


def _multiply_mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The low and high halves of the 128-bit product ``x * y``, xor-ed (NumPy has no u128)."""
    xl, xh, yl, yh = x & _M32, x >> _U64(32), y & _M32, y >> _U64(32)
    lh, hl = xl * yh, xh * yl
    mid = ((xl * yl) >> _U64(32)) + (lh & _M32) + (hl & _M32)
    high: np.ndarray = xh * yh + (lh >> _U64(32)) + (hl >> _U64(32)) + (mid >> _U64(32))
    out: np.ndarray = (x * y) ^ high
    return out


def token_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """rensa's hash (``calculate_hash_fast``) of every byte range ``data[starts:ends]``."""
    u64 = _words(data)
    length = ends - starts
    with np.errstate(over="ignore"):
        # 4 to 16 bytes: two overlapping reads, 8 or 4 bytes wide (shingles are mostly here).
        at8 = length >= 8
        first = u64[starts]
        second = u64[np.maximum(ends - np.where(at8, 8, 4), 0)]
        s0 = _FX_SEED1 ^ np.where(at8, first, first & _M32)
        s1 = _FX_SEED2 ^ np.where(at8, second, second & _M32)
        tiny = np.flatnonzero(length < 4)
        if len(tiny):  # 1 to 3 bytes: first, middle and last byte; nothing for an empty token
            at, n = starts[tiny], length[tiny]
            some = n > 0
            top = max(len(data) - 1, 0)
            byte = data if len(data) else np.zeros(1, dtype=np.uint8)
            lo_b = byte[np.minimum(at, top)].astype(_U64)
            mid_b = byte[np.minimum(at + n // 2, top)].astype(_U64)
            hi_b = byte[np.clip(at + n - 1, 0, top)].astype(_U64)
            s0[tiny] = _FX_SEED1 ^ np.where(some, lo_b, _U64(0))
            s1[tiny] = _FX_SEED2 ^ np.where(some, (hi_b << _U64(8)) | mid_b, _U64(0))
        long = np.flatnonzero(length > 16)
        if len(long):  # 16-byte blocks while offset < length - 16, then the last 16 bytes
            at, n = starts[long], length[long]
            a, b = np.full(len(long), _FX_SEED1, dtype=_U64), np.full(len(long), _FX_SEED2, _U64)
            blocks = (n - 1) // 16
            for k in range(int(blocks.max())):
                live = np.flatnonzero(blocks > k)
                x, y = u64[at[live] + 16 * k], u64[at[live] + 16 * k + 8]
                t = _multiply_mix(a[live] ^ x, _FX_ZERO_GUARD ^ y)
                a[live] = b[live]
                b[live] = t
            s0[long] = a ^ u64[at + n - 16]
            s1[long] = b ^ u64[at + n - 8]
        h = _multiply_mix(s0, s1)
        h ^= length.astype(_U64)
        h *= _FX_K
    return (h << _U64(_FX_ROTATE)) | (h >> _U64(64 - _FX_ROTATE))


@functools.cache
def _rensa_hash_matches() -> bool:
    """Whether :func:`token_hashes` is the installed rensa's token hash (checked once)."""
    rensa = import_rensa()
    probes = ["", "a", "ab", "abc", "abcd", "héllo", "abcdefgh", "0123456789abcdef", "x" * 17]
    probes += ["naïve café ß", "data platform team", "€😀 and more text " * 3]
    encoded = [p.encode() for p in probes]
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    ends = np.cumsum([len(e) for e in encoded]).astype(np.int64)
    starts = ends - np.array([len(e) for e in encoded], dtype=np.int64)
    want = [int(h) for h in rensa.RMinHash.hash_token_sets([probes])[0]]
    return bool(token_hashes(data, starts, ends).tolist() == want)


# --- signatures and bands --------------------------------------------------------------------


def signatures(texts: pa.Array | pa.ChunkedArray, config: Any) -> np.ndarray:
    """MinHash signatures (``len(texts)`` x ``num_perm``, uint32) of normalised texts.

    Row ``i`` equals ``RMinHash(num_perm, seed)`` updated with ``shingles(texts[i], shingle,
    shingle_unit)``: the same function on every engine (the Spark engine calls it in its Python
    workers).
    """
    rensa = import_rensa()
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    n = len(texts)
    out = np.empty((n, config.num_perm), dtype=np.uint32)
    fast = _rensa_hash_matches()
    for lo in range(0, n, CHUNK_TEXTS):
        part = texts.slice(lo, CHUNK_TEXTS)
        if fast:
            data, offsets = _utf8(part)
            starts, ends, rows = shingle_ranges(data, offsets, config.shingle, config.shingle_unit)
            hashes = token_hashes(data, starts, ends)
            matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
                hashes, rows.astype(np.uint64), config.num_perm, config.seed
            )
        else:  # pragma: no cover - only with a rensa whose token hash changed
            from tamis.dedup._core import shingles

            sets = [shingles(t, config.shingle, config.shingle_unit) for t in part.to_pylist()]
            matrix = rensa.RMinHash.digest_matrix_from_token_sets(
                sets, config.num_perm, config.seed
            )
        if len(part):
            out[lo : lo + len(part)] = np.fromiter(
                itertools.chain.from_iterable(matrix.to_rows()),
                dtype=np.uint32,
                count=len(part) * config.num_perm,
            ).reshape(len(part), config.num_perm)
    return out


def lsh_keys(texts: pa.Array | pa.ChunkedArray, config: Any) -> np.ndarray:
    """:func:`band_keys` of the :func:`signatures` of ``texts``, a chunk at a time (the
    signatures themselves are not kept: 8 bytes per band and text instead of 4 per permutation)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    n = len(texts)
    keys = np.empty((n, config.bands), dtype=np.int64)
    step = CHUNK_TEXTS * 16
    for lo in range(0, n, step):
        part = texts.slice(lo, step)
        keys[lo : lo + len(part)] = band_keys(signatures(part, config), config.bands)
    return keys


def band_keys(sigs: np.ndarray, bands: int) -> np.ndarray:
    """One signed 64-bit key per row and LSH band (``rows`` x ``bands``): rows whose band values
    are equal have equal keys (different values collide with probability ~2^-64)."""
    n, perms = sigs.shape
    rows = perms // bands
    keys = np.zeros((n, bands), dtype=_U64)
    with np.errstate(over="ignore"):
        for j in range(rows):
            keys = (keys + sigs[:, j::rows].astype(_U64) + _GOLDEN) * _MIX_1
            keys ^= keys >> _U64(31)
        keys *= _MIX_2
        keys ^= keys >> _U64(29)
    return keys.view(np.int64)


def candidate_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct row pairs ``(i, j)``, ``i < j``, that share a key in at least one band."""
    n = keys.shape[0]
    codes: list[np.ndarray] = []
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        sorted_keys = keys[order, band]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, n])
        multi = sizes > 1
        if not multi.any():
            continue
        # Every pair inside every run of equal keys: position p pairs with p+1 .. run end - 1.
        run_start, run_size = starts[multi], sizes[multi]
        pos = np.repeat(run_start, run_size) + (
            np.arange(int(run_size.sum())) - np.repeat(np.cumsum(run_size) - run_size, run_size)
        )
        run_end = np.repeat(run_start + run_size, run_size)
        partners = run_end - pos - 1
        left = np.repeat(pos, partners)
        first = np.repeat(np.cumsum(partners) - partners, partners)
        right = left + 1 + (np.arange(len(left)) - first)
        a, b = order[left], order[right]
        codes.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
    if not codes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    unique = np.unique(np.concatenate(codes))
    return unique // n, unique % n


def similar(a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """Whether each pair of signature rows has an estimated Jaccard similarity (the share of
    equal values, as ``RMinHash.jaccard``) of at least ``threshold``."""
    if not len(a):
        return np.zeros(0, dtype=bool)
    equal = np.count_nonzero(a == b, axis=1).astype(np.float64)
    return np.asarray(equal / float(a.shape[1]) >= threshold)


def signature_matrix(column: pa.Array | pa.ChunkedArray, num_perm: int) -> np.ndarray:
    """Signatures stored as binary values (``num_perm`` little-endian uint32 each) as a matrix."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    arr = column.cast(pa.large_binary())
    n = len(arr)
    if not n:
        return np.zeros((0, num_perm), dtype=np.uint32)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    width = 4 * num_perm
    if arr.null_count or not np.all(np.diff(offsets) == width):
        raise TamisError(f"dedup: a signature is not {num_perm} uint32 values")
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.view("<u4").reshape(n, num_perm)


def signature_column(sigs: np.ndarray) -> pa.Array:
    """The rows of a signature matrix as binary values (see :func:`signature_matrix`)."""
    n, perms = sigs.shape
    data = np.ascontiguousarray(sigs, dtype="<u4").view(np.uint8).ravel()
    offsets = np.arange(n + 1, dtype=np.int32) * (4 * perms)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


# --- clusters --------------------------------------------------------------------------------


def components(left: pa.Array, right: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Connected components of the edges ``left[i] -- right[i]``.

    Returns ``(nodes, roots)``: every node of an edge and the smallest node of its component (in
    Arrow's order: numbers by value, strings by UTF-8 bytes, as Spark and DuckDB order them).
    Min-label propagation with pointer jumping, all in NumPy.
    """
    if isinstance(left, pa.ChunkedArray):
        left = left.combine_chunks()
    if isinstance(right, pa.ChunkedArray):
        right = right.combine_chunks()
    distinct = pc.unique(pa.concat_arrays([left, right.cast(left.type)]))
    nodes = distinct.take(pc.sort_indices(distinct))
    a = pc.index_in(left, value_set=nodes).to_numpy(zero_copy_only=False).astype(np.int64)
    b = pc.index_in(right, value_set=nodes).to_numpy(zero_copy_only=False).astype(np.int64)
    label = np.arange(len(nodes), dtype=np.int64)  # sorted: a smaller label is a smaller node
    while True:
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]
        if np.array_equal(label, before):
            return nodes, nodes.take(pa.array(label))
