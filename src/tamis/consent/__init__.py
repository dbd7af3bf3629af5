"""The consent registry: members' consent events, append-only, and their state at an instant.

>>> from tamis.consent import open_registry          # doctest: +SKIP
>>> with open_registry(".tamis/registry.db") as registry:  # doctest: +SKIP
...     registry.set("m1", False, channel="objection_form")
...     table = registry.bulk_state("2025-12-01T00:00:00Z")

Modules: :mod:`.registry` (the API), :mod:`.model` (value objects and the decision rule),
:mod:`.location` (URLs), :mod:`.engine` (SQLite/PostgreSQL set-up), :mod:`.migrate` (Alembic,
run on open), :mod:`.importer` (bulk import), :mod:`.schema` (tables). SQLAlchemy is imported on
first use of the registry, not when this package is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamis._lazy import lazy_exports

if TYPE_CHECKING:
    from tamis.consent.location import DB_ENV, DEFAULT_DB, resolve_url
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
    "DB_ENV": "location",
    "DEFAULT_DB": "location",
    "resolve_url": "location",
    "ConsentRegistry": "registry",
    "open_registry": "registry",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__, default="model")
