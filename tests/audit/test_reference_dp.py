"""DP-SGD training of the reference model, accounted per member (slow: run by ``make bench``)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tamis.audit.reference import ReferenceConfig, ReferenceGPT, dp_record_budget, train_reference


def test_group_privacy_budget() -> None:
    eps_r, delta_r = dp_record_budget(8.0, 1e-5, 8)
    assert eps_r == pytest.approx(1.0)
    assert 8 * math.exp(eps_r * 7) * delta_r == pytest.approx(1e-5)
    assert dp_record_budget(2.0, 1e-5, 1) == (2.0, 1e-5)


@pytest.mark.slow
def test_dp_training_caps_records_and_spends_at_most_the_budget(tmp_path: Path) -> None:
    pytest.importorskip("opacus")
    n = 600
    (tmp_path / "snap" / "data").mkdir(parents=True)
    ts = datetime(2025, 1, 1, tzinfo=UTC)
    pq.write_table(
        pa.table(
            {
                "record_id": [f"r{i}" for i in range(n)],
                "member_ref": [f"m{i % 40}" for i in range(n)],  # 15 records per member
                "kind": ["post"] * n,
                "category": ["user.content"] * n,
                "created_at": pa.array([ts] * n, pa.timestamp("us", tz="UTC")),
                "lang": ["en"] * n,
                "text": [f"post number {i} about data" for i in range(n)],
            }
        ),
        tmp_path / "snap" / "data" / "part-00000.parquet",
    )
    cfg = ReferenceConfig(epochs=1, dp_epsilon=8.0, dp_max_records_per_member=4, holdout=0.0)
    summary = train_reference(tmp_path / "snap", tmp_path / "model", cfg)
    dp = summary["dp"]
    assert summary["records_trained"] == 40 * 4
    assert dp["records_capped"] == n - 160
    assert dp["member_epsilon_spent"] <= 8.0 + 1e-6
    assert dp["member_delta_spent"] <= 1e-5 * (1 + 1e-6)
    model = ReferenceGPT.load(tmp_path / "model")
    assert model.token_losses(["post number 3 about data"]).shape == (1,)
