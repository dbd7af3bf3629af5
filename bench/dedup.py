"""Deduplication speed and recall: N short documents with injected exact and near duplicates.

Usage: .venv/bin/python bench/dedup.py [--docs 100000] [--dup-share 0.1] [--no-compare]

Near duplicates are copies with one word changed or dropped, or case and spacing altered;
recall is the share of injected duplicates that end up in the same cluster as their source.

It also times, in the same run, the previous implementation (one rensa ``RMinHash`` per record
from a Python list of shingles, queried and inserted one by one into ``RMinHashLSH``) and checks
that both drop the same records with the same representatives. Times are wall and CPU seconds of
this process (``time.process_time``): on a shared machine, CPU seconds are the figure to compare.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import pyarrow as pa

from tamis.dedup import DedupConfig, find_duplicates, normalise_text, shingles

WORDS = [
    "data",
    "team",
    "platform",
    "launch",
    "great",
    "news",
    "hiring",
    "python",
    "spark",
    "lyon",
    "paris",
    "engineer",
    "model",
    "training",
    "cloud",
    "security",
    "product",
    "design",
    "research",
    "conference",
    "talk",
    "article",
    "thanks",
    "share",
    "merci",
    "bravo",
    "équipe",
    "projet",
    "nouveau",
    "poste",
    "recrutement",
    "formation",
    "réseau",
    "analyse",
]


def corpus(n: int, share: float, seed: int) -> tuple[list[str], dict[int, int]]:
    rng = random.Random(seed)
    texts: list[str] = []
    source: dict[int, int] = {}
    for i in range(n):
        if i > 10 and rng.random() < share:
            j = rng.randrange(i)
            while j in source:
                j = source[j]
            words = texts[j].split(" ")
            op = rng.randrange(3)
            if op == 0:
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            elif op == 1 and len(words) > 12:
                del words[rng.randrange(len(words))]
            else:
                words = [w.upper() if rng.random() < 0.3 else w for w in words]
            texts.append("  ".join(words) if op == 2 else " ".join(words))
            source[i] = j
        else:
            texts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))))
    return texts, source


def per_record(ids: list[str], texts: list[str], config: DedupConfig) -> dict[str, str]:
    """The previous implementation (a Python loop per record), keeping the smallest id:
    dropped record -> representative."""
    import rensa

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
    for r, i in enumerate(order):
        if norm[i] in first:
            union(first[norm[i]], r)
        else:
            first[norm[i]] = r
    lsh = rensa.RMinHashLSH(
        threshold=config.threshold, num_perm=config.num_perm, num_bands=config.bands
    )
    sigs: dict[int, Any] = {}
    for text, r in first.items():
        if not text:
            continue
        mh = rensa.RMinHash(num_perm=config.num_perm, seed=config.seed)
        mh.update(shingles(text, config.shingle, config.shingle_unit))
        for j in sorted(lsh.query(mh)):
            if mh.jaccard(sigs[j]) >= config.threshold:
                union(j, r)
        lsh.insert(r, mh)
        sigs[r] = mh
    return {ids[order[r]]: ids[order[find(r)]] for r in range(len(order)) if find(r) != r}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--dup-share", type=float, default=0.1)
    ap.add_argument("--no-compare", action="store_true", help="skip the previous implementation")
    ap.add_argument(
        "--previous-only",
        action="store_true",
        help="run only the previous implementation (to compare peak RSS, one process each)",
    )
    args = ap.parse_args()
    texts, source = corpus(args.docs, args.dup_share, 0)
    ids = [f"r{i:08d}" for i in range(len(texts))]
    batch = pa.record_batch({"record_id": ids, "text": texts})
    config = DedupConfig()
    if args.previous_only:
        t0, c0 = time.perf_counter(), time.process_time()
        per_record(ids, texts, config)
        print(f"per-record loop (previous): {time.perf_counter() - t0:.2f} s wall, "
              f"{time.process_time() - c0:.2f} s CPU")  # fmt: skip
        return
    t0, c0 = time.perf_counter(), time.process_time()
    result = find_duplicates([batch], config)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rep = dict(zip(result.drop.to_pylist(), result.representative.to_pylist(), strict=True))

    def root(i: int) -> str:
        rid = f"r{i:08d}"
        return rep.get(rid, rid)

    found = sum(1 for i, j in source.items() if root(i) == root(j))
    print(f"docs {len(texts):,}, injected duplicates {len(source):,}")
    print(f"find_duplicates: {seconds:.2f} s wall, {cpu:.2f} s CPU, {result.counts()}")
    print(f"recall {found / max(1, len(source)):.3f}")
    if not args.no_compare:
        t0, c0 = time.perf_counter(), time.process_time()
        before = per_record(ids, texts, config)
        old_s, old_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"per-record loop (previous): {old_s:.2f} s wall, {old_cpu:.2f} s CPU")
        print(f"CPU ratio previous / now: {old_cpu / cpu:.2f}; same result: {before == rep}")


if __name__ == "__main__":
    main()
