"""Packages that import their public names from their modules on first use (PEP 562).

Importing ``tamis.consent`` then costs nothing until a name is used: a snapshot build that reads
consent from the export never loads SQLAlchemy, a Merkle root never loads the signing code."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, str], names: Iterable[str], default: str | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each of ``names`` comes from the module
    ``homes`` gives for it (else ``default``), imported when the name is first asked for."""
    exported = frozenset(names)

    def __getattr__(name: str) -> Any:
        home = homes.get(name, default)
        if name not in exported or home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home}"), name)

    def __dir__() -> list[str]:
        return sorted([*vars(sys.modules[package]), *exported])

    return __getattr__, __dir__
