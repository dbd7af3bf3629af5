"""The group-commit writer: batches share a transaction, a bad event fails alone, and an
acknowledged event is committed (read back through another connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tamis.consent import ConsentEvent, open_registry
from tamis.errors import ConsentConflictError, RegistryError
from tamis.service.writer import GroupCommitWriter


def _event(event_id: str, member: str = "m1", value: bool = False) -> ConsentEvent:
    return ConsentEvent.create(
        event_id, member, "genai_training", value, datetime.now(UTC), "settings_page"
    )


@pytest.fixture
def writer(db_url: str) -> Iterator[GroupCommitWriter]:
    with open_registry(db_url) as registry:
        yield GroupCommitWriter(registry, max_batch=100)


def test_queued_events_share_one_transaction(writer: GroupCommitWriter, db_url: str) -> None:
    try:
        futures = [writer.submit(_event(f"e{i}", f"m{i}")) for i in range(10)]
        writer.start()  # everything queued so far goes into the first batch
        stored = [f.result(timeout=30) for f in futures]
        assert [e.event_id for e in stored] == [f"e{i}" for i in range(10)]
        assert writer.stats.transactions == 1 and writer.stats.largest_batch == 10
    finally:
        writer.close()
    with open_registry(db_url) as registry:
        (event,) = registry.history("m3")
        assert event.event_id == "e3" and event.channel == "settings_page"


def test_a_bad_event_fails_alone(writer: GroupCommitWriter, db_url: str) -> None:
    with open_registry(db_url) as registry:
        registry.append("taken", "m0", "genai_training", True, datetime.now(UTC), "api")
    try:
        futures = [writer.submit(_event(f"e{i}", f"n{i}")) for i in range(5)]
        bad = writer.submit(_event("taken"))  # the id is recorded with other content
        writer.start()
        assert [f.result(timeout=30).event_id for f in futures] == [f"e{i}" for i in range(5)]
        with pytest.raises(ConsentConflictError, match="taken"):
            bad.result(timeout=30)
        assert writer.stats.committed == 5 and writer.stats.failed == 1
    finally:
        writer.close()
    with open_registry(db_url) as registry:
        assert registry.stats().events == 6  # five new events, and "taken" (unchanged)
        (taken,) = registry.history("m0")
        assert taken.value is True


def test_closed_writer_refuses(writer: GroupCommitWriter) -> None:
    writer.start()
    writer.close()
    with pytest.raises(RegistryError):
        writer.submit(_event("late"))


def test_close_commits_what_is_queued(writer: GroupCommitWriter) -> None:
    futures = [writer.submit(_event(f"q{i}")) for i in range(5)]
    writer.start()
    writer.close()
    assert all(f.done() and f.exception() is None for f in futures)


def test_a_failed_transaction_is_retried_event_by_event(
    writer: GroupCommitWriter, db_url: str
) -> None:
    # Built around ConsentEvent.create's checks: the database's NOT NULL refuses it, which fails
    # the whole shared transaction; the writer then records the others one by one.
    bad_event = ConsentEvent("bad", None, "genai_training", False, datetime.now(UTC), "api")  # type: ignore[arg-type]
    try:
        good = [writer.submit(_event(f"g{i}", f"p{i}")) for i in range(3)]
        bad = writer.submit(bad_event)
        writer.start()
        assert [f.result(timeout=30).event_id for f in good] == ["g0", "g1", "g2"]
        with pytest.raises(RegistryError, match="recording consent events failed"):
            bad.result(timeout=30)
        assert writer.stats.committed == 3 and writer.stats.failed == 1
    finally:
        writer.close()
    with open_registry(db_url) as registry:
        assert registry.stats().events == 3


def test_awaited_writes_share_transactions_and_survive_a_cancelled_one(
    writer: GroupCommitWriter, db_url: str
) -> None:
    async def scenario() -> list[ConsentEvent]:
        cancelled = asyncio.ensure_future(writer.write(_event("gone", "c0")))
        await asyncio.sleep(0)  # queued
        cancelled.cancel()  # the client went away before the commit
        writes = [writer.write(_event(f"a{i}", f"c{i}")) for i in range(1, 20)]
        tasks = [asyncio.ensure_future(w) for w in writes]
        await asyncio.sleep(0)  # all queued before the writer runs
        writer.start()
        stored = await asyncio.gather(*tasks)
        # the writer thread is alive after settling a cancelled future
        stored.append(await writer.write(_event("after", "c99")))
        return stored

    try:
        stored = asyncio.run(scenario())
        assert [e.event_id for e in stored] == [f"a{i}" for i in range(1, 20)] + ["after"]
        assert all(e.seq is not None and e.recorded_at is not None for e in stored)
        assert writer.stats.largest_batch == 20  # "gone" and the 19 others, in one transaction
    finally:
        writer.close()
    with open_registry(db_url) as registry:
        assert registry.stats().events == 21  # the cancelled write is committed all the same
