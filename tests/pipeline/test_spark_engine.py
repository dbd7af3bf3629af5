"""The Spark engine writes the embedded engine's snapshot (issue 7).

One SparkSession (``local[2]``) serves the whole file. Builds are few and small: the synthetic
platform (300 members) through both engines, two Spark runs with different partitioning, and a
sample of the property test's populations, merged into one export, against the reference.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs the extra tamis[spark]")

from hypothesis import HealthCheck, given, settings
from test_semantics_property import (
    CUTOFF,
    POLICY,
    Event,
    _event_line,
    _ts,
    populations,
    reference,
)

from tamis.keys import load_key
from tamis.lineage.merkle import merkle_root
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.pipeline.engines import parse_conf, run_build
from tamis.pipeline.engines.spark import (
    SparkEngine,
    content_digest_spark,
    spark_session,
    streaming_merkle_root,
)
from tamis.pipeline.manifest import verify_snapshot
from tamis.policy import load_policy
from tamis.synth import generate_platform
from tamis_testing import write_export

pytestmark = pytest.mark.spark

SYNTH_CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
# Fields that say when, where and by which engine a build ran; everything else must be equal.
VOLATILE = {"built_at", "run_id", "engine", "files"}
SAMPLE = 30


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    session = spark_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
            "spark.sql.adaptive.coalescePartitions.enabled": "false",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def platforms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("platform")
    for fmt in ("jsonl", "parquet"):
        generate_platform(root / fmt, members=300, seed=1, fmt=fmt)
    return {fmt: root / fmt for fmt in ("jsonl", "parquet")}


def _request(
    export: Path, out: Path, policy: str = "linkedin-2025", stages: bool = True
) -> BuildRequest:
    return BuildRequest(
        export_dir=export,
        out=out,
        policy=load_policy(policy),
        cutoff=SYNTH_CUTOFF,
        key=load_key(),
        force=True,
        run_stages=stages,
    )


def _spark_build(spark: Any, request: BuildRequest, partitions: int, batch: int = 10_000) -> dict:
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch))
    return SparkEngine(request, spark=spark).run().manifest


def _records(snapshot: Path) -> dict[str, tuple[Any, ...]]:
    rows: dict[str, tuple[Any, ...]] = {}
    for part in sorted((snapshot / "data").glob("*.parquet")):
        for r in pq.read_table(part).to_pylist():
            assert r["record_id"] not in rows
            rows[r["record_id"]] = (r["member_ref"], r["kind"], r["category"], r["created_at"],
                                    r["lang"], r["text"])  # fmt: skip
    return rows


def _quarantine(snapshot: Path) -> dict[str, list[dict[str, Any]]]:
    folder = snapshot / "quarantine"
    return {
        p.stem: pq.read_table(p).to_pylist() for p in sorted(folder.glob("*.parquet"))
    } if folder.is_dir() else {}  # fmt: skip


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same_snapshot(embedded: Path, spark: Path) -> None:
    a, b = _manifest(embedded), _manifest(spark)
    assert b["engine"] == "spark" and a["engine"] == "embedded"
    assert {k: v for k, v in b.items() if k not in VOLATILE} == {
        k: v for k, v in a.items() if k not in VOLATILE
    }
    assert _records(spark) == _records(embedded)
    assert _quarantine(spark) == _quarantine(embedded)
    assert _sha(spark / "members.parquet") == _sha(embedded / "members.parquet")
    verify_snapshot(spark)


def _both_alike(spark: Any, export: Path, root: Path, policy: str) -> None:
    """Build ``export`` with ``policy`` on both engines (``root/embedded``, ``root/spark``) and
    check that they wrote the same snapshot."""

    def request(out: str) -> BuildRequest:
        return BuildRequest(
            export_dir=export, out=root / out, policy=load_policy(policy), cutoff=CUTOFF,
            key=load_key(),
        )  # fmt: skip

    build_snapshot(request("embedded"))
    _spark_build(spark, request("spark"), partitions=2)
    _same_snapshot(root / "embedded", root / "spark")


def _manifest(snapshot: Path) -> dict[str, Any]:
    import json

    manifest: dict[str, Any] = json.loads((snapshot / "manifest.json").read_text())
    return manifest


# --- no Spark needed ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 100])
def test_streaming_merkle_root_is_the_merkle_root(n: int) -> None:
    refs = sorted(f"ref{i:04d}" for i in range(n))
    assert streaming_merkle_root(iter(refs)) == merkle_root(refs)


def test_spark_conf_pairs() -> None:
    assert parse_conf(["spark.a=1", "spark.b=x=y"]) == {"spark.a": "1", "spark.b": "x=y"}
    with pytest.raises(Exception, match="key=value"):
        parse_conf(["spark.a"])
    with pytest.raises(Exception, match="--engine spark"):
        run_build(_request(Path("x"), Path("y")), "embedded", master="local[2]")
    with pytest.raises(Exception, match="available: embedded, spark"):
        run_build(_request(Path("x"), Path("y")), "flink")


def test_parquet_rows_are_validated_through_a_symbolic_link(tmp_path: Path) -> None:
    """Spark reports a file by the path it was given; an export reached through a symbolic link
    must still find its files (it failed with a KeyError)."""
    import pyarrow as pa

    from tamis.pipeline.engines import _arrow_tasks as tasks
    from tamis.sources.schema import MEMBERS

    real = tmp_path / "real"
    real.mkdir()
    table = pa.table(
        {
            "member_id": ["m1", "m2"],
            "country": ["FR", "DE"],
            "birth_date": pa.array([None, None], pa.date32()),
            "created_at": pa.array(
                [datetime(2020, 1, 1, tzinfo=UTC)] * 2, pa.timestamp("us", "UTC")
            ),
        }
    )
    pq.write_table(table, real / "members.parquet")
    (tmp_path / "link").symlink_to(real)
    given = tmp_path / "link" / "members.parquet"
    batch = table.append_column("_path", pa.array([f"file:{given}"] * 2)).append_column(
        "_row", pa.array([0, 1], pa.int64())
    )
    files = {os.path.realpath(given): ("members.parquet", 0)}
    out = pa.Table.from_batches(
        list(tasks.validate_parquet([batch.to_batches()[0]], MEMBERS, files))
    )
    assert out.column("member_id").to_pylist() == ["m1", "m2"]
    assert out.column("_file").to_pylist() == ["members.parquet"] * 2
    assert out.column("_line").to_pylist() == [1, 2]


# --- both engines ---------------------------------------------------------------------------------


def test_synthetic_platform_same_snapshot_on_both_engines(
    spark: Any, platforms: dict[str, Path], tmp_path: Path
) -> None:
    export = platforms["jsonl"]
    build_snapshot(_request(export, tmp_path / "embedded"))
    manifest = _spark_build(spark, _request(export, tmp_path / "spark"), partitions=2)
    _same_snapshot(tmp_path / "embedded", tmp_path / "spark")
    assert manifest["records"]["included"] > 1000
    assert manifest["stage_counts"]["pii.redact.v1"]  # the PII stage ran in the workers
    data = spark.read.parquet(str(tmp_path / "spark" / "data"))
    assert content_digest_spark(data) == manifest["content_digest"]


def test_minimal_preset_deduplicates_the_same_on_both_engines(
    spark: Any, platforms: dict[str, Path], tmp_path: Path
) -> None:
    """``minimal`` (PII redaction, then exact and near-duplicate removal): Spark's distributed
    MinHash LSH drops the same records as the embedded engine, with the same counts and the same
    ``dedup`` section, and three shuffle partitions give the same snapshot as two."""
    export = platforms["parquet"]
    embedded = build_snapshot(_request(export, tmp_path / "embedded", "minimal")).manifest
    manifest = _spark_build(spark, _request(export, tmp_path / "spark", "minimal"), 3, batch=500)
    _same_snapshot(tmp_path / "embedded", tmp_path / "spark")
    dedup = manifest["dedup"]
    assert dedup == embedded["dedup"]
    assert dedup["exact"] > 0 and dedup["near"] > 0  # the platform has both kinds
    assert manifest["records"]["excluded_by_reason"]["duplicate"] == dedup["dropped"]
    assert set(dedup["pii_copies"]) >= {"strings", "occurrences", "distribution", "by_type"}


def test_partitioning_does_not_change_the_data(
    spark: Any, platforms: dict[str, Path], tmp_path: Path
) -> None:
    """Parquet input through Spark's reader; 2 vs 7 shuffle partitions and other batch sizes.
    (Without the text stages, which the test above runs: they see one record at a time.)"""
    export = platforms["parquet"]
    build_snapshot(_request(export, tmp_path / "embedded", "minimal", stages=False))
    one = _spark_build(spark, _request(export, tmp_path / "p2", "minimal", False), partitions=2)
    two = _spark_build(spark, _request(export, tmp_path / "p7", "minimal", False), 7, batch=333)
    assert one["content_digest"] == two["content_digest"]
    assert one["members_root"] == two["members_root"]
    assert _records(tmp_path / "p2") == _records(tmp_path / "p7")
    _same_snapshot(tmp_path / "embedded", tmp_path / "p7")


# --- a sample of the property test's populations --------------------------------------------------


def _prefixed(
    k: int, members: list[dict[str, Any]], events: list[Event], records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[Event], list[dict[str, Any]]]:
    """Population ``k`` with its own ids, so that many populations fit in one export."""
    p = f"x{k}-"
    return (
        [{**m, "member_id": p + m["member_id"]} for m in members],
        [
            Event(
                p + e.event_id,
                p + e.member_id,
                e.setting,
                e.value,
                e.ts,
                e.offset_minutes,
                e.broken,
            )
            for e in events
        ],
        [{**r, "record_id": p + r["record_id"], "member_id": p + r["member_id"]} for r in records],
    )


def _sample_populations() -> list[tuple[list[dict[str, Any]], list[Event], list[dict[str, Any]]]]:
    drawn: list[Any] = []

    @settings(
        max_examples=SAMPLE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(populations())
    def draw(population: Any) -> None:
        drawn.append(population)

    draw()
    return [_prefixed(k, *p) for k, p in enumerate(drawn[:SAMPLE])]


# Rows the reader rejects or the builder quarantines, appended to the merged export: their
# ids are not unique, a timestamp has no offset, a line is not JSON; none may reach a snapshot.
MESSY_MEMBERS = [
    {"member_id": "dup-m", "country": "FR", "birth_date": "1980-01-01",
     "created_at": "2020-01-01T00:00:00Z"},
    {"member_id": "dup-m", "country": "DE", "birth_date": "1981-01-01",
     "created_at": "2020-01-01T00:00:00Z"},
    {"member_id": "bad-m", "country": "FR", "created_at": "2020-01-01T00:00:00"},
]  # fmt: skip
MESSY_CONTENT: list[dict[str, Any] | str] = [
    {"record_id": "dup-r", "member_id": "x0-m0", "kind": "post", "visibility": "public",
     "created_at": "2025-01-01T00:00:00Z", "text": "a", "lang": "en"},
    {"record_id": "dup-r", "member_id": "x0-m0", "kind": "post", "visibility": "public",
     "created_at": "2025-01-01T00:00:00Z", "text": "b", "lang": "en"},
    {"record_id": "bad-ts", "member_id": "x0-m0", "kind": "post", "visibility": "public",
     "created_at": "2025-01-01 00:00:00", "text": "c", "lang": "en"},
    {"record_id": "bad-kind", "member_id": "x0-m0", "kind": "story", "visibility": "public",
     "created_at": "2025-01-01T00:00:00Z", "text": "d", "lang": "en"},
    '{"record_id": "broken", "member_id": ',
    {"record_id": "by-dup", "member_id": "dup-m", "kind": "post", "visibility": "public",
     "created_at": "2025-01-01T00:00:00Z", "text": "e", "lang": "en"},
]  # fmt: skip


def test_property_sample_through_spark(spark: Any, tmp_path: Path) -> None:
    sample = _sample_populations()
    assert len(sample) == SAMPLE
    members = [m for p in sample for m in p[0]]
    events = [e for p in sample for e in p[1]]
    records = [r for p in sample for r in p[2]]
    export = write_export(
        tmp_path / "export",
        [
            *(
                {
                    **m,
                    "birth_date": m["birth_date"].isoformat() if m["birth_date"] else None,
                    "created_at": "2020-01-01T00:00:00Z",
                }
                for m in members
            ),
            *MESSY_MEMBERS,
        ],
        [
            *(
                {
                    "record_id": r["record_id"],
                    "member_id": r["member_id"],
                    "kind": r["kind"],
                    "visibility": r["visibility"],
                    "created_at": _ts(r["created_at"], r["offset"]),
                    "text": f"text of {r['record_id']}",
                    "lang": "en",
                }
                for r in records
            ),
            *MESSY_CONTENT,
        ],
        [_event_line(e) for e in events],
    )

    def request(out: str) -> BuildRequest:
        return BuildRequest(
            export_dir=export, out=tmp_path / out, policy=POLICY, cutoff=CUTOFF, key=load_key()
        )

    build_snapshot(request("embedded"))
    manifest = _spark_build(spark, request("spark"), partitions=3)
    want_ids: set[str] = set()
    want_reasons: Counter[str] = Counter()
    for p in sample:
        ids, reasons = reference(*p)
        want_ids |= ids
        want_reasons.update(reasons)
    # The messy rows: 5 content rows quarantined, 1 whose author's id is not unique.
    want_reasons.update({"quarantined": 5, "member_unknown": 1})
    assert set(_records(tmp_path / "spark")) == want_ids
    assert manifest["records"]["excluded_by_reason"] == dict(sorted(want_reasons.items()))
    assert manifest["quarantined"]["members"] == 3
    _same_snapshot(tmp_path / "embedded", tmp_path / "spark")


def test_auto_consent_stops_on_both_engines_when_the_registry_disagrees(
    spark: Any, tmp_path: Path
) -> None:
    """m1 objected in the registry, the export's events keep m1 in: neither engine may build
    from the export alone without being told to (``--consent export``)."""
    from tamis.consent import open_registry
    from tamis.errors import InputError

    member = {"member_id": "m1", "country": "FR", "birth_date": "1980-05-05",
              "created_at": "2020-01-01T00:00:00Z"}  # fmt: skip
    post = {"record_id": "r1", "member_id": "m1", "kind": "post", "visibility": "public",
            "created_at": "2025-06-01T00:00:00Z", "text": "bonjour", "lang": "fr"}  # fmt: skip
    allow = {"event_id": "e1", "member_id": "m1", "setting": "genai_training", "value": True,
             "ts": "2025-06-01T00:00:00Z", "channel": "settings_page"}  # fmt: skip
    export = write_export(tmp_path / "export", [member], [post], [allow])
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_registry(db) as registry:
        registry.set("m1", False, at="2025-12-01T00:00:00Z", channel="settings_page")

    def request(out: str, consent: str) -> BuildRequest:
        return BuildRequest(
            export_dir=export, out=tmp_path / out, policy=POLICY, cutoff=CUTOFF, key=load_key(),
            consent=consent, registry_url=db,  # type: ignore[arg-type]
        )  # fmt: skip

    with pytest.raises(InputError, match=r"disagree.*m1 objected"):
        build_snapshot(request("embedded", "auto"))
    with pytest.raises(InputError, match=r"disagree.*m1 objected"):
        _spark_build(spark, request("spark", "auto"), partitions=2)
    assert not (tmp_path / "embedded").exists() and not (tmp_path / "spark").exists()
    build_snapshot(request("embedded", "export"))
    _spark_build(spark, request("spark", "export"), partitions=2)
    assert set(_records(tmp_path / "spark")) == set(_records(tmp_path / "embedded")) == {"r1"}
    for engine in ("embedded", "spark"):  # built as chosen, the disagreement counted
        disagreement = _manifest(tmp_path / engine)["consent"]["registry_disagreement"]
        assert disagreement == {"registry": db, "members": 1}, engine


def test_settings_that_change_what_is_read_cannot_be_overridden() -> None:
    """--spark-conf may tune Spark, not make it skip files or fold column names."""
    from tamis.pipeline.engines.spark import REQUIRED_CONF

    session = spark_session(
        "local[2]",
        {"spark.sql.files.ignoreCorruptFiles": "true", "spark.sql.caseSensitive": "false"},
    )
    for key in ("spark.sql.files.ignoreCorruptFiles", "spark.sql.files.ignoreMissingFiles",
                "spark.sql.caseSensitive", "spark.sql.session.timeZone"):  # fmt: skip
        assert session.conf.get(key) == REQUIRED_CONF[key], key
    # the same when a session is handed to the engine with settings beside it
    request = _request(Path("/nonexistent"), Path("/nonexistent-out"))
    SparkEngine(request, spark=session, conf={"spark.sql.files.ignoreMissingFiles": "true"})
    assert session.conf.get("spark.sql.files.ignoreMissingFiles") == "false"


def test_workers_run_this_interpreter(spark: Any) -> None:
    assert os.environ["PYSPARK_PYTHON"] == sys.executable


@pytest.mark.parametrize("consent", ["export", "registry"])
def test_an_erased_member_is_out_on_both_engines(spark: Any, tmp_path: Path, consent: str) -> None:
    """m1's data was erased (a tombstone in the registry): whatever the export still holds and
    wherever consent comes from, neither engine may put it back into a snapshot."""
    from tamis.consent import open_registry
    from tamis.rights import RightsDesk

    members = [{"member_id": m, "country": "FR", "birth_date": "1980-05-05",
                "created_at": "2020-01-01T00:00:00Z"} for m in ("m1", "m2")]  # fmt: skip
    posts = [{"record_id": f"r{i}", "member_id": f"m{i}", "kind": "post", "visibility": "public",
              "created_at": "2025-06-01T00:00:00Z", "text": "bonjour", "lang": "fr"}
             for i in (1, 2)]  # fmt: skip
    export = write_export(tmp_path / "export", members, posts, [] if consent == "export" else None)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_registry(db) as registry:
        RightsDesk(registry, load_key()).erase("m1", datetime(2025, 12, 1, tzinfo=UTC))
        # a registry with no event for the setting is refused as a consent source: m2 allowed
        registry.set("m2", True, datetime(2025, 1, 1, tzinfo=UTC), channel="settings_page")

    def request(out: str) -> BuildRequest:
        return BuildRequest(
            export_dir=export, out=tmp_path / out, policy=POLICY, cutoff=CUTOFF, key=load_key(),
            consent=consent, registry_url=db,  # type: ignore[arg-type]
        )  # fmt: skip

    build_snapshot(request("embedded"))
    _spark_build(spark, request("spark"), partitions=2)
    for engine in ("embedded", "spark"):
        assert set(_records(tmp_path / engine)) == {"r2"}, engine
        manifest = _manifest(tmp_path / engine)
        assert manifest["members"]["excluded_by_reason"] == {"erased": 1}
        assert manifest["consent"]["erasures"] == {"registry": db, "tombstones": 1}


def test_file_names_column_case_and_nameless_members_read_alike(spark: Any, tmp_path: Path) -> None:
    """Three ways Spark read an export otherwise than the embedded engine: a consent part named
    ``ev[1].parquet`` (a Hadoop glob: it read ``ev1.parquet`` twice and lost m1's objection), a
    members part spelling ``Country`` (matched case-insensitively: m2 counted as French), and a
    member without a name (pyarrow's join dropped the row: both engines crashed)."""
    import pyarrow as pa

    ts = pa.timestamp("us", "UTC")

    def events(rows: list[tuple[str, str, bool]]) -> pa.Table:
        n = len(rows)
        return pa.table({
            "event_id": [r[0] for r in rows], "member_id": [r[1] for r in rows],
            "setting": ["genai_training"] * n, "value": [r[2] for r in rows],
            "ts": pa.array([datetime(2025, 12, 1, tzinfo=UTC)] * n, ts),
            "channel": ["settings_page"] * n,
        })  # fmt: skip

    def members(member_id: str, country: str, **names: str | None) -> pa.Table:
        return pa.table({
            "member_id": [member_id], country: ["FR"],
            "birth_date": pa.array([datetime(1980, 1, 1).date()]),
            "created_at": pa.array([datetime(2020, 1, 1, tzinfo=UTC)], ts),
            "first_name": pa.array([names.get("first_name")], pa.string()),
            "last_name": pa.array([names.get("last_name")], pa.string()),
            "headline": ["Data engineer"],
        })  # fmt: skip

    posts = [{"record_id": f"r{i}", "member_id": f"m{i}", "kind": "post", "visibility": "public",
              "created_at": "2025-06-01T00:00:00Z", "text": f"post {i}", "lang": "en"}
             for i in (1, 2, 3)]  # fmt: skip
    export = write_export(tmp_path / "export", [], posts)
    (export / "members.jsonl").unlink()
    (export / "members").mkdir()
    pq.write_table(members("m1", "country", first_name="Ana", last_name="Lima"),
                   export / "members" / "part-0.parquet")  # fmt: skip
    pq.write_table(members("m2", "Country", first_name="Bo"), export / "members" / "part-1.parquet")
    pq.write_table(members("m3", "country"), export / "members" / "part-2.parquet")  # no name
    (export / "consent_events").mkdir()
    pq.write_table(events([("e1", "m1", False)]), export / "consent_events" / "ev[1].parquet")
    pq.write_table(events([("e2", "m3", True)]), export / "consent_events" / "ev1.parquet")

    _both_alike(spark, export, tmp_path, "linkedin-2025")
    manifest = _manifest(tmp_path / "spark")
    assert manifest["members"]["excluded_by_reason"] == {"objected": 1, "region_unknown": 1}
    records = _records(tmp_path / "spark")
    assert "r3" in records and not {"r1", "r2"} & set(records)


def test_a_line_quarantined_twice_and_an_empty_snapshot_alike(spark: Any, tmp_path: Path) -> None:
    """A broken line naming two members is quarantined once per member (Spark merged the two
    entries into one and added their line numbers); an empty snapshot has one data file with
    the schema on both engines (Spark wrote none)."""
    members = [{"member_id": m, "country": "FR", "birth_date": "1980-05-05",
                "created_at": "2020-01-01T00:00:00Z"} for m in ("m1", "m2")]  # fmt: skip
    broken = '{"record_id": "b1", "member_id": "m1", "x": 1, "member_id": "m2", "text": '
    post = {"record_id": "r1", "member_id": "m1", "kind": "message", "visibility": "private",
            "created_at": "2025-06-01T00:00:00Z", "text": "salut", "lang": "fr"}  # fmt: skip
    export = write_export(tmp_path / "export", members, [post, broken], [])

    _both_alike(spark, export, tmp_path, "minimal")
    assert [e["line"] for e in _quarantine(tmp_path / "spark")["content"]] == [2, 2]
    assert _manifest(tmp_path / "spark")["quarantined"] == {"content": 2}
    for engine in ("embedded", "spark"):
        (part,) = (tmp_path / engine / "data").glob("*.parquet")
        assert pq.read_table(part).num_rows == 0 and pq.read_schema(part).names[0] == "record_id"


def test_nanosecond_parquet_timestamps_read_alike(spark: Any, tmp_path: Path) -> None:
    """Spark's Parquet reader refuses TIMESTAMP(NANOS) (the build crashed); such files go
    through the reader in tasks, rounded as the embedded engine rounds them (a consent event
    up: an allow half a microsecond after the cutoff stays after it)."""
    import pyarrow as pa

    ns = pa.timestamp("ns", "UTC")
    export = write_export(
        tmp_path / "export",
        [{"member_id": m, "country": "FR", "birth_date": "1980-05-05",
          "created_at": "2020-01-01T00:00:00Z"} for m in ("m1", "m2")],
        [],
    )  # fmt: skip
    (export / "content.jsonl").unlink()
    pq.write_table(
        pa.table({
            "record_id": ["r1", "r2", "r2"], "member_id": ["m1", "m2", "m2"],
            "kind": ["post"] * 3, "visibility": ["public"] * 3, "text": ["a", "b", "c"],
            "created_at": pa.array([1748736000_000000123] * 3, ns),
        }),
        export / "content.parquet",
    )  # fmt: skip
    cutoff_ns = int(CUTOFF.timestamp()) * 1_000_000_000
    pq.write_table(
        pa.table({
            "event_id": ["e1", "e2"], "member_id": ["m1", "m1"],
            "setting": ["genai_training"] * 2, "value": [False, True],
            "ts": pa.array([cutoff_ns - 86_400_000_000_000, cutoff_ns + 500], ns),
            "channel": ["settings_page"] * 2,
        }),
        export / "consent_events.parquet",
    )  # fmt: skip

    _both_alike(spark, export, tmp_path, "minimal")
    manifest = _manifest(tmp_path / "spark")
    assert manifest["members"]["excluded_by_reason"] == {"objected": 1}
    assert manifest["quarantined"] == {"content": 2}  # r2 twice
    assert _records(tmp_path / "spark") == {}


def test_duplicate_ids_are_found_alike_on_lines_spark_parsed_otherwise(
    spark: Any, tmp_path: Path
) -> None:
    """Spark's JSON reader skipped the id of a line with a 1,500-digit number in an ignored
    field, which tamis' reader accepts: both copies of r1 went into the Spark snapshot. And a
    line giving record_id twice made each engine quarantine another copy. Both engines now scan
    the ids the same way."""
    import json

    members = [{"member_id": m, "country": "FR", "birth_date": "1980-05-05",
                "created_at": "2020-01-01T00:00:00Z"} for m in ("m1", "m2")]  # fmt: skip

    def post(record: str, member: str) -> dict[str, Any]:
        return {"record_id": record, "member_id": member, "kind": "post", "visibility": "public",
                "created_at": "2025-06-01T00:00:00Z", "text": f"{record} by {member}"}  # fmt: skip

    long_number = json.dumps(post("r1", "m2"))[:-1] + ', "n": ' + "1" * 1500 + "}"
    twice = json.dumps(post("r2", "m2"))[:-1] + ', "record_id": "r3"}'
    export = write_export(
        tmp_path / "export", members, [post("r1", "m1"), long_number, post("r2", "m1"),
                                       post("r3", "m1"), twice], []
    )  # fmt: skip
    _both_alike(spark, export, tmp_path, "minimal")
    assert "r1" not in _records(tmp_path / "spark")  # both copies quarantined


def test_a_member_with_an_invalid_copy_is_out_on_both_engines(spark: Any, tmp_path: Path) -> None:
    """m1 is listed twice: the copy that says m1 is a minor is rejected for another field (a
    created_at without offset, a broken line). The valid copy was taken as unique, and m1's
    post went in; every copy of a repeated id is out, the rejected ones counted."""
    adult = {"member_id": "m1", "country": "FR", "birth_date": "1980-05-05",
             "created_at": "2020-01-01T00:00:00Z"}  # fmt: skip
    minor = {**adult, "birth_date": "2012-06-01", "created_at": "2024-01-01T00:00:00"}
    m2 = {**adult, "member_id": "m2"}
    broken = '{"member_id": "m2", "country": "FR", "birth_date": "2012-06-01",'
    posts = [{"record_id": f"r{i}", "member_id": f"m{i}", "kind": "post", "visibility": "public",
              "created_at": "2025-06-01T00:00:00Z", "text": "bonjour", "lang": "fr"}
             for i in (1, 2)]  # fmt: skip
    export = write_export(tmp_path / "export", [adult, minor, m2, broken], posts, [])
    _both_alike(spark, export, tmp_path, "minimal")
    for engine in ("embedded", "spark"):
        assert not _records(tmp_path / engine), engine
        quarantined = _quarantine(tmp_path / engine)["members"]
        repeated = [e for e in quarantined if e["field"] == "member_id"]
        assert sorted((e["line"], e["reason"]) for e in repeated) == [
            (1, "member_id is not unique (2 rows)"),
            (3, "member_id is not unique (2 rows)"),
        ], engine
