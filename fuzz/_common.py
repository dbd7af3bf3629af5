"""Shared by the atheris harnesses: put ``tests/fuzz`` on the path for the oracles, instrument
tamis's own code for coverage, and run one target with libFuzzer's options (``-runs=N``,
``-max_total_time=S``, a corpus folder).

Instrumentation: ``atheris.instrument_imports()`` misses tamis installed in editable mode (its
modules come through setuptools' editable finder), and ``atheris.instrument_all()`` instruments
every function loaded, pyarrow's and pydantic's included (about 15,000: minutes before the first
input). So :func:`run` instruments the functions of ``tamis`` and of the oracles only, once the
modules the oracles import lazily are loaded.
"""

from __future__ import annotations

import gc
import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path

import atheris  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
# String comparisons feed libFuzzer's dictionary. (The "RegEx" hook would too, but atheris 3.0's
# pattern proxy breaks ``pattern.match(text, pos)``, which the standard library's tokenize uses.)
atheris.enabled_hooks.add("str")

import tamis_fuzz  # noqa: E402  (imports the modules under test)

# What the oracles import inside their functions: loaded now, so that they are instrumented.
LAZY_MODULES = ("tamis.policy.loader", "tamis.timefmt", "tamis.sources.reader")
INSTRUMENTED = ("tamis", "tamis_fuzz")  # top-level names of the modules to instrument


def instrument_tamis() -> int:
    """Add atheris's coverage instrumentation to every loaded function of tamis and the oracles."""
    for name in LAZY_MODULES:
        importlib.import_module(name)
    functions = [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, types.FunctionType)
        and isinstance(obj.__module__, str)
        and obj.__module__.split(".")[0] in INSTRUMENTED
    ]
    for function in functions:
        atheris.instrument_func(function)
    return len(functions)


def run(target: Callable[[bytes], None]) -> None:
    count = instrument_tamis()
    print(f"INFO: instrumented {count} functions of tamis and its oracles", file=sys.stderr)

    def counted(data: bytes) -> None:
        target(data)
        # libFuzzer ends the process with C's exit(): Python's atexit hooks do not run, so the
        # tally is written after every input (a small file; an input takes far longer).
        tamis_fuzz.write_tally()

    atheris.Setup(sys.argv, counted)
    atheris.Fuzz()
