"""Group commit: concurrent consent writes batched into one transaction, each acknowledged after it.

On SQLite (WAL, ``synchronous=FULL``) a commit costs one fsync, so one transaction per request
caps the service at a few dozen writes a second per fsync latency, whatever the CPU. The writer is
one thread that takes every event waiting in its queue (up to ``max_batch``), records them in one
registry transaction and only then resolves each request's future: a request is acknowledged
after its event is durably committed, exactly as with :meth:`ConsentRegistry.append`, and
concurrent requests share the fsync.

Events go through the registry's own batch write, :meth:`ConsentRegistry.append_many` (one
transaction; idempotent on event ids; each event linked into the tamper-evident log, in order),
never around it. Each event gets its own outcome: an id reused with other content fails that
request alone (409), the others are committed. If the transaction itself fails (the database is
unreachable, the disk is full), its events are retried one transaction each, so that whatever
made it fail fails alone; nothing is acknowledged that is not committed.

Requests awaiting from the event loop are resolved together: one ``call_soon_threadsafe`` per
batch (not one per event), so that a batch of *n* wakes the loop once.

The process's other writer, the objection sweeper (:mod:`.sweeper`), holds
:attr:`GroupCommitWriter.lock` around its transactions, as the writer does around its own, and
gives way while the writer waits for it or is behind (:attr:`GroupCommitWriter.behind`): the
writer waits on that lock, woken the moment it is free, instead of meeting SQLite's lock and
sleeping in its busy handler's steps (up to 100 ms each), which put tens of milliseconds on the
switch's p99.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from tamis.consent.model import ConsentEvent
from tamis.consent.registry import ConsentRegistry
from tamis.errors import RegistryError, TamisError

log = logging.getLogger(__name__)

Outcome = tuple[ConsentEvent | None, BaseException | None]


@dataclass
class _Pending:
    """A queued event and where its outcome goes: an asyncio future on ``loop`` (``write``), or
    a thread-safe future (``submit``)."""

    event: ConsentEvent
    future: asyncio.Future[ConsentEvent] | Future[ConsentEvent]
    loop: asyncio.AbstractEventLoop | None = None


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
        self.lock = threading.Lock()  # held around each transaction; see the module docstring
        self.waiting = False  # the writer waits for the lock: whoever holds it should give way

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

    @property
    def behind(self) -> bool:
        """Whether events wait in the queue for the writer (approximately): it is saturated."""
        return not self._queue.empty()

    def submit(self, event: ConsentEvent) -> Future[ConsentEvent]:
        """Queue an event; the future resolves to the stored event once committed."""
        if self._closed:
            raise RegistryError("the consent writer is not running")
        future: Future[ConsentEvent] = Future()
        self._queue.put(_Pending(event, future))
        return future

    async def write(self, event: ConsentEvent) -> ConsentEvent:
        """Queue an event and wait for its commit: returns the stored event, or raises what its
        commit raised (:class:`RegistryError`, :class:`ConsentConflictError`)."""
        if self._closed:
            raise RegistryError("the consent writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ConsentEvent] = loop.create_future()
        self._queue.put(_Pending(event, future, loop))
        return await future

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
            self._resolve(batch, self._commit(batch))

    def _commit(self, batch: list[_Pending]) -> list[Outcome]:
        """Record ``batch`` in one transaction; on failure, each event in its own."""
        started = time.thread_time()
        try:
            self.waiting = True
            with self.lock:
                self.waiting = False
                results = self._registry.append_many([p.event for p in batch])
        except Exception as exc:
            self.stats.cpu_s += time.thread_time() - started
            if len(batch) == 1:
                self.stats.failed += 1
                return [(None, _registry_error(exc))]
            log.warning(
                "a batch of %d consent events failed (%s); retrying one by one", len(batch), exc
            )
            return [outcome for pending in batch for outcome in self._commit([pending])]
        self.stats.cpu_s += time.thread_time() - started
        self.stats.transactions += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        outcomes: list[Outcome] = []
        for result in results:
            if isinstance(result, BaseException):
                self.stats.failed += 1
                outcomes.append((None, result))
            else:
                self.stats.committed += 1
                outcomes.append((result.event, None))
        return outcomes

    def _resolve(self, batch: list[_Pending], outcomes: list[Outcome]) -> None:
        """Hand each request its outcome: thread-safe futures at once, asyncio futures by one
        callback per event loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Pending, Outcome]]] = {}
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.loop is None:
                _settle(pending, outcome)
            else:
                by_loop.setdefault(pending.loop, []).append((pending, outcome))
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all(items))
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                log.warning("%d consent writes committed after their event loop closed", len(items))


def _settle(pending: _Pending, outcome: Outcome) -> None:
    # A cancelled future (the client went away) gets nothing; its event is committed anyway.
    future = pending.future
    if isinstance(future, Future):
        if not future.set_running_or_notify_cancel():  # thread-safe: cancel() can race
            return
    elif future.done():  # asyncio: settled on its own loop, no race
        return
    event, error = outcome
    if error is not None:
        future.set_exception(error)
    else:
        assert event is not None
        future.set_result(event)


def _settle_all(items: list[tuple[_Pending, Outcome]]) -> Callable[[], None]:
    def settle() -> None:
        for pending, outcome in items:
            _settle(pending, outcome)

    return settle


def _registry_error(exc: Exception) -> Exception:
    if isinstance(exc, TamisError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return RegistryError(
        f"recording a consent event failed: {lines[0] if lines else type(orig).__name__}"
    )
