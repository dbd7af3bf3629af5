"""Alembic environment of the consent registry.

tamis runs migrations programmatically (:func:`tamis.consent.migrate.upgrade_to_head`), handing
over an open connection inside a transaction that already holds the migration lock
(``config.attributes["connection"]``). Run from the command line, ``sqlalchemy.url`` in the Alembic
config names the database instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from tamis.consent.schema import metadata

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
