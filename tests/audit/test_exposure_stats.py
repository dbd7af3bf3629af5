"""Exposure, Mann-Whitney and validity with an in-process fake model; MIA metrics; the report."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")

from tamis.audit.canaries import CanarySet, draw_canaries
from tamis.audit.exposure import measure_exposure, rank_exposure
from tamis.audit.mia import auc, tpr_at_fpr


class FakeModel:
    """Log-likelihood = noise, plus a bonus for memorised secrets (bonus per copy)."""

    name = "fake"

    def __init__(self, canaries: CanarySet, per_copy: float) -> None:
        self.bonus = {c.secret: per_copy * c.level for c in canaries.canaries}

    def log_likelihood(self, prefixes: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        out = []
        for c in continuations:
            rng = np.random.default_rng(zlib.crc32(c.encode()))  # hash() varies by process
            out.append(-40.0 + rng.normal(0, 2.0) + self.bonus.get(c, 0.0))
        return np.array(out)

    def token_losses(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones(len(texts))

    def generate(self, prefixes: Sequence[str], max_new: int, *a: object, **k: object) -> list[str]:
        return ["" for _ in prefixes]


def test_rank_exposure_bounds() -> None:
    refs = np.arange(1023, dtype=float)
    assert rank_exposure(5000.0, refs) == pytest.approx(10.0)
    assert rank_exposure(-1.0, refs) == pytest.approx(0.0)


def test_memorising_model_is_valid_and_rises_with_repetition() -> None:
    cs = draw_canaries(["phone", "email"], [1, 4, 16, 64], 10, 10, seed=2)
    result = measure_exposure(FakeModel(cs, per_copy=0.5), cs, references=1000)
    medians = [lv["exposure"]["median"] for lv in result.levels]
    assert medians == sorted(medians)
    assert result.valid and result.levels[-1]["detected"]
    assert not result.levels[0]["detected"]
    assert result.controls["exposure"]["median"] < 3


def test_insensitive_audit_says_invalid() -> None:
    cs = draw_canaries(["phone"], [1, 64], 10, 10, seed=3)
    result = measure_exposure(FakeModel(cs, per_copy=0.0), cs, references=500)
    assert not result.valid
    assert "INVALID" in result.reason
    assert result.to_dict()["valid"] is False


def test_auc_and_low_fpr_tpr() -> None:
    assert auc([3, 4, 5], [0, 1, 2]) == 1.0
    assert auc([1, 1], [1, 1]) == 0.5
    assert math.isnan(auc([], [1]))
    members = list(range(1000, 1100)) + list(range(100))
    nonmembers = list(range(200, 1200))
    assert tpr_at_fpr(members, nonmembers, 0.001) == pytest.approx(0.0)
    assert tpr_at_fpr([5000.0, 1.0], nonmembers, 0.001) == pytest.approx(0.5)


def test_report_verdicts(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from tamis.audit.report import write_report

    cs = draw_canaries(["phone"], [1, 4, 64], 10, 10, seed=4)
    exposure = measure_exposure(FakeModel(cs, per_copy=0.5), cs, references=500).to_dict()
    mia = {
        "members": 10,
        "nonmembers": 10,
        "unique_nonmembers": 10,
        "low_fpr_note": "note",
        "all": {
            "loss": {"auc": 0.5, "tpr_at_0.1%_fpr": 0.0, "roc": {"fpr": [0, 1], "tpr": [0, 1]}}
        },
        "unique": None,
    }
    probe = {"format": "phone", "extracted": False, "canary": None, "level": None}
    extraction = {
        "canary_completion": [{**probe, "strategy": s} for s in ("greedy", "beam")],
        "record_completion": {
            "prompts": 10,
            "greedy": {"hits": 0, "rate": 0.0},
            "beam": {"hits": 0, "rate": 0.0},
        },
        "samples": {"matches": 0},
    }
    out = tmp_path / "report.html"
    result = write_report(out, exposure=exposure, extraction=extraction, mia=mia)
    assert result["verdict"] == "pass"
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "max_mia_auc" in page
    mia["all"]["loss"]["auc"] = 0.9
    assert write_report(out, exposure=exposure, extraction=extraction, mia=mia)["verdict"] == "fail"
    dull = measure_exposure(FakeModel(cs, per_copy=0.0), cs, references=500).to_dict()
    assert write_report(out, exposure=dull)["verdict"] == "invalid"


def test_a_check_without_its_evidence_is_not_a_pass() -> None:
    """Each of these read "pass" before: no 1-copy canaries to test, an extraction without the
    canaries or without a single prompt, a membership-inference AUC of NaN (no held-out record
    matched the split)."""
    from tamis.audit.report import Thresholds, verdict

    cs = draw_canaries(["phone"], [1, 4, 64], 10, 10, seed=4)
    exposure = measure_exposure(FakeModel(cs, per_copy=0.5), cs, references=500).to_dict()
    probe = {"format": "phone", "extracted": False, "canary": None, "level": None}
    canary_rows = [{**probe, "strategy": s} for s in ("greedy", "beam")]
    records = {"prompts": 5, "greedy": {"hits": 0, "rate": 0.0}, "beam": {"hits": 0, "rate": 0.0}}
    extraction = {"canary_completion": canary_rows, "record_completion": records}
    loss = {"auc": 0.5, "tpr_at_0.1%_fpr": 0.0}
    mia = {"all": {"loss": loss}, "unique": None}
    assert verdict(exposure, extraction, mia, Thresholds())[0] == "pass"

    no_one_copy = {**exposure, "levels": [lv for lv in exposure["levels"] if lv["level"] > 1]}
    state, lines = verdict(no_one_copy, extraction, mia, Thresholds())
    assert state == "invalid" and "no canaries planted at 1 copies or fewer" in lines[0]
    for broken, missing in (
        ({**extraction, "canary_completion": []}, "MISSING canary extraction"),
        ({"canary_completion": canary_rows}, "MISSING member-record greedy"),
        ({**extraction, "record_completion": {**records, "prompts": 0}}, "MISSING member-record"),
    ):
        state, lines = verdict(exposure, broken, mia, Thresholds())
        assert state == "fail" and any(line.startswith(missing) for line in lines), lines
    nan = {"all": {"loss": {"auc": float("nan"), "tpr_at_0.1%_fpr": 0.0}}, "unique": None}
    state, lines = verdict(exposure, extraction, nan, Thresholds())
    assert state == "fail" and lines[-1].startswith("MISSING membership-inference")
