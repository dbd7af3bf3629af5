"""Worker processes that do not outlive the process that started them.

A parent killed with SIGKILL (the OOM killer, an operator, a chaos test) cannot shut its pools
down. Its spawned workers would then wait for ever: an idle one on a task pipe whose write end it
holds itself, a busy one writing its result into a full pipe that nobody reads, each keeping the
memory of its stages or keys. Every tamis pool starts its workers with :func:`exit_with_parent`.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.pool import AsyncResult
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PARENT_GONE_STATUS = 70  # EX_SOFTWARE


def exit_with_parent(poll_s: float = 0.5) -> None:
    """Call first thing in a worker's initializer: the worker exits once its parent is gone.

    A daemon thread compares the parent pid with the one at start (an orphan is adopted by init
    or a subreaper); it needs no cooperation from the main thread, which may be blocked in a
    write. Linux's PR_SET_PDEATHSIG would be quicker but fires when the parent *thread* that
    spawned the worker ends, which in a pool is not the end of the build."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(PARENT_GONE_STATUS)

    threading.Thread(target=watch, name="tamis-parent-watch", daemon=True).start()


def ordered_map(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
) -> Iterator[R]:
    """``func`` over ``items`` in ``workers`` spawned processes, results in the items' order.

    At most two items per worker are in flight, so memory stays bounded whatever the pace of the
    consumer; ``initializer(*initargs)`` sets each worker up (it should call
    :func:`exit_with_parent` first). A consumer that stops early terminates the pool."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=initializer, initargs=initargs) as pool:
        pending: deque[AsyncResult[R]] = deque()
        iterator = iter(items)
        exhausted = False
        while not exhausted or pending:
            while not exhausted and len(pending) < 2 * workers:
                item = next(iterator, _END)
                if item is _END:
                    exhausted = True
                else:
                    pending.append(pool.apply_async(func, (item,)))
            if pending:
                yield pending.popleft().get()


_END: Any = object()
