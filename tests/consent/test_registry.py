"""The consent registry on SQLite and on the real PostgreSQL (tests marked ``postgres``)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa

import tamis.consent
from tamis.consent import (
    INVALID_SCHEMA,
    STATE_SCHEMA,
    Appended,
    ConsentEvent,
    ConsentRegistry,
    open_registry,
    resolve_url,
)
from tamis.consent.engine import display_url
from tamis.consent.migrate import head_revision
from tamis.errors import ConsentConflictError, InputError, RegistryError, TimestampError

MakeBatch = Callable[..., pa.RecordBatch]
T0 = "2025-11-03T10:00:00Z"


def _engine(registry: ConsentRegistry) -> sa.Engine:
    return registry._engine


def _count(registry: ConsentRegistry, table: str = "consent_events") -> int:
    with _engine(registry).connect() as connection:
        return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- public surface, URLs, opening ----------------------------------------------------------------


def test_public_surface_is_pinned() -> None:
    assert tamis.consent.__all__ == [
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
    for name in tamis.consent.__all__:
        assert getattr(tamis.consent, name) is not None


def test_importing_the_package_is_light() -> None:
    code = "import sys, tamis.consent; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_resolve_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAMIS_DB", raising=False)
    assert resolve_url() == "sqlite:///.tamis/registry.db"
    assert resolve_url("x.db") == "sqlite:///x.db"
    assert resolve_url(Path("/srv/r.db")) == "sqlite:////srv/r.db"
    assert resolve_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert resolve_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite:///a.db") == "sqlite:///a.db"
    monkeypatch.setenv("TAMIS_DB", "from-env.db")
    assert resolve_url() == "sqlite:///from-env.db"
    assert resolve_url("flag.db") == "sqlite:///flag.db"  # --db wins over the environment


def test_plain_path_creates_folder_and_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "registry.db"
    with open_registry(path) as registry:
        assert registry.dialect == "sqlite"
        assert registry.revision == head_revision()
    assert path.is_file()


def test_sqlite_is_wal_and_synchronous_full(tmp_path: Path) -> None:
    with open_registry(tmp_path / "r.db") as registry, _engine(registry).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_unreachable_postgres_is_a_registry_error_without_password() -> None:
    with pytest.raises(RegistryError) as caught:
        open_registry("postgresql://tamis:s3cret@127.0.0.1:1/none?connect_timeout=2")
    message = str(caught.value)
    assert "s3cret" not in message
    assert "postgresql+psycopg://tamis:***@127.0.0.1:1/none" in message


def test_unsupported_backend() -> None:
    with pytest.raises(RegistryError, match="SQLite and PostgreSQL"):
        open_registry("mysql://u@h/db")


def test_unwritable_sqlite_path_is_a_registry_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RegistryError):
        open_registry(blocker / "sub" / "r.db")


def test_display_url_masks_password() -> None:
    assert display_url("postgresql+psycopg://a:b@h/d") == "postgresql+psycopg://a:***@h/d"


def test_migration_is_idempotent(registry_url: str) -> None:
    for _ in range(3):
        with open_registry(registry_url) as registry:
            assert registry.revision == head_revision()
            registry.set("m1", True, at=T0)
    with open_registry(registry_url) as registry, _engine(registry).connect() as connection:
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert versions == [(head_revision(),)]
        assert len(registry.history("m1")) == 3


def test_concurrent_first_open_migrates_once(registry_url: str) -> None:
    workers = 6
    barrier = threading.Barrier(workers)

    def open_one(_: int) -> str:
        barrier.wait()
        with open_registry(registry_url) as registry:
            registry.set("m", True, at=T0)
            return registry.revision

    with ThreadPoolExecutor(workers) as pool:
        revisions = list(pool.map(open_one, range(workers)))
    assert revisions == [head_revision()] * workers
    with open_registry(registry_url) as registry:
        assert len(registry.history("m")) == workers


def test_registry_newer_than_tamis_is_refused(registry_url: str) -> None:
    with open_registry(registry_url) as registry, _engine(registry).begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(RegistryError, match=r"revision '9999'.*upgrade tamis"):
        open_registry(registry_url)


# -- append / set ---------------------------------------------------------------------------------


def test_append_inserted_then_duplicate(registry: ConsentRegistry) -> None:
    first = registry.append("e1", "m1", "genai_training", True, "2025-11-03T11:00:00+01:00", "api")
    assert first.status == "inserted"
    assert first.event.ts == _at(T0)
    assert first.event.seq is not None and first.event.recorded_at is not None
    # Same content, the instant written with another offset: a no-op.
    again = registry.append("e1", "m1", "genai_training", True, _at(T0), "api")
    assert again.status == "duplicate"
    assert again.event == first.event
    assert _count(registry) == 1


def test_append_conflict_names_event_and_fields(registry: ConsentRegistry) -> None:
    registry.append("e1", "m1", "genai_training", True, T0, "api")
    with pytest.raises(ConsentConflictError) as caught:
        registry.append("e1", "m1", "genai_training", False, "2025-11-03T10:00:01Z", "api")
    message = str(caught.value)
    assert "'e1'" in message
    assert "value true (recorded) vs false (new)" in message
    assert "ts 2025-11-03T10:00:00Z (recorded) vs 2025-11-03T10:00:01Z (new)" in message
    assert "member_id" not in message and "channel" not in message
    assert _count(registry) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"ts": datetime(2025, 11, 3, 10)}, TimestampError, "no offset"),
        ({"ts": "2025-11-03T10:00:00"}, TimestampError, "with an offset"),
        ({"channel": "carrier_pigeon"}, InputError, "unknown channel"),
        ({"value": 1}, InputError, "true \\(allows\\) or false"),
        ({"event_id": ""}, InputError, "event_id must be a non-empty string"),
        ({"member_id": None}, InputError, "member_id must be a non-empty string"),
    ],
)
def test_append_validates(
    registry: ConsentRegistry, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    args: dict[str, Any] = {
        "event_id": "e1",
        "member_id": "m1",
        "setting": "genai_training",
        "value": True,
        "ts": T0,
        "channel": "api",
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        registry.append(**args)
    assert _count(registry) == 0


def test_set_makes_an_event(registry: ConsentRegistry) -> None:
    before = datetime.now(UTC)
    event = registry.set("m1", False, channel="objection_form")
    assert before <= event.ts <= datetime.now(UTC)
    assert event.setting == "genai_training" and event.channel == "objection_form"
    assert len(event.event_id) == 36  # a UUID
    other = registry.set("m1", True, at="2025-01-01T00:00:00+02:00", setting="other")
    assert other.ts == _at("2024-12-31T22:00:00Z")
    assert other.event_id != event.event_id
    assert [e.event_id for e in registry.history("m1")] == [other.event_id, event.event_id]


def _events(*specs: tuple[str, str, bool, str]) -> list[ConsentEvent]:
    return [ConsentEvent.create(e, m, "genai_training", v, ts, "api") for e, m, v, ts in specs]


def test_append_many_is_one_transaction_in_order(registry: ConsentRegistry) -> None:
    events = _events(
        ("b1", "m1", True, T0), ("b2", "m2", False, T0), ("b3", "m1", False, "2025-11-04T00:00:00Z")
    )  # fmt: skip
    outcomes = registry.append_many(events)
    assert [o.status for o in outcomes if isinstance(o, Appended)] == ["inserted"] * 3
    stored = [o.event for o in outcomes if isinstance(o, Appended)]
    seqs = [e.seq for e in stored]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3  # seq follows the list
    assert len({e.recorded_at for e in stored}) == 1  # one transaction, one instant
    # what append_many returns is what the registry holds
    assert registry.history("m1") == [stored[0], stored[2]]
    assert registry.history("m2") == [stored[1]]
    assert registry.append_many([]) == []


def test_append_many_gives_each_event_its_outcome(registry: ConsentRegistry) -> None:
    registry.append("taken", "m0", "genai_training", True, T0, "api")
    events = _events(
        ("n1", "m1", True, T0),
        ("taken", "m0", True, "2025-11-03T11:00:00+01:00"),  # same content: a duplicate
        ("taken", "m9", True, T0),  # other content: a conflict, for this event only
        ("n2", "m2", False, T0),
        ("n1", "m1", True, T0),  # repeated inside the batch: a duplicate of the first
        ("n2", "m2", True, T0),  # repeated inside the batch with other content: a conflict
    )
    outcomes = registry.append_many(events)
    kinds = [o.status if isinstance(o, Appended) else "conflict" for o in outcomes]
    assert kinds == ["inserted", "duplicate", "conflict", "inserted", "duplicate", "conflict"]
    conflict = outcomes[2]
    assert isinstance(conflict, ConsentConflictError)
    assert "'taken'" in str(conflict) and "member_id 'm0' (recorded) vs 'm9' (new)" in str(conflict)
    assert "value false (recorded) vs true (new)" in str(outcomes[5])
    assert _count(registry) == 3  # taken, n1, n2
    assert _count(registry, "consent_log") == 3  # one log entry per inserted event


def test_append_many_rolls_back_on_a_database_error(registry: ConsentRegistry) -> None:
    # Built around ConsentEvent.create's checks: the database's NOT NULL refuses it.
    bad = ConsentEvent("x", None, "genai_training", True, _at(T0), "api")  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="recording consent events failed"):
        registry.append_many([*_events(("ok", "m1", True, T0)), bad])
    assert _count(registry) == 0 and _count(registry, "consent_log") == 0


# -- import ---------------------------------------------------------------------------------------


def test_import_counts_and_is_idempotent(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    rows = [
        ("e1", "m1", True, "2025-01-01T00:00:00Z"),
        ("e2", "m1", False, "2025-02-01T00:00:00+01:00"),
        ("e1", "m1", True, "2025-01-01T01:00:00+01:00"),  # repeat inside the file (same instant)
        ("e3", "m2", True, "2025-03-01T00:00:00Z"),
    ]
    summary = registry.import_batches([make_batch(rows[:2]), make_batch(rows[2:], first_line=3)])
    assert (summary.inserted, summary.duplicates, summary.rejected) == (3, 1, 0)
    assert summary.events == 4
    again = registry.import_batches([make_batch(rows)])
    assert (again.inserted, again.duplicates) == (0, 4)
    assert _count(registry) == 3
    assert registry.import_batches([]).events == 0


def test_import_keeps_file_order_in_seq(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    rows = [(f"e{i:03d}", "m1", i % 2 == 0, T0) for i in (5, 3, 9, 1)]
    registry.import_batches([make_batch(rows)])
    assert [e.event_id for e in registry.history("m1")] == ["e005", "e003", "e009", "e001"]


def test_import_conflict_inside_the_file_aborts_everything(
    registry: ConsentRegistry, make_batch: MakeBatch
) -> None:
    registry.set("m0", True, at=T0)
    good = make_batch([("e1", "m1", True, T0), ("e2", "m2", True, T0)], file="a.jsonl")
    bad = make_batch(
        [("e3", "m3", True, T0), ("e1", "m1", False, T0)], file="b.jsonl", first_line=7
    )
    rejects = [{"file": "b.jsonl", "line": 1, "member_id": "m9", "reason": "broken"}]
    with pytest.raises(ConsentConflictError) as caught:
        registry.import_batches([good, bad], rejects)
    message = str(caught.value)
    assert message.startswith("b.jsonl:8: consent event 'e1'")
    assert "first seen at a.jsonl:1 of this import" in message
    assert "value true (recorded) vs false (new)" in message
    assert "nothing was imported" in message
    assert _count(registry) == 1  # only m0's event
    assert _count(registry, "consent_rejects") == 0
    assert registry.history("m1") == []


def test_import_conflict_with_the_registry_aborts_everything(
    registry: ConsentRegistry, make_batch: MakeBatch
) -> None:
    registry.append("e1", "m1", "genai_training", True, T0, "api")
    rows = [("e0", "m0", True, T0), ("e1", "m1", True, T0, "support")]
    with pytest.raises(ConsentConflictError) as caught:
        registry.import_batches([make_batch(rows, file="x.parquet")])
    message = str(caught.value)
    assert message.startswith("x.parquet:2: consent event 'e1' was already recorded at ")
    assert "channel 'api' (recorded) vs 'support' (new)" in message
    assert _count(registry) == 1


def test_import_validates_batches(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    good = make_batch([("e1", "m1", True, T0)])
    with pytest.raises(InputError, match="lacks column"):
        registry.import_batches([good.drop_columns(["channel"])])
    unknown = make_batch([("e1", "m1", True, T0), ("e2", "m1", True, T0, "fax")], file="f")
    with pytest.raises(InputError, match=r"^f:2: unknown channel 'fax'"):
        registry.import_batches([unknown])
    naive = good.set_column(4, "ts", pa.array([datetime(2025, 1, 1)], pa.timestamp("us")))
    with pytest.raises(InputError, match="without a time zone"):
        registry.import_batches([naive])
    nulls = good.set_column(1, "member_id", pa.array([None], pa.string()))
    with pytest.raises(InputError, match="member_id is missing"):
        registry.import_batches([nulls])
    for guessed in (pa.array([2], pa.int64()), pa.array([0.5]), pa.array(["no"])):
        numeric = good.set_column(3, "value", guessed)  # Arrow would read 2 and 0.5 as true
        with pytest.raises(InputError, match=f"column value must be boolean, not {guessed.type}"):
            registry.import_batches([numeric])
    assert _count(registry) == 0


def test_an_event_dated_in_the_future_is_refused(
    registry: ConsentRegistry, make_batch: MakeBatch
) -> None:
    # an "allow" dated next year would, once next year comes, undo an objection made meanwhile
    now = datetime.now(UTC)
    with pytest.raises(InputError, match="is later than now"):
        registry.set("m1", True, at=now + timedelta(days=365))
    ahead = registry.set("m1", False, at=now + timedelta(minutes=1))  # a clock a little ahead
    assert ahead.value is False
    later = (now + timedelta(days=1)).isoformat()
    rows = [("e1", "m2", True, T0), ("e2", "m2", True, later)]
    with pytest.raises(InputError, match=r"^f:2: ts .* is later than now"):
        registry.import_batches([make_batch(rows, file="f")])
    assert [e.event_id for e in registry.history("m1")] == [ahead.event_id]
    assert registry.history("m2") == []


def test_an_event_a_little_ahead_is_recorded_as_of_its_recording(
    registry: ConsentRegistry, make_batch: MakeBatch
) -> None:
    # an allow dated four minutes ahead (a platform clock ahead), then the member objects a
    # moment later: dated as given, the allow would outrank the objection once its date came
    now = datetime.now(UTC)
    ahead = (now + timedelta(minutes=4)).isoformat()
    registry.import_batches([make_batch([("e1", "m1", True, ahead)], file="f")])
    registry.set("m2", True, at=now + timedelta(minutes=4))
    for member in ("m1", "m2"):
        (allowed,) = registry.history(member)
        assert allowed.ts == allowed.recorded_at <= datetime.now(UTC)
        objection = registry.set(member, False)
        for at in (datetime.now(UTC), now + timedelta(minutes=5), now + timedelta(days=1)):
            state = registry.state(member, at)
            assert state.value is False and state.decided_by == objection, (member, at)
    later = registry.bulk_state(now + timedelta(minutes=5)).to_pylist()
    assert {r["member_id"]: r["value"] for r in later} == {"m1": False, "m2": False}
    # the same file again is the same event (as it was recorded), not a reused id
    again = registry.import_batches([make_batch([("e1", "m1", True, ahead)], file="f")])
    assert (again.inserted, again.duplicates) == (0, 1)
    other = make_batch([("e1", "m1", False, ahead)], file="g")
    with pytest.raises(ConsentConflictError, match="value"):
        registry.import_batches([other])


def test_an_event_stored_with_a_future_date_makes_its_member_invalid(
    registry: ConsentRegistry, make_batch: MakeBatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # such events are refused on entry (ConsentEvent.create) and a little ahead is recorded as
    # of its recording; one recorded before those checks, made here without them, is caught
    # on reading
    rows = [("e1", "m1", False, T0), ("e3", "m2", True, T0)]
    registry.import_batches([make_batch(rows)])
    next_year = datetime.now(UTC) + timedelta(days=365)
    monkeypatch.setattr("tamis.consent.registry.no_later_than", lambda event, _at: event)
    registry.append_many([ConsentEvent("e2", "m1", "genai_training", True, next_year, "api")])
    (invalid,) = registry.invalid_members().to_pylist()
    assert invalid["member_id"] == "m1" and invalid["rejects"] == 0
    assert invalid["reason"].startswith("event e2: ts ")
    assert "is later than its recording" in invalid["reason"]
    assert registry.state("m1", T0).invalid and not registry.state("m2", T0).invalid
    assert registry.stats().invalid_members == 1


def test_state_says_why_its_member_is_invalid(
    registry: ConsentRegistry, make_batch: MakeBatch
) -> None:
    """An event for a misspelt form of the setting may be an objection the build would not
    read: the build puts its member out (misspelt_setting_members), and so does the state."""
    registry.import_batches([make_batch([("e1", "m1", True, T0), ("e2", "m2", True, T0)])])
    for event_id, member, setting in [
        ("e3", "m1", "GenAI-Training"),
        ("e4", "m1", "genai.training"),
        ("e5", "m2", "research"),  # another setting's name: nothing to do with this one
        ("e6", "m2", "Research"),  # ... unless a policy declares both (declared)
    ]:
        registry.append(event_id, member, setting, False, T0, "api")
    m1 = registry.state("m1", T0)
    assert m1.invalid and m1.value is True
    assert m1.why == (
        "1 event(s) for setting 'GenAI-Training', spelt unlike 'genai_training'",
        "1 event(s) for setting 'genai.training', spelt unlike 'genai_training'",
    )
    assert registry.state("m2", T0) == tamis.consent.MemberState(
        True, registry.state("m2", T0).decided_by, False
    )
    assert not registry.state("m1", T0, setting="research").invalid
    # a policy declaring both settings: a build puts out for a misspelling of either
    both = ["genai_training", "research"]
    assert registry.state("m1", T0, setting="research", declared=both).invalid
    m2 = registry.state("m2", T0, declared=both)
    assert m2.invalid and m2.value is True
    assert m2.why == ("1 event(s) for setting 'Research', spelt unlike 'research'",)


def test_import_accepts_other_zones_and_units(registry: ConsentRegistry) -> None:
    paris = pa.array([datetime(2025, 11, 3, 11, tzinfo=UTC)], pa.timestamp("ns", tz="Europe/Paris"))
    table = pa.RecordBatch.from_pydict(
        {
            "event_id": ["e1"],
            "member_id": ["m1"],
            "setting": ["genai_training"],
            "value": [True],
            "ts": paris,
            "channel": ["api"],
        }
    )
    summary = registry.import_batches([table])
    assert summary.inserted == 1
    assert registry.history("m1")[0].ts == datetime(2025, 11, 3, 11, tzinfo=UTC)


def test_an_allow_less_than_a_microsecond_after_the_cutoff_stays_after_it(
    registry: ConsentRegistry,
) -> None:
    # nanoseconds are rounded up on import, typed or text, and in ConsentEvent.create: an allow
    # half a microsecond after the cutoff, truncated, would land on it and undo the objection
    cutoff = "2026-01-01T00:00:00Z"
    typed = pa.array([1767225600_000_000_500], pa.timestamp("ns", "UTC"))
    for member, ts in (
        ("m1", typed),
        ("m2", pa.array(["2026-01-01T00:00:00.0000005Z"])),
        ("m3", pa.array(["2026-01-01T01:00:00.000000001+01:00"])),
    ):
        objected = registry.set(member, False, at="2025-12-01T00:00:00Z")
        allowed = pa.RecordBatch.from_pydict(
            {"event_id": [f"{member}-allow"], "member_id": [member], "setting": ["genai_training"],
             "value": [True], "ts": ts, "channel": ["settings_page"]}
        )  # fmt: skip
        registry.import_batches([allowed])
        assert registry.history(member)[-1].ts == datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
        state = registry.state(member, cutoff)
        assert state.value is False and state.decided_by == objected
    event = ConsentEvent.create(
        "e9", "m4", "genai_training", True, "2026-01-01T00:00:00.0000001Z", "api"
    )
    assert event.ts == datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    bulk = registry.bulk_state(_at(cutoff)).to_pylist()
    assert {r["member_id"]: r["value"] for r in bulk} == {"m1": False, "m2": False, "m3": False}
    with pytest.raises(TimestampError, match="more precise than a microsecond"):
        registry.state("m1", "2026-01-01T00:00:00.0000005Z")  # an as-of people type


def test_import_parses_text_instants(registry: ConsentRegistry) -> None:
    rows = {
        "event_id": ["e1", "e2"],
        "member_id": ["m1", "m1"],
        "setting": ["genai_training"] * 2,
        "value": [True, False],
        "ts": ["2025-11-03T11:00:00+01:00", "2025-11-03T10:00:00.5Z"],
        "channel": ["api", "api"],
    }
    registry.import_batches([pa.RecordBatch.from_pydict(rows)])
    assert [e.ts for e in registry.history("m1")] == [_at(T0), _at("2025-11-03T10:00:00.500000Z")]
    rows["ts"] = ["2025-11-03T11:00:00+01:00", "2025-11-03T10:00:00"]
    rows["event_id"] = ["e3", "e4"]
    with pytest.raises(InputError, match=r"^<import>:2: ts '2025-11-03T10:00:00' is not RFC 3339"):
        registry.import_batches([pa.RecordBatch.from_pydict(rows)])
    assert _count(registry) == 2


def test_import_file_reads_jsonl_with_rejects(registry: ConsentRegistry, tmp_path: Path) -> None:
    pytest.importorskip("tamis.sources.reader")
    path = tmp_path / "consent_events.jsonl"
    lines = [
        {
            "event_id": "e1",
            "member_id": "m1",
            "setting": "genai_training",
            "value": True,
            "ts": "2025-11-03T11:00:00+01:00",
            "channel": "settings_page",
        },
        {
            "event_id": "e2",
            "member_id": "m2",
            "setting": "genai_training",
            "value": False,
            "ts": "2025-11-03T10:00:00",
            "channel": "objection_form",
        },  # no offset
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    path.write_text(text + '\n{"event_id": "e3", "member_id": "m3", "value": tru\n')
    summary = registry.import_file(path)
    assert (summary.inserted, summary.duplicates, summary.rejected) == (1, 0, 2)
    invalid = registry.invalid_members().to_pylist()
    assert [row["member_id"] for row in invalid] == ["m2", "m3"]
    assert invalid[0]["reason"].startswith(f"{path}:2: ")
    assert registry.state("m1", T0).value is True
    again = registry.import_file(path)
    assert (again.inserted, again.duplicates) == (0, 1)
    assert _count(registry, "consent_rejects") == 2  # an open reject is recorded once


# -- the database refuses to rewrite history ------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_events SET value = NOT value",
        "UPDATE consent_events SET member_id = 'someone else'",
        "DELETE FROM consent_events",
        "DELETE FROM consent_events WHERE event_id = 'e1'",
    ],
)
def test_events_are_append_only(registry: ConsentRegistry, statement: str) -> None:
    registry.append("e1", "m1", "genai_training", False, T0, "objection_form")
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        _engine(registry).begin() as connection,
    ):
        connection.exec_driver_sql(statement)
    assert registry.state("m1", T0).value is False


def test_a_request_is_found_by_its_consent_event(registry: ConsentRegistry) -> None:
    """Migration 0003: a sweep asks of every objection event whether a request refers to it;
    without this index each question scans the member's requests."""
    indexes = sa.inspect(_engine(registry)).get_indexes("rights_requests")
    assert {"name": "ix_rights_requests_event", "column_names": ["consent_event_id"]} in [
        {"name": i["name"], "column_names": i["column_names"]} for i in indexes
    ]


@pytest.mark.postgres
def test_postgres_refuses_truncate(pg_url: str) -> None:
    with open_registry(pg_url) as registry:
        registry.set("m1", False, at=T0)
        for table in ("consent_events", "consent_rejects"):
            with (
                pytest.raises(sa.exc.DBAPIError, match="append-only"),
                _engine(registry).begin() as connection,
            ):
                connection.exec_driver_sql(f"TRUNCATE {table}")
        assert _count(registry) == 1


def test_rejects_can_only_be_resolved(registry: ConsentRegistry) -> None:
    registry.import_batches([], [{"file": "f", "line": 1, "member_id": "m1", "reason": "bad"}])
    engine = _engine(registry)
    for statement in (
        "UPDATE consent_rejects SET reason = 'fine'",
        "UPDATE consent_rejects SET member_id = 'm2'",
        "DELETE FROM consent_rejects",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="consent_rejects"), engine.begin() as c:
            c.exec_driver_sql(statement)
    assert registry.resolve_rejects(member_id="m1", resolution="re-sent as e9") == 1
    assert registry.resolve_rejects(member_id="m1", resolution="again") == 0
    with pytest.raises(sa.exc.DBAPIError, match="consent_rejects"), engine.begin() as c:
        c.exec_driver_sql("UPDATE consent_rejects SET resolution = 'rewritten'")
    everything = registry.rejects(include_resolved=True).to_pylist()
    assert everything[0]["resolution"] == "re-sent as e9"
    assert everything[0]["resolved_at"] is not None


# -- semantics: ties, offsets, boundaries ---------------------------------------------------------


def test_objection_wins_a_tie(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    # Same instant written with two offsets; the allow has the smaller event id.
    rows = [
        ("a-allow", "m1", True, "2025-11-03T11:00:00+01:00"),
        ("z-object", "m1", False, "2025-11-03T10:00:00Z"),
        ("b-allow", "m2", True, T0),
        ("c-allow", "m2", True, T0),
    ]
    registry.import_batches([make_batch(rows)])
    state = registry.state("m1", T0)
    assert state.value is False
    assert state.decided_by is not None and state.decided_by.event_id == "z-object"
    table = registry.bulk_state(T0)
    assert table.to_pylist() == [
        {"member_id": "m1", "value": False, "event_id": "z-object", "ts": _at(T0)},
        {"member_id": "m2", "value": True, "event_id": "b-allow", "ts": _at(T0)},
    ]
    decided = registry.state("m2", T0).decided_by
    assert decided is not None and decided.event_id == "b-allow"


def test_offsets_are_compared_as_instants(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    # As text, "2025-03-01T00:30:00+01:00" sorts after "2025-02-28T23:45:00Z"; as instants it is
    # 23:30Z, a quarter of an hour earlier.
    rows = [
        ("e1", "m1", True, "2025-03-01T00:30:00+01:00"),
        ("e2", "m1", False, "2025-02-28T23:45:00Z"),
        ("e3", "m2", False, "2025-03-01T00:30:00+01:00"),
        ("e4", "m2", True, "2025-02-28T23:45:00-00:30"),  # 2025-03-01T00:15Z
    ]
    registry.import_batches([make_batch(rows)])
    as_of = "2025-03-01T12:00:00+09:00"  # 03:00Z
    assert registry.state("m1", as_of).value is False
    assert registry.state("m2", as_of).value is True
    assert registry.bulk_state(as_of).column("value").to_pylist() == [False, True]
    assert [e.event_id for e in registry.history("m1")] == ["e1", "e2"]


def test_as_of_boundaries(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    rows = [
        ("e1", "m1", True, "2025-01-01T00:00:00Z"),
        ("e2", "m1", False, "2025-06-01T00:00:00.000001Z"),
        ("e3", "m2", False, "2025-06-01T00:00:00Z"),
        ("e4", "m3", True, "2025-06-01T00:00:00.000001Z"),
    ]
    registry.import_batches([make_batch(rows)])
    cutoff = "2025-06-01T02:00:00+02:00"  # == 2025-06-01T00:00:00Z
    assert registry.state("m1", cutoff).value is True  # e2 is one microsecond too late
    assert registry.state("m2", cutoff).value is False  # ts == as_of counts
    assert registry.state("m3", cutoff) == tamis.consent.MemberState(None, None, False)
    table = registry.bulk_state(cutoff)
    assert table.column("member_id").to_pylist() == ["m1", "m2"]
    later = registry.bulk_state(_at(cutoff) + timedelta(microseconds=1))
    assert later.column("value").to_pylist() == [False, False, True]
    assert registry.bulk_state("2024-12-31T23:59:59.999999Z").num_rows == 0


def test_bulk_state_is_per_setting_and_sorted(
    registry: ConsentRegistry, make_batch: MakeBatch
) -> None:
    members = ["é", "b", "Z", "a10", "a9", "B"]
    registry.import_batches(
        [
            make_batch([(f"e-{m}", m, True, T0) for m in members]),
            make_batch([("x1", "a9", False, T0)], setting="other_setting"),
        ]
    )
    table = registry.bulk_state(T0)
    assert table.schema == STATE_SCHEMA
    assert table.column("member_id").to_pylist() == sorted(members)  # code-point order
    other = registry.bulk_state(T0, setting="other_setting")
    assert other.to_pylist() == [
        {"member_id": "a9", "value": False, "event_id": "x1", "ts": _at(T0)}
    ]
    assert registry.bulk_state(T0, setting="nothing").num_rows == 0


def test_bulk_state_streams_batches(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    rows = [(f"e{i}", f"m{i:04d}", i % 3 != 0, T0) for i in range(1000)]
    registry.import_batches([make_batch(rows)])
    batches = list(registry.bulk_state_batches(T0, batch_rows=300))
    assert [b.num_rows for b in batches] == [300, 300, 300, 100]
    assert pa.Table.from_batches(batches).equals(registry.bulk_state(T0))


def test_history_order(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    registry.import_batches(
        [
            make_batch(
                [
                    ("late", "m1", True, "2025-05-01T00:00:00Z"),
                    ("tie-2", "m1", True, "2025-04-01T00:00:00Z"),
                    ("tie-1", "m1", False, "2025-04-01T02:00:00+02:00"),
                    ("early", "m1", False, "2025-03-01T00:00:00Z"),
                    ("other", "m2", False, "2025-03-01T00:00:00Z"),
                ]
            ),
            make_batch([("s", "m1", True, T0)], setting="other_setting"),
        ]
    )
    assert [e.event_id for e in registry.history("m1", "genai_training")] == [
        "early",
        "tie-2",  # same instant as tie-1: insertion order
        "tie-1",
        "late",
    ]
    assert [e.event_id for e in registry.history("m1")][-1] == "s"
    assert registry.history("nobody") == []


# -- rejects and invalid members ------------------------------------------------------------------


def test_rejects_make_members_invalid(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    rejects = [
        {
            "file": "c.jsonl",
            "line": 4,
            "member_id": "m2",
            "reason": "ts has no offset",
            "field": "ts",
            "key": "e4",
        },
        {"file": "c.jsonl", "line": 9, "member_id": "m2", "reason": "value is not a bool"},
        {"file": "c.jsonl", "line": 5, "member_id": None, "reason": "not valid JSON"},
        {"file": "c.jsonl", "line": 6, "member_id": "m1", "reason": "unknown channel"},
    ]
    summary = registry.import_batches([make_batch([("e1", "m1", True, T0)])], rejects)
    assert (summary.inserted, summary.rejected) == (1, 4)
    invalid = registry.invalid_members()
    assert invalid.schema == INVALID_SCHEMA
    assert invalid.to_pylist() == [
        {"member_id": "m1", "reason": "c.jsonl:6: unknown channel", "rejects": 1},
        {"member_id": "m2", "reason": "c.jsonl:4: ts has no offset (and 1 more)", "rejects": 2},
    ]
    state = registry.state("m1", T0)
    assert (state.value, state.invalid) == (True, True)
    assert registry.state("m3", T0).invalid is False
    stored = registry.rejects().to_pylist()
    assert stored[0]["field"] == "ts" and stored[0]["event_id"] == "e4"
    stats = registry.stats()
    assert (stats.unresolved_rejects, stats.unattributed_rejects, stats.invalid_members) == (
        4,
        1,
        2,
    )
    # The same rejects again (a re-import): recorded once while unresolved.
    registry.import_batches([], rejects)
    assert _count(registry, "consent_rejects") == 4
    assert registry.resolve_rejects(member_id="m2", resolution="platform re-sent them") == 2
    assert registry.invalid_members().column("member_id").to_pylist() == ["m1"]
    # Once resolved, the same reject coming back is a new problem.
    registry.import_batches([], rejects[:1])
    assert registry.invalid_members().column("member_id").to_pylist() == ["m1", "m2"]
    with pytest.raises(InputError):
        registry.resolve_rejects(resolution="why")
    with pytest.raises(InputError, match="needs a file and a reason"):
        registry.import_batches([], [{"file": "f", "line": 1}])


def test_stats(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    registry.import_batches(
        [
            make_batch(
                [
                    ("e1", "m1", True, "2025-01-01T00:00:00Z", "settings_page"),
                    ("e2", "m1", False, "2025-02-01T00:00:00Z", "objection_form"),
                    ("e3", "m2", False, "2025-03-01T00:00:00Z", "objection_form"),
                ]
            )
        ]
    )
    stats = registry.stats()
    assert (stats.events, stats.members) == (3, 2)
    assert [(c.setting, c.value, c.channel, c.events) for c in stats.counts] == [
        ("genai_training", False, "objection_form", 2),
        ("genai_training", True, "settings_page", 1),
    ]
    assert stats.first_ts == _at("2025-01-01T00:00:00Z")
    assert stats.last_ts == _at("2025-03-01T00:00:00Z")
    assert stats.revision == head_revision()


def test_instants_round_trip_exactly(registry: ConsentRegistry, make_batch: MakeBatch) -> None:
    stamps = [
        "1969-12-31T23:59:59.999999Z",  # before the epoch
        "1900-02-28T12:00:00.000001-05:00",
        "2025-11-03T00:00:00.123456+14:00",
        "2025-12-31T23:59:59.999999-12:00",  # (events dated in the future are refused)
        "0001-01-01T00:00:00Z",
    ]
    rows = [(f"e{i}", f"m{i}", True, ts) for i, ts in enumerate(stamps)]
    registry.import_batches([make_batch(rows)])
    table = registry.bulk_state("9999-12-31T23:59:59.999999Z")
    expected = [_at(ts) for ts in stamps]
    assert table.column("ts").to_pylist() == expected
    assert [registry.history(f"m{i}")[0].ts for i in range(len(stamps))] == expected


@pytest.mark.slow
def test_import_and_state_at_scale(registry: ConsentRegistry) -> None:
    """10^5 events for 10^4 members: one import, then bulk_state (rates printed with -s)."""
    n, members = 100_000, 10_000
    base = int(_at("2025-01-01T00:00:00Z").timestamp() * 1_000_000)
    member_of = [(i * 7919) % members for i in range(n)]
    batch = pa.RecordBatch.from_pydict(
        {
            "event_id": [f"e{i:07d}" for i in range(n)],
            "member_id": [f"m{m:05d}" for m in member_of],
            "setting": ["genai_training"] * n,
            "value": [(i // 7) % 3 != 0 for i in range(n)],
            "ts": pa.array([base + (i % 5000) * 1_000_000 for i in range(n)], pa.int64()).cast(
                pa.timestamp("us", "UTC")
            ),
            "channel": ["settings_page"] * n,
        }
    )
    started = time.perf_counter()
    summary = registry.import_batches([batch])
    imported = time.perf_counter() - started
    assert summary.inserted == n
    started = time.perf_counter()
    table = registry.bulk_state("2026-01-01T00:00:00Z")
    stated = time.perf_counter() - started
    assert table.num_rows == members
    # Spot-check against the rule, member by member, for a few members.
    for member in ("m00000", "m04242", "m09999"):
        state = registry.state(member, "2026-01-01T00:00:00Z")
        row = table.filter(pc.equal(table.column("member_id"), member)).to_pylist()[0]
        assert state.decided_by is not None
        assert (row["value"], row["event_id"]) == (state.value, state.decided_by.event_id)
    print(
        f"\n{registry.dialect}: import {n / imported:,.0f} events/s, "
        f"bulk_state {members:,} members in {stated:.2f} s"
    )


def test_a_nul_character_is_refused_alike_on_every_backend(
    registry: ConsentRegistry, tmp_path: Path
) -> None:
    """PostgreSQL cannot store U+0000 in text: SQLite would have, so both refuse the line, and
    say where, rather than one backend recording the event and the other failing whole."""
    path = tmp_path / "nul.jsonl"
    event = {"event_id": "e1", "member_id": "m\u00001", "setting": "genai_training",
             "value": False, "ts": "2025-12-01T00:00:00Z", "channel": "api"}  # fmt: skip
    broken = {**event, "event_id": "e2", "value": "nope"}  # rejected, its member kept
    for line in (event, broken):
        path.write_text(json.dumps(line) + "\n")
        with pytest.raises(InputError, match="member_id holds a NUL character") as raised:
            registry.import_file(path)
        assert raised.value.line == 1 and raised.value.field == "member_id"
    assert registry.stats().events == 0 and registry.rejects().num_rows == 0


def test_a_folder_import_reads_the_parts_a_build_reads(
    registry: ConsentRegistry, tmp_path: Path
) -> None:
    """An aborted job's ``_temporary/`` copy is skipped, as the build skips it; a file that is
    not a Parquet part stops the import, as it stops the build, rather than lose its events."""
    import pyarrow.parquet as pq

    def part(path: Path, event_id: str, value: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        row = {"event_id": event_id, "member_id": "m1", "setting": "genai_training",
               "value": value, "ts": "2025-12-01T00:00:00Z", "channel": "api"}  # fmt: skip
        pq.write_table(pa.Table.from_pylist([row]), path)

    folder = tmp_path / "consent_events"
    part(folder / "part-0.parquet", "e1", False)
    part(folder / "_temporary" / "0" / "part-0.parquet", "e2", True)  # aborted: an allow
    assert registry.import_file(folder).inserted == 1
    assert [e.event_id for e in registry.history("m1")] == ["e1"]
    (folder / "part-1.json").write_text("{}\n")
    with pytest.raises(InputError, match=r"part-1\.json is not read"):
        registry.import_file(folder)


def test_a_registry_that_must_exist_is_not_made(registry_url: str, tmp_path: Path) -> None:
    """Where what a registry holds is read (a build's erasures and objections, the rights
    desk), a mistyped --db must not be a new, empty registry in which nobody ever objected."""
    with pytest.raises(RegistryError, match="no consent registry"):
        open_registry(registry_url, existing=True)
    if registry_url.startswith("sqlite"):
        assert not (tmp_path / "registry.db").exists()
    if registry_url.startswith("sqlite"):  # a URI filename too, and a report's reading
        from tamis.reports.evidence import _registry_events

        uri = f"sqlite:///file:{tmp_path / 'uri.db'}?uri=true"
        with pytest.raises(RegistryError, match="no consent registry"):
            open_registry(uri, existing=True)
        with pytest.raises(RegistryError, match="no consent registry"):
            _registry_events(registry_url)
        assert not (tmp_path / "uri.db").exists() and not (tmp_path / "registry.db").exists()
    with open_registry(registry_url) as made:  # the commands that record choices make one
        made.set("m1", False, channel="api")
    with open_registry(registry_url, existing=True) as found:
        assert [e.value for e in found.history("m1")] == [False]
