"""Build a training snapshot from a platform export (the embedded engine).

The build reads the export once, streaming: members first (kept in memory as a narrow table:
id, country, birth date, creation instant), consent next (the as-of state at the cutoff, and each
member's verdict by the SQL of :mod:`tamis.pipeline.semantics`, run by DuckDB), then the content
batch by batch and the profile fields member batch by member batch. Each batch is classified
(:mod:`tamis.pipeline.classify`, Arrow compute), counted, passed through the policy's text
stages, and appended to the snapshot's Parquet files. Memory grows with the number of members,
never with the number of records.

Output order is the export's order (content files in name order, then profile records in members
order), so a rerun with the same inputs, policy, cutoff and key writes byte-identical data files.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import os
import shutil
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tamis import __version__
from tamis.errors import InputError, PolicyError, SnapshotError, TamisError
from tamis.keys import PseudonymKey
from tamis.pipeline import semantics
from tamis.pipeline.classify import (
    AuthorVerdicts,
    Classification,
    MemberVerdicts,
    RecordRules,
    allowed_of,
    category_of,
    classify_records,
    rule_slots,
)
from tamis.pipeline.digest import ContentDigest
from tamis.pipeline.manifest import FORMAT, describe_file, sha256_file, write_manifest
from tamis.pipeline.overlap import Background, Prefetch
from tamis.pipeline.publish import Workspace
from tamis.pipeline.runner import StageOutput, StageRunner, group_counts
from tamis.pipeline.stages import RECORD_SCHEMA, Stage, StageContext, stages
from tamis.policy.categories import PROFILE_FIELDS, profile_kind
from tamis.policy.loader import LoadedPolicy
from tamis.sources.reader import ReadChunk, read_table, table_files
from tamis.sources.schema import CONSENT_EVENTS, CONTENT, MEMBERS, TABLES, Table
from tamis.timefmt import format_instant

if TYPE_CHECKING:
    from tamis.consent import ConsentRegistry

CHUNK_ROWS = 262_144
# The members table is read twice (eligibility, then the profile records) unless its valid rows
# take less than this, in which case they are kept between the two.
MEMBERS_KEPT_BYTES = 128 << 20
# Included records are counted per (member, kind, category) in one dense array while members x
# (kind, category) pairs stay under this many cells (8 bytes each), else sparsely.
DENSE_COUNT_CELLS = 16 << 20
MIN_BATCH_ROWS = 32_768  # smaller record batches are gathered before classification
# Batches waiting between the threads of a build (reading, encoding, hashing): queues deep
# enough to absorb their uneven paces keep both cores busy (5% less wall time at 10M records
# than queues of 2), for a few batches more in memory.
QUEUE_DEPTH = 6
ROW_GROUP_ROWS = 262_144  # rows per row group of the data files (the last of a file: fewer)
DUCKDB_MEMORY_LIMIT = os.environ.get("TAMIS_DUCKDB_MEMORY", "512MB")
DUPLICATE_SCAN_MEMORY = "256MB"  # the record-id uniqueness check (see _duplicate_record_ids)
STAGE_BATCH_ROWS = 16_384
ROWS_PER_FILE = 1_000_000
# Data files: zstd; dictionary pages only for the columns with few distinct values, and no
# min/max statistics on free text (trying a dictionary on unique texts and comparing every text
# for statistics cost a third of the encoding time and bought nothing).
WRITE_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "use_dictionary": ["member_ref", "kind", "category", "lang"],
    "write_statistics": ["record_id", "member_ref", "kind", "category", "created_at", "lang"],
}
BUILTIN_STAGE_MODULES = ("tamis.pipeline.pii_stage",)

Progress = Callable[[str, int, int | None], None]
ConsentSource = Literal["auto", "export", "registry"]

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("field", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("key", pa.string()),
    ]
)


@dataclass(frozen=True)
class BuildRequest:
    """Everything a build depends on. Same request -> byte-identical data files."""

    export_dir: Path
    out: Path
    policy: LoadedPolicy
    cutoff: datetime
    key: PseudonymKey
    purpose: str | None = None
    consent: ConsentSource = "auto"
    registry_url: str | None = None
    force: bool = False
    rows_per_file: int = ROWS_PER_FILE
    run_stages: bool = True
    workers: int = 1  # processes for the text stages (output is the same for any number)
    observers: tuple[BuildObserver, ...] = ()

    def __post_init__(self) -> None:
        if self.cutoff.tzinfo is None:
            raise SnapshotError("the cutoff needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        now = datetime.now(UTC)
        if self.cutoff > now:
            # Members may still object before such a cutoff: a snapshot "as of" it would claim
            # a consent state that is not known yet, and miss every objection still to come.
            raise SnapshotError(
                f"the cutoff {format_instant(self.cutoff)} is in the future (now "
                f"{format_instant(now)}): the consent state at it is not known yet, since "
                "members may still object before it; choose a cutoff no later than now"
            )

    @property
    def purpose_name(self) -> str:
        if self.purpose:
            self.policy.policy.purpose(self.purpose)  # raises with the valid names
            return self.purpose
        names = list(self.policy.policy.purposes)
        if len(names) != 1:
            raise SnapshotError(
                f"the policy has several purposes; choose one of {', '.join(names)}"
            )
        return names[0]


@dataclass(frozen=True)
class BuildRun:
    """One run of a build, as observers see it."""

    run_id: str
    request: BuildRequest
    purpose: str
    started: datetime


class BuildObserver:
    """Hears about builds (lineage store, OpenLineage emitter). Subclass and override.

    ``manifest_sections`` may add top-level sections to the manifest before it is written (e.g.
    the consent log head); the other hooks must not change the snapshot.
    """

    def build_started(self, run: BuildRun) -> None:
        """Before anything is read."""

    def manifest_sections(self, run: BuildRun, manifest: dict[str, Any]) -> dict[str, Any]:
        """Extra manifest sections, written with the snapshot (published atomically with it)."""
        return {}

    def build_completed(self, run: BuildRun, manifest: dict[str, Any]) -> None:
        """After the snapshot is published at ``run.request.out``."""

    def build_failed(self, run: BuildRun, error: BaseException) -> None:
        """After a failed build (nothing was published)."""


@dataclass
class BuildResult:
    out: Path
    manifest: dict[str, Any]


@dataclass
class _Tally:
    """Counters that end up in the manifest."""

    records_in: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, category)
    included: Counter[tuple[str, str]] = field(default_factory=Counter)
    excluded: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (reason, kind, cat)
    stage_counts: dict[str, Counter[str]] = field(default_factory=dict)
    quarantined: Counter[str] = field(default_factory=Counter)  # table -> rows

    def add_excluded(self, reason: str, kind: str, category: str, n: int) -> None:
        self.records_in[(kind, category)] += n
        self.excluded[(reason, kind, category)] += n


class _Quarantine:
    """Rows that could not be processed, per table, streamed to ``quarantine/<table>.parquet``."""

    def __init__(self, root: Path, tally: _Tally) -> None:
        self.root = root
        self.tally = tally
        self.writers: dict[str, pq.ParquetWriter] = {}

    def add(self, table: str, rejects: list[dict[str, Any]]) -> None:
        if not rejects:
            return
        if table not in self.writers:
            self.root.mkdir(exist_ok=True)
            self.writers[table] = pq.ParquetWriter(
                self.root / f"{table}.parquet", QUARANTINE_SCHEMA, compression="zstd"
            )
        rows = {name: [r.get(name) for r in rejects] for name in QUARANTINE_SCHEMA.names}
        self.writers[table].write_table(pa.table(rows, schema=QUARANTINE_SCHEMA))
        self.tally.quarantined[table] += len(rejects)

    def close(self) -> list[Path]:
        for writer in self.writers.values():
            writer.close()
        return [self.root / f"{t}.parquet" for t in sorted(self.writers)]


class _IncludedCounts:
    """Records per (member, kind, category), counted batch by batch on integer codes.

    A record's code is its author's position among the members (``refs``, the order of
    :class:`MemberVerdicts`) times the number of (kind, category) pairs the rules name, plus its
    pair's: the classification has both, so counting costs no lookup of text. The counts are
    one dense array while members x pairs fits in ``DENSE_COUNT_CELLS`` (an increment per
    record); beyond, sorted partial counts merged when they pile up, so that memory follows
    the number of distinct (member, kind, category) triples, never the number of records."""

    def __init__(self, refs: pa.Array, rules: RecordRules) -> None:
        self.refs = refs
        kinds = rules.kinds.to_pylist()
        pairs: dict[tuple[str, str], int] = {}
        slot_pair = []
        for slot, category in enumerate(rules.category.to_pylist()):
            if category is None:
                slot_pair.append(-1)
            else:
                kind = kinds[slot // len(rules.visibilities)]
                slot_pair.append(pairs.setdefault((kind, category), len(pairs)))
        self.pairs = list(pairs)  # pair index -> (kind, category)
        self._slot_pair = np.array(slot_pair, dtype=np.int64)
        cells = len(refs) * len(pairs)
        self._dense = np.zeros(cells, np.int64) if cells <= DENSE_COUNT_CELLS else None
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending = 0
        self._merged_size = 0  # distinct triples at the last merge: memory is a few times that

    def codes(self, author: pa.Array, slot: pa.Array) -> np.ndarray:
        """The codes of included records from their classification (``author``, ``slot``)."""
        if author.null_count or slot.null_count:
            raise SnapshotError("internal error: an included record has no member or no rule")
        pair = self._slot_pair[slot.to_numpy().astype(np.int64)]
        if len(pair) and pair.min() < 0:
            raise SnapshotError("internal error: an included record's rule has no category")
        codes: np.ndarray = author.to_numpy().astype(np.int64) * len(self.pairs) + pair
        return codes

    def add_codes(self, codes: np.ndarray, sign: int = 1) -> None:
        if not len(codes):
            return
        if self._dense is not None:
            np.add.at(self._dense, codes, sign)
            return
        keys, counts = np.unique(codes, return_counts=True)
        self._parts.append((keys, counts.astype(np.int64) * sign))
        self._pending += len(keys)
        if self._pending > max(2 * self._merged_size, 500_000):
            self._merged()  # folds the parts into one
            self._merged_size = self._pending = len(self._parts[0][0])

    def add(self, batch: pa.RecordBatch | pa.Table, sign: int = 1) -> None:
        """Count records by their columns (``member_ref``, ``kind``, ``category``)."""
        if not batch.num_rows:
            return
        member = pc.index_in(batch.column("member_ref"), value_set=self.refs)
        if member.null_count:
            raise SnapshotError("internal error: an included record has an unknown member_ref")
        pair = pc.index_in(
            pc.binary_join_element_wise(batch.column("kind"), batch.column("category"), "\x1f"),
            value_set=pa.array([f"{k}\x1f{c}" for k, c in self.pairs], pa.string()),
        )
        if pair.null_count:
            raise SnapshotError("internal error: an included record has an unknown kind, category")
        member_index = member.to_numpy(zero_copy_only=False).astype(np.int64)
        pair_index = pair.to_numpy(zero_copy_only=False).astype(np.int64)
        self.add_codes(member_index * len(self.pairs) + pair_index, sign)

    def _merged(self) -> tuple[np.ndarray, np.ndarray]:
        """Every code with a count, and the counts (sparse: the partial counts merged into
        one, which replaces them, so that asking again costs nothing)."""
        if self._dense is not None:
            keys = np.flatnonzero(self._dense)
            return keys, self._dense[keys]
        if not self._parts:
            return np.array([], np.int64), np.array([], np.int64)
        if len(self._parts) > 1:
            keys = np.concatenate([k for k, _ in self._parts])
            counts = np.concatenate([c for _, c in self._parts])
            unique, inverse = np.unique(keys, return_inverse=True)
            merged = np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)
            self._parts = [(unique, merged)]
        return self._parts[0]

    def by_member_category(self) -> pa.Table:
        """``member_ref, category, records`` for every pair with records, ordered by
        ``member_ref`` then ``category`` (the snapshot's ``members.parquet``)."""
        categories = pa.array(sorted({c for _, c in self.pairs}), pa.string())
        category_rank = {c: i for i, c in enumerate(categories.to_pylist())}
        pair_category = np.array([category_rank[c] for _, c in self.pairs], np.int64)
        n_cat, n_pairs = len(categories), len(self.pairs)
        ref_order, ref_rank = _ranks(self.refs)
        if self._dense is not None:
            # members x pairs -> members (in member_ref order) x categories; the nonzero cells
            # in row-major order are then sorted by member_ref, then category
            by_pair = self._dense.reshape(len(self.refs), n_pairs)
            by_category = np.zeros((len(self.refs), n_cat), np.int64)
            for pair in range(n_pairs):
                by_category[:, pair_category[pair]] += by_pair[:, pair]
            by_category = by_category[ref_order]
            unique = np.flatnonzero(by_category > 0)
            records = by_category.reshape(-1)[unique]
        else:
            keys, counts = self._merged()
            keep = counts > 0
            keys, counts = keys[keep], counts[keep]
            ranked = ref_rank[keys // n_pairs] * n_cat + pair_category[keys % n_pairs]
            unique, inverse = np.unique(ranked, return_inverse=True)  # by ref, then category
            records = np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)
        return pa.table(
            {
                "member_ref": self.refs.take(pa.array(ref_order[unique // n_cat])),
                "category": categories.take(pa.array(unique % n_cat)),
                "records": pa.array(records, pa.int64()),
            }
        )

    def by_kind_category(self) -> Iterator[tuple[str, str, int]]:
        """``(kind, category, records)`` for every pair with records."""
        keys, counts = self._merged()
        sums = np.bincount(
            keys % len(self.pairs), weights=counts, minlength=len(self.pairs)
        ).astype(np.int64)
        for pair in np.flatnonzero(sums):
            kind, category = self.pairs[pair]
            yield kind, category, int(sums[pair])


def _ranks(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The sort order of ``values`` (rank -> index) and its inverse (index -> rank)."""
    order = pc.sort_indices(values).to_numpy().astype(np.int64)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return order, rank


class _DataWriter:
    """Appends record batches to ``data/part-NNNNN.parquet``, a new file every ``rows_per_file``.

    Batches are gathered into row groups of about ``ROW_GROUP_ROWS`` (written from the batches
    as they are, not copied into one), so the row groups do not follow the sizes of the batches
    that the classification or the text stages happen to work on. Encoding and compression run
    on a thread of their own (in order), beside the build."""

    def __init__(self, root: Path, rows_per_file: int) -> None:
        self.root = root
        self.rows_per_file = rows_per_file
        self.root.mkdir()
        self.files: list[tuple[Path, int]] = []
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0  # rows in the current file, written or pending
        self._pending: list[pa.RecordBatch] = []  # the next row group, not yet written
        self._pending_rows = 0
        self._background: Background[None] = Background(depth=QUEUE_DEPTH)
        # the content digest on a thread of its own (it is a sum: any order will do), beside
        # the encoding, so that both cores have work whichever of the two is slower
        self._digesting: Background[None] = Background(depth=QUEUE_DEPTH)
        # its own connection, on one thread: the digest runs on a thread beside others
        digesting = duckdb.connect()
        digesting.execute("SET threads = 1")
        self.digest = ContentDigest(digesting)
        self.sha256: dict[Path, Future[str]] = {}  # data files, hashed as they are closed
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tamis-hash")

    def write(self, batch: pa.RecordBatch) -> None:
        self._digesting.submit(lambda: self.digest.add(batch))
        self._background.submit(lambda: self._write(batch))

    def _write(self, batch: pa.RecordBatch) -> None:
        offset = 0
        while offset < batch.num_rows:
            if self._writer is None:
                path = self.root / f"part-{len(self.files):05d}.parquet"
                self._writer = pq.ParquetWriter(path, RECORD_SCHEMA, **WRITE_OPTIONS)
                self.files.append((path, 0))
                self._rows = 0
            take = min(batch.num_rows - offset, self.rows_per_file - self._rows)
            self._pending.append(batch.slice(offset, take))
            self._pending_rows += take
            offset += take
            self._rows += take
            self.files[-1] = (self.files[-1][0], self._rows)
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._flush()
            if self._rows >= self.rows_per_file:
                self._close_file()

    def _flush(self) -> None:
        """Write the pending batches as one row group."""
        if self._pending_rows:
            assert self._writer is not None
            table = pa.Table.from_batches(self._pending, schema=RECORD_SCHEMA)
            self._writer.write_table(table, row_group_size=self._pending_rows)
        self._pending, self._pending_rows = [], 0

    def _close_file(self) -> None:
        """Close the current file and hash it on the digest thread, beside the next file."""
        assert self._writer is not None
        self._flush()
        self._writer.close()
        self._writer = None
        path = self.files[-1][0]
        self.sha256[path] = self._hasher.submit(sha256_file, path)

    def close(self) -> list[tuple[Path, int]]:
        try:
            self._background.join()
        finally:
            self._digesting.join()
        if self._writer is not None:  # (its pending rows are written as it closes)
            self._close_file()
        self._hasher.shutdown(wait=True)
        if not self.files:  # an empty snapshot still has one (empty) file with the schema
            path = self.root / "part-00000.parquet"
            pq.write_table(RECORD_SCHEMA.empty_table(), path, compression="zstd")
            self.files.append((path, 0))
        return self.files


_PROFILE_VISIBILITY = pa.scalar(semantics.PROFILE_VISIBILITY, pa.string())
_RECORD_COLUMNS = ["record_id", "member_id", "kind", "created_at", "lang", "text", "visibility"]


class _Included(NamedTuple):
    """Included records (:data:`RECORD_SCHEMA`) and their counting codes (see
    :class:`_IncludedCounts`)."""

    records: pa.RecordBatch
    codes: np.ndarray


def _regroup(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The record columns of ``batches``; batches of fewer than ``MIN_BATCH_ROWS`` rows (small
    files, reader blocks with many rejects) gathered into one, so that the classification and
    the counts cost one call per batch of a useful size. Big batches pass as they are: copying
    their texts into bigger ones would cost more than it saves."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        batch = batch.select(_RECORD_COLUMNS)
        if not pending and batch.num_rows >= MIN_BATCH_ROWS:
            yield batch
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows >= MIN_BATCH_ROWS:
            yield _one_batch(pending)
            pending, rows = [], 0
    if rows:
        yield _one_batch(pending)


def _one_batch(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _load_builtin_stages() -> None:
    for module in BUILTIN_STAGE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # pragma: no cover - only while a stage is optional
            if exc.name != module:
                raise


def build_stages(request: BuildRequest, purpose: str) -> list[Stage]:
    """Instantiate the purpose's text stages, by registered name, from the policy."""
    if not request.run_stages:
        return []
    _load_builtin_stages()
    context = StageContext(
        key=request.key,
        purpose=purpose,
        policy_sha256=request.policy.sha256,
        export_dir=request.export_dir,
    )
    return [
        stages.get(spec.name)(context, **spec.options)
        for spec in request.policy.policy.purpose(purpose).stages
    ]


def check_stages(policy: LoadedPolicy) -> None:
    """Build every purpose's text stages and read its deduplication settings as a build would,
    reading no data: an unknown stage name, option or option value is an error now (``tamis
    policy validate``), not at build time. Raises :class:`~tamis.errors.PolicyError` naming the
    purpose and the stage."""
    from tamis.dedup import DedupConfig

    _load_builtin_stages()
    key = PseudonymKey(bytes(32), "a key to check stage options")
    for name, purpose in policy.policy.purposes.items():
        if purpose.dedup:
            try:
                DedupConfig.from_mapping(purpose.dedup)
            except (TamisError, TypeError, ValueError) as exc:
                raise PolicyError(
                    f"purposes.{name}.dedup: {exc}",
                    file=policy.source,
                    line=policy.line_of("purposes", name, "dedup"),
                ) from None
        context = StageContext(
            key=key, purpose=name, policy_sha256=policy.sha256, checking_only=True
        )
        for i, spec in enumerate(purpose.stages):
            try:
                stages.get(spec.name)(context, **spec.options)
            except (TamisError, TypeError, ValueError) as exc:
                raise PolicyError(
                    f"purposes.{name}.stages.{i}: {exc}",
                    file=policy.source,
                    line=policy.line_of("purposes", name, "stages", i),
                ) from None


class SnapshotBuilder:
    """One build: call :meth:`run` once."""

    def __init__(self, request: BuildRequest, progress: Progress | None = None) -> None:
        self.request = request
        self.purpose = request.purpose_name
        self.progress = progress or (lambda phase, n, total: None)
        self.tally = _Tally()
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self._threads = max(1, min(2, os.cpu_count() or 1))
        self._spill: Path | None = None  # the workspace's spill folder, once there is one
        self._duplicates: Future[pa.Array] | None = None  # started early by the build
        self.con.execute(f"SET threads = {self._threads}")
        # Bounded memory whatever the input size: DuckDB spills (e.g. the duplicate-id pass over
        # every record id) instead of growing; the spill files go with the build's workspace.
        self.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        self.cutoff = request.cutoff.astimezone(UTC)
        self.started = datetime.now(UTC)  # "now" for the consent state at build time
        self.report: dict[str, Any] = {}
        self.erasures: dict[str, Any] = {}  # the manifest's consent.erasures, once read
        self.digest = ContentDigest(self.con)
        self._codes_in_flight: deque[np.ndarray] = deque()  # see _stage_batches
        self._member_batches: list[pa.RecordBatch] | None = None  # see _members_again
        # Small batches spread the text stages over the workers; without stages, big ones.
        self.stage_batch_rows = STAGE_BATCH_ROWS if request.run_stages else CHUNK_ROWS

    # --- inputs ---------------------------------------------------------------------------------
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

    def _start_reading(self, table: Table) -> Prefetch[ReadChunk]:
        """The table's files, read and validated on a thread that starts now, a few chunks ahead
        of whoever consumes them (close it when done)."""
        files = self._files(table)

        def chunks() -> Iterator[ReadChunk]:
            for path in files:
                yield from read_table(path, table, display=self._display(path))

        return Prefetch(chunks(), depth=QUEUE_DEPTH)

    def _read(
        self,
        table: Table,
        quarantine: _Quarantine | None,
        reading: Prefetch[ReadChunk] | None = None,
        rejected_ids: list[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The valid rows of ``table``, batch by batch; rejects go to ``quarantine``, and the ids
        they name (their key, their member) to ``rejected_ids``. ``reading``: a reader of the
        table started earlier (:meth:`_start_reading`), else one starts now."""
        with reading or self._start_reading(table) as chunks:
            for chunk in chunks:
                if rejected_ids is not None:
                    rejected_ids.extend(rejected_row_ids(chunk.rejects))
                if quarantine is not None:
                    quarantine.add(table.name, chunk.rejects)
                self.progress(table.name, chunk.valid.num_rows + len(chunk.rejects), None)
                yield chunk.valid

    def _inputs(self) -> list[dict[str, Any]]:
        described = []
        for name in TABLES:
            for path in table_files(self.request.export_dir, name):
                described.append({"table": name, **describe_file(self.request.export_dir, path)})
        return described

    # --- members --------------------------------------------------------------------------------
    def _load_members(self, quarantine: _Quarantine) -> pa.Table:
        keep = ["member_id", "country", "birth_date", "created_at", "_file", "_line"]
        rejected: list[str] = []
        batches = []
        whole: list[pa.RecordBatch] | None = []  # kept for the profile records while small
        whole_bytes = 0
        for batch in self._read(MEMBERS, quarantine, None, rejected):
            batches.append(batch.select(keep))
            whole_bytes += batch.nbytes
            if whole is not None:
                whole.append(batch)
                if whole_bytes > MEMBERS_KEPT_BYTES:
                    whole = None
        self._member_batches = whole
        schema = (
            pa.schema([MEMBERS.arrow_schema.field(n) for n in keep[:4]])
            .append(pa.field("_file", pa.string()))
            .append(pa.field("_line", pa.int64()))
        )
        members = pa.Table.from_batches(batches, schema=schema)
        self.con.register("members_raw", members)
        # A copy that was rejected counts as a copy: the valid one cannot be trusted over it (its
        # birth date may be the one that says minor), so every copy is out.
        self.con.register(
            "members_rejected", pa.table({"member_id": pa.array(rejected, pa.string())})
        )
        dups = self.con.sql(
            """SELECT m._file AS file, m._line AS line, 'member_id' AS field,
                      'member_id is not unique (' || d.n || ' rows)' AS reason, m.member_id AS key
               FROM members_raw m JOIN (
                   SELECT member_id, count(*) AS n FROM (
                       SELECT member_id FROM members_raw
                       UNION ALL SELECT member_id FROM members_rejected)
                   GROUP BY member_id HAVING count(*) > 1) d USING (member_id)
               ORDER BY m._file, m._line"""
        ).to_arrow_table()
        self.con.unregister("members_rejected")
        quarantine.add("members", dups.to_pylist())
        self.duplicate_members = pa.array(sorted(set(dups.column("key").to_pylist())), pa.string())
        self.con.register("duplicate_members", pa.table({"member_id": self.duplicate_members}))
        self.con.execute(
            "CREATE TABLE members AS SELECT member_id, country, birth_date, created_at "
            "FROM members_raw WHERE member_id NOT IN (SELECT member_id FROM duplicate_members)"
        )
        self.con.unregister("members_raw")
        return members

    def _members_again(self) -> Iterator[pa.RecordBatch]:
        """The valid rows of the members table, as :meth:`_load_members` read them: kept from
        then when they were small (``MEMBERS_KEPT_BYTES``), else read again."""
        if self._member_batches is not None:
            yield from self._member_batches
        else:
            yield from self._read(MEMBERS, None)

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

    def _load_consent(self, quarantine: _Quarantine) -> dict[str, Any]:
        source = self._consent_source()
        setting = self.request.policy.policy.purpose(self.purpose).setting
        known_settings = pa.array(sorted(self.request.policy.policy.settings), pa.string())
        if source == "export":
            consent = self._consent_from_export(quarantine, setting, known_settings)
            self._check_registry_agrees(setting, consent)
            return consent
        return self._consent_from_registry(setting)

    def _check_registry_agrees(self, setting: str, consent: dict[str, Any]) -> None:
        """The export's events were taken: with a registry configured beside them
        (:func:`registry_beside_export`), find the members it puts out that the export keeps in.
        ``--consent auto`` stops on them; ``--consent export`` (chosen knowingly) counts them in
        the manifest (``consent.registry_disagreement``)."""
        registry = registry_beside_export(self.request, self.cutoff, setting)
        if registry is None:
            return
        state, invalid, shown = registry
        self.con.register("registry_state", state.select(["member_id", "value"]))
        self.con.register("registry_invalid", invalid.select(["member_id"]))
        try:
            out = self.con.sql(
                semantics.registry_disagreement_sql(
                    "members",
                    "consent_state",
                    "consent_invalid",
                    "registry_state",
                    "registry_invalid",
                )
            ).fetchall()
        finally:
            self.con.unregister("registry_state")
            self.con.unregister("registry_invalid")
        consent["registry_disagreement"] = registry_disagreement_report(self.request, out, shown)

    def _consent_from_export(
        self, quarantine: _Quarantine, setting: str, known_settings: pa.Array
    ) -> dict[str, Any]:
        invalid: list[dict[str, Any]] = []
        batches: list[pa.RecordBatch] = []
        for path in self._files(CONSENT_EVENTS):
            for chunk in read_table(path, CONSENT_EVENTS, display=self._display(path)):
                batches.append(chunk.valid)
                invalid.extend(chunk.rejects)
        events = pa.Table.from_batches(
            batches,
            schema=CONSENT_EVENTS.arrow_schema.append(pa.field("_file", pa.string())).append(
                pa.field("_line", pa.int64())
            ),
        )
        self.con.register("events_raw", events)
        self.con.register("known_settings", pa.table({"setting": known_settings}))
        # Same id, other content: every copy is invalid (fail closed). Same content: one event.
        conflicts = self.con.sql(
            """SELECT e._file AS file, e._line AS line, 'event_id' AS field,
                      'event_id seen with different content' AS reason, e.event_id AS key,
                      e.member_id
               FROM events_raw e JOIN (
                   SELECT event_id FROM events_raw GROUP BY event_id
                   HAVING count(DISTINCT (member_id, setting, value, ts, channel)) > 1
               ) c USING (event_id)
               UNION ALL
               SELECT e._file, e._line, 'setting',
                      'unknown setting ''' || e.setting || '''', e.event_id, e.member_id
               FROM events_raw e WHERE e.setting NOT IN (SELECT setting FROM known_settings)
               ORDER BY file, line"""
        ).to_arrow_table()
        invalid.extend(conflicts.to_pylist())
        self.con.execute(
            """CREATE TABLE events AS
               SELECT DISTINCT event_id, member_id, setting, value, ts, channel FROM events_raw
               WHERE event_id NOT IN (SELECT key FROM conflicts WHERE field = 'event_id')
                 AND setting IN (SELECT setting FROM known_settings)"""
        )
        duplicates = events.num_rows - conflicts.num_rows - self._count("events")
        invalid.sort(key=lambda r: (r["file"], r["line"], r["field"] or "", r["reason"]))
        quarantine.add("consent_events", invalid)
        members_of_invalid = sorted({r["member_id"] for r in invalid if r.get("member_id")})
        unattributed = [r for r in invalid if not r.get("member_id")]
        if unattributed:
            where = ", ".join(f"{r['file']}:{r['line']}" for r in unattributed[:5])
            raise InputError(
                f"{len(unattributed)} consent event(s) cannot be parsed and name no member "
                f"({where}); an objection could be lost, so the build stops: fix those lines"
            )
        self.con.register(
            "consent_invalid", pa.table({"member_id": pa.array(members_of_invalid, pa.string())})
        )
        self.con.execute(
            "CREATE TABLE consent_state AS "
            + semantics.consent_state_sql("events", "$setting", "$cutoff"),
            {"setting": setting, "cutoff": self.cutoff},
        )
        self.con.execute(
            "CREATE TABLE consent_latest AS "
            + semantics.consent_state_sql("events", "$setting", "$now"),
            {"setting": setting, "now": self.started},
        )
        unknown = self.con.sql(
            """SELECT e._file AS file, e._line AS line, 'member_id' AS field,
                      'event for a member not in members' AS reason, e.event_id AS key
               FROM events_raw e WHERE e.member_id NOT IN (SELECT member_id FROM members)
               ORDER BY file, line"""
        ).to_arrow_table()
        quarantine.add("consent_events", unknown.to_pylist())
        self.con.unregister("events_raw")
        return {
            "source": "export",
            "setting": setting,
            "events_read": events.num_rows + len(invalid) - conflicts.num_rows,
            "events_applied": self._count("events"),
            "duplicate_events_ignored": max(0, duplicates),
            "invalid_events": len(invalid),
            "members_with_invalid_events": len(members_of_invalid),
            "events_for_unknown_members": unknown.num_rows,
        }

    def _consent_from_registry(self, setting: str) -> dict[str, Any]:
        state, invalid, url, latest = registry_consent(
            self.request, self.cutoff, setting, self.started
        )
        self.con.register("latest_arrow", latest)
        self.con.execute("CREATE TABLE consent_latest AS SELECT member_id, value FROM latest_arrow")
        self.con.unregister("latest_arrow")
        self.con.register("state_arrow", state)
        self.con.execute(
            "CREATE TABLE consent_state AS SELECT member_id, value, event_id, ts FROM state_arrow"
        )
        self.con.unregister("state_arrow")
        self.con.register("consent_invalid", invalid.select(["member_id"]))
        unknown = self._count(
            "consent_state WHERE member_id NOT IN (SELECT member_id FROM members)"
        )
        return {
            "source": "registry",
            "registry": url,
            "setting": setting,
            "members_with_events": state.num_rows,
            "members_with_invalid_events": invalid.num_rows,
            "members_with_events_not_in_export": unknown,
        }

    def _count(self, relation: str) -> int:
        return int(self.con.sql(f"SELECT count(*) FROM {relation}").fetchall()[0][0])  # nosec B608  # constant names, quoted literals

    # --- eligibility ----------------------------------------------------------------------------
    def _eligibility(self) -> None:
        rules = semantics.rule_tables(self.request.policy.policy, self.purpose)
        for name, table in rules.items():
            self.con.register(name, table)
        self.record_rules = RecordRules.from_table(rules["record_rules"])
        erased, self.erasures = erasure_tombstones(self.request)
        self.con.register("erased", erased)
        elig = self.con.sql(
            semantics.member_eligibility_sql(
                "members", "country_rules", "consent_state", "consent_invalid", "erased", "$cutoff"
            )
            + " ORDER BY member_id",
            params={"cutoff": self.cutoff},
        ).to_arrow_table()
        refs = pa.array(
            self.request.key.member_refs(elig.column("member_id").to_pylist()),
            pa.string(),
        )
        elig = elig.append_column("member_ref", refs)
        self.member_verdicts = MemberVerdicts.from_table(elig)
        self.included_counts = _IncludedCounts(self.member_verdicts.member_ref, self.record_rules)
        self.con.register("eligibility_arrow", elig)
        self.con.execute("CREATE TABLE eligibility AS SELECT * FROM eligibility_arrow")
        self.con.unregister("eligibility_arrow")
        self.objected_after_cutoff = int(
            self.con.sql(
                semantics.objected_after_cutoff_sql("eligibility", "consent_latest")
            ).fetchall()[0][0]
        )

    # --- records --------------------------------------------------------------------------------
    def _unique_content(
        self, quarantine: _Quarantine, reading: Prefetch[ReadChunk]
    ) -> Iterator[pa.RecordBatch]:
        """Content rows, those whose record id is not unique quarantined."""
        duplicate_ids: pa.Array | None = None
        for batch in self._read(CONTENT, quarantine, reading):
            if duplicate_ids is None:  # asked only now: the reader has started meanwhile
                duplicate_ids = (
                    self._duplicates.result() if self._duplicates else self._duplicate_record_ids()
                )
            if len(duplicate_ids) and batch.num_rows:
                dup = pc.is_in(batch.column("record_id"), value_set=duplicate_ids)
                if pc.any(dup).as_py():
                    rejected = batch.filter(dup)
                    quarantine.add(
                        "content",
                        [
                            {
                                "file": f,
                                "line": ln,
                                "field": "record_id",
                                "reason": "record_id is not unique",
                                "key": k,
                            }
                            for f, ln, k in zip(
                                rejected.column("_file").to_pylist(),
                                rejected.column("_line").to_pylist(),
                                rejected.column("record_id").to_pylist(),
                                strict=True,
                            )
                        ],
                    )
                    batch = batch.filter(pc.invert(dup))
            yield batch

    def _duplicate_record_ids(self) -> pa.Array:
        """Record ids that occur more than once (within or across files). Every copy is
        quarantined: the export broke its own contract, and no copy can be trusted over another.
        Unparseable lines are skipped here; the main pass quarantines them.

        Memory stays bounded whatever the size of the export: the ids are first grouped by a
        64-bit hash (fixed-width keys), then only the ids whose hash repeats are compared
        exactly; both passes run in a connection of their own under a small memory limit
        (DuckDB spills to disk beyond it) that is closed afterwards, so the build does not keep
        a hash table of every record id."""

        def scans() -> str:
            return " UNION ALL ".join(raw_ids_sql(p, "record_id") for p in self._files(CONTENT))

        con = duckdb.connect()
        failed: duckdb.Error | None = None
        try:
            con.execute(f"SET threads = {self._threads}")
            con.execute(f"SET memory_limit = '{DUPLICATE_SCAN_MEMORY}'")
            if self._spill is not None:
                con.execute(f"SET temp_directory = '{_sql_path(self._spill)}.ids'")
            rows = con.sql(
                f"SELECT record_id FROM ({scans()}) WHERE record_id IS NOT NULL "  # nosec B608  # constant names, quoted literals
                "AND hash(record_id) IN ("
                f"  SELECT hash(record_id) FROM ({scans()}) WHERE record_id IS NOT NULL "  # nosec B608  # constant names, quoted literals
                "  GROUP BY 1 HAVING count(*) > 1) "
                "GROUP BY record_id HAVING count(*) > 1 ORDER BY record_id"
            ).fetchall()
        except duckdb.Error as exc:  # e.g. JSON nested deeper than DuckDB reads (128 levels)
            failed = exc
        finally:
            con.close()
        if failed is not None:
            unreadable = self._unreadable_ids(CONTENT)  # DuckDB's message names no file
            if unreadable is not None:
                raise unreadable from None
            text = str(failed).strip()
            reason = text.splitlines()[0] if text else type(failed).__name__
            raise InputError(
                f"the content table's record ids cannot be checked for duplicates ({reason}); "
                "the build stops rather than let a repeated id through",
                file=str(self.request.export_dir),
            ) from None
        return pa.array([r[0] for r in rows], pa.string())

    def _unreadable_ids(self, table: Table) -> InputError | None:
        """The error the reader gives for the first of ``table``'s Parquet files whose
        ``record_id`` column cannot be read (a corrupt footer or page), naming that file; None
        when they all read. Only asked once a scan has failed: it reads the column again."""
        for path in self._files(table):
            if path.suffix != ".parquet":
                continue
            try:
                parquet = pq.ParquetFile(path, pre_buffer=False)
                if "record_id" not in parquet.schema_arrow.names:
                    return InputError(
                        "required column(s) missing: record_id", file=self._display(path)
                    )
                parquet.read(columns=["record_id"])
            except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:
                reason = f"not a readable Parquet file ({' '.join(str(exc).split())})"
                return InputError(reason, file=self._display(path))
        return None

    def _profile_batches(self) -> Iterator[_Included]:
        """The included text records made of profile fields (one per field group with a value),
        in members order then field-group order; the others counted as excluded.

        A profile record's author, creation instant (the member's) and visibility are those of
        its member, so the author's part of the classification is made once per member and the
        rule's once per field group; only included records are then built (their texts are the
        one copy made)."""
        verdicts = self.member_verdicts
        groups = list(PROFILE_FIELDS.items())
        kinds = pa.array([profile_kind(group) for group, _ in groups], pa.string())
        visibility = pa.repeat(_PROFILE_VISIBILITY, len(groups))
        slots = rule_slots(kinds, visibility, self.record_rules)
        category = category_of(slots, self.record_rules)
        allowed = allowed_of(slots, self.record_rules)
        rules = list(zip(category.to_pylist(), allowed.to_pylist(), slots.to_pylist(), strict=True))
        reason_names = verdicts.reason_names.to_pylist()
        n_reasons = len(reason_names)
        for batch in self._members_again():
            if len(self.duplicate_members):
                batch = batch.filter(
                    pc.invert(pc.is_in(batch.column("member_id"), value_set=self.duplicate_members))
                )
            n = batch.num_rows
            if not n:
                continue
            created = batch.column("created_at")
            authors = AuthorVerdicts.of(batch.column("member_id"), created, verdicts, self.cutoff)
            if authors.index.null_count:
                raise SnapshotError("internal error: a profile's member has no eligibility row")
            reasons = {
                ok: authors.reason_codes(pa.repeat(pa.scalar(ok, pa.bool_()), n))
                for ok in {ok for _, ok, _ in rules}
            }
            for (group, (fields, _category)), (cat, ok, slot) in zip(groups, rules, strict=True):
                text = _profile_text(batch, fields)
                present = pc.is_valid(text)
                if not pc.any(present).as_py():
                    continue
                kind = profile_kind(group)
                reason = reasons[ok]
                excluded = pc.and_(present, pc.is_valid(reason))
                if pc.any(excluded).as_py():
                    counts = np.bincount(reason.filter(excluded).to_numpy(), minlength=n_reasons)
                    for code in np.flatnonzero(counts):
                        self.tally.add_excluded(reason_names[code], kind, cat, int(counts[code]))
                keep = pc.and_(present, pc.is_null(reason))
                kept = int(pc.sum(keep).as_py() or 0)
                if not kept:
                    continue
                author = authors.index.filter(keep)
                refs = verdicts.member_ref.take(author)
                records = pa.RecordBatch.from_arrays(
                    [
                        pc.binary_join_element_wise("profile", refs, group, ":"),
                        refs,
                        pa.repeat(pa.scalar(kind, pa.string()), kept),
                        pa.repeat(pa.scalar(cat, pa.string()), kept),
                        created.filter(keep),
                        pa.nulls(kept, pa.string()),
                        text.filter(keep),
                    ],
                    schema=RECORD_SCHEMA,
                )
                codes = self.included_counts.codes(
                    author, pa.repeat(pa.scalar(slot, pa.int32()), kept)
                )
                yield _Included(records, codes)

    def _included_batches(self, batches: Iterator[pa.RecordBatch]) -> Iterator[_Included]:
        """Classify content batches, count exclusions, and yield the included records (Arrow
        compute: :mod:`tamis.pipeline.classify`)."""
        verdicts, rules = self.member_verdicts, self.record_rules
        for records in batches:
            found = classify_records(records, verdicts, rules, self.cutoff)
            self._count_excluded(records, found)
            keep = pc.is_null(found.reason)
            if not pc.any(keep).as_py():
                continue
            author, slot = found.author.filter(keep), found.slot.filter(keep)
            kept = pa.RecordBatch.from_arrays(
                [
                    records.column("record_id").filter(keep),
                    verdicts.member_ref.take(author),
                    records.column("kind").filter(keep),
                    category_of(slot, rules),
                    records.column("created_at").filter(keep),
                    records.column("lang").filter(keep),
                    records.column("text").filter(keep),
                ],
                schema=RECORD_SCHEMA,
            )
            yield _Included(kept, self.included_counts.codes(author, slot))

    def _count_excluded(self, records: pa.RecordBatch, found: Classification) -> None:
        """Add the batch's excluded records to the tally by (reason, kind, category): counted
        on integers (reason code, rule slot); records that no rule names by their columns."""
        excluded = pc.is_valid(found.reason)
        if not pc.any(excluded).as_py():
            return
        names = self.member_verdicts.reason_names
        rules = self.record_rules
        if found.slot.null_count:  # a kind or visibility without a rule (a reader would refuse)
            for reason, kind, category, n in group_counts(
                pa.table(
                    {
                        "reason": names.take(found.reason.filter(excluded)),
                        "kind": records.column("kind").filter(excluded),
                        "category": category_of(found.slot.filter(excluded), rules),
                    }
                ),
                ["reason", "kind", "category"],
            ):
                self.tally.add_excluded(str(reason), str(kind), str(category), int(n))  # type: ignore[call-overload]
            return
        n_slots = len(rules.category)
        codes = found.reason.filter(excluded).to_numpy().astype(
            np.int64
        ) * n_slots + found.slot.filter(excluded).to_numpy().astype(np.int64)
        counts = np.bincount(codes, minlength=len(names) * n_slots)
        kinds, n_vis = rules.kinds.to_pylist(), len(rules.visibilities)
        categories = rules.category.to_pylist()
        reasons = names.to_pylist()
        for code in np.flatnonzero(counts):
            reason, slot = divmod(int(code), n_slots)
            category = categories[slot] if categories[slot] is not None else "unknown"
            self.tally.add_excluded(
                reasons[reason], kinds[slot // n_vis], category, int(counts[code])
            )

    def _stage_batches(self, included: Iterator[_Included]) -> Iterator[pa.RecordBatch]:
        """The included records in batches of at most ``stage_batch_rows`` rows (slices: no
        copy); their counting codes wait in ``_codes_in_flight`` for the stages' output."""
        size = self.stage_batch_rows
        for records, codes in included:
            for offset in range(0, records.num_rows, size):
                self._codes_in_flight.append(codes[offset : offset + size])
                yield records.slice(offset, size)

    def _write_outputs(self, outputs: Iterator[StageOutput], writer: _DataWriter) -> None:
        for output in outputs:  # one per batch of _stage_batches, in order
            codes = self._codes_in_flight.popleft()
            if output.kept is not None:
                codes = codes[output.kept.to_numpy()]
            self.included_counts.add_codes(codes)
            for reason, kind, category, n in output.dropped:
                self.tally.add_excluded(reason, kind, category, n)
            for stage, counts in output.counts.items():
                self.tally.stage_counts.setdefault(stage, Counter()).update(counts)
            if output.batch.num_rows:
                writer.write(output.batch)

    def _deduplicate(
        self, data_files: list[tuple[Path, int]], data_sha256: dict[Path, Future[str]]
    ) -> dict[str, Any] | None:
        """Drop duplicate records (reason ``duplicate``) when the purpose asks for it; a data
        file rewritten without them leaves ``data_sha256`` (its hash was of the old bytes).

        A whole-snapshot step: the written files are read back, duplicates found (exact after
        normalisation, near with MinHash LSH; the first record of a cluster in snapshot order is
        kept) and each file is rewritten without them, in the same order."""
        spec = self.request.policy.policy.purpose(self.purpose).dedup
        if not spec or not self._deduplicating():
            return None
        from tamis.dedup import DedupConfig, find_duplicates, pii_copies

        config = DedupConfig.from_mapping(spec)

        def batches() -> Iterator[pa.RecordBatch]:
            for path, _rows in data_files:
                yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(
                    columns=["record_id", "text"]
                )

        result = find_duplicates(batches(), config)
        drop = result.drop
        if len(drop):
            for index, (path, _rows) in enumerate(data_files):
                table = pq.read_table(path)
                gone = pc.is_in(table.column("record_id"), value_set=drop)
                removed = table.filter(gone)
                self.included_counts.add(removed, sign=-1)
                for kind, category, n in group_counts(
                    removed.select(["kind", "category"]), ["kind", "category"]
                ):
                    self.tally.add_excluded("duplicate", str(kind), str(category), int(n))  # type: ignore[call-overload]
                kept = table.filter(pc.invert(gone))
                pq.write_table(kept, path, **WRITE_OPTIONS)
                data_sha256.pop(path, None)  # rewritten: hashed again for the manifest
                self.digest.add_table(removed, sign=-1)
                data_files[index] = (path, kept.num_rows)
        report: dict[str, Any] = {"config": spec, **result.counts()}
        try:
            from tamis.pii.engine import PiiEngine
        except ImportError:  # the pii extra is not installed
            report["pii_copies"] = "unavailable: pip install 'tamis[pii]'"
        else:
            report["pii_copies"] = pii_copies(batches(), PiiEngine.for_mode("fast"))
        return report

    def _deduplicating(self) -> bool:
        """Whether :meth:`_deduplicate` will look for duplicates."""
        return bool(self.request.policy.policy.purpose(self.purpose).dedup) and bool(
            self.request.run_stages
        )

    def _count_included(self) -> None:
        """Included records per kind and category (as written, after every stage)."""
        for kind, category, n in self.included_counts.by_kind_category():
            self.tally.records_in[(kind, category)] += n
            self.tally.included[(kind, category)] += n

    # --- the build ------------------------------------------------------------------------------
    def run(self) -> BuildResult:
        request = self.request
        started = datetime.now(UTC)
        for table in TABLES.values():  # a missing required table is the first thing to say
            self._files(table)
        run = BuildRun(str(uuid.uuid4()), request, self.purpose, started)
        for observer in request.observers:
            observer.build_started(run)
        try:
            manifest = self._build(run)
        except BaseException as exc:
            for observer in request.observers:
                observer.build_failed(run, exc)
            raise
        for observer in request.observers:
            observer.build_completed(run, manifest)
        return BuildResult(request.out, manifest)

    def _build(self, run: BuildRun) -> dict[str, Any]:
        try:
            return self._build_in_workspace(run)
        finally:
            for spill in self.request.out.absolute().parent.glob(
                f".{self.request.out.name}.tamis-tmp-{os.getpid()}-*.spill*"
            ):
                shutil.rmtree(spill, ignore_errors=True)

    def _build_in_workspace(self, run: BuildRun) -> dict[str, Any]:
        request = self.request
        text_stages = build_stages(request, self.purpose)
        with Workspace(request.out, force=request.force) as ws:
            spill = ws.path.parent / f"{ws.path.name}.spill"
            self._spill = spill
            self.con.execute(f"SET temp_directory = '{_sql_path(spill)}'")
            # Two whole-file scans that nothing before the content pass needs run on threads
            # (hashing and DuckDB release the GIL) while members and consent load on this one.
            # The content reader starts too: its first chunks are read and validated meanwhile.
            prep = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tamis-prep")
            with self._start_reading(CONTENT) as content:
                try:
                    inputs_hashed = prep.submit(self._inputs)
                    self._duplicates = prep.submit(self._duplicate_record_ids)
                    quarantine = _Quarantine(ws.path / "quarantine", self.tally)
                    self._load_members(quarantine)
                    consent = self._load_consent(quarantine)
                    self._eligibility()
                    consent["erasures"] = self.erasures
                    consent["objected_after_cutoff"] = self.objected_after_cutoff
                finally:
                    prep.shutdown(wait=False)
                writer = _DataWriter(ws.path / "data", request.rows_per_file)
                included = self._stage_batches(
                    itertools.chain(
                        self._included_batches(_regroup(self._unique_content(quarantine, content))),
                        self._profile_batches(),
                    )
                )
                with StageRunner(text_stages, workers=request.workers) as runner:
                    self._write_outputs(runner.map(included), writer)
            deduplicating = self._deduplicating()
            if not deduplicating:  # the counts are final: written while the writer finishes
                members_file, members_summary = self._write_members(ws.path)
            data_files = writer.close()
            self.digest = writer.digest
            dedup = self._deduplicate(data_files, writer.sha256) if deduplicating else None
            if deduplicating:  # it takes records out: the counts are final only now
                members_file, members_summary = self._write_members(ws.path)
            quarantine_files = quarantine.close()
            self._count_included()
            manifest = self._manifest(
                ws.path,
                inputs_hashed.result(),  # hashed beside the build
                consent,
                data_files,
                quarantine_files,
                members_file,
                members_summary,
                run.started,
                data_sha256=writer.sha256,
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

    def _write_members(self, root: Path) -> tuple[Path, dict[str, Any]]:
        """``members.parquet``: records per included member (by pseudonym) and category."""
        table = self.included_counts.by_member_category()
        path = root / "members.parquet"
        pq.write_table(table, path, compression="zstd")
        included_refs = pc.unique(table.column("member_ref")).to_pylist()  # in order already
        from tamis.lineage.merkle import merkle_root

        summary = {"included": len(included_refs), "root": merkle_root(included_refs)}
        return path, summary

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
        data_sha256: Mapping[Path, Future[str]] | None = None,
    ) -> dict[str, Any]:
        request = self.request
        policy = request.policy
        tally = self.tally
        # Quarantined rows are excluded records too (content rows; other tables are reported).
        excluded_by_reason = Counter[str]()
        for (reason, _kind, _cat), n in tally.excluded.items():
            excluded_by_reason[reason] += n
        if tally.quarantined.get("content"):
            excluded_by_reason["quarantined"] += tally.quarantined["content"]
        member_reasons = dict(
            self.con.sql(
                "SELECT COALESCE(reason, 'eligible'), count(*) FROM eligibility GROUP BY 1"
            ).fetchall()
        )
        eligible = member_reasons.pop("eligible", 0)
        identity = hashlib.sha256(
            "\x00".join(
                [
                    FORMAT,
                    self.purpose,
                    policy.sha256,
                    format_instant(self.cutoff),
                    request.key.key_id,
                    __version__,
                    *(f"{i['path']}={i['sha256']}" for i in inputs),
                ]
            ).encode()
        ).hexdigest()
        known = data_sha256 or {}
        files = [
            describe_file(root, p, rows=rows, sha256=known[p].result() if p in known else None)
            for p, rows in data_files
        ]
        files += [
            describe_file(root, p, rows=pq.ParquetFile(p).metadata.num_rows)
            for p in [*quarantine_files, members_file]
        ]

        def by(index: int, counter: Counter[Any]) -> dict[str, int]:
            out: Counter[str] = Counter()
            for k, n in counter.items():
                out[k[index]] += n
            return dict(sorted(out.items()))

        return {
            "format": FORMAT,
            "snapshot_id": f"snap-{identity[:20]}",
            "purpose": self.purpose,
            "policy": {
                "name": policy.name,
                "version": policy.policy.version,
                "sha256": policy.sha256,
                "source": policy.source,
            },
            "cutoff": format_instant(self.cutoff),
            "tamis_version": __version__,
            "engine": "embedded",
            "key_id": request.key.key_id,
            "built_at": format_instant(started.replace(microsecond=0)),
            "consent": consent,
            "inputs": inputs,
            "stages": [
                {"name": s.name, "options": s.options}
                for s in policy.policy.purpose(self.purpose).stages
            ]
            if request.run_stages
            else [],
            "records": {
                "input": sum(tally.records_in.values()) + tally.quarantined.get("content", 0),
                "included": sum(tally.included.values()),
                "input_by_kind": by(0, tally.records_in),
                "input_by_category": by(1, tally.records_in),
                "included_by_kind": by(0, tally.included),
                "included_by_category": by(1, tally.included),
                "excluded_by_reason": dict(sorted(excluded_by_reason.items())),
                "excluded_by_reason_and_kind": {
                    reason: by(
                        1,
                        Counter(
                            {(r, k): n for (r, k, _c), n in tally.excluded.items() if r == reason}
                        ),
                    )
                    for reason in sorted({r for r, _k, _c in tally.excluded})
                },
            },
            "members": {
                "input": eligible + sum(member_reasons.values()),
                "eligible": eligible,
                "included": members_summary["included"],
                "excluded_by_reason": dict(sorted(member_reasons.items())),
            },
            "content_digest": self.digest.hexdigest(),
            "members_root": members_summary["root"],
            "members_commitment": "merkle-sha256 over sorted member_ref (see docs/receipts.md)",
            "quarantined": dict(sorted(tally.quarantined.items())),
            "stage_counts": {
                k: dict(sorted(v.items())) for k, v in sorted(tally.stage_counts.items())
            },
            "files": files,
        }


def erasure_tombstones(request: BuildRequest) -> tuple[pa.Table, dict[str, Any]]:
    """Members whose data was erased (Art. 17), out of every build whatever the export says,
    and the manifest's account of where they came from (``consent.erasures``). Both engines.

    Tombstones live in the registry with the rights requests (``tamis.rights``): the registry
    of ``--db``, else ``$TAMIS_DB``, else the default one when it exists. Fails closed: a
    registry that is configured but cannot be read stops the build. With no registry at all
    there is nothing to read, and the manifest says so (``registry: null``)."""
    from tamis.consent.location import build_registry_url

    url = build_registry_url(request.registry_url)
    members: list[str] = []
    shown = None
    if url is not None:
        from tamis.consent import open_registry
        from tamis.rights import erased_members

        with open_registry(url, existing=True) as registry:
            members = erased_members(registry)
            shown = registry.url
    table = pa.table({"member_id": pa.array(members, pa.string())})
    return table, {"registry": shown, "tombstones": len(members)}


def registry_consent(
    request: BuildRequest, cutoff: datetime, setting: str, now: datetime
) -> tuple[pa.Table, pa.Table, str, pa.Table]:
    """Consent from the registry, for a build whose export has no ``consent_events``: its state
    at ``cutoff``, its invalid members, its URL and its state at ``now`` (for
    :func:`~tamis.pipeline.semantics.objected_after_cutoff_sql`). Both engines.

    Fails closed where the registry cannot stand for the members' choices: none configured
    (``--db``, ``$TAMIS_DB``, ``./.tamis/registry.db``), one holding no consent event at all (a
    registry made by mistake, or never imported into, cannot hold a single objection: everyone
    would get the jurisdiction's default), or one holding unparseable events that name no
    member."""
    from tamis.consent import open_registry
    from tamis.consent.location import build_registry_url

    url = build_registry_url(request.registry_url)
    if url is None:
        raise InputError(
            "no consent source: the export has no consent_events table and no consent registry "
            "is configured (--db, TAMIS_DB); import the members' consent first "
            "(tamis consent import) or add consent_events to the export",
            file=str(request.export_dir),
        )
    with open_registry(url, existing=True) as registry:
        if not registry.holds_events(setting):
            raise InputError(
                f"the consent registry at {registry.url} holds no {setting} event: it cannot hold "
                "the members' objections, and every member would get the jurisdiction's default; "
                "import the members' consent first (tamis consent import), or give the export's "
                "consent_events (--consent export)",
                file=str(request.export_dir),
            )
        invalid = _registry_invalid(registry, request)
        return (
            registry.bulk_state(cutoff, setting=setting),
            invalid,
            registry.url,
            registry.bulk_state(now, setting=setting),
        )


def _registry_invalid(registry: ConsentRegistry, request: BuildRequest) -> pa.Table:
    """The registry's invalid members for a build (``member_id, reason, rejects``): those with
    an unresolved reject, and those with an event for a misspelt setting of the policy's
    (``genai-training``: perhaps a lost objection). Stops the build on rejects that name no
    member: whose objection they were cannot be known."""
    rejects = registry.rejects()
    nameless = [
        f"{f}:{ln}"
        for f, ln, m in zip(
            rejects.column("file").to_pylist(),
            rejects.column("line").to_pylist(),
            rejects.column("member_id").to_pylist(),
            strict=True,
        )
        if m is None
    ]
    if nameless:
        raise InputError(
            f"the registry holds {len(nameless)} unparseable consent event(s) that name no "
            f"member ({', '.join(nameless[:5])}); an objection could be lost, so the build "
            "stops: re-import the corrected events, then resolve the rejects"
        )
    invalid = registry.invalid_members()
    unknown = registry.misspelt_setting_members(request.policy.policy.settings)
    if not unknown.num_rows:
        return invalid
    seen = set(invalid.column("member_id").to_pylist())
    extra = unknown.filter(
        pc.invert(pc.is_in(unknown.column("member_id"), pa.array(seen, pa.string())))
    )
    return pa.concat_tables([invalid, extra]).sort_by("member_id")


def rejected_row_ids(rejects: list[dict[str, Any]]) -> list[str]:
    """The ids a table's rejected rows name, each once per row: the row's key and its member
    (a members row names its member_id as both). Both engines count them as copies of an id."""
    return [
        i
        for r in rejects
        for i in dict.fromkeys((r.get("key"), r.get("member_id")))
        if i is not None
    ]


def raw_ids_sql(path: Path, column: str) -> str:
    """DuckDB SQL for the ids of one export file (``column``, as text, as the reader reads them:
    a Parquet file may hold integer ids; a JSONL line DuckDB cannot parse is skipped, as the
    reader rejects it). The duplicate-id scan of both engines, so that they find the same
    duplicates. JSONL is read line by line as JSON values: ``read_json`` with columns read
    every line as a bare value as soon as one line was not an object (``[]``), and no id of
    that file was seen."""
    if path.suffix == ".parquet":
        return (
            f"SELECT CAST({column} AS VARCHAR) AS {column} FROM read_parquet('{_sql_path(path)}')"  # nosec B608  # quoted literals
        )
    return (
        f"SELECT json_extract_string(json, '$.{column}') AS {column} "  # nosec B608  # quoted literals
        f"FROM read_ndjson_objects('{_sql_path(path)}', ignore_errors=true)"
    )


def registry_beside_export(
    request: BuildRequest, cutoff: datetime, setting: str
) -> tuple[pa.Table, pa.Table, str] | None:
    """With ``--consent auto`` and the export's ``consent_events`` read, a registry configured
    beside them (``--db``, ``$TAMIS_DB``) may still hold what puts members out: an objection
    recorded on tamis' own settings page, an unresolved reject. Its state at the cutoff, its
    invalid members and its URL, or None when no registry is configured."""
    from tamis.consent.location import build_registry_url

    url = build_registry_url(request.registry_url)
    if url is None:
        return None
    from tamis.consent import open_registry

    with open_registry(url, existing=True) as registry:
        return (
            registry.bulk_state(cutoff, setting=setting),
            _registry_invalid(registry, request),
            registry.url,
        )


def registry_disagreement_report(
    request: BuildRequest, rows: list[tuple[Any, ...]], shown: str
) -> dict[str, Any]:
    """The manifest's ``consent.registry_disagreement``: how many members of the export the
    registry beside it puts out while the export keeps them in. With ``--consent auto`` any
    such member stops the build (:func:`registry_disagreement`); with ``--consent export`` they
    stay in, and are counted here so that nobody reading the manifest misses it."""
    if rows and request.consent == "auto":
        raise registry_disagreement(rows, shown, request.export_dir)
    return {"registry": shown, "members": len(rows)}


def registry_disagreement(rows: list[tuple[Any, ...]], shown: str, export_dir: Path) -> InputError:
    """The error that stops a ``--consent auto`` build whose registry puts members out that the
    export keeps in (``rows``: ``member_id, why``): silently building from the export alone
    would lose their objections."""
    examples = ", ".join(f"{member} {why}" for member, why in rows[:5])
    return InputError(
        f"the export's consent_events and the registry {shown} disagree: at the cutoff the "
        f"registry puts {len(rows)} member(s) of the export out that the export keeps in "
        f"({examples}{', ...' if len(rows) > 5 else ''}); an objection could be lost, so the "
        "build stops. Neither source alone has every choice: import the export's events into "
        "the registry (tamis consent import) and build with --consent registry, or pass "
        "--consent export to use the export's events alone",
        file=str(export_dir),
    )


def _profile_text(batch: pa.RecordBatch, fields: tuple[str, ...]) -> pa.Array:
    """The text of a profile record: values joined by a space; lists joined by ', '."""
    values = []
    for name in fields:
        col = batch.column(name)
        if pa.types.is_list(col.type):
            col = pc.binary_join(col, ", ")
            col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        elif not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        values.append(col)
    if len(values) == 1:
        return values[0]
    # Joined pairwise, nulls left out: pyarrow 26's null_handling="skip" drops the rows where
    # every value is null, so its result is shorter than the batch (and misaligned).
    joined = values[0]
    for value in values[1:]:
        joined = pc.coalesce(pc.binary_join_element_wise(joined, value, " "), joined, value)
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def build_snapshot(request: BuildRequest, progress: Progress | None = None) -> BuildResult:
    """Build and atomically publish a snapshot; see :class:`BuildRequest`."""
    return SnapshotBuilder(request, progress).run()


__all__ = ["BuildRequest", "BuildResult", "SnapshotBuilder", "build_snapshot"]
