"""Group commit: concurrent consent writes batched into one transaction, each acknowledged after it.

On SQLite (WAL, ``synchronous=FULL``) a commit costs one fsync, so one transaction per request
caps the service at a few dozen writes a second per fsync latency, whatever the CPU. The writer is
one thread that takes every event waiting in its queue (up to ``max_batch``), records them in one
registry transaction and only then resolves each request's future: a request is acknowledged
after its event is durably committed, exactly as with :meth:`ConsentRegistry.append`, and
concurrent requests share the fsync.

Events go through the registry's own batch write, :meth:`ConsentRegistry.import_batches` (one
transaction, all or nothing, idempotent on event ids), never around it: whatever the registry
does when it records an event (append-only triggers, the tamper-evident log) applies to them too.
If a batch fails, its events are retried one transaction each, so that one bad event cannot fail
the others; each request then gets its own outcome. Nothing is acknowledged that is not committed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

import pyarrow as pa

from tamis.consent.model import ConsentEvent
from tamis.consent.registry import ConsentRegistry
from tamis.errors import RegistryError, TamisError
from tamis.timefmt import ARROW_TS

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    event: ConsentEvent
    future: Future[ConsentEvent]


@dataclass
class WriterStats:
    """Counters of a writer: events committed, transactions, largest batch, failures, and the
    CPU seconds its thread spent writing (what a write costs the process beyond HTTP)."""

    committed: int = 0
    transactions: int = 0
    largest_batch: int = 0
    failed: int = 0
    cpu_s: float = 0.0


class GroupCommitWriter:
    """Batches concurrent consent events into shared transactions; see the module docstring."""

    def __init__(self, registry: ConsentRegistry, *, max_batch: int = 512) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._registry = registry
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.stats = WriterStats()

    def start(self) -> None:
        """Start the writer thread (events submitted before are committed first, together)."""
        self._closed = False
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tamis-writer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Commit what is queued and stop the thread (the registry stays open)."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, event: ConsentEvent) -> Future[ConsentEvent]:
        """Queue an event; the future resolves to the stored event once committed."""
        if self._closed:
            raise RegistryError("the consent writer is not running")
        future: Future[ConsentEvent] = Future()
        self._queue.put(_Pending(event, future))
        return future

    async def write(self, event: ConsentEvent) -> ConsentEvent:
        """:meth:`submit`, awaited: returns after the commit, raises what the commit raised."""
        return await asyncio.wrap_future(self.submit(event))

    # -- the writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        started = time.thread_time()
        try:
            stored = self._insert([p.event for p in batch])
        except Exception as exc:
            self.stats.cpu_s += time.thread_time() - started
            if len(batch) == 1:
                self.stats.failed += 1
                batch[0].future.set_exception(_registry_error(exc))
                return
            log.warning(
                "a batch of %d consent events failed (%s); retrying one by one", len(batch), exc
            )
            for pending in batch:
                self._commit([pending])
            return
        self.stats.cpu_s += time.thread_time() - started
        self.stats.committed += len(batch)
        self.stats.transactions += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        for pending, event in zip(batch, stored, strict=True):
            pending.future.set_result(event)

    def _insert(self, events: list[ConsentEvent]) -> list[ConsentEvent]:
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array([e.event_id for e in events], pa.string()),
                pa.array([e.member_id for e in events], pa.string()),
                pa.array([e.setting for e in events], pa.string()),
                pa.array([e.value for e in events], pa.bool_()),
                pa.array([e.ts for e in events], ARROW_TS),
                pa.array([e.channel for e in events], pa.string()),
                pa.array(["<service>"] * len(events), pa.string()),
                pa.array(range(1, len(events) + 1), pa.int64()),
            ],
            names=["event_id", "member_id", "setting", "value", "ts", "channel", "_file", "_line"],
        )
        self._registry.import_batches([batch])  # returns once committed
        return events


def _registry_error(exc: Exception) -> Exception:
    if isinstance(exc, TamisError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return RegistryError(
        f"recording a consent event failed: {lines[0] if lines else type(orig).__name__}"
    )
