"""Fixtures of the member-service tests: a tiny export, a snapshot folder, the app on SQLite and
on the real PostgreSQL, and signed-in clients.

PostgreSQL runs against ``$TAMIS_TEST_POSTGRES_URL`` (default: database ``test`` on
127.0.0.1:5432, user ``postgres``): the session creates a scratch database, each test gets its own
schema, and the database is dropped at the end. An unreachable server FAILS the PostgreSQL tests;
``TAMIS_SKIP_POSTGRES=1`` skips them on purpose.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tamis.keys import PseudonymKey, load_key
from tamis.service import MemorySender, ServiceConfig, create_app

PG_URL_ENV = "TAMIS_TEST_POSTGRES_URL"
PG_SKIP_ENV = "TAMIS_SKIP_POSTGRES"
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SESSION_SECRET = "service-tests-" + "s" * 40
DPO_TOKEN = "dpo-" + "t" * 40

# Members of the tiny export: a French adult, a second French adult, an American, and a member
# whose country is unknown (not covered: never used).
MEMBERS = [
    {"member_id": "m-alice", "country": "FR", "first_name": "Alice", "last_name": "Martin",
     "email": "alice@example.org", "birth_date": "1990-01-01"},
    {"member_id": "m-bruno", "country": "FR", "first_name": "Bruno", "last_name": "Petit",
     "email": "bruno@example.org", "birth_date": "1985-05-05"},
    {"member_id": "m-carol", "country": "US", "first_name": "Carol", "last_name": "Smith",
     "email": "carol@example.com", "birth_date": "1970-07-07"},
    {"member_id": "m-nowhere", "country": None, "first_name": "Dana", "last_name": "X",
     "email": None, "birth_date": None},
]  # fmt: skip

_schemas = itertools.count(1)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("wb") as handle:
        for row in rows:
            full = {"created_at": "2020-01-01T00:00:00Z", **row}
            handle.write(orjson.dumps(full) + b"\n")


def make_export(root: Path) -> Path:
    export = root / "export"
    export.mkdir(parents=True)
    _write_jsonl(export / "members.jsonl", MEMBERS)
    return export


def make_snapshots(root: Path) -> Path:
    """Two snapshots: Alice and Carol in December, Carol alone in January."""
    snapshots = root / "snapshots"
    snapshots.mkdir(parents=True)
    write_snapshot(
        snapshots, "2025-12", "2025-12-01T00:00:00Z",
        [("m-alice", "user.content.post", 3), ("m-alice", "user.content.comment", 2),
         ("m-carol", "user.content.post", 1)],
    )  # fmt: skip
    write_snapshot(
        snapshots, "2026-01", "2026-01-01T00:00:00Z", [("m-carol", "user.content.post", 2)]
    )
    (snapshots / ".building").mkdir()  # a build in progress: ignored
    return snapshots


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return make_export(tmp_path)


@pytest.fixture(scope="module")
def helpers_module() -> Callable[[Path], tuple[Path, Path]]:
    """Builds (export, snapshots) under a folder, for module-scoped fixtures."""
    return lambda root: (make_export(root), make_snapshots(root))


def write_snapshot(
    root: Path,
    name: str,
    cutoff: str,
    rows: list[tuple[str, str, int]],
    key: PseudonymKey | None = None,
) -> Path:
    """A published-snapshot folder as the builder lays it out (manifest + members.parquet);
    ``rows`` are (member_id, category, records), pseudonymised with ``key`` (named by the
    manifest's ``key_id``) or, by default, the test key (no ``key_id``, as older manifests)."""
    folder = root / name
    folder.mkdir(parents=True)
    manifest = {
        "format": "tamis.snapshot/v1",
        "snapshot_id": f"snap-{name}",
        "purpose": "genai.content_creation",
        "policy": {"name": "linkedin-2025", "version": "2025-11-03.1"},
        "cutoff": cutoff,
        "built_at": cutoff,
        "members_root": "0" * 64,
    }
    if key is None:
        key = load_key()
    else:
        manifest["key_id"] = key.key_id
    (folder / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
    table = pa.table(
        {
            "member_ref": [key.member_ref(m) for m, _, _ in rows],
            "category": [c for _, c, _ in rows],
            "records": pa.array([n for _, _, n in rows], pa.int64()),
        }
    )
    pq.write_table(table, folder / "members.parquet")
    return folder


@pytest.fixture
def snapshots_dir(tmp_path: Path) -> Path:
    return make_snapshots(tmp_path)


# -- databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_database() -> Iterator[sa.URL]:
    """A scratch PostgreSQL database for this session, dropped at the end."""
    if os.environ.get(PG_SKIP_ENV) == "1":
        pytest.skip(f"{PG_SKIP_ENV}=1: PostgreSQL tests skipped on purpose")
    admin_url = sa.make_url(os.environ.get(PG_URL_ENV, PG_DEFAULT_URL))
    admin = sa.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"tamis_svc_{secrets.token_hex(6)}"
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
    schema = f"s{next(_schemas)}"
    engine = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = pg_database.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'registry.db'}"


# -- the app ------------------------------------------------------------------------------------


@pytest.fixture
def sender() -> MemorySender:
    return MemorySender()


@pytest.fixture
def make_app(
    db_url: str, export_dir: Path, snapshots_dir: Path, sender: MemorySender
) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        config = ServiceConfig(
            db=db_url,
            export=export_dir,
            snapshots=snapshots_dir,
            session_secret=SESSION_SECRET,
            dpo_token=DPO_TOKEN,
            **overrides,
        )
        return create_app(config, sender=sender)

    return make


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def sign_in(client: TestClient, member_id: str) -> str:
    """Sign ``client`` in through the API; returns the CSRF token for writes."""
    response = client.post("/api/v1/session", json={"member_id": member_id})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


@pytest.fixture
def helpers() -> Any:
    """Helpers for test modules (which do not import conftest)."""

    class H:
        sign_in = staticmethod(sign_in)
        write_snapshot = staticmethod(write_snapshot)
        dpo: ClassVar[dict[str, str]] = {"Authorization": f"Bearer {DPO_TOKEN}"}

    return H
