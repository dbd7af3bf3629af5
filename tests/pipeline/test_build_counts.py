"""The embedded build's counts and data layout, held to its data files.

``members.parquet`` (records per member and category) and the manifest's counts are checked
against a DuckDB count of the data files, with a text stage that drops records; the two ways of
counting (one dense array, or sparse partial counts) and of reading the members (kept from the
first read, or read again) must give the same snapshot; stage batches are gathered into row
groups; and a stage that changes the rows it was given is refused."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tamis.errors import SnapshotError
from tamis.keys import load_key
from tamis.pipeline import build
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.pipeline.runner import apply_stages
from tamis.pipeline.stages import RECORD_SCHEMA, StageResult
from tamis.policy import load_policy
from tamis.synth import generate_platform

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("counts") / "export"
    generate_platform(root, members=400, seed=11, fmt="parquet")
    return root


@pytest.fixture(scope="module")
def dropping_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """linkedin-2025 whose redaction drops every record with an e-mail or a phone number."""
    text = load_policy("linkedin-2025").text
    stage = "options: {mode: fast, anonymizer: placeholder, members: export}"
    assert stage in text
    path = tmp_path_factory.mktemp("policy") / "dropping.yaml"
    path.write_text(text.replace(stage, "options: {mode: contact, anonymizer: drop_record}"))
    return path


def _build(export: Path, out: Path, policy: str | Path, **options: Any) -> dict[str, Any]:
    build_snapshot(
        BuildRequest(
            export_dir=export,
            out=out,
            policy=load_policy(policy),
            cutoff=CUTOFF,
            key=load_key(),
            **options,
        )
    )
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return manifest


def _sql(query: str) -> list[tuple[Any, ...]]:
    return duckdb.connect().sql(query).fetchall()


def _data(snap: Path) -> str:
    return f"read_parquet('{snap / 'data' / '*.parquet'}')"


@pytest.mark.parametrize(("policy", "dropped_by"), [("dropping", "pii"), ("minimal", "duplicate")])
def test_member_counts_and_manifest_are_those_of_the_data(
    export: Path, dropping_policy: Path, tmp_path: Path, policy: str, dropped_by: str
) -> None:
    snap = tmp_path / "snap"
    manifest = _build(export, snap, dropping_policy if policy == "dropping" else policy)
    # records were dropped after the classification (by the stage, or by the deduplication):
    # the counts below are after it
    assert manifest["records"]["excluded_by_reason"].get(dropped_by, 0) > 0
    from_data = _sql(
        f"SELECT member_ref, category, count(*) FROM {_data(snap)} GROUP BY ALL ORDER BY ALL"
    )
    members_file = _sql(
        f"SELECT member_ref, category, records FROM read_parquet('{snap / 'members.parquet'}') "
        "ORDER BY ALL"
    )
    assert members_file == from_data
    total = _sql(f"SELECT count(*) FROM {_data(snap)}")[0][0]
    assert manifest["records"]["included"] == total
    by_kind = dict(_sql(f"SELECT kind, count(*) FROM {_data(snap)} GROUP BY ALL"))
    assert manifest["records"]["included_by_kind"] == dict(sorted(by_kind.items()))
    by_category = dict(_sql(f"SELECT category, count(*) FROM {_data(snap)} GROUP BY ALL"))
    assert manifest["records"]["included_by_category"] == dict(sorted(by_category.items()))
    # every record read is in or out for one reason
    records = manifest["records"]
    assert records["input"] == records["included"] + sum(records["excluded_by_reason"].values())


@pytest.mark.parametrize("policy", ["dropping", "minimal"])
def test_dense_and_sparse_counts_and_both_member_reads_give_one_snapshot(
    export: Path,
    dropping_policy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
) -> None:
    chosen = dropping_policy if policy == "dropping" else policy
    first = _build(export, tmp_path / "a", chosen)
    monkeypatch.setattr(build, "DENSE_COUNT_CELLS", 0)  # sparse partial counts
    monkeypatch.setattr(build, "MEMBERS_KEPT_BYTES", 0)  # the members table read again
    second = _build(export, tmp_path / "b", chosen)
    for key in ("records", "members", "content_digest", "members_root", "quarantined"):
        assert first[key] == second[key], key
    assert [f["sha256"] for f in first["files"]] == [f["sha256"] for f in second["files"]]


def test_stage_batches_are_gathered_into_row_groups(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "STAGE_BATCH_ROWS", 300)
    monkeypatch.setattr(build, "ROW_GROUP_ROWS", 1000)
    snap = tmp_path / "snap"
    manifest = _build(export, snap, "linkedin-2025", rows_per_file=1800)
    files = sorted((snap / "data").glob("*.parquet"))
    assert len(files) > 2
    for i, path in enumerate(files):
        meta = pq.ParquetFile(path).metadata
        groups = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        if i < len(files) - 1:
            assert meta.num_rows == 1800
        # every row group but a file's last gathers stage batches up to ROW_GROUP_ROWS
        assert all(1000 <= n < 1300 for n in groups[:-1]), groups
        assert 0 < groups[-1] < 1300, groups
    assert (
        sum(pq.ParquetFile(p).metadata.num_rows for p in files) == (manifest["records"]["included"])
    )


def _batch(n: int = 4) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [
            {
                "record_id": f"r{i}",
                "member_ref": f"m{i % 2}",
                "kind": "post",
                "category": "user.content.post",
                "created_at": CUTOFF,
                "lang": "fr",
                "text": f"text {i}",
            }
            for i in range(n)
        ],
        schema=RECORD_SCHEMA,
    )


class _Stage:
    name: ClassVar[str] = "test.stage.v1"

    def __init__(self, change: Any) -> None:
        self.change = change

    def process(self, batch: pa.RecordBatch) -> StageResult:
        result: StageResult = self.change(batch)
        return result


def test_a_stage_drops_rows_by_reason_and_the_output_says_which_went_in() -> None:
    def drop_odd(batch: pa.RecordBatch) -> StageResult:
        return StageResult(batch, dropped=pa.array([None, "odd", None, "odd"], pa.string()))

    def drop_second(batch: pa.RecordBatch) -> StageResult:  # of the two rows left: r2
        return StageResult(batch, dropped=pa.array([None, "second"], pa.string()))

    output = apply_stages([_Stage(drop_odd), _Stage(drop_second)], _batch())
    assert output.batch.column("record_id").to_pylist() == ["r0"]
    assert output.kept is not None and output.kept.to_pylist() == [0]
    assert Counter({r: n for r, _k, _c, n in output.dropped}) == Counter(odd=2, second=1)
    untouched = apply_stages([_Stage(lambda b: StageResult(b))], _batch())
    assert untouched.kept is None and untouched.batch.num_rows == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: StageResult(b.slice(0, 3)), "returned 3 rows for 4"),
        (
            lambda b: StageResult(
                b.set_column(3, "category", pa.array(["user.name"] * 4, pa.string()))
            ),
            "changed the records' category",
        ),
        (
            lambda b: StageResult(b.set_column(1, "member_ref", pa.array(["x"] * 4, pa.string()))),
            "changed the records' member_ref",
        ),
    ],
)
def test_a_stage_that_changes_its_rows_is_refused(change: Any, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        apply_stages([_Stage(change)], _batch())
