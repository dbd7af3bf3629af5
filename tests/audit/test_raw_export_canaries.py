"""Canaries planted in the raw export (before the builder) never reach the snapshot.

Secrets of known formats (phones, e-mails, IBANs) are written into the content texts of a
synthetic export; the builder runs with the linkedin-2025 policy, its PII stage in ``fast`` mode;
DuckDB then reads the snapshot's Parquet files directly (not through tamis) and finds no secret,
not even as bare digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from tamis.audit.canaries import draw_canaries
from tamis.keys import load_key
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.policy.loader import load_policy, parse_policy
from tamis.synth import generate_platform

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)


def _fast_policy() -> object:
    preset = load_policy("linkedin-2025")
    text = re.sub(r"(name: pii\.redact\.v1\s+options: \{mode: )\w+", r"\g<1>fast", preset.text)
    assert "options: {mode: fast" in text
    return parse_policy(text.encode(), "test:linkedin-2025-fast")


def test_raw_export_canaries_are_redacted(tmp_path: Path) -> None:
    export = tmp_path / "export"
    generate_platform(export, members=40, seed=11)
    cs = draw_canaries(["phone", "email", "iban"], [1, 4], 5, 1, seed=9)
    planted = [c for c in cs.canaries if c.inserted]
    lines = (export / "content.jsonl").read_bytes().splitlines()
    rows = [orjson.loads(line) for line in lines]
    targets = [i for i, r in enumerate(rows) if r["kind"] in ("post", "comment")]
    used: dict[str, list[str]] = {}
    k = 0
    for c in planted:
        for _ in range(c.level):
            row = rows[targets[k % len(targets)]]
            row["text"] = f"{row['text']} {c.text}."
            used.setdefault(c.secret, []).append(row["record_id"])
            k += 1
    (export / "content.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")

    out = tmp_path / "snap"
    request = BuildRequest(
        export_dir=export,
        out=out,
        policy=_fast_policy(),
        cutoff=CUTOFF,
        key=load_key(),  # type: ignore[arg-type]
    )
    build_snapshot(request)

    con = duckdb.connect()
    data = str(out / "data" / "*.parquet")
    ids = {r[0] for r in con.sql(f"SELECT record_id FROM read_parquet('{data}')").fetchall()}
    carried = [s for s, rids in used.items() if any(r in ids for r in rids)]
    assert len(carried) >= len(planted) // 2  # most canary-bearing records are in the snapshot
    for c in planted:
        digits = re.sub(r"\D", "", c.secret)
        hits = con.execute(
            f"SELECT count(*) FROM read_parquet('{data}') WHERE contains(lower(text), lower(?)) "
            "OR contains(regexp_replace(text, '[^0-9]', '', 'g'), ?)",
            [c.secret, digits[-8:] if c.format != "email" else c.secret],
        ).fetchone()
        assert hits == (0,), f"{c.format} canary {c.id} reached the snapshot"
