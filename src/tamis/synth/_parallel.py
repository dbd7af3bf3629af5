"""Run numbered batches in worker processes and consume their results in order.

A maker is built once per worker from picklable arguments; ``maker(b)`` must depend only on
``b`` and those arguments, so the output is the same for any number of workers. At most
``2 * workers`` batches are in flight: memory stays bounded however many batches there are.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from multiprocessing.pool import AsyncResult
from typing import Any, TypeVar

from tamis._workers import exit_with_parent
from tamis.errors import TamisError

R = TypeVar("R")

_maker: Callable[[int], Any] | None = None


def default_workers() -> int:
    """Worker processes for large runs: the usable CPUs, at most 8 (``TAMIS_SYNTH_WORKERS``
    overrides; 1 = in this process)."""
    configured = os.environ.get("TAMIS_SYNTH_WORKERS", "").strip()
    if configured:
        if not configured.isdigit():
            raise TamisError(f"TAMIS_SYNTH_WORKERS={configured!r}: give a whole number (1 = none)")
        return max(1, int(configured))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def _init(factory: Callable[..., Callable[[int], Any]], args: tuple[Any, ...]) -> None:
    global _maker
    exit_with_parent()
    _maker = factory(*args)


def _work(b: int) -> Any:
    assert _maker is not None
    return _maker(b)


def run_batches(
    factory: Callable[..., Callable[[int], R]],
    args: tuple[Any, ...],
    batches: int,
    workers: int,
    consume: Callable[[int, R], None],
) -> None:
    """``consume(b, factory(*args)(b))`` for b = 0 .. batches-1, in order."""
    workers = min(workers, batches)
    if workers <= 1:
        maker = factory(*args)
        for b in range(batches):
            consume(b, maker(b))
        return
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=_init, initargs=(factory, args)) as pool:
        pending: deque[AsyncResult[R]] = deque()
        submitted = 0
        for b in range(batches):
            while submitted < batches and len(pending) < 2 * workers:
                pending.append(pool.apply_async(_work, (submitted,)))
                submitted += 1
            consume(b, pending.popleft().get())
