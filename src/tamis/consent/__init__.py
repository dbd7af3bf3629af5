"""The consent registry: members' consent events, append-only, and their state at an instant.

>>> from tamis.consent import open_registry          # doctest: +SKIP
>>> with open_registry(".tamis/registry.db") as registry:  # doctest: +SKIP
...     registry.set("m1", False, channel="objection_form")
...     table = registry.bulk_state("2025-12-01T00:00:00Z")

Modules: :mod:`.registry` (the API), :mod:`.model` (value objects and the decision rule),
:mod:`.engine` (URLs, SQLite/PostgreSQL set-up), :mod:`.migrate` (Alembic, run on open),
:mod:`.importer` (bulk import), :mod:`.schema` (tables). SQLAlchemy is imported on first use of
the registry, not when this package is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tamis.consent.engine import DB_ENV, DEFAULT_DB, resolve_url
    from tamis.consent.model import (
        GENAI_TRAINING,
        INVALID_SCHEMA,
        STATE_SCHEMA,
        Appended,
        ConsentEvent,
        EventCount,
        ImportSummary,
        MemberState,
        RegistryStats,
    )
    from tamis.consent.registry import ConsentRegistry, open_registry

__all__ = [
    "DB_ENV",
    "DEFAULT_DB",
    "GENAI_TRAINING",
    "INVALID_SCHEMA",
    "STATE_SCHEMA",
    "Appended",
    "ConsentEvent",
    "ConsentRegistry",
    "EventCount",
    "ImportSummary",
    "MemberState",
    "RegistryStats",
    "open_registry",
    "resolve_url",
]

_HOMES = {
    "DB_ENV": "engine",
    "DEFAULT_DB": "engine",
    "resolve_url": "engine",
    "ConsentRegistry": "registry",
    "open_registry": "registry",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOMES.get(name, 'model')}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
