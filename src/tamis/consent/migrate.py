"""Schema migrations of the registry, run on open (Alembic, scripts shipped in the package).

Opening migrates to head. It is idempotent (a registry at head is left alone) and safe when several
processes open the same registry at once: the migration runs in one transaction that first takes
a lock (SQLite: ``BEGIN IMMEDIATE``, the database's write lock; PostgreSQL: a transaction-level
advisory lock), and Alembic reads the current revision only once it holds that lock, so the
second process finds the work done.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from tamis.consent.engine import WRITE_OPTION, display_url
from tamis.errors import RegistryError

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key: "tamis" in ASCII, then 1 for the consent registry's migrations.
_PG_LOCK_KEY = 0x74616D697301


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the package (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the consent registry ships at least one migration"
    return head


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> str:
    """Migrate the registry behind ``engine`` to head; returns the head revision."""
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection)
    if current == head:
        return head
    with (
        engine.connect().execution_options(**{WRITE_OPTION: True}) as connection,
        connection.begin(),
    ):
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        current = current_revision(connection)
        if current is not None and current not in {s.revision for s in script.walk_revisions()}:
            raise RegistryError(
                f"the consent registry at {display_url(engine.url)} has schema revision "
                f"{current!r}, which this version of tamis does not know; "
                "upgrade tamis to open it"
            )
        if current != head:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return head
