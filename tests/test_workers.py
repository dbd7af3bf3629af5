"""Worker processes do not outlive a parent killed with SIGKILL (OOM killer, an operator, the
chaos tests): they would otherwise wait for ever on pipes, each holding its memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tamis.lineage.receipts as receipts
import tamis.pipeline.runner as runner
import tamis.synth._parallel as synth_parallel

# A parent that starts two spawned workers (a concurrent.futures pool and a multiprocessing
# pool, as tamis' pools are), has them busy or idle, prints their pids and waits to be killed.
PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from tamis._workers import exit_with_parent

initializer = exit_with_parent if sys.argv[1] == "watched" else None
context = multiprocessing.get_context("spawn")
executor = ProcessPoolExecutor(1, mp_context=context, initializer=initializer)
pool = context.Pool(1, initializer=initializer)
pids = [executor.submit(os.getpid).result(), pool.apply_async(os.getpid).get()]
# a result far bigger than a pipe's buffer, never collected: that worker blocks in a write
executor.submit(bytes, 64 << 20)
print(" ".join(map(str, pids)), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(") ", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _orphans_after_kill(mode: str, wait_s: float) -> list[int]:
    with subprocess.Popen(
        [sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        time.sleep(0.5)  # the big result is being written
        parent.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    left = [p for p in pids if _alive(p)]
    for pid in left:  # never leave them behind, whatever the outcome
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_workers_exit_when_their_parent_is_killed() -> None:
    assert _orphans_after_kill("watched", wait_s=10) == []


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_without_the_watch_workers_are_left_behind() -> None:
    """The control: what the watch prevents does happen (at least to the worker blocked in a
    write; an idle multiprocessing.Pool worker may see the end of its task pipe and leave)."""
    assert len(_orphans_after_kill("bare", wait_s=2)) >= 1


class _Watched(Exception):
    pass


@pytest.mark.parametrize(
    ("module", "initializer", "args"),
    [
        (runner, "_init_worker", (b"",)),
        (receipts, "_init_issuer", (None, None, b"", "")),
        (receipts, "_init_checker", ("", b"")),
        (synth_parallel, "_init", (None, ())),
    ],
)
def test_every_pool_of_tamis_watches_its_parent(
    monkeypatch: pytest.MonkeyPatch, module: Any, initializer: str, args: tuple[Any, ...]
) -> None:
    def watched() -> None:
        raise _Watched

    monkeypatch.setattr(module, "exit_with_parent", watched, raising=False)
    with pytest.raises(_Watched):
        getattr(module, initializer)(*args)
