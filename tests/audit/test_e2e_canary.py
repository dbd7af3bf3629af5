"""End to end on CPU: canaries in a small synthetic snapshot, a tiny reference GPT, exposure.

Without deduplication, exposure rises with repetition and the 64-copy level is detected above
the controls (the audit is valid). With deduplication, every canary collapses to one copy and
exposure falls to the controls' level. Figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("scipy")
pytest.importorskip("rensa")

import pyarrow.compute as pc
import pyarrow.parquet as pq

from tamis.audit.canaries import draw_canaries, plant, read_snapshot_table
from tamis.audit.exposure import measure_exposure
from tamis.audit.extraction import extraction_audit
from tamis.audit.mia import membership_inference
from tamis.audit.reference import ReferenceConfig, ReferenceGPT, train_reference
from tamis.audit.report import write_report
from tamis.dedup import DedupConfig, find_duplicates
from tamis.keys import PseudonymKey
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.policy import load_policy
from tamis.synth import generate_platform
from tamis_testing import TEST_KEY_HEX

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = ReferenceConfig(epochs=3.0, seed=0)


def _median(result: Any, level: int) -> float:
    return float(next(lv for lv in result.levels if lv["level"] == level)["exposure"]["median"])


def _figures(tag: str, result: Any) -> None:
    c = result.controls["exposure"]
    print(f"\n[{tag}] controls: median {c['median']} mean {c['mean']} bits")
    for lv in result.levels:
        e = lv["exposure"]
        print(
            f"[{tag}] {lv['level']:>2} copies: median {e['median']} mean {e['mean']} bits, "
            f"Mann-Whitney p {lv['mann_whitney_p']:.3g}"
        )
    print(f"[{tag}] {result.reason}")


def test_exposure_rises_with_repetition_and_dedup_removes_it(tmp_path: Path) -> None:
    export = tmp_path / "export"
    generate_platform(export, members=100, seed=1)
    snap = tmp_path / "snap"
    key = PseudonymKey(bytes.fromhex(TEST_KEY_HEX), "test")
    build_snapshot(BuildRequest(export, snap, load_policy("linkedin-2025"), CUTOFF, key))
    canaries = draw_canaries(["phone", "email"], [1, 4, 16, 64], 4, 8, seed=1)
    plant(snap, tmp_path / "audit", canaries)

    # --- without deduplication: the audit is valid and exposure rises with repetition
    train_reference(tmp_path / "audit", tmp_path / "model", CONFIG)
    model = ReferenceGPT.load(tmp_path / "model")
    plain = measure_exposure(model, canaries, references=1000)
    _figures("no dedup", plain)
    assert plain.valid, plain.reason
    assert _median(plain, 64) > _median(plain, 16) > _median(plain, 1)
    assert _median(plain, 64) > plain.controls["exposure"]["median"] + 5

    table = read_snapshot_table(tmp_path / "audit")
    mia = membership_inference(model, table, pq.read_table(tmp_path / "model" / "split.parquet"))
    print(f"[no dedup] MIA loss {mia['all']['loss']['auc']} zlib {mia['all']['zlib']['auc']}")
    extraction = extraction_audit(model, table, canaries, prefixes=10, samples=10)
    report = write_report(
        tmp_path / "report.html", exposure=plain.to_dict(), extraction=extraction, mia=mia
    )
    assert report["verdict"] in ("pass", "fail")  # valid audit: a verdict, not "invalid"

    # --- with deduplication: one copy per canary, exposure at the controls' level
    dups = find_duplicates(table.to_batches(), DedupConfig())
    kept = table.filter(pc.invert(pc.is_in(table.column("record_id"), dups.drop)))
    copies = Counter(kept.column("text").to_pylist())
    assert {copies[c.text] for c in canaries.canaries if c.inserted} == {1}
    (tmp_path / "dedup" / "data").mkdir(parents=True)
    pq.write_table(kept, tmp_path / "dedup" / "data" / "part-00000.parquet")
    train_reference(tmp_path / "dedup", tmp_path / "model-dedup", CONFIG)
    deduped = measure_exposure(
        ReferenceGPT.load(tmp_path / "model-dedup"), canaries, references=1000
    )
    _figures("dedup", deduped)
    top = max(deduped.levels, key=lambda lv: lv["level"])
    assert not top["detected"]
    assert _median(deduped, 64) < deduped.controls["exposure"]["median"] + 2
    assert not deduped.valid  # nothing repeated is left: the audit reports no sensitivity
