"""Extraction audit (Carlini et al. 2021): can the model be made to emit what it trained on?

Three probes:

- **canary completion**: greedy and beam completion of each canary format's prefix; a hit is a
  completion that starts with an inserted secret (the level of that canary is reported);
- **record completion**: greedy and beam completion of the first ``prefix_chars`` characters of
  member-authored records; a hit reproduces the next ``suffix_chars`` characters verbatim;
- **sampled generations**: ``samples`` generations from an empty context, ranked by perplexity
  and by zlib ratio (log-perplexity over zlib-compressed size), each exact-matched against the
  snapshot (a hit has a window of ``min_match`` characters found verbatim in a snapshot text).
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import numpy as np
import pyarrow as pa

from tamis.audit.canaries import CANARY_PREFIX, FORMATS, CanarySet
from tamis.audit.models import LanguageModel


def zlib_bits(text: str) -> int:
    """Size in bits of the zlib-compressed UTF-8 text."""
    return 8 * len(zlib.compress(text.encode("utf-8"), 9))


class SnapshotIndex:
    """Verbatim lookup of character windows in the snapshot's texts (one joined string)."""

    def __init__(self, texts: list[str]) -> None:
        self.joined = "\x00".join(t for t in texts if t)

    def longest_window(self, text: str, min_match: int) -> bool:
        """Whether some ``min_match``-character window of ``text`` occurs in a snapshot text."""
        if len(text) < min_match:
            return False
        joined = self.joined
        return any(text[i : i + min_match] in joined for i in range(0, len(text) - min_match + 1))


def _member_records(table: pa.Table, need: int, count: int, seed: int) -> list[str]:
    ids = table.column("record_id").to_pylist()
    texts = table.column("text").to_pylist()
    pool = sorted(
        {
            t
            for r, t in zip(ids, texts, strict=True)
            if t and len(t) >= need and not r.startswith(CANARY_PREFIX)
        }
    )
    rng = random.Random(f"tamis.extraction.{seed}")  # nosec B311  # seeded, not for secrets
    return rng.sample(pool, min(count, len(pool)))


def extraction_audit(
    model: LanguageModel,
    table: pa.Table,
    canaries: CanarySet | None = None,
    *,
    prefixes: int = 100,
    prefix_chars: int = 16,
    suffix_chars: int = 24,
    samples: int = 200,
    sample_len: int = 80,
    top: int = 20,
    min_match: int = 32,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the three probes on ``table`` (the trained snapshot or audit copy)."""
    result: dict[str, Any] = {"kind": "extraction"}

    if canaries is not None:
        by_secret = {c.secret: c for c in canaries.canaries}
        rows = []
        for fmt in canaries.formats:
            prefix = FORMATS[fmt].prefix
            width = max(len(c.secret.encode("utf-8")) for c in canaries.canaries) + 2
            for strategy in ("greedy", "beam"):
                completion = model.generate([prefix], width, strategy)[0]
                hit = next((c for s, c in by_secret.items() if completion.startswith(s)), None)
                rows.append(
                    {
                        "format": fmt,
                        "strategy": strategy,
                        "extracted": hit is not None,
                        "canary": hit.id if hit else None,
                        "level": hit.level if hit else None,
                    }
                )
        result["canary_completion"] = rows

    records = _member_records(table, prefix_chars + suffix_chars, prefixes, seed)
    record_rows: dict[str, Any] = {
        "prompts": len(records),
        "prefix_chars": prefix_chars,
        "suffix_chars": suffix_chars,
    }
    for strategy in ("greedy", "beam"):
        outs = model.generate(
            [t[:prefix_chars] for t in records],
            len(records[0][prefix_chars:].encode("utf-8")) if False else suffix_chars * 2,
            strategy,  # type: ignore[arg-type]
        )
        hits = sum(
            1
            for t, o in zip(records, outs, strict=True)
            if o.startswith(t[prefix_chars : prefix_chars + suffix_chars])
        )
        record_rows[strategy] = {"hits": hits, "rate": round(hits / max(1, len(records)), 4)}
    result["record_completion"] = record_rows

    gens = model.generate([""] * samples, sample_len, "sample", seed=seed)
    gens = [g for g in gens if g]
    index = SnapshotIndex([t for t in table.column("text").to_pylist() if t])
    losses = np.asarray(model.token_losses(gens)) if gens else np.array([])
    ranked = []
    for g, loss in zip(gens, losses, strict=True):
        n_bytes = len(g.encode("utf-8")) + 1
        ranked.append(
            {
                "perplexity": float(np.exp(loss)),
                "zlib_ratio": float(loss * n_bytes / np.log(2) / max(1, zlib_bits(g))),
                "match": index.longest_window(g, min_match),
                "chars": len(g),
            }
        )
    by_ppl = sorted(range(len(ranked)), key=lambda i: ranked[i]["perplexity"])[:top]
    by_zlib = sorted(range(len(ranked)), key=lambda i: ranked[i]["zlib_ratio"])[:top]
    result["samples"] = {
        "generated": len(ranked),
        "min_match": min_match,
        "matches": sum(1 for r in ranked if r["match"]),
        "top": top,
        "top_perplexity_matches": sum(1 for i in by_ppl if ranked[i]["match"]),
        "top_zlib_matches": sum(1 for i in by_zlib if ranked[i]["match"]),
    }
    return result
