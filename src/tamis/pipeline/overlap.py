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


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` on a thread, up to ``depth`` items ahead of the consumer.

    An exception raised while producing is raised to the consumer at the same position. A
    consumer that stops early (``close()`` on the generator) stops the producer too."""
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Raised(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="tamis-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


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
