"""Fixtures of the consent registry tests: a registry on SQLite and on the real PostgreSQL.

PostgreSQL tests run against ``$TAMIS_TEST_POSTGRES_URL`` (default: the ``test`` database on
127.0.0.1:5432, user ``postgres``). The session creates a scratch database ``tamis_test_<random>``
there, gives each test its own schema, and drops the database at the end. An unreachable server
FAILS the PostgreSQL tests; set ``TAMIS_SKIP_POSTGRES=1`` to skip them on purpose.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tamis.consent import ConsentRegistry, open_registry
from tamis.timefmt import ARROW_TS, parse_instant

PG_URL_ENV = "TAMIS_TEST_POSTGRES_URL"
PG_SKIP_ENV = "TAMIS_SKIP_POSTGRES"
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[sa.URL]:
    """A scratch PostgreSQL database for this session, dropped at the end."""
    if os.environ.get(PG_SKIP_ENV) == "1":
        pytest.skip(f"{PG_SKIP_ENV}=1: PostgreSQL tests skipped on purpose")
    admin_url = sa.make_url(os.environ.get(PG_URL_ENV, PG_DEFAULT_URL))
    admin = sa.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"tamis_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} is unreachable "
            f"({str(exc.orig).strip().splitlines()[0]}); start it, point {PG_URL_ENV} at one, "
            f"or set {PG_SKIP_ENV}=1 to skip the PostgreSQL tests",
            pytrace=False,
        )
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_url(pg_database: sa.URL) -> str:
    """A fresh, empty schema of the scratch database, as a registry URL (search_path set)."""
    schema = f"t{next(_schemas)}"
    engine = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = pg_database.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture
def registry(registry_url: str) -> Iterator[ConsentRegistry]:
    with open_registry(registry_url) as reg:
        yield reg


# -- helpers ------------------------------------------------------------------------------------


def _batch(
    rows: Sequence[Sequence[Any]],
    *,
    file: str = "consent_events.jsonl",
    first_line: int = 1,
    setting: str = "genai_training",
) -> pa.RecordBatch:
    """A reader-shaped batch from ``(event_id, member_id, value, ts[, channel])`` rows;
    ``ts`` is RFC 3339 text with an offset."""
    n = len(rows)
    return pa.RecordBatch.from_arrays(
        [
            pa.array([r[0] for r in rows], pa.string()),
            pa.array([r[1] for r in rows], pa.string()),
            pa.array([setting] * n, pa.string()),
            pa.array([r[2] for r in rows], pa.bool_()),
            pa.array([parse_instant(r[3]) for r in rows], ARROW_TS),
            pa.array([r[4] if len(r) > 4 else "settings_page" for r in rows], pa.string()),
            pa.array([file] * n, pa.string()),
            pa.array(range(first_line, first_line + n), pa.int64()),
        ],
        names=[
            "event_id",
            "member_id",
            "setting",
            "value",
            "ts",
            "channel",
            "_file",
            "_line",
        ],
    )


@pytest.fixture
def make_batch() -> Any:
    """:func:`_batch`, for tests (test modules do not import conftest)."""
    return _batch
