"""Overlap I/O with computation on threads.

Reading Parquet, validating with Arrow compute, classifying in DuckDB and encoding Parquet all
release the GIL, so a build that reads the next batch and writes the previous one on threads of
its own keeps both cores busy. Order is kept: one producer thread, one consumer; bounded queues
keep memory flat.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class Prefetch(Generic[T]):
    """Iterates ``items`` on a thread, up to ``depth`` items ahead of the consumer.

    The thread starts at once, before anyone iterates: a build starts reading its content while
    it is still loading members and consent. An exception raised while producing is raised to
    the consumer at the same position. Iterate it once; :meth:`close` (also on leaving a
    ``with`` block) stops the producer and waits for it."""

    def __init__(self, items: Iterable[T], depth: int = 2) -> None:
        self._slots: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(items,), name="tamis-prefetch", daemon=True
        )
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Raised(exc))
            return
        self._put(_DONE)

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Background(Generic[T]):
    """Runs calls in order on one thread, at most ``depth`` pending; errors surface on the
    next call or on :meth:`join`."""

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tamis-writer")
        self._pending: deque[Future[T]] = deque()

    def submit(self, call: Callable[[], T]) -> None:
        self._pending.append(self._pool.submit(call))
        while len(self._pending) > self.depth:
            self._pending.popleft().result()

    def join(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
