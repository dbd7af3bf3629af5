"""The ``tamis`` command line: a thin layer that wires the library's areas together.

Each command group lives in its own module and only wires library calls to options and output;
library errors (:class:`tamis.errors.TamisError`) become one-line messages, never tracebacks.

The command modules are imported on demand (:func:`tamis.cli._common.load_commands`): the
``tamis`` entry point imports only the module of the command it runs; ``tamis.cli.app`` is the
whole app, every module registered.
"""

from __future__ import annotations

import importlib
from typing import Any

from tamis.cli._common import COMMAND_MODULES, load_commands, main

_MODULES = frozenset(COMMAND_MODULES.values())


def __getattr__(name: str) -> Any:
    if name == "app":
        return load_commands()
    if name in _MODULES:
        return importlib.import_module(f"tamis.cli.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "load_commands", "main", *sorted(_MODULES)]
