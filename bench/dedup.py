"""Deduplication speed and recall: N short documents with injected exact and near duplicates.

Usage: .venv/bin/python bench/dedup.py [--docs 100000] [--dup-share 0.1]

Near duplicates are copies with one word changed or dropped, or case and spacing altered;
recall is the share of injected duplicates that end up in the same cluster as their source.
"""

from __future__ import annotations

import argparse
import random
import time

import pyarrow as pa

from tamis.dedup import DedupConfig, find_duplicates

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--dup-share", type=float, default=0.1)
    args = ap.parse_args()
    texts, source = corpus(args.docs, args.dup_share, 0)
    batch = pa.record_batch({"record_id": [f"r{i:08d}" for i in range(len(texts))], "text": texts})
    t0 = time.perf_counter()
    result = find_duplicates([batch], DedupConfig())
    seconds = time.perf_counter() - t0
    rep = dict(zip(result.drop.to_pylist(), result.representative.to_pylist(), strict=True))

    def root(i: int) -> str:
        rid = f"r{i:08d}"
        return rep.get(rid, rid)

    found = sum(1 for i, j in source.items() if root(i) == root(j))
    print(f"docs {len(texts):,}, injected duplicates {len(source):,}")
    print(f"find_duplicates: {seconds:.2f} s, {result.counts()}")
    print(f"recall {found / max(1, len(source)):.3f}")


if __name__ == "__main__":
    main()
