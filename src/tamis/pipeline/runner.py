"""Run text stages over a stream of record batches, in order, on one or several cores.

Stages are stateless across batches and picklable, so the embedded engine can hand batches to
worker processes (DuckDB threads in the main process make ``fork`` unsafe: workers are spawned)
and still write them in their original order. A bounded window of batches in flight keeps memory
flat whatever the input size.
"""

from __future__ import annotations

import multiprocessing
import pickle  # nosec B403  # own worker processes
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tamis._workers import exit_with_parent
from tamis.errors import SnapshotError
from tamis.pipeline.stages import Stage


@dataclass
class StageOutput:
    """One batch after every stage: the rows kept, the rows dropped (counted), the counters."""

    batch: pa.RecordBatch
    dropped: list[tuple[str, str, str, int]] = field(default_factory=list)  # reason, kind, cat, n
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    # positions, in the batch that went in, of the rows of ``batch``; None: every row, in order
    kept: pa.Array | None = None


def group_counts(table: pa.Table | pa.RecordBatch, keys: Sequence[str]) -> list[tuple[object, ...]]:
    """``(key..., count)`` rows of ``table`` grouped by ``keys``."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    counts = table.group_by(list(keys), use_threads=False).aggregate([([], "count_all")])
    return list(zip(*(counts.column(c).to_pylist() for c in [*keys, "count_all"]), strict=True))


_UNCHANGED_COLUMNS = ("record_id", "member_ref", "kind", "category")


def apply_stages(stages: Sequence[Stage], batch: pa.RecordBatch) -> StageOutput:
    """Run every stage on a batch, dropping the rows a stage gives a reason for.

    A stage may rewrite texts, never the rows themselves: one that returns another number of
    rows, or other ids, authors, kinds or categories, is an error (the build counts records per
    member and category from what went in)."""
    output = StageOutput(batch)
    for stage in stages:
        result = stage.process(output.batch)
        _check_same_rows(stage, output.batch, result.batch)
        output.counts.setdefault(stage.name, Counter()).update(result.counts)
        output.batch = result.batch
        if result.dropped is None:
            continue
        dropped = pc.is_valid(result.dropped)
        if not pc.any(dropped).as_py():
            continue
        gone = output.batch.filter(dropped)
        table = pa.table(
            {
                "reason": result.dropped.filter(dropped),
                "kind": gone.column("kind"),
                "category": gone.column("category"),
            }
        )
        output.dropped += group_counts(table, ["reason", "kind", "category"])  # type: ignore[arg-type]
        kept = pc.invert(dropped)
        output.batch = output.batch.filter(kept)
        if output.kept is None:
            output.kept = pa.array(np.arange(len(kept), dtype=np.int32))
        output.kept = output.kept.filter(kept)
    return output


def _check_same_rows(stage: Stage, before: pa.RecordBatch, after: pa.RecordBatch) -> None:
    if after.num_rows != before.num_rows:
        raise SnapshotError(
            f"stage {stage.name} returned {after.num_rows} rows for {before.num_rows}: a stage "
            "drops rows by giving a reason, never by leaving them out"
        )
    for name in _UNCHANGED_COLUMNS:
        if not after.column(name).equals(before.column(name)):
            raise SnapshotError(f"stage {stage.name} changed the records' {name}: it may not")


_worker_stages: list[Stage] = []


def _init_worker(payload: bytes) -> None:
    global _worker_stages
    exit_with_parent()
    _worker_stages = pickle.loads(payload)  # nosec B301  # own worker processes


def _work(batch: pa.RecordBatch) -> StageOutput:
    return apply_stages(_worker_stages, batch)


class StageRunner:
    """Applies stages to batches in order; ``workers > 1`` uses that many spawned processes."""

    def __init__(self, stages: Sequence[Stage], workers: int = 1) -> None:
        self.stages = list(stages)
        self.workers = workers if self.stages else 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> StageRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _start_pool(self) -> ProcessPoolExecutor:
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(pickle.dumps(self.stages),),
        )
        return self._pool

    def map(self, batches: Iterable[pa.RecordBatch]) -> Iterator[StageOutput]:
        """Stage outputs in input order. The first batch runs here; worker processes start only
        when a second one comes (small builds never pay for spawning)."""
        iterator = iter(batches)
        first = next(iterator, None)
        if first is None:
            return
        yield apply_stages(self.stages, first)
        if self.workers <= 1:
            for batch in iterator:
                yield apply_stages(self.stages, batch)
            return
        pool = None
        window: deque[Future[StageOutput]] = deque()
        limit = 2 * self.workers + 1
        for batch in iterator:
            pool = pool or self._start_pool()
            window.append(pool.submit(_work, batch))
            if len(window) >= limit:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
