"""Canary drawing and planting: formats, randomness space, levels, controls, separate secrets."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tamis.audit.canaries import FORMATS, CanarySet, draw_canaries, plant, read_snapshot_table
from tamis.errors import TamisError
from tamis.pii import PiiEngine


def _snapshot(root: Path, n: int = 50) -> Path:
    (root / "data").mkdir(parents=True)
    ts = datetime(2025, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "record_id": [f"rec{i}" for i in range(n)],
            "member_ref": ["m" * 32] * n,
            "kind": ["post"] * n,
            "category": ["user.content"] * n,
            "created_at": pa.array([ts] * n, pa.timestamp("us", tz="UTC")),
            "lang": ["en"] * n,
            "text": [f"record number {i}" for i in range(n)],
        }
    )
    pq.write_table(table, root / "data" / "part-00000.parquet")
    (root / "manifest.json").write_bytes(orjson.dumps({"snapshot_id": "snap-test"}))
    return root


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_formats_have_at_least_2_26_values_and_are_detected(name: str) -> None:
    fmt = FORMATS[name]
    assert fmt.bits >= 26
    rng = random.Random(0)
    secrets = [fmt.draw(rng) for _ in range(200)]
    assert len(set(secrets)) == 200
    engine = PiiEngine.for_mode("fast")
    for s in secrets[:20]:
        spans = engine.analyze(fmt.prefix + s)
        assert [(sp.start, sp.end) for sp in spans] == [(len(fmt.prefix), len(fmt.prefix + s))]


def test_draw_is_deterministic_and_distinct() -> None:
    a = draw_canaries(["phone", "email", "iban"], [1, 4, 16, 64], 20, 20, seed=5)
    b = draw_canaries(["phone", "email", "iban"], [1, 4, 16, 64], 20, 20, seed=5)
    assert a == b
    assert len(a.canaries) == 3 * (4 * 20 + 20)
    assert len(a.secrets()) == len(a.canaries)
    assert len(a.controls) == 60 and all(not c.inserted for c in a.controls)
    with pytest.raises(TamisError, match="available"):
        draw_canaries(["fax"], [1], 1, 1, seed=0)


def test_plant_writes_levels_and_keeps_secrets_apart(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path / "snap")
    cs = draw_canaries(["phone", "email"], [1, 4, 16], 3, 2, seed=1)
    summary = plant(snap, tmp_path / "audit", cs)
    table = read_snapshot_table(tmp_path / "audit")
    texts = Counter(table.column("text").to_pylist())
    for c in cs.canaries:
        assert texts[c.text] == c.level  # controls: 0 copies
    assert table.num_rows == 50 + summary["canary_records"]
    assert summary["canary_records"] == 2 * 3 * (1 + 4 + 16)
    secrets = Path(summary["secrets"])
    assert secrets == tmp_path / "audit.canaries.json"
    assert not secrets.is_relative_to(tmp_path / "audit")
    for f in (tmp_path / "audit").rglob("*"):
        if f.is_file() and f.suffix == ".json":
            assert cs.canaries[0].secret not in f.read_text()
    loaded = CanarySet.load(secrets)
    assert loaded.canaries == cs.canaries and loaded.source == "snap-test"
    # snapshot records keep their order; canaries are spread among them
    rec = [r for r in table.column("record_id").to_pylist() if r.startswith("rec")]
    assert rec == [f"rec{i}" for i in range(50)]
    with pytest.raises(TamisError, match="exists"):
        plant(snap, tmp_path / "audit", cs)
    with pytest.raises(TamisError, match="inside"):
        plant(snap, tmp_path / "a2", cs, secrets_path=tmp_path / "a2" / "s.json")
