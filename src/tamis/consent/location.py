"""Where the registry is: ``--db``, ``$TAMIS_DB`` or the default file, as a SQLAlchemy URL.

Plain standard library, so that a command that has no registry to open (a snapshot build from an
export's own consent events, say) finds that out without importing SQLAlchemy.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_ENV = "TAMIS_DB"
DEFAULT_DB = Path(".tamis") / "registry.db"


def resolve_url(db: str | os.PathLike[str] | None = None) -> str:
    """The registry's SQLAlchemy URL from ``--db``, else ``$TAMIS_DB``, else the default file.

    >>> resolve_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    raw = os.fspath(db) if db is not None else os.environ.get(DB_ENV) or os.fspath(DEFAULT_DB)
    if "://" not in raw:
        path = Path(raw).expanduser()
        return f"sqlite:///{path}"
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def build_registry_url(explicit: str | None) -> str | None:
    """The registry a build reads tombstones and the log head from, or None (no registry).

    ``explicit`` (``--db``), else ``$TAMIS_DB``, else ``./.tamis/registry.db`` when it exists.
    """
    if explicit:
        return resolve_url(explicit)
    if os.environ.get(DB_ENV):
        return resolve_url(None)
    return resolve_url(os.fspath(DEFAULT_DB)) if DEFAULT_DB.exists() else None
