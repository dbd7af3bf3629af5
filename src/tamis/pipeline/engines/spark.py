"""The Spark engine: the embedded engine's pipeline, scheduled on Apache Spark.

Nothing about *what* a snapshot contains is defined here. The consent semantics are the SQL of
:mod:`tamis.pipeline.semantics` (run by Spark SQL instead of DuckDB, over the same rule tables);
input rows are validated by the export reader's own rules (:mod:`tamis.sources.reader`, run in
Python workers through ``mapInArrow``); text stages are the very stage objects the embedded
engine builds (:func:`tamis.pipeline.build.build_stages`), run per Arrow batch by the embedded
engine's scheduler; the manifest is assembled by the embedded engine's code. Spark only decides
where and in which order the work runs:

1. members, consent events and content are read by Spark's Parquet reader (row positions from
   ``_metadata.row_index``) or, for JSONL, one task per file with the export reader; duplicate
   ids are found by a raw scan with Spark's own readers, as the embedded engine does with DuckDB;
2. consent as of the cutoff, member eligibility and record classification are Spark SQL joins
   and window functions; pseudonyms are computed in workers (the key travels in the task
   closure, never in a log or a SQL string);
3. a single ``mapInArrow`` pass counts the classification and runs the text stages; its output
   (records and small tally rows) is persisted once; when the purpose deduplicates, exact and
   near duplicates are removed with the functions of :mod:`tamis.dedup` (distributed MinHash
   LSH: band keys grouped with a shuffle, see :meth:`SparkEngine._deduplicate`); the records
   are written by Spark's Parquet writer;
4. the driver renames the part files to ``data/part-NNNNN.parquet``, writes ``members.parquet``
   and the quarantine from sorted, streamed results, and publishes atomically
   (:class:`~tamis.pipeline.publish.Workspace`).

The snapshot has the same manifest as the embedded engine's (``engine: spark``): same record and
member counts, same reasons, same ``content_digest`` and ``members_root``. Data files differ in
how rows are split and ordered (Spark decides), which the content digest does not see.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tamis.errors import InputError, SnapshotError, TamisError
from tamis.lineage.merkle import EMPTY_ROOT, leaf_hash, node_hash
from tamis.pipeline import semantics
from tamis.pipeline.build import (
    BuildRequest,
    BuildResult,
    BuildRun,
    Progress,
    SnapshotBuilder,
    _Quarantine,
    _Tally,
    build_stages,
    erasure_tombstones,
    registry_beside_export,
    registry_consent,
    registry_disagreement_report,
)
from tamis.pipeline.digest import ContentDigest
from tamis.pipeline.engines import _arrow_tasks as tasks
from tamis.pipeline.manifest import write_manifest
from tamis.pipeline.publish import Workspace
from tamis.pipeline.stages import RECORD_SCHEMA
from tamis.sources.reader import table_files
from tamis.sources.schema import CONSENT_EVENTS, CONTENT, MEMBERS, TABLES, Table
from tamis.timefmt import ARROW_TS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MEMBERS_ROW_GROUP = 1024 * 1024  # pyarrow's default: members.parquet as the embedded engine's

# Settings every tamis Spark session needs (same instants, same files whatever the cluster).
REQUIRED_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    # column names as the reader matches them: "Country" is not "country" (Spark's default
    # would read a part file's Country as the member's country)
    "spark.sql.caseSensitive": "true",
    # a file Spark cannot read (corrupt, or gone) stops the build; skipped, a consent part's
    # objections would be lost without a word (--spark-conf may not turn these on)
    "spark.sql.files.ignoreCorruptFiles": "false",
    "spark.sql.files.ignoreMissingFiles": "false",
}
# Defaults a user may override with --spark-conf.
DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    "spark.sql.adaptive.enabled": "true",
}
LOCAL_CONF: dict[str, str] = {  # local[N]: stay on the loopback interface, no network
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def _need_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        raise TamisError(
            "the Spark engine needs pyspark: pip install 'tamis[spark]' (and Java 17 or later)"
        ) from None


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A SparkSession for tamis (``getOrCreate``: an active session is reused, and the settings
    tamis requires are applied to it).

    ``master`` defaults to ``local[*]`` when no master is configured (``spark-submit`` sets one).
    Workers run this interpreter (``PYSPARK_PYTHON``) unless the environment says otherwise.
    """
    _need_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("tamis")
    settings = {**DEFAULT_CONF, **REQUIRED_CONF}
    if master:
        builder = builder.master(master)
    elif "SPARK_MASTER" not in os.environ and not _submitted():
        master = "local[*]"
        builder = builder.master(master)
    if master and master.startswith("local"):
        settings.update(LOCAL_CONF)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings.update(conf or {})
    for k, v in settings.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    for k, v in REQUIRED_CONF.items():
        spark.conf.set(k, v)
    return spark


def _submitted() -> bool:
    """Whether this driver was started by spark-submit (which configures the master)."""
    return "pyspark-shell" in os.environ.get("PYSPARK_SUBMIT_ARGS", "") or bool(
        os.environ.get("SPARK_ENV_LOADED")
    )


def streaming_merkle_root(sorted_refs: Iterable[str]) -> str:
    """:func:`tamis.lineage.merkle.merkle_root` over a stream, in O(log n) memory."""
    merkle = _StreamingMerkle()
    for ref in sorted_refs:
        merkle.add(ref)
    return merkle.root()


QUARANTINE_COLUMNS = ("file", "line", "field", "reason", "key", "member_id")


def _rejects(read: DataFrame) -> DataFrame:
    """The rejected lines of a unified read, as quarantine entries."""
    from pyspark.sql import functions as F

    return read.where(F.col("_reason").isNotNull()).select(
        F.col("_file").alias("file"),
        F.col("_line").alias("line"),
        F.col("_field").alias("field"),
        F.col("_reason").alias("reason"),
        F.col("_key").alias("key"),
        F.col("_member").alias("member_id"),
        "_fidx",
    )


class _Rows:
    """A stand-in for a DuckDB result: what ``SnapshotBuilder._manifest`` reads from ``con``."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class _EligibilityCounts:
    """Answers the manifest's one query (members by reason) from counts Spark computed."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def sql(self, query: str) -> _Rows:
        if "FROM eligibility" not in query:  # pragma: no cover - guards a change in build.py
            raise TamisError(f"the Spark engine cannot answer the manifest query {query!r}")
        return _Rows(self.rows)


class SparkEngine:
    """One build on Spark: call :meth:`run` once. Takes the embedded builder's request."""

    def __init__(
        self,
        request: BuildRequest,
        progress: Progress | None = None,
        *,
        spark: SparkSession | None = None,
        master: str | None = None,
        conf: Mapping[str, str] | None = None,
    ) -> None:
        self.request = request
        self.purpose = request.purpose_name
        self.progress = progress or (lambda phase, n, total: None)
        self.cutoff = request.cutoff.astimezone(UTC)
        self.started = datetime.now(UTC)  # "now" for the consent state at build time
        self.tally = _Tally()
        if spark is None:
            spark = spark_session(master, conf)
        else:
            for k, v in {**(conf or {}), **REQUIRED_CONF}.items():  # required settings win
                spark.conf.set(k, v)
        self.spark = spark
        self._prefix = f"tamis_{uuid.uuid4().hex[:8]}_"
        self._views: list[str] = []
        self._cached: list[DataFrame] = []
        self._kept: DataFrame | None = None  # the included records, once processed
        self._parquet_readable: dict[str, bool] = {}  # by table: see _spark_reads_parquet

    # --- helpers --------------------------------------------------------------------------------
    def _view(self, name: str, df: DataFrame) -> str:
        view = self._prefix + name
        df.createOrReplaceTempView(view)
        self._views.append(view)
        return view

    def _sql(self, query: str, **args: Any) -> DataFrame:
        return self.spark.sql(query, args=args or None)

    def _persist(self, df: DataFrame) -> DataFrame:
        from pyspark import StorageLevel

        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self._cached.append(df)
        return df

    def _frame(self, table: pa.Table) -> DataFrame:
        return self.spark.createDataFrame(table)

    def _cleanup(self) -> None:
        for view in self._views:
            self.spark.catalog.dropTempView(view)
        for df in self._cached:
            df.unpersist()

    def _files(self, table: Table) -> list[Path]:
        files = table_files(self.request.export_dir, table.name)
        if not files and table.required:
            raise InputError(
                f"required table {table.name} is missing "
                f"(expected {table.name}.jsonl, {table.name}.parquet or {table.name}/*.parquet)",
                file=str(self.request.export_dir),
            )
        return files

    def _display(self, path: Path) -> str:
        return path.relative_to(self.request.export_dir).as_posix()

    # --- reading --------------------------------------------------------------------------------
    def _read(self, table: Table) -> DataFrame | None:
        """The table as unified read rows (valid rows and rejects, see ``_arrow_tasks``)."""
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        files = self._files(table)
        if not files:
            return None
        out_schema = from_arrow_schema(tasks.read_schema(table))
        if self._spark_reads_parquet(files, table):
            index = {os.path.realpath(p): (self._display(p), i) for i, p in enumerate(files)}
            raw = self._parquet(files)
            present = [c.name for c in table.columns if c.name in raw.columns]
            raw = raw.select(
                *present,
                F.col("_metadata.file_path").alias("_path"),
                F.col("_metadata.row_index").alias("_row"),
            )
            return raw.mapInArrow(
                partial(tasks.validate_parquet, table=table, files=index), out_schema
            )
        rows = pa.table(
            {
                "path": pa.array([str(p.resolve()) for p in files], pa.string()),
                "display": pa.array([self._display(p) for p in files], pa.string()),
                "fidx": pa.array(range(len(files)), pa.int64()),
            }
        )
        listing = self._frame(rows).repartition(max(1, len(files)))
        return listing.mapInArrow(partial(tasks.read_files, table=table), out_schema)

    def _spark_reads_parquet(self, files: list[Path], table: Table) -> bool:
        """Whether Spark's Parquet reader can read ``files`` (all Parquet, checked as the reader
        checks them). Not when one holds nanosecond timestamps, which Spark refuses
        (``TIMESTAMP(NANOS)``): those go through the reader in tasks, one per file. Asked for
        the rows and for the ids of a table: its footers are read once."""
        if table.name not in self._parquet_readable:
            parquet = all(p.suffix == ".parquet" for p in files)
            self._parquet_readable[table.name] = parquet and not any(
                [_check_parquet_schema(p, table, self._display(p)) for p in files]
            )
        return self._parquet_readable[table.name]

    def _raw_ids(self, table: Table, column: str) -> DataFrame:
        """The raw ids of a table for the duplicate check: Parquet by Spark's own reader (exact,
        typed columns); JSONL, and Parquet Spark cannot read, by the embedded engine's scan in a
        task per file (:func:`~tamis.pipeline.engines._arrow_tasks.read_ids`)."""
        files = self._files(table)
        if self._spark_reads_parquet(files, table):
            return self._parquet(files).select(column)
        listing = self._frame(pa.table({"path": [str(p.resolve()) for p in files]}))
        return listing.repartition(max(1, len(files))).mapInArrow(
            partial(tasks.read_ids, column=column), f"`{column}` STRING"
        )

    def _parquet(self, files: list[Path]) -> DataFrame:
        """The Parquet files, each read once: Hadoop takes a path for a pattern, so that
        ``ev[1].parquet`` would read ``ev1.parquet`` instead (and lose the objections it holds)."""
        read = self.spark.read.option("mergeSchema", "true").parquet(*(_literal(p) for p in files))
        _check_read(read, files, self._display)
        return read

    def _entries(self, *parts: DataFrame) -> list[list[dict[str, Any]]]:
        """Quarantine entries of several frames in one Spark job, each part in its order.

        A part has ``file``, ``line``, ``field``, ``reason``, ``key``, ``member_id`` and
        ``_fidx`` (the file's index, or null to order by file name). Entries are expected to be
        few: they are collected on the driver.
        """
        from pyspark.sql import functions as F

        union = None
        for i, part in enumerate(parts):
            tagged = part.select(*QUARANTINE_COLUMNS, "_fidx", F.lit(i).alias("_part"))
            union = tagged if union is None else union.unionByName(tagged)
        assert union is not None
        rows = union.toArrow().to_pylist()
        out: list[list[dict[str, Any]]] = [[] for _ in parts]
        for row in rows:
            out[row.pop("_part")].append(row)
        for entries in out:
            entries.sort(
                key=lambda r: (
                    (r["_fidx"], "", r["line"])
                    if r["_fidx"] is not None
                    else (-1, r["file"], r["line"])
                )
            )
            for r in entries:
                del r["_fidx"]
        return out

    # --- members --------------------------------------------------------------------------------
    def _load_members(self, quarantine: _Quarantine) -> DataFrame:
        """Valid members whose id is unique; rejects and every copy of a duplicate quarantined."""
        from pyspark.sql import functions as F

        read = self._read(MEMBERS)
        assert read is not None  # required table
        read = self._persist(read)
        valid = read.where(F.col("_reason").isNull())
        # a rejected copy counts as a copy (build.rejected_row_ids): every copy is then out
        rejected = read.where(F.col("_reason").isNotNull())
        named = rejected.select(
            F.explode(F.array_distinct(F.array("_key", "_member"))).alias("member_id")
        ).where(F.col("member_id").isNotNull())
        counts = (
            valid.select("member_id")
            .unionByName(named)
            .groupBy("member_id")
            .count()
            .where(F.col("count") > 1)
        )
        dups = valid.join(counts, "member_id").select(
            F.col("_file").alias("file"),
            F.col("_line").alias("line"),
            F.lit("member_id").alias("field"),
            F.concat(F.lit("member_id is not unique ("), F.col("count"), F.lit(" rows)")).alias(
                "reason"
            ),
            F.col("member_id").alias("key"),
            "member_id",
            F.lit(None).cast("long").alias("_fidx"),
        )
        rejects, duplicates = self._entries(_rejects(read), dups)
        quarantine.add("members", rejects)
        quarantine.add("members", duplicates)
        members = valid.drop(*tasks.READ_EXTRA.names).join(
            counts.select("member_id"), "member_id", "left_anti"
        )
        self.progress("members", 1, None)
        return members

    # --- consent --------------------------------------------------------------------------------
    def _consent_source(self) -> str:
        has_export = bool(table_files(self.request.export_dir, CONSENT_EVENTS.name))
        choice = self.request.consent
        if choice == "export" and not has_export:
            raise InputError(
                "--consent export, but the export has no consent_events table",
                file=str(self.request.export_dir),
            )
        if choice == "auto":
            return "export" if has_export else "registry"
        return choice

    def _load_consent(
        self, quarantine: _Quarantine, members: DataFrame
    ) -> tuple[dict[str, Any], DataFrame, DataFrame]:
        setting = self.request.policy.policy.purpose(self.purpose).setting
        if self._consent_source() == "export":
            report, state, invalid = self._consent_from_export(quarantine, members, setting)
            self._check_registry_agrees(members, state, invalid, setting, report)
            return report, state, invalid
        return self._consent_from_registry(members, setting)

    def _check_registry_agrees(
        self,
        members: DataFrame,
        state: DataFrame,
        invalid: DataFrame,
        setting: str,
        consent: dict[str, Any],
    ) -> None:
        """As the embedded engine: a registry beside the export's events that puts members out
        the export keeps in stops ``--consent auto`` and is counted with ``--consent export``
        (:func:`~tamis.pipeline.build.registry_disagreement_report`)."""
        registry = registry_beside_export(self.request, self.cutoff, setting)
        if registry is None:
            return
        registry_state, registry_invalid, shown = registry
        out = self._sql(
            semantics.registry_disagreement_sql(
                self._view("members_ids", members.select("member_id")),
                self._view("export_state", state),
                self._view("export_invalid", invalid),
                self._view(
                    "registry_state", self._frame(registry_state.select(["member_id", "value"]))
                ),
                self._view("registry_invalid", self._frame(registry_invalid.select(["member_id"]))),
            )
        ).collect()
        rows = [(r["member_id"], r["why"]) for r in out]
        consent["registry_disagreement"] = registry_disagreement_report(self.request, rows, shown)

    def _consent_from_export(
        self, quarantine: _Quarantine, members: DataFrame, setting: str
    ) -> tuple[dict[str, Any], DataFrame, DataFrame]:
        from pyspark.sql import functions as F

        read = self._read(CONSENT_EVENTS)
        assert read is not None
        read = self._persist(read)
        known = sorted(self.request.policy.policy.settings)
        valid = read.where(F.col("_reason").isNull())
        content_cols = ["member_id", "setting", "value", "ts", "channel"]
        conflicting = (
            valid.groupBy("event_id")
            .agg(F.countDistinct(*content_cols).alias("n"))
            .where(F.col("n") > 1)
            .select("event_id")
        )
        conflict_rows = valid.join(conflicting, "event_id").select(
            F.col("_file").alias("file"),
            F.col("_line").alias("line"),
            F.lit("event_id").alias("field"),
            F.lit("event_id seen with different content").alias("reason"),
            F.col("event_id").alias("key"),
            "member_id",
            F.lit(None).cast("long").alias("_fidx"),
        )
        unknown_setting = valid.where(~F.col("setting").isin(known)).select(
            F.col("_file").alias("file"),
            F.col("_line").alias("line"),
            F.lit("setting").alias("field"),
            F.concat(F.lit("unknown setting '"), F.col("setting"), F.lit("'")).alias("reason"),
            F.col("event_id").alias("key"),
            "member_id",
            F.lit(None).cast("long").alias("_fidx"),
        )
        unknown = valid.join(members.select("member_id"), "member_id", "left_anti").select(
            F.col("_file").alias("file"),
            F.col("_line").alias("line"),
            F.lit("member_id").alias("field"),
            F.lit("event for a member not in members").alias("reason"),
            F.col("event_id").alias("key"),
            "member_id",
            F.lit(None).cast("long").alias("_fidx"),
        )
        reject_rows, conflicts, unknown_rows = self._entries(
            _rejects(read).withColumn("_fidx", F.lit(None).cast("long")),
            conflict_rows.unionByName(unknown_setting),
            unknown,
        )
        events = self._persist(
            valid.join(conflicting, "event_id", "left_anti")
            .where(F.col("setting").isin(known))
            .select("event_id", *content_cols)
            .distinct()
        )
        sizes = (
            valid.agg(F.count(F.lit(1)).alias("valid"))
            .crossJoin(events.agg(F.count(F.lit(1)).alias("events")))
            .first()
        )
        assert sizes is not None
        n_valid, n_events = int(sizes["valid"]), int(sizes["events"])
        invalid = sorted(
            [*reject_rows, *conflicts],
            key=lambda r: (r["file"], r["line"], r["field"] or "", r["reason"]),
        )
        quarantine.add("consent_events", invalid)
        members_of_invalid = sorted({r["member_id"] for r in invalid if r.get("member_id")})
        unattributed = [r for r in invalid if not r.get("member_id")]
        if unattributed:
            where = ", ".join(f"{r['file']}:{r['line']}" for r in unattributed[:5])
            raise InputError(
                f"{len(unattributed)} consent event(s) cannot be parsed and name no member "
                f"({where}); an objection could be lost, so the build stops: fix those lines"
            )
        state = self._sql(
            semantics.consent_state_sql(self._view("events", events), ":setting", ":cutoff"),
            setting=setting,
            cutoff=self.cutoff,
        )
        latest = self._sql(
            semantics.consent_state_sql(self._prefix + "events", ":setting", ":now"),
            setting=setting,
            now=self.started,
        )
        self._view("consent_latest", latest.select("member_id", "value"))
        quarantine.add("consent_events", unknown_rows)
        invalid_df = self._frame(pa.table({"member_id": pa.array(members_of_invalid, pa.string())}))
        self.progress("consent_events", n_valid + len(reject_rows), None)
        report = {
            "source": "export",
            "setting": setting,
            "events_read": n_valid + len(reject_rows),
            "events_applied": n_events,
            "duplicate_events_ignored": max(0, n_valid - len(conflicts) - n_events),
            "invalid_events": len(invalid),
            "members_with_invalid_events": len(members_of_invalid),
            "events_for_unknown_members": len(unknown_rows),
        }
        return report, state, invalid_df

    def _consent_from_registry(
        self, members: DataFrame, setting: str
    ) -> tuple[dict[str, Any], DataFrame, DataFrame]:
        state_table, invalid_table, url, latest_table = registry_consent(
            self.request, self.cutoff, setting, self.started
        )
        self._view("consent_latest", self._frame(latest_table.select(["member_id", "value"])))
        state_schema = pa.schema(
            [
                ("member_id", pa.string()),
                ("value", pa.bool_()),
                ("event_id", pa.string()),
                ("ts", ARROW_TS),
            ]
        )
        state = self._frame(
            pa.Table.from_batches(
                [tasks.conform(state_table.select(state_schema.names), state_schema)]
            )
        )
        invalid = self._frame(
            invalid_table.select(["member_id"]).cast(pa.schema([("member_id", pa.string())]))
        )
        unknown = state.join(members.select("member_id"), "member_id", "left_anti").count()
        report = {
            "source": "registry",
            "registry": url,
            "setting": setting,
            "members_with_events": state_table.num_rows,
            "members_with_invalid_events": invalid_table.num_rows,
            "members_with_events_not_in_export": unknown,
        }
        return report, state, invalid

    # --- eligibility ----------------------------------------------------------------------------
    def _eligibility(
        self, members: DataFrame, state: DataFrame, invalid: DataFrame, erased: pa.Table
    ) -> DataFrame:
        from pyspark.sql.types import StringType, StructField, StructType

        rules = semantics.rule_tables(self.request.policy.policy, self.purpose)
        elig = self._sql(
            semantics.member_eligibility_sql(
                self._view(
                    "members", members.select("member_id", "country", "birth_date", "created_at")
                ),
                self._view("country_rules", self._frame(rules["country_rules"])),
                self._view("consent_state", state),
                self._view("consent_invalid", invalid),
                self._view("erased", self._frame(erased)),
                ":cutoff",
            ),
            cutoff=self.cutoff,
        )
        schema = StructType([*elig.schema.fields, StructField("member_ref", StringType())])
        with_refs = elig.mapInArrow(partial(tasks.add_member_refs, key=self.request.key), schema)
        eligibility = self._persist(with_refs)
        self._view("eligibility", eligibility)
        self._view("record_rules", self._frame(rules["record_rules"]))
        return eligibility

    # --- records --------------------------------------------------------------------------------
    def _records(self, members: DataFrame, eligibility: DataFrame) -> DataFrame:
        """Content rows (with quarantine carriers) and profile records, as classification input."""
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        read = self._read(CONTENT)
        assert read is not None
        ids = self._raw_ids(CONTENT, "record_id").where(F.col("record_id").isNotNull())
        dup_ids = (
            ids.groupBy("record_id")
            .count()
            .where(F.col("count") > 1)
            .select(F.col("record_id").alias("_dup_id"), F.lit(1).alias("_dup"))
        )
        flagged = read.join(dup_ids, read["record_id"] == dup_ids["_dup_id"], "left")
        is_reject = F.col("_reason").isNotNull()
        is_dup = F.col("_dup").isNotNull() & ~is_reject
        carrier = is_reject | is_dup
        note = F.to_json(
            F.struct(
                F.col("_file").alias("file"),
                F.col("_line").alias("line"),
                F.when(is_dup, F.lit("record_id")).otherwise(F.col("_field")).alias("field"),
                F.when(is_dup, F.lit("record_id is not unique"))
                .otherwise(F.col("_reason"))
                .alias("reason"),
                F.when(is_dup, F.col("record_id")).otherwise(F.col("_key")).alias("key"),
                F.col("_fidx").alias("fidx"),
                F.col("_chunk").alias("chunk"),
                F.when(is_dup, F.lit(1)).otherwise(F.lit(0)).alias("dup"),
            )
        )
        content = flagged.select(
            *semantics.RECORD_COLUMNS,
            F.lit(0).cast("long").alias("_seq"),
            F.when(carrier, note).alias("_q"),
        )
        profile_input = members.join(eligibility.select("member_id", "member_ref"), "member_id")
        profile = profile_input.mapInArrow(
            tasks.profile_records, from_arrow_schema(tasks.RECORD_INPUT_SCHEMA)
        )
        return content.unionByName(profile)

    def _process(self, records: DataFrame) -> DataFrame:
        from pyspark.sql.pandas.types import from_arrow_schema

        classified = self._sql(
            semantics.record_classification_sql(
                self._view("records", records),
                self._prefix + "eligibility",
                self._prefix + "record_rules",
                ":cutoff",
                carry=(*semantics.RECORD_COLUMNS, "_q"),
            ),
            cutoff=self.cutoff,
        )
        text_stages = build_stages(self.request, self.purpose)
        processed = classified.mapInArrow(
            partial(tasks.process_records, text_stages=text_stages),
            from_arrow_schema(tasks.PROCESSED_SCHEMA),
        )
        return self._persist(processed)

    # --- outputs --------------------------------------------------------------------------------
    def _tallies(self, processed: DataFrame, quarantine: _Quarantine) -> None:
        """Add up the tally rows (one Spark job) into the manifest's counters and quarantine."""
        from pyspark.sql import functions as F

        keys = ["_t", "_a", "_b", "_c", "_d", "_i", "_j"]
        entry = F.col("_t") == "q"  # quarantine entries: keep their line apart
        summed = (
            processed.where(F.col("_t").isNotNull())
            .groupBy(*keys, F.when(entry, F.col("_n")).alias("_line"))
            .agg(F.sum("_n").alias("n"), F.count(F.lit(1)).alias("copies"))
            .toArrow()
            .to_pylist()
        )
        entries = []
        for row in summed:
            t, a, b, c, n = row["_t"], row["_a"], row["_b"], row["_c"], int(row["n"])
            if t == "x":
                self.tally.add_excluded(a, b, c, n)
            elif t == "i":
                self.tally.records_in[(a, b)] += n
                self.tally.included[(a, b)] += n
            elif t == "s":
                counter = self.tally.stage_counts.setdefault(a, Counter())
                if b is not None:
                    counter[b] += n
            else:
                # the same line may be quarantined more than once (one entry per member a
                # broken line names): as many entries as copies, each with its line
                line = int(row["_line"])
                entries += [
                    {
                        "file": a,
                        "line": line,
                        "field": b,
                        "reason": c,
                        "key": row["_d"],
                        "_order": (row["_i"], row["_j"], line),
                    }
                    for _ in range(int(row["copies"]))
                ]
        entries.sort(key=lambda e: e.pop("_order"))
        quarantine.add("content", entries)

    def _write_data(self, kept: DataFrame, root: Path) -> list[tuple[Path, int]]:
        """Spark's Parquet writer, then the part files renamed ``data/part-NNNNN.parquet``."""
        staging = root / "_spark_data"
        (
            kept.write.option("compression", "zstd")
            .option("maxRecordsPerFile", self.request.rows_per_file)
            .mode("errorifexists")
            .parquet("file://" + str(staging))  # not as_uri(): Hadoop would keep %-escapes
        )
        data = root / "data"
        data.mkdir()
        files: list[tuple[Path, int]] = []
        for part in sorted(staging.glob("part-*.parquet")):
            rows = pq.ParquetFile(part).metadata.num_rows
            if not rows:
                continue
            target = data / f"part-{len(files):05d}.parquet"
            os.replace(part, target)
            files.append((target, rows))
        shutil.rmtree(staging)
        if not files:  # as the embedded engine: an empty snapshot still has its schema
            target = data / "part-00000.parquet"
            pq.write_table(RECORD_SCHEMA.empty_table(), target, compression="zstd")
            files.append((target, 0))
        return files

    def _write_members(self, kept: DataFrame, root: Path) -> tuple[Path, dict[str, Any]]:
        """``members.parquet`` and the Merkle root, streamed from Spark in sorted order.

        The driver holds one row group (at most :data:`MEMBERS_ROW_GROUP` rows) and O(log n)
        Merkle nodes, never the whole member list.
        """
        from pyspark.sql import functions as F

        schema = pa.schema(
            [("member_ref", pa.string()), ("category", pa.string()), ("records", pa.int64())]
        )
        per_member = (
            kept.groupBy("member_ref", "category")
            .agg(F.count(F.lit(1)).alias("records"))
            .orderBy("member_ref", "category")
        )
        path = root / "members.parquet"
        merkle = _StreamingMerkle()
        last: str | None = None
        pending: list[pa.Table] = []
        pending_rows = 0
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            rows = per_member.toLocalIterator(prefetchPartitions=True)
            for table in _batches(rows, schema):
                for ref in table.column("member_ref").to_pylist():
                    if ref != last:
                        merkle.add(ref)
                        last = ref
                pending.append(table)
                pending_rows += table.num_rows
                while pending_rows >= MEMBERS_ROW_GROUP:
                    combined = pa.concat_tables(pending)
                    writer.write_table(combined.slice(0, MEMBERS_ROW_GROUP))
                    rest = combined.slice(MEMBERS_ROW_GROUP)
                    pending, pending_rows = [rest], rest.num_rows
            if pending_rows or merkle.leaves == 0:
                writer.write_table(pa.concat_tables([schema.empty_table(), *pending]))
        return path, {"included": merkle.leaves, "root": merkle.root()}

    # --- deduplication --------------------------------------------------------------------------
    def _deduplicate(self, kept: DataFrame) -> tuple[DataFrame, dict[str, Any] | None]:
        """The included records without duplicates, and the manifest's ``dedup`` section.

        The embedded engine's :func:`tamis.dedup.find_duplicates`, step by step on Spark:

        1. texts normalised by :func:`~tamis.dedup.normalise_text` (``mapInArrow``);
        2. exact: ``groupBy(norm)``, each record pointing at the smallest ``record_id`` of its
           text (its representative);
        3. near, over representatives with a text: band keys of their MinHash signatures by the
           embedded engine's function (``mapInArrow``), exploded and grouped by ``(band, key)``
           (a shuffle), pairs inside each bucket of two or more, confirmed by
           :func:`~tamis.dedup._minhash.similar` on the signatures of the records involved
           (computed again, by the same function, for those records only);
        4. the confirmed pairs (about one per near-duplicate record) go to the driver, which
           closes clusters with :func:`~tamis.dedup._minhash.components` (smallest id kept);
           the renamed representatives come back as a broadcast join;
        5. records whose cluster root is another record are dropped, counted with reason
           ``duplicate`` by kind and category, as the embedded engine counts them.
        """
        spec = self.request.policy.policy.purpose(self.purpose).dedup
        if not spec or not self.request.run_stages:
            return kept, None
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        from tamis.dedup import DedupConfig
        from tamis.dedup._minhash import components, import_rensa

        config = DedupConfig.from_mapping(spec)
        if config.near:
            import_rensa()  # a missing extra is said before any Spark job
        normed = kept.select("record_id", "text").mapInArrow(
            tasks.normalise_texts, from_arrow_schema(tasks.NORMALISED_SCHEMA)
        )
        if config.exact:
            reps = normed.groupBy("norm").agg(F.min("record_id").alias("rep"))
            assigned = normed.join(reps, "norm")
        else:
            assigned = normed.withColumn("rep", F.col("record_id"))
        # Checkpoints cut the plan's lineage (the whole build so far): planning the later joins
        # over it overflowed the JVM stack, and Spark's Arrow collect then hung.
        assigned = assigned.select("record_id", "rep", "norm").localCheckpoint()
        rooted = assigned.withColumn("root", F.col("rep"))
        if config.near:
            heads = assigned.where(
                (F.col("rep") == F.col("record_id")) & (F.length("norm") > 0)
            ).select("record_id", "norm")
            keyed = heads.mapInArrow(
                partial(tasks.lsh_band_keys, config=config),
                from_arrow_schema(tasks.BAND_KEY_SCHEMA),
            )
            bands = keyed.select(
                "record_id", F.posexplode("keys").alias("band", "key")
            ).localCheckpoint()
            shared = bands.groupBy("band", "key").count().where(F.col("count") > 1)
            members = bands.join(shared.select("band", "key"), ["band", "key"])
            pairs = (
                members.withColumnRenamed("record_id", "a")
                .join(members.withColumnRenamed("record_id", "b"), ["band", "key"])
                .where(F.col("a") < F.col("b"))
                .select("a", "b")
                .distinct()
                .localCheckpoint()
            )
            # Signatures again, for the records of candidate pairs only (as the embedded engine).
            involved = (
                pairs.select(F.col("a").alias("record_id"))
                .union(pairs.select(F.col("b").alias("record_id")))
                .distinct()
            )
            sigs = (
                heads.join(involved, "record_id")
                .mapInArrow(
                    partial(tasks.minhash_signatures, config=config),
                    from_arrow_schema(tasks.SIGNATURE_SCHEMA),
                )
                .localCheckpoint()
            )
            with_sigs = pairs.join(
                sigs.select(F.col("record_id").alias("a"), F.col("sig").alias("sig_a")), "a"
            ).join(sigs.select(F.col("record_id").alias("b"), F.col("sig").alias("sig_b")), "b")
            edges = (
                with_sigs.select("a", "b", "sig_a", "sig_b")
                .mapInArrow(
                    partial(
                        tasks.confirm_pairs, threshold=config.threshold, num_perm=config.num_perm
                    ),
                    from_arrow_schema(tasks.EDGE_SCHEMA),
                )
                .toArrow()
            )
            if edges.num_rows:
                nodes, roots = components(edges.column("a"), edges.column("b"))
                moved = pa.table({"rep": nodes, "near_root": roots}).filter(
                    pc.not_equal(nodes, roots)
                )
                rooted = assigned.join(F.broadcast(self._frame(moved)), "rep", "left").withColumn(
                    "root", F.coalesce(F.col("near_root"), F.col("rep"))
                )
        dropped = (
            rooted.where(F.col("root") != F.col("record_id"))
            .select("record_id", "root", (F.col("rep") != F.col("record_id")).alias("exact"))
            .localCheckpoint()
        )
        by_kind = (
            kept.join(dropped, "record_id")
            .groupBy("kind", "category")
            .agg(
                F.count(F.lit(1)).alias("n"),
                F.sum(F.col("exact").cast("long")).alias("exact"),
            )
            .toArrow()
            .to_pylist()
        )
        for row in by_kind:
            key, n = (row["kind"], row["category"]), int(row["n"])
            self.tally.included[key] -= n
            self.tally.records_in[key] -= n
            self.tally.add_excluded("duplicate", row["kind"], row["category"], n)
            if not self.tally.included[key]:
                del self.tally.included[key]
        totals = dropped.agg(F.countDistinct("root").alias("clusters")).first()
        assert totals is not None
        dropped_n = sum(int(r["n"]) for r in by_kind)
        exact_n = sum(int(r["exact"] or 0) for r in by_kind)
        counts = {
            "records": int(sum(self.tally.included.values())) + dropped_n,
            "dropped": dropped_n,
            "exact": exact_n,
            "near": dropped_n - exact_n,
            "clusters": int(totals["clusters"]),
        }
        deduplicated = self._persist(
            kept.join(dropped.select("record_id"), "record_id", "left_anti")
        )
        report: dict[str, Any] = {"config": spec, **counts}
        report["pii_copies"] = self._pii_copies(deduplicated)
        return deduplicated, report

    def _pii_copies(self, kept: DataFrame) -> dict[str, Any] | str:
        """:func:`tamis.dedup.pii_copies` of the snapshot: detection in ``mapInArrow``, copies per
        value counted with a shuffle (over digests of the values), summarised on the driver."""
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        try:
            import tamis.pii.engine  # noqa: F401
        except ImportError:  # the pii extra is not installed (as the embedded engine says)
            return "unavailable: pip install 'tamis[pii]'"
        from tamis.dedup._pii import copies_report

        values = kept.select("text").mapInArrow(
            tasks.pii_value_digests, from_arrow_schema(tasks.PII_VALUE_SCHEMA)
        )
        rows = (
            values.groupBy("type", "value")
            .agg(F.count(F.lit(1)).alias("copies"))
            .groupBy("type", "copies")
            .agg(F.count(F.lit(1)).alias("strings"))
            .toArrow()
            .to_pylist()
        )
        return copies_report((r["type"], r["copies"], r["strings"]) for r in rows)

    # --- the build ------------------------------------------------------------------------------
    def run(self) -> BuildResult:
        """Build and publish; observers hear about it as they do from the embedded engine."""
        request = self.request
        for table in TABLES.values():  # a missing required table is the first thing to say
            self._files(table)
        run = BuildRun(str(uuid.uuid4()), request, self.purpose, datetime.now(UTC))
        for observer in request.observers:
            observer.build_started(run)
        try:
            try:
                manifest = self._build(run)
            finally:
                self._cleanup()
        except BaseException as exc:
            for observer in request.observers:
                observer.build_failed(run, exc)
            raise
        for observer in request.observers:
            observer.build_completed(run, manifest)
        return BuildResult(request.out, manifest)

    def _build(self, run: BuildRun) -> dict[str, Any]:
        request = self.request
        build_stages(request, self.purpose)  # an unknown stage or option fails before any work
        with Workspace(request.out, force=request.force) as ws:
            inputs = self._inputs()
            quarantine = _Quarantine(ws.path / "quarantine", self.tally)
            members = self._persist(self._load_members(quarantine))
            consent, state, invalid = self._load_consent(quarantine, members)
            erased, consent["erasures"] = erasure_tombstones(request)
            eligibility = self._eligibility(members, state, invalid, erased)
            objected = self._sql(
                semantics.objected_after_cutoff_sql(
                    self._prefix + "eligibility", self._prefix + "consent_latest"
                )
            ).first()
            consent["objected_after_cutoff"] = int(objected[0]) if objected else 0
            processed = self._process(self._records(members, eligibility))
            kept = processed.where("_t IS NULL").select(*RECORD_SCHEMA.names)
            self._tallies(processed, quarantine)
            self.progress("content", int(sum(self.tally.records_in.values())), None)
            kept, dedup = self._deduplicate(kept)
            self._kept = kept
            data_files = self._write_data(kept, ws.path)
            quarantine_files = quarantine.close()
            members_file, members_summary = self._write_members(kept, ws.path)
            manifest = self._manifest(
                ws.path,
                inputs,
                consent,
                data_files,
                quarantine_files,
                members_file,
                members_summary,
                run.started,
                self._member_reasons(eligibility),
            )
            manifest["run_id"] = run.run_id
            if dedup is not None:
                manifest["dedup"] = dedup
            for observer in request.observers:
                for key, section in observer.manifest_sections(run, manifest).items():
                    if key in manifest:
                        raise SnapshotError(f"an observer may not replace manifest field {key!r}")
                    manifest[key] = section
            write_manifest(ws.path, manifest)
        return manifest

    def _member_reasons(self, eligibility: DataFrame) -> list[tuple[str, int]]:
        counts = (
            eligibility.selectExpr("COALESCE(reason, 'eligible') AS r").groupBy("r").count()
        ).toArrow()
        return list(
            zip(counts.column("r").to_pylist(), counts.column("count").to_pylist(), strict=True)
        )

    def _inputs(self) -> list[dict[str, Any]]:
        return SnapshotBuilder._inputs(self)  # type: ignore[arg-type]

    def _manifest(
        self,
        root: Path,
        inputs: list[dict[str, Any]],
        consent: dict[str, Any],
        data_files: list[tuple[Path, int]],
        quarantine_files: list[Path],
        members_file: Path,
        members_summary: dict[str, Any],
        started: datetime,
        member_reasons: list[tuple[str, int]],
    ) -> dict[str, Any]:
        """The embedded engine's manifest assembly, fed with what Spark counted."""
        assert self._kept is not None
        digest = content_digest_spark(self._kept)
        shim = _ManifestInputs(self, member_reasons, digest)
        manifest: dict[str, Any] = SnapshotBuilder._manifest(
            shim,  # type: ignore[arg-type]
            root,
            inputs,
            consent,
            data_files,
            quarantine_files,
            members_file,
            members_summary,
            started,
        )
        manifest["engine"] = "spark"
        manifest["content_digest"] = digest
        return manifest


class _Digest:
    """A computed content digest, as ``SnapshotBuilder._manifest`` reads it."""

    def __init__(self, hexdigest: str) -> None:
        self._hex = hexdigest

    def hexdigest(self) -> str:
        return self._hex


class _ManifestInputs:
    """What ``SnapshotBuilder._manifest`` reads of its ``self``."""

    def __init__(
        self, engine: SparkEngine, member_reasons: list[tuple[str, int]], digest: str
    ) -> None:
        self.digest = _Digest(digest)
        self.request = engine.request
        self.purpose = engine.purpose
        self.tally = engine.tally
        self.cutoff = engine.cutoff
        self.con = _EligibilityCounts(member_reasons)


class _StreamingMerkle:
    """The RFC 9162 tree of a sorted stream, as an append-only stack builds it: push each leaf,
    merge the two top subtrees while they have the same height; the root folds the remaining
    (strictly decreasing) subtrees from the right."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.leaves = 0

    def add(self, ref: str) -> None:
        self.leaves += 1
        height, node = 0, leaf_hash(ref)
        while self.stack and self.stack[-1][0] == height:
            _h, left = self.stack.pop()
            node = node_hash(left, node)
            height += 1
        self.stack.append((height, node))

    def root(self) -> str:
        if not self.stack:
            return EMPTY_ROOT
        node = self.stack[-1][1]
        for _h, left in reversed(self.stack[:-1]):
            node = node_hash(left, node)
        return node.hex()


def _batches(rows: Iterator[Any], schema: pa.Schema, size: int = 65_536) -> Iterator[pa.Table]:
    """Spark rows streamed to the driver, as Arrow tables of ``size`` rows."""
    names = schema.names
    buffer: list[tuple[Any, ...]] = []
    for row in rows:
        buffer.append(tuple(row[n] for n in names))
        if len(buffer) >= size:
            yield pa.table({n: [r[i] for r in buffer] for i, n in enumerate(names)}, schema=schema)
            buffer = []
    if buffer:
        yield pa.table({n: [r[i] for r in buffer] for i, n in enumerate(names)}, schema=schema)


def _literal(path: Path) -> str:
    """``path`` for Spark's readers, its glob characters escaped (Hadoop's ``\\`` escape)."""
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", str(path))


def _check_read(read: DataFrame, files: list[Path], display: Callable[[Path], str]) -> None:
    """Fail unless Spark reads exactly ``files``: a file left out would drop its rows silently
    (a consent part: its objections)."""
    wanted = {os.path.realpath(p) for p in files}
    got = {os.path.realpath(url2pathname(urlparse(f).path)) for f in read.inputFiles()}
    if got != wanted:
        missing = sorted(display(p) for p in files if os.path.realpath(p) not in got)
        extra = sorted(got - wanted)
        raise TamisError(
            f"Spark would not read the export's files as listed (not read: {missing[:5]}; read "
            f"besides: {extra[:5]}); nothing was built"
        )


def _check_parquet_schema(path: Path, table: Table, display: str) -> bool:
    """The reader's whole-file checks, from the footer: required columns, zoned timestamps.
    Returns whether the file holds a column of nanosecond timestamps."""
    try:
        schema = pq.ParquetFile(path).schema_arrow
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", file=display) from None
    missing = [c.name for c in table.columns if c.required and c.name not in schema.names]
    if missing:
        raise InputError(f"required column(s) missing: {', '.join(missing)}", file=display)
    for c in table.columns:
        i = schema.get_field_index(c.name)
        if c.kind == "timestamp" and i >= 0:
            t = schema.field(i).type
            if pa.types.is_timestamp(t) and t.tz is None:
                raise InputError(
                    "timestamp column has no time zone: its instants are ambiguous "
                    "(write timestamp with tz=UTC)",
                    file=display,
                    field=c.name,
                )
    return any(pa.types.is_timestamp(f.type) and f.type.unit == "ns" for f in schema)


def content_digest_spark(data: DataFrame) -> str:
    """:func:`tamis.pipeline.digest.content_digest` of a records frame, as one Spark aggregation.

    Each record's canonical text (``digest.py``: columns joined by U+001F, null as U+0000,
    ``created_at`` as microseconds since the epoch) is hashed with MD5 on the executors; the first
    and last 8 bytes, read as little-endian unsigned integers (DuckDB's ``md5_number_upper`` and
    ``md5_number_lower``), are summed exactly (``decimal(38,0)``: room for 10^18 records).
    """
    from pyspark.sql import functions as F

    from tamis.pipeline.digest import COLUMNS

    parts = [
        F.unix_micros("created_at").cast("string")
        if c == "created_at"
        else F.coalesce(F.col(c), F.lit("\x00"))
        for c in COLUMNS
    ]
    md5 = F.md5(F.concat_ws("\x1f", *parts))

    def little_endian(first_byte: int) -> Any:
        pairs = [F.substring(md5, 2 * (first_byte + i) + 1, 2) for i in reversed(range(8))]
        return F.conv(F.concat(*pairs), 16, 10).cast("decimal(20,0)")

    row = (
        data.select(little_endian(0).alias("u"), little_endian(8).alias("l"))
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum("u").cast("decimal(38,0)").alias("u"),
            F.sum("l").cast("decimal(38,0)").alias("l"),
        )
        .first()
    )
    assert row is not None
    digest = ContentDigest.__new__(ContentDigest)
    digest.count, digest.upper, digest.lower = int(row["n"]), int(row["u"] or 0), int(row["l"] or 0)
    return digest.hexdigest()


__all__ = [
    "DEFAULT_CONF",
    "REQUIRED_CONF",
    "SparkEngine",
    "content_digest_spark",
    "spark_session",
    "streaming_merkle_root",
]
