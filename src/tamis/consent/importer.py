"""Bulk import of consent events into the registry: one transaction, staged, set-based.

An import streams Arrow batches into a temporary staging table (SQLite: ``executemany``;
PostgreSQL: ``COPY ... FROM STDIN`` in CSV written by Arrow), then merges it with two statements:

1. insert the first row of each event id, in file order, ``ON CONFLICT (event_id) DO NOTHING``
   (repeats inside the import and events already recorded are no-ops);
2. look for a staged row whose event id is now recorded with other content. There is one
   exactly when the import repeats an event id with other content (inside the import, or
   against the registry); the whole transaction is then rolled back and the error names the
   file, line and event id, and what differs.

Rejects (events the reader could not parse) go to ``consent_rejects`` in the same transaction;
a reject identical to an unresolved one (same file, line, member and reason) is recorded once.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from tamis.consent import log as consent_log
from tamis.consent.model import MAX_CLOCK_SKEW, ConsentEvent, ImportSummary, future_ts
from tamis.consent.schema import (
    Instant,
    consent_events,
    consent_rejects,
    instant_text,
    instant_texts,
)
from tamis.errors import ConsentConflictError, InputError
from tamis.sources.schema import CONSENT_CHANNELS, CONSENT_EVENTS
from tamis.timefmt import ARROW_TS, format_instant, parse_instants, to_microseconds

EVENT_COLUMNS: tuple[str, ...] = tuple(CONSENT_EVENTS.names)
STAGE_COLUMNS: tuple[str, ...] = (*EVENT_COLUMNS, "_file", "_line")
DEFAULT_FILE = "<import>"
SQLITE_CHUNK = 10_000
PG_WORK_MEM = "256MB"
PG_ANALYZE_AFTER = 10_000
_STAGE = "tamis_import_stage"
_MIN_TS = pa.scalar(-62135596800000000, ARROW_TS)  # 0001-01-01T00:00:00Z
_MAX_TS = pa.scalar(253402300799999999, ARROW_TS)  # 9999-12-31T23:59:59.999999Z

Chunk = tuple[pa.RecordBatch | None, Sequence[Mapping[str, Any]]]


def normalize_batch(
    batch: pa.RecordBatch, *, first_line: int, recorded_at: datetime | None = None
) -> pa.RecordBatch:
    """The batch as the registry stores it: the event columns typed as in ``CONSENT_EVENTS``
    (``ts`` as ``timestamp[us, UTC]``), plus ``_file`` and ``_line``; checked for the contract.

    ``_file`` defaults to ``<import>`` and ``_line`` to a running row number from ``first_line``.
    A row that breaks the contract (a null, an empty id, an unknown channel, a timestamp without
    offset) is an :class:`InputError` naming its file and line: the reader should have rejected it.
    """
    names = batch.schema.names
    missing = [c for c in EVENT_COLUMNS if c not in names]
    if missing:
        raise InputError(f"consent event batch lacks column(s) {', '.join(missing)}")
    n = batch.num_rows
    if "_file" in names:
        files = pc.fill_null(batch.column("_file").cast(pa.string()), DEFAULT_FILE)
    else:
        files = pa.array([DEFAULT_FILE] * n, pa.string())
    if "_line" in names:
        lines = batch.column("_line").cast(pa.int64())
    else:
        lines = pa.array(range(first_line, first_line + n), pa.int64())

    def fail(index: int, message: str, field: str) -> InputError:
        return InputError(
            message, file=files[index].as_py(), line=lines[index].as_py(), field=field
        )

    columns: dict[str, pa.Array] = {}
    for name in ("event_id", "member_id", "setting", "channel"):
        array = batch.column(name)
        try:
            array = array.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(f"column {name} must be text, not {array.type}") from None
        columns[name] = array
    value = batch.column("value")
    # booleans only: Arrow would cast 2 or 0.5 to true, "no" to an error, guessing either way
    if not (pa.types.is_boolean(value.type) or pa.types.is_null(value.type)):
        raise InputError(f"column value must be boolean, not {value.type}")
    columns["value"] = value.cast(pa.bool_())
    columns["ts"] = _instants(batch.column("ts"), fail)
    now = recorded_at or datetime.now(UTC)
    future = pc.greater(columns["ts"], pa.scalar(now + MAX_CLOCK_SKEW, ARROW_TS))
    if pc.any(future).as_py():
        i = pc.index(pc.fill_null(future, False), True).as_py()
        raise fail(i, future_ts(columns["ts"][i].as_py(), now) or "ts is in the future", "ts")
    # dated no later than its recording (model.no_later_than): a little ahead is taken as now
    recorded = pa.scalar(now, ARROW_TS)
    columns["ts"] = pc.if_else(pc.greater(columns["ts"], recorded), recorded, columns["ts"])

    for name in EVENT_COLUMNS:
        nulls = pc.is_null(columns[name])
        if pc.any(nulls).as_py():
            raise fail(pc.index(nulls, True).as_py(), f"{name} is missing", name)
    for name in ("event_id", "member_id", "setting"):
        empty = pc.equal(pc.utf8_length(columns[name]), 0)
        if pc.any(empty).as_py():
            raise fail(pc.index(empty, True).as_py(), f"{name} is empty", name)
    for name in ("event_id", "member_id", "setting", "channel"):
        # PostgreSQL cannot store U+0000 in text: refused alike on every backend
        nul = pc.match_substring(columns[name], "\x00")
        if pc.any(nul).as_py():
            raise fail(pc.index(nul, True).as_py(), f"{name} holds a NUL character (U+0000)", name)
    unknown = pc.invert(pc.is_in(columns["channel"], pa.array(CONSENT_CHANNELS)))
    if pc.any(unknown).as_py():
        i = pc.index(unknown, True).as_py()
        raise fail(
            i,
            f"unknown channel {columns['channel'][i].as_py()!r}; "
            f"expected one of {', '.join(CONSENT_CHANNELS)}",
            "channel",
        )
    out = [columns[c] for c in EVENT_COLUMNS] + [files, lines]
    return pa.RecordBatch.from_arrays(out, names=list(STAGE_COLUMNS))


def _instants(array: pa.Array, fail: Any) -> pa.Array:
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        instants, ok = parse_instants(array.cast(pa.string()), sub_microsecond="ceil")
        bad = pc.invert(pc.fill_null(ok, True))
        if pc.any(bad).as_py():
            i = pc.index(bad, True).as_py()
            raise fail(i, f"ts {array[i].as_py()!r} is not RFC 3339 with an offset", "ts")
        return instants
    if not pa.types.is_timestamp(array.type):
        raise InputError(f"column ts must be a timestamp, not {array.type}")
    if array.type.tz is None:
        raise InputError(
            "column ts holds timestamps without a time zone; they are ambiguous "
            "(give the column a time zone, e.g. timestamp[us, UTC])"
        )
    try:  # any zone -> UTC; nanoseconds rounded up, as the export reader does
        instants = to_microseconds(array, "ceil")
    except pa.ArrowInvalid:
        raise InputError(
            "column ts holds instants beyond the range of microsecond timestamps"
        ) from None
    out_of_range = pc.or_kleene(pc.less(instants, _MIN_TS), pc.greater(instants, _MAX_TS))
    if pc.any(out_of_range).as_py():
        i = pc.index(pc.fill_null(out_of_range, False), True).as_py()
        raise fail(i, "ts is outside years 0001-9999", "ts")
    return instants


@dataclass(frozen=True)
class _Conflict:
    stage_seq: int
    file: str
    line: int | None
    new: ConsentEvent
    recorded: ConsentEvent
    recorded_seq: int


class _Stage(Protocol):
    def load(self, batch: pa.RecordBatch) -> None: ...

    def merge(self, recorded_at: datetime) -> int: ...

    def first_conflict(self) -> _Conflict | None: ...

    def first_row(self, event_id: str) -> tuple[str, int | None]: ...

    def finish(self, inserted: int) -> None: ...


def run_import(
    connection: sa.Connection, chunks: Iterable[Chunk], recorded_at: datetime
) -> ImportSummary:
    """Import ``chunks`` inside the caller's (write) transaction; raise to roll it back.

    The consent log's head is taken first; the new events are linked into it, in insertion
    order, before the transaction commits (:mod:`tamis.consent.log`).
    """
    head = consent_log.lock_head(connection)
    last_seq = connection.execute(sa.select(sa.func.max(consent_events.c.seq))).scalar() or 0
    stage: _Stage
    if connection.dialect.name == "postgresql":
        stage = _PostgresStage(connection)
    else:
        stage = _SqliteStage(connection)
    staged = 0
    rejected = 0
    for batch, rejects in chunks:
        if batch is not None and batch.num_rows:
            normalized = normalize_batch(batch, first_line=staged + 1, recorded_at=recorded_at)
            stage.load(normalized)
            staged += normalized.num_rows
        if rejects:
            rejected += record_rejects(connection, rejects, recorded_at)
    inserted = stage.merge(recorded_at) if staged else 0
    conflict = stage.first_conflict() if staged else None
    if conflict is not None:
        # Recorded by this very import (an id repeated inside it), or before it?
        ours = conflict.recorded_seq > last_seq and conflict.recorded.recorded_at == recorded_at
        if ours:
            file, line = stage.first_row(conflict.new.event_id)
            where = f"{file}:{line} of this import" if line is not None else f"{file}"
            earlier = f"first seen at {where}"
        else:
            assert conflict.recorded.recorded_at is not None
            earlier = f"recorded at {format_instant(conflict.recorded.recorded_at)}"
        at = f"{conflict.file}:{conflict.line}" if conflict.line is not None else conflict.file
        differences = "; ".join(conflict.recorded.differences(conflict.new))
        raise ConsentConflictError(
            f"{at}: consent event {conflict.new.event_id!r} was already {earlier} with other "
            f"content ({differences}); nothing was imported. An event id must not be reused: "
            "fix the export (or give the new event its own id) and import again"
        )
    if inserted:
        consent_log.append_events_since(connection, head, last_seq)
    stage.finish(inserted)
    return ImportSummary(inserted=inserted, duplicates=staged - inserted, rejected=rejected)


def _printable(text: str | None) -> str | None:
    """``text`` with U+0000 written ``\\u0000`` (PostgreSQL cannot store it)."""
    return None if text is None else str(text).replace("\x00", "\\u0000")


def record_rejects(
    connection: sa.Connection, rejects: Sequence[Mapping[str, Any]], recorded_at: datetime
) -> int:
    """Record reader rejects (``file, line, member_id, reason`` and optionally ``field`` and the
    event id as ``key`` or ``event_id``); returns how many were given."""
    rows = []
    for reject in rejects:
        file = reject.get("file")
        reason = reject.get("reason")
        if not file or not reason:
            raise InputError(f"a consent reject needs a file and a reason: {dict(reject)!r}")
        line = reject.get("line")
        member_id = reject.get("member_id") or None
        event_id = reject.get("event_id") or reject.get("key") or None
        for name, value in (("member_id", member_id), ("event_id", event_id)):
            if value is not None and "\x00" in str(value):
                # PostgreSQL cannot store U+0000 in text: refused alike on every backend, as
                # for the lines that parse (normalize_batch)
                raise InputError(
                    f"{name} holds a NUL character (U+0000)",
                    file=str(file),
                    line=None if line is None else int(line),
                    field=name,
                )
        rows.append(
            {
                "p_file": _printable(str(file)),
                "p_line": None if line is None else int(line),
                "p_member_id": member_id,
                "p_event_id": event_id,
                "p_field": _printable(reject.get("field") or None),
                "p_reason": _printable(str(reason)),  # the reason may quote the value
                "p_recorded_at": recorded_at,
            }
        )
    if not rows:
        return 0
    r = consent_rejects
    params: dict[str, sa.BindParameter[Any]] = {
        "file": sa.bindparam("p_file", type_=sa.Text()),
        "line": sa.bindparam("p_line", type_=sa.BigInteger()),
        "member_id": sa.bindparam("p_member_id", type_=sa.Text()),
        "event_id": sa.bindparam("p_event_id", type_=sa.Text()),
        "field": sa.bindparam("p_field", type_=sa.Text()),
        "reason": sa.bindparam("p_reason", type_=sa.Text()),
        "recorded_at": sa.bindparam("p_recorded_at", type_=Instant()),
    }
    already = (
        sa.select(sa.literal(1))
        .where(
            r.c.resolved_at.is_(None),
            r.c.file == params["file"],
            r.c.line.is_not_distinct_from(params["line"]),
            r.c.member_id.is_not_distinct_from(params["member_id"]),
            r.c.reason == params["reason"],
        )
        .exists()
    )
    columns = list(params.values())
    select = sa.select(*columns).where(~already)
    connection.execute(sa.insert(r).from_select(list(params), select), rows)
    return len(rows)


_EVENT_VALUES = "event_id, member_id, setting, value, ts, channel"
_CONFLICT_SQL = f"""
SELECT s.stage_seq, s.file, s.line,
       s.event_id, s.member_id, s.setting, s.value, s.ts, s.channel,
       e.member_id, e.setting, e.value, e.ts, e.channel, e.recorded_at, e.seq
FROM {_STAGE} s JOIN consent_events e ON e.event_id = s.event_id
WHERE s.member_id <> e.member_id OR s.setting <> e.setting OR s.value <> e.value
   OR CASE WHEN s.ts > e.recorded_at THEN e.recorded_at ELSE s.ts END <> e.ts
   OR s.channel <> e.channel
ORDER BY s.stage_seq
LIMIT 1
"""  # nosec B608  # constant names, quoted literals


class _SqliteStage:
    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.instant = Instant()
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_STAGE}")
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE {_STAGE} (stage_seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL,"
            " member_id TEXT NOT NULL, setting TEXT NOT NULL, value INTEGER NOT NULL,"
            " ts TEXT NOT NULL, channel TEXT NOT NULL, file TEXT NOT NULL, line INTEGER)"
        )
        self.raw: Any = connection.connection.driver_connection

    def load(self, batch: pa.RecordBatch) -> None:
        sql = f"INSERT INTO {_STAGE} ({_EVENT_VALUES}, file, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # nosec B608  # constant names, quoted literals
        for start in range(0, batch.num_rows, SQLITE_CHUNK):
            part = batch.slice(start, SQLITE_CHUNK)
            ts = instant_texts(part.column("ts"))
            columns = [part.column(c).to_pylist() for c in STAGE_COLUMNS if c != "ts"]
            columns.insert(EVENT_COLUMNS.index("ts"), ts.to_pylist())
            cursor = self.raw.cursor()
            try:
                cursor.executemany(sql, zip(*columns, strict=True))
            finally:
                cursor.close()

    def merge(self, recorded_at: datetime) -> int:
        self.connection.exec_driver_sql(f"CREATE INDEX temp.{_STAGE}_event ON {_STAGE} (event_id)")
        result = self.connection.exec_driver_sql(
            f"INSERT INTO consent_events ({_EVENT_VALUES}, recorded_at)"
            f" SELECT {_EVENT_VALUES}, ? FROM {_STAGE}"
            f" WHERE stage_seq IN (SELECT min(stage_seq) FROM {_STAGE} GROUP BY event_id)"
            " ORDER BY stage_seq"
            " ON CONFLICT (event_id) DO NOTHING",  # nosec B608  # constant names, quoted literals
            (instant_text(recorded_at),),
        )
        return int(result.rowcount)

    def first_conflict(self) -> _Conflict | None:
        row = self.connection.exec_driver_sql(_CONFLICT_SQL).first()
        if row is None:
            return None
        parse = self.instant.process_result_value
        dialect = self.connection.dialect
        new = ConsentEvent(row[3], row[4], row[5], bool(row[6]), parse(row[7], dialect), row[8])  # type: ignore[arg-type]
        recorded = ConsentEvent(
            row[3],
            row[9],
            row[10],
            bool(row[11]),
            parse(row[12], dialect),  # type: ignore[arg-type]
            row[13],
            seq=row[15],
            recorded_at=parse(row[14], dialect),
        )
        return _Conflict(row[0], row[1], row[2], new, recorded, row[15])

    def first_row(self, event_id: str) -> tuple[str, int | None]:
        row = self.connection.exec_driver_sql(
            f"SELECT file, line FROM {_STAGE} WHERE event_id = ? ORDER BY stage_seq LIMIT 1",  # nosec B608  # constant names, quoted literals
            (event_id,),
        ).one()
        return row[0], row[1]

    def finish(self, inserted: int) -> None:
        self.connection.exec_driver_sql(f"DROP TABLE temp.{_STAGE}")


class _PostgresStage:
    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{_STAGE}")
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE {_STAGE} (stage_seq bigint GENERATED ALWAYS AS IDENTITY,"
            ' event_id text COLLATE "C" NOT NULL, member_id text COLLATE "C" NOT NULL,'
            ' setting text COLLATE "C" NOT NULL, value boolean NOT NULL,'
            ' ts timestamptz NOT NULL, channel text COLLATE "C" NOT NULL,'
            " file text NOT NULL, line bigint) ON COMMIT DROP"
        )
        self.raw: Any = connection.connection.driver_connection
        # The merge sorts the staged rows twice; keep those sorts in memory.
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")

    def load(self, batch: pa.RecordBatch) -> None:
        # Instants as text ending in Z: Arrow formats zoned timestamps slowly.
        ts_index = batch.schema.get_field_index("ts")
        batch = batch.set_column(ts_index, "ts", instant_texts(batch.column(ts_index)))
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
        sql = f"COPY {_STAGE} ({_EVENT_VALUES}, file, line) FROM STDIN WITH (FORMAT csv)"
        with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(buffer.getbuffer())

    def merge(self, recorded_at: datetime) -> int:
        self.connection.exec_driver_sql(f"ANALYZE {_STAGE}")
        result = self.connection.execute(
            sa.text(
                f"INSERT INTO consent_events ({_EVENT_VALUES}, recorded_at)"
                f" SELECT {_EVENT_VALUES}, :recorded_at FROM ("
                f"   SELECT DISTINCT ON (event_id) * FROM {_STAGE} ORDER BY event_id, stage_seq"
                " ) AS firsts ORDER BY stage_seq"
                " ON CONFLICT (event_id) DO NOTHING"  # nosec B608  # constant names, quoted literals
            ).bindparams(sa.bindparam("recorded_at", type_=Instant())),
            {"recorded_at": recorded_at},
        )
        return int(result.rowcount)

    def first_conflict(self) -> _Conflict | None:
        row = self.connection.exec_driver_sql(_CONFLICT_SQL).first()
        if row is None:
            return None
        new = ConsentEvent(row[3], row[4], row[5], row[6], row[7].astimezone(UTC), row[8])
        recorded = ConsentEvent(
            row[3],
            row[9],
            row[10],
            row[11],
            row[12].astimezone(UTC),
            row[13],
            seq=row[15],
            recorded_at=row[14].astimezone(UTC),
        )
        return _Conflict(row[0], row[1], row[2], new, recorded, row[15])

    def first_row(self, event_id: str) -> tuple[str, int | None]:
        row = self.connection.execute(
            sa.text(
                f"SELECT file, line FROM {_STAGE} WHERE event_id = :e ORDER BY stage_seq LIMIT 1"  # nosec B608  # constant names, quoted literals
            ),
            {"e": event_id},
        ).one()
        return row[0], row[1]

    def finish(self, inserted: int) -> None:
        # The staging table goes at commit (ON COMMIT DROP). After a large import, refresh the
        # planner's statistics now rather than when autovacuum comes round: bulk_state's plan
        # (an ordered index scan, no sort) depends on them.
        if inserted >= PG_ANALYZE_AFTER:
            self.connection.exec_driver_sql("ANALYZE consent_events")
