"""Shared by the atheris harnesses: put ``tests/fuzz`` on the path for the oracles, instrument
tamis for coverage (on import of this module, before the harness imports tamis), and run one
target with libFuzzer's options (``-runs=N``, ``-max_total_time=S``, a corpus folder)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import atheris  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

import tamis_fuzz  # noqa: E402,F401  (imports the modules under test)

# instrument_imports misses tamis installed in editable mode: instrument everything loaded.
atheris.instrument_all()


def run(target: Callable[[bytes], None]) -> None:
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
