"""The tamper-evident consent log: the chain holds, and each kind of tampering is named.

Tampering goes around tamis (triggers disabled, rows edited in SQL), as someone with database
access would; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tamis.consent import ConsentRegistry, open_registry
from tamis.consent.log import (
    GENESIS,
    consent_log,
    link,
    make_checkpoint,
    verify_registry,
)
from tamis.lineage.signing import SigningKey

EVENTS = [
    ("e1", "m1", True, "2025-01-01T00:00:00Z"),
    ("e2", "m2", True, "2025-01-02T00:00:00Z"),
    ("e3", "m1", False, "2025-02-01T00:00:00Z"),
    ("e4", "m3", True, "2025-03-01T00:00:00Z"),
]


@contextmanager
def tampering(registry: ConsentRegistry) -> Iterator[sa.Connection]:
    """A raw connection with the append-only triggers out of the way (rolled back on error)."""
    engine = sa.create_engine(registry._engine.url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in ("consent_events", "consent_log"):
                connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield connection
            for table in ("consent_events", "consent_log"):
                connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            for name in (
                "consent_events_no_update",
                "consent_events_no_delete",
                "consent_log_no_update",
                "consent_log_no_delete",
            ):
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
            yield connection
    engine.dispose()


@pytest.fixture
def filled(registry: ConsentRegistry, make_batch: Any) -> ConsentRegistry:
    registry.import_batches([make_batch(EVENTS[:2])])
    for event_id, member, value, ts in EVENTS[2:]:
        registry.append(event_id, member, "genai_training", value, ts, "settings_page")
    return registry


def test_the_chain_holds_and_links(filled: ConsentRegistry) -> None:
    report = verify_registry(filled)
    assert report.ok and report.entries == 4 and report.by_kind == {"event": 4}
    with filled.reading("test") as connection:
        rows = connection.execute(sa.select(consent_log).order_by(consent_log.c.seq)).all()
    prev = GENESIS
    for row in rows:
        assert row.prev_hash == prev
        assert link(prev, row.seq, row.kind, row.ref, row.payload) == row.entry_hash
        prev = row.entry_hash
    assert [r.ref for r in rows] == ["e1", "e2", "e3", "e4"]
    # a repeated import adds nothing to the log
    assert filled.append("e3", "m1", "genai_training", False, EVENTS[2][3], "settings_page")
    assert verify_registry(filled).entries == 4


def test_editing_an_event_is_named(filled: ConsentRegistry) -> None:
    with tampering(filled) as c:
        c.exec_driver_sql("UPDATE consent_events SET value = true WHERE event_id = 'e3'")
    problem = verify_registry(filled).problem
    assert problem is not None and problem.ref == "e3" and problem.seq == 3
    assert "edited" in problem.message and "value" in problem.message


def test_deleting_an_event_is_named(filled: ConsentRegistry) -> None:
    with tampering(filled) as c:
        c.exec_driver_sql("DELETE FROM consent_events WHERE event_id = 'e2'")
    problem = verify_registry(filled).problem
    assert problem is not None and problem.ref == "e2" and "deleted" in problem.message


def test_reordering_events_is_named(filled: ConsentRegistry) -> None:
    with tampering(filled) as c:
        seqs: dict[str, int] = dict(
            c.exec_driver_sql("SELECT event_id, seq FROM consent_events").all()
        )
        c.exec_driver_sql("UPDATE consent_events SET seq = 1000 WHERE event_id = 'e2'")
        c.exec_driver_sql(f"UPDATE consent_events SET seq = {seqs['e2']} WHERE event_id = 'e3'")
        c.exec_driver_sql(f"UPDATE consent_events SET seq = {seqs['e3']} WHERE event_id = 'e2'")
    problem = verify_registry(filled).problem
    assert problem is not None and problem.ref == "e2" and "moved" in problem.message


def test_reordering_log_entries_is_named(filled: ConsentRegistry) -> None:
    with tampering(filled) as c:
        c.exec_driver_sql("UPDATE consent_log SET seq = 100 WHERE seq = 2")
        c.exec_driver_sql("UPDATE consent_log SET seq = 2 WHERE seq = 3")
        c.exec_driver_sql("UPDATE consent_log SET seq = 3 WHERE seq = 100")
    problem = verify_registry(filled).problem
    assert problem is not None and problem.seq == 2 and "link" in problem.message


def test_an_event_inserted_behind_tamis_back_is_named(filled: ConsentRegistry) -> None:
    with tampering(filled) as c:
        c.exec_driver_sql(
            "INSERT INTO consent_events (event_id, member_id, setting, value, ts, channel,"
            " recorded_at) SELECT 'x9', member_id, setting, value, ts, channel, recorded_at"
            " FROM consent_events WHERE event_id = 'e4'"
        )
    problem = verify_registry(filled).problem
    assert problem is not None and problem.ref == "x9" and "not in the log" in problem.message


def test_truncating_the_log_is_caught(filled: ConsentRegistry) -> None:
    with tampering(filled) as c:
        c.exec_driver_sql("DELETE FROM consent_log WHERE seq = 4")
    problem = verify_registry(filled).problem
    assert problem is not None and problem.ref == "e4"


def test_a_checkpoint_catches_a_full_rewrite(filled: ConsentRegistry) -> None:
    signer = SigningKey.generate()
    checkpoint = make_checkpoint(filled, signer)
    # rewrite e1 and recompute every hash after it, and the head: only a checkpoint can tell
    with tampering(filled) as c:
        c.exec_driver_sql("UPDATE consent_events SET value = false WHERE event_id = 'e1'")
        rows = c.execute(sa.select(consent_log).order_by(consent_log.c.seq)).all()
        prev = GENESIS
        for row in rows:
            payload = (
                row.payload.replace('"value":true', '"value":false')
                if row.seq == 1
                else row.payload
            )
            entry_hash = link(prev, row.seq, row.kind, row.ref, payload)
            c.execute(
                sa.update(consent_log)
                .where(consent_log.c.seq == row.seq)
                .values(payload=payload, prev_hash=prev, entry_hash=entry_hash)
            )
            prev = entry_hash
        c.exec_driver_sql(f"UPDATE consent_log_head SET head = '{prev}'")
        if c.dialect.name == "postgresql":
            c.exec_driver_sql("ALTER TABLE log_checkpoints DISABLE TRIGGER USER")
        else:
            c.exec_driver_sql("DROP TRIGGER log_checkpoints_no_delete")
        c.exec_driver_sql("DELETE FROM log_checkpoints")  # the rewriter removes the stored one
    assert verify_registry(filled).ok  # internally consistent...
    report = verify_registry(filled, checkpoints=[checkpoint], public_keys=[signer.public_pem()])
    assert report.problem is not None and "rewritten" in report.problem.message  # ...but not


def test_a_forged_checkpoint_fails(filled: ConsentRegistry) -> None:
    signer = SigningKey.generate()
    checkpoint = make_checkpoint(filled, signer)
    assert verify_registry(filled, checkpoints=[checkpoint], public_keys=[signer.public_pem()]).ok
    forged = {**checkpoint, "signed_at": "2030-01-01T00:00:00.000000Z"}
    report = verify_registry(filled, checkpoints=[forged], public_keys=[signer.public_pem()])
    assert report.problem is not None and "signature" in report.problem.message


def test_a_group_commit_is_chained_in_insertion_order(filled: ConsentRegistry) -> None:
    from tamis.consent import ConsentEvent

    events = [
        ConsentEvent.create(f"g{i}", f"m{i % 3}", "genai_training", i % 2 == 0, ts, "api")
        for i, ts in enumerate(["2025-04-01T00:00:00Z", "2024-01-01T00:00:00Z"] * 3)
    ]
    events.insert(2, ConsentEvent.create("e1", "m1", "genai_training", False, EVENTS[0][3], "api"))
    outcomes = filled.append_many(events)  # e1 is recorded with value true: a conflict, alone
    assert sum(isinstance(o, Exception) for o in outcomes) == 1
    report = verify_registry(filled)
    assert report.ok, report.problem
    assert report.entries == 4 + 6
    with filled.reading("test") as connection:
        refs = connection.execute(sa.select(consent_log.c.ref).order_by(consent_log.c.seq))
        logged = [r for (r,) in refs]
    assert logged == ["e1", "e2", "e3", "e4"] + [f"g{i}" for i in range(6)]  # not by ts


def test_concurrent_writers_keep_one_chain(registry: ConsentRegistry, make_batch: Any) -> None:
    url = registry._engine.url.render_as_string(hide_password=False)

    def writer(n: int) -> None:
        with open_registry(url) as mine:
            for i in range(10):
                if i % 5 == 0:
                    rows = [
                        (f"b{n}-{i}-{j}", f"m{j}", True, "2025-01-01T00:00:00Z") for j in range(5)
                    ]
                    mine.import_batches([make_batch(rows)])
                else:
                    mine.set(f"m{n}", i % 2 == 0, at="2025-02-01T00:00:00Z")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_registry(registry)
    assert report.ok, report.problem
    assert report.entries == 4 * (2 * 5 + 8)


def test_events_before_the_log_are_linked_by_the_migration(tmp_path: Path) -> None:
    from alembic import command

    from tamis.consent.engine import WRITE_OPTION, create_registry_engine
    from tamis.consent.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_registry_engine(url)
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as c, c.begin():
        config = alembic_config()
        config.attributes["connection"] = c
        command.upgrade(config, "0001")
        c.exec_driver_sql(
            "INSERT INTO consent_events (event_id, member_id, setting, value, ts, channel, "
            "recorded_at) VALUES ('old1', 'm1', 'genai_training', 0, "
            "'2024-01-01T00:00:00.000000Z', 'api', '2024-01-01T00:00:01.000000Z')"
        )
    engine.dispose()
    with open_registry(url) as registry:
        report = verify_registry(registry)
        assert report.ok and report.entries == 1


def test_cli_verify_names_the_entry(filled: ConsentRegistry, tmp_path: Path) -> None:
    import tamis.cli.log  # noqa: F401 - registers the group
    from tamis.cli import app

    url = filled._engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    ok = runner.invoke(app, ["log", "verify", "--db", url])
    assert ok.exit_code == 0 and "4 entries" in ok.output
    with tampering(filled) as c:
        c.exec_driver_sql("UPDATE consent_events SET ts = ts WHERE event_id = 'e4'")
        c.exec_driver_sql("UPDATE consent_events SET channel = 'support' WHERE event_id = 'e4'")
    bad = runner.invoke(app, ["log", "verify", "--db", url])
    assert bad.exit_code == 1 and "'e4'" in bad.output and "channel" in bad.output
