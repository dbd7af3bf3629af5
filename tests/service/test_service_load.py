"""The load bench as a slow test (``make bench``): under concurrent toggles, and across SIGKILLs
of the service, every acknowledged write is in the registry."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def _bench() -> Any:
    # Imported by name (not from a file spec): its client processes are spawned and import it
    # again, with the parent's sys.path.
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    return importlib.import_module("settings_load")


@pytest.mark.slow
@pytest.mark.parametrize("kill_every", [0.0, 4.0])
def test_no_acknowledged_write_is_lost(kill_every: float) -> None:
    args = argparse.Namespace(
        seconds=12.0, clients=16, procs=1, db=None, kill_every=kill_every, rate=0.0, json=True
    )
    result = _bench().run(args)
    assert result["acknowledged"] > 0
    assert result["missing_acknowledged"] == 0
    if kill_every:
        assert result["kills"] >= 1
