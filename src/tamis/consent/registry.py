"""The consent registry: an append-only log of members' consent events; their state at an instant.

>>> registry = open_registry("sqlite://")          # doctest: +SKIP  (in memory)
>>> registry.set("m1", False, at="2025-11-03T10:00:00+01:00")  # doctest: +SKIP
>>> registry.state("m1", as_of="2025-12-01T00:00:00Z").value  # doctest: +SKIP
False

Every write is one transaction, acknowledged only once committed (see :mod:`tamis.consent.engine`
for what "committed" means on SQLite). Nothing is ever updated or deleted: a member who changes
their mind adds an event; triggers in the database refuse UPDATE and DELETE. A member with an
unresolved reject (an event of theirs that could not be parsed) is *invalid*: the snapshot builder
puts them out (``consent_invalid``), failing closed.

State is computed by the database (one window query over all members), following the rule in
:mod:`tamis.consent.model`.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pyarrow as pa
import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from tamis.consent import log as consent_log
from tamis.consent.engine import (
    DEFAULT_BUSY_TIMEOUT_S,
    WRITE_OPTION,
    create_registry_engine,
    display_url,
    sqlite_path,
)
from tamis.consent.importer import Chunk, run_import
from tamis.consent.location import resolve_url
from tamis.consent.migrate import current_revision, upgrade_to_head
from tamis.consent.model import (
    GENAI_TRAINING,
    INVALID_SCHEMA,
    REJECTS_SCHEMA,
    STATE_SCHEMA,
    Appended,
    ConsentEvent,
    EventCount,
    ImportSummary,
    MemberState,
    RegistryStats,
    future_ts,
    no_later_than,
    to_instant,
)
from tamis.consent.schema import consent_events, consent_rejects, instant_text
from tamis.errors import ConsentConflictError, InputError, RegistryError, TamisError
from tamis.timefmt import ARROW_TS

STATE_BATCH_ROWS = 65_536

_ce = consent_events
_cr = consent_rejects
# The decision order (model.py): latest instant first, an objection before an allow, then event id.
_DECISION_ORDER = (_ce.c.ts.desc(), _ce.c.value.asc(), _ce.c.event_id.asc())
# The same order in SQL, for bulk_state; the index ix_consent_events_decision follows it, so the
# database reads members in order, already ranked, without sorting.
_BULK_STATE_SQL = """
SELECT member_id, value, event_id, {ts} FROM (
    SELECT member_id, value, event_id, ts, row_number() OVER (
        PARTITION BY member_id ORDER BY ts DESC, value ASC, event_id ASC
    ) AS decision_rank
    FROM consent_events
    WHERE setting = {p} AND ts <= {p}
) AS ranked
WHERE decision_rank = 1
ORDER BY member_id
"""
# Exact microseconds since the epoch (also where EXTRACT returns a double, before PostgreSQL 14).
_PG_EPOCH_US = (
    "EXTRACT(EPOCH FROM date_trunc('second', ts))::bigint * 1000000"
    " + EXTRACT(MICROSECONDS FROM ts)::bigint %% 1000000"  # %% is psycopg's escaped %
)


def open_registry(
    db: str | os.PathLike[str] | None = None,
    *,
    existing: bool = False,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
) -> ConsentRegistry:
    """Open (creating and migrating to head if needed) the registry at ``db``.

    ``db`` is a SQLAlchemy URL or a file path; None means ``$TAMIS_DB``, else
    ``./.tamis/registry.db``. Raises :class:`RegistryError` (naming the URL, password masked) if
    the database cannot be reached or migrated.

    ``existing``: the registry must already exist (a SQLite file that is there, a database
    that holds a registry), as it must wherever what it holds is read (a build's erasures and
    objections, a rights desk's requests): a mistyped ``--db`` would otherwise be a new, empty
    registry, in which no member ever objected and nobody was erased.
    """
    url = resolve_url(db)
    if existing:
        require_existing_file(url)
    engine = create_registry_engine(url, busy_timeout_s=busy_timeout_s)
    try:
        if existing:
            with engine.connect() as connection:
                if current_revision(connection) is None:
                    raise RegistryError(
                        f"{display_url(url)} holds no consent registry (a mistyped --db or "
                        "TAMIS_DB?); tamis consent import or tamis consent set creates one"
                    )
        revision = upgrade_to_head(engine)
    except TamisError:
        engine.dispose()
        raise
    except (sa.exc.SQLAlchemyError, CommandError, OSError) as exc:
        engine.dispose()
        raise RegistryError(
            f"cannot open the consent registry at {display_url(url)}: {_reason(exc)}"
        ) from exc
    return ConsentRegistry(engine, revision)


def setting_key(name: str) -> str:
    """A setting's name without case, ``-``, ``_``, ``.`` or spaces (for misspellings)."""
    return "".join(c for c in name.casefold() if c not in "-_. ")


def require_existing_file(url: str) -> None:
    """Raise :class:`RegistryError` if ``url`` is a SQLite database whose file is not there
    (opening it would create an empty one). In-memory databases pass; so does any other
    backend (its database must hold a registry, which only a connection can tell)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return  # create_registry_engine says what is wrong with it
    if parsed.get_backend_name() != "sqlite":
        return
    path = sqlite_path(parsed)
    database = parsed.database or ""
    if path is None and database.startswith("file:"):  # a URI filename (?uri=true)
        name, _, query = database[len("file:") :].partition("?")
        memory = "mode=memory" in query or parsed.query.get("mode") == "memory"
        path = None if memory or not name or name == ":memory:" else Path(name)
    if path is not None and not path.is_file():
        raise RegistryError(
            f"there is no consent registry at {display_url(url)} (a mistyped --db or TAMIS_DB?); "
            "tamis consent import or tamis consent set creates one"
        )


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _now() -> datetime:
    return datetime.now(UTC)


class ConsentRegistry:
    """The consent registry behind an engine; build it with :func:`open_registry`."""

    def __init__(self, engine: Engine, revision: str) -> None:
        self._engine = engine
        self.revision = revision
        self.url = display_url(engine.url)

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ConsentRegistry({self.url!r}, revision={self.revision!r})"

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        dbapi_error: Any = self._engine.dialect.loaded_dbapi.Error
        try:
            yield
        except (sa.exc.DBAPIError, dbapi_error) as exc:
            raise RegistryError(
                f"consent registry at {self.url}: {action} failed: {_reason(exc)}"
            ) from exc

    @contextmanager
    def _write(self, action: str) -> Iterator[sa.Connection]:
        """One write transaction, committed on a clean exit (rolled back on any exception)."""
        with (
            self._guard(action),
            self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection,
            connection.begin(),
        ):
            yield connection

    @contextmanager
    def _read(self, action: str) -> Iterator[sa.Connection]:
        """One read transaction (a consistent snapshot), rolled back at the end."""
        with self._guard(action), self._engine.connect() as connection:
            yield connection

    def writing(self, action: str) -> contextlib.AbstractContextManager[sa.Connection]:
        """One write transaction for the registry's other tables (lineage, rights, the log)."""
        return self._write(action)

    def reading(self, action: str) -> contextlib.AbstractContextManager[sa.Connection]:
        """One read transaction (a consistent snapshot) for the registry's other tables."""
        return self._read(action)

    # -- writes --------------------------------------------------------------------------------

    def append(
        self,
        event_id: str,
        member_id: str,
        setting: str,
        value: bool,
        ts: datetime | str,
        channel: str,
    ) -> Appended:
        """Record one event; idempotent on ``event_id``.

        The same event id with the same content is a no-op (``status == "duplicate"``); with other
        content it is a :class:`ConsentConflictError` naming the id and the differing fields.
        Returns once the transaction is committed.
        """
        event = ConsentEvent.create(event_id, member_id, setting, value, ts, channel)
        with self._write("recording a consent event") as connection:
            return self.append_in(connection, event)

    def append_in(self, connection: sa.Connection, event: ConsentEvent) -> Appended:
        """:meth:`append` inside the caller's write transaction (rights requests use it).

        The consent log's head is taken first, so that the log's order is the insertion order.
        """
        (outcome,) = self.append_many_in(connection, [event])
        if isinstance(outcome, ConsentConflictError):
            raise outcome
        return outcome

    def append_many(self, events: Sequence[ConsentEvent]) -> list[Appended | ConsentConflictError]:
        """Record ``events`` in one transaction, in order; returns once it is committed.

        Each event gets its own outcome, as with :meth:`append`: :class:`Appended` (``inserted``,
        or ``duplicate`` for an id already recorded with the same content), or a
        :class:`ConsentConflictError` when its id is recorded with other content (nothing is
        recorded for that event; the others are). A database error rolls the whole transaction
        back and raises :class:`RegistryError`. This is the service's group commit: concurrent
        writes share one transaction, hence one fsync on SQLite.
        """
        with self._write("recording consent events") as connection:
            return self.append_many_in(connection, events)

    def append_many_in(
        self, connection: sa.Connection, events: Sequence[ConsentEvent]
    ) -> list[Appended | ConsentConflictError]:
        """:meth:`append_many` inside the caller's write transaction.

        The log's head is taken first; each event is inserted (``ON CONFLICT (event_id) DO
        NOTHING``, in order, so ``seq`` follows the list), the inserted ones are linked into the
        log in ``seq`` order, and the head moves once. Statements go through the DB-API cursor
        (one prepared statement, no SQL compilation per event).
        """
        if not events:
            return []
        head = consent_log.lock_head(connection)
        recorded_at = _now()
        events = [no_later_than(e, recorded_at) for e in events]
        seqs = _insert_events(connection, events, recorded_at)
        outcomes: list[Appended | ConsentConflictError | None] = [None] * len(events)
        inserted: list[ConsentEvent] = []
        for index, (e, seq) in enumerate(zip(events, seqs, strict=True)):
            if seq is not None:
                stored = ConsentEvent(
                    e.event_id, e.member_id, e.setting, e.value, e.ts, e.channel, seq, recorded_at
                )
                outcomes[index] = Appended("inserted", stored)
                inserted.append(stored)
        if inserted:
            inserted.sort(key=lambda e: e.seq or 0)
            recorded_text = instant_text(recorded_at)
            entries = [consent_log.event_entry(e, recorded_text) for e in inserted]
            consent_log.append(connection, head, entries, recorded_at)
        repeated = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if repeated:
            ids = sorted({events[i].event_id for i in repeated})
            query = sa.select(_ce).where(_ce.c.event_id.in_(ids))
            recorded = {row.event_id: _event(row) for row in connection.execute(query)}
            for i in repeated:
                outcomes[i] = _repeat_outcome(recorded[events[i].event_id], events[i])
        return [outcome for outcome in outcomes if outcome is not None]

    def set(
        self,
        member_id: str,
        value: bool,
        at: datetime | str | None = None,
        channel: str = "api",
        setting: str = GENAI_TRAINING,
    ) -> ConsentEvent:
        """Record that ``member_id`` set ``setting`` to ``value`` at ``at`` (default: now).

        The event gets a new random event id (UUID 4); returns the stored event.
        """
        ts = _now() if at is None else to_instant(at, what="at")
        return self.append(str(uuid.uuid4()), member_id, setting, value, ts, channel).event

    def import_batches(
        self,
        batches: Iterable[pa.RecordBatch],
        rejects: Iterable[Mapping[str, Any]] = (),
    ) -> ImportSummary:
        """Import consent events in one transaction: all of them, or none.

        ``batches`` have the columns of ``CONSENT_EVENTS`` (``ts`` as ``timestamp[us, UTC]``) plus
        ``_file`` and ``_line``; ``rejects`` are dicts with ``file``, ``line``, ``member_id`` (or
        None) and ``reason`` (``field`` and ``key``, the event id, are kept when given). Repeats
        (inside the batches or of recorded events) are no-ops; an event id repeated with other
        content aborts the import with a :class:`ConsentConflictError` naming file, line and id.
        """

        def chunks() -> Iterator[Chunk]:
            for batch in batches:
                yield batch, ()
            yield None, list(rejects)

        return self.import_chunks(chunks())

    def import_chunks(self, chunks: Iterable[Chunk]) -> ImportSummary:
        """:meth:`import_batches` over ``(batch or None, rejects)`` pairs, as a reader yields."""
        with self._write("importing consent events") as connection:
            return run_import(connection, chunks, _now())

    def import_file(self, path: str | os.PathLike[str]) -> ImportSummary:
        """Import a ``consent_events`` file of an export (JSONL, Parquet, or a folder of parts).

        Lines the reader cannot parse are recorded as rejects (their members become invalid).
        """
        # imported on use: it pulls in orjson
        from tamis.sources.reader import folder_parts, read_table
        from tamis.sources.schema import CONSENT_EVENTS

        source = Path(path)
        if source.is_dir():
            # the parts a build reads (an aborted job's _temporary/ copies skipped); any other
            # file stops the import, as it stops a build, rather than lose its objections
            files, unread = folder_parts(source)
            if unread:
                raise InputError(
                    f"{', '.join(unread[:5])} {'is' if len(unread) == 1 else 'are'} not read "
                    "(a folder of consent events holds Parquet parts): convert, rename or move "
                    "it, so that none of its events is passed over",
                    file=str(source),
                )
            if not files:
                raise InputError("no Parquet part files in this folder", file=str(source))
        else:
            files = [source]

        def chunks() -> Iterator[Chunk]:
            for file in files:
                for chunk in read_table(file, CONSENT_EVENTS):
                    yield chunk.valid, chunk.rejects

        return self.import_chunks(chunks())

    def resolve_rejects(
        self,
        *,
        resolution: str,
        member_id: str | None = None,
        reject_ids: Sequence[int] | None = None,
    ) -> int:
        """Mark unresolved rejects as resolved (of a member, or by id); returns how many.

        A resolved reject no longer makes its member invalid. ``resolution`` says why (e.g. "the
        platform re-sent the event as evt-123"). Nothing is deleted.
        """
        if not resolution.strip():
            raise InputError("say how the reject was resolved", field="resolution")
        if member_id is None and reject_ids is None:
            raise InputError("name the member or the reject ids to resolve")
        statement = (
            sa.update(_cr)
            .where(_cr.c.resolved_at.is_(None))
            .values(resolved_at=_now(), resolution=resolution)
        )
        if member_id is not None:
            statement = statement.where(_cr.c.member_id == member_id)
        if reject_ids is not None:
            statement = statement.where(_cr.c.reject_id.in_(list(reject_ids)))
        with self._write("resolving rejects") as connection:
            return int(connection.execute(statement).rowcount)

    # -- reads ---------------------------------------------------------------------------------

    def history(self, member_id: str, setting: str | None = None) -> list[ConsentEvent]:
        """The member's events (of one setting, or all), in order of ``ts`` then insertion."""
        query = sa.select(_ce).where(_ce.c.member_id == member_id)
        if setting is not None:
            query = query.where(_ce.c.setting == setting)
        with self._read("reading a member's history") as connection:
            rows = connection.execute(query.order_by(_ce.c.ts, _ce.c.seq)).all()
        return [_event(row) for row in rows]

    def state(
        self,
        member_id: str,
        as_of: datetime | str,
        setting: str = GENAI_TRAINING,
        *,
        declared: Collection[str] = (),
    ) -> MemberState:
        """The member's value for ``setting`` at ``as_of`` (see the rule in :mod:`.model`).

        The member is invalid, as in a build, with an event for a misspelt form of ``setting``
        or of any of ``declared`` (the policy's settings: a build puts the member out for a
        misspelling of any of them, :meth:`misspelt_setting_members`)."""
        cutoff = to_instant(as_of, what="as_of")
        settings = {setting, *declared}
        keys = {setting_key(name): name for name in settings}
        query = (
            sa.select(_ce)
            .where(_ce.c.member_id == member_id, _ce.c.setting == setting, _ce.c.ts <= cutoff)
            .order_by(*_DECISION_ORDER)
            .limit(1)
        )
        rejects = sa.select(sa.func.count()).where(
            _cr.c.member_id == member_id, _cr.c.resolved_at.is_(None)
        )
        other_settings = (
            sa.select(_ce.c.setting, sa.func.count())
            .where(_ce.c.member_id == member_id, _ce.c.setting.not_in(sorted(settings)))
            .group_by(_ce.c.setting)
            .order_by(_ce.c.setting)
        )
        with self._read("reading a member's state") as connection:
            row = connection.execute(query).first()
            why = []
            if unresolved := int(connection.execute(rejects).scalar_one()):
                why.append(f"{unresolved} consent event(s) that could not be parsed (rejects)")
            why.extend(_dated_ahead(connection, member_id).values())
            why.extend(  # as for a build (misspelt_setting_members): the member is out
                f"{n} event(s) for setting {name!r}, spelt unlike {keys[setting_key(name)]!r}"
                for name, n in connection.execute(other_settings)
                if setting_key(name) in keys
            )
        decided_by = None if row is None else _event(row)
        value = None if decided_by is None else decided_by.value
        return MemberState(value, decided_by, bool(why), tuple(why))

    def bulk_state_batches(
        self,
        as_of: datetime | str,
        setting: str = GENAI_TRAINING,
        *,
        batch_rows: int = STATE_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        """:meth:`bulk_state` as a stream of record batches (for memory-bounded consumers)."""
        cutoff = to_instant(as_of, what="as_of")
        sqlite = self.dialect == "sqlite"
        # Raw DB-API cursor: rows go straight into Arrow (SQLAlchemy rows would double the cost).
        # SQLite: one statement reads one consistent snapshot; instants come back as their
        # fixed-width text. PostgreSQL: a server-side cursor, binary, instants as epoch µs.
        sql = _BULK_STATE_SQL.format(ts="ts" if sqlite else _PG_EPOCH_US, p="?" if sqlite else "%s")
        params = (setting, instant_text(cutoff) if sqlite else cutoff)
        with self._read("computing consent state") as connection:
            raw: Any = connection.connection.driver_connection
            cursor = raw.cursor() if sqlite else raw.cursor(name="tamis_bulk_state", binary=True)
            try:
                cursor.execute(sql, params)
                while rows := cursor.fetchmany(batch_rows):
                    members, values, event_ids, instants = zip(*rows, strict=True)
                    if sqlite:
                        ts_array = pa.array(instants, pa.string()).cast(ARROW_TS)
                    else:
                        ts_array = pa.array(instants, pa.int64()).cast(ARROW_TS)
                    yield pa.RecordBatch.from_arrays(
                        [
                            pa.array(members, pa.string()),
                            pa.array(values).cast(pa.bool_()),  # SQLite: 0/1
                            pa.array(event_ids, pa.string()),
                            ts_array,
                        ],
                        schema=STATE_SCHEMA,
                    )
            finally:
                cursor.close()

    def bulk_state(self, as_of: datetime | str, setting: str = GENAI_TRAINING) -> pa.Table:
        """Every member's deciding event for ``setting`` at ``as_of``, by member id.

        Columns ``member_id, value, event_id, ts``; members without an event at ``as_of`` are
        absent (their jurisdiction's default applies). Computed by the database in one window
        query, streamed into Arrow.
        """
        return pa.Table.from_batches(list(self.bulk_state_batches(as_of, setting)), STATE_SCHEMA)

    def invalid_members(self) -> pa.Table:
        """Members with an unresolved reject: ``member_id``, ``reason`` (the first reject, as
        ``file:line: reason``) and ``rejects`` (how many), by member id."""
        firsts = (
            sa.select(
                _cr.c.member_id,
                sa.func.min(_cr.c.reject_id).label("first_id"),
                sa.func.count().label("rejects"),
            )
            .where(_cr.c.resolved_at.is_(None), _cr.c.member_id.is_not(None))
            .group_by(_cr.c.member_id)
            .subquery("firsts")
        )
        query = (
            sa.select(firsts.c.member_id, _cr.c.file, _cr.c.line, _cr.c.reason, firsts.c.rejects)
            .join_from(firsts, _cr, _cr.c.reject_id == firsts.c.first_id)
            .order_by(firsts.c.member_id)
        )
        with self._read("listing invalid members") as connection:
            rows = connection.execute(query).all()
            ahead = _dated_ahead(connection)
        invalid: dict[str, tuple[str, int]] = {}
        for row in rows:
            where = row.file if row.line is None else f"{row.file}:{row.line}"
            more = f" (and {row.rejects - 1} more)" if row.rejects > 1 else ""
            invalid[row.member_id] = (f"{where}: {row.reason}{more}", row.rejects)
        for member, why in ahead.items():
            invalid.setdefault(member, (why, 0))
        members = sorted(invalid)
        return pa.Table.from_arrays(
            [
                pa.array(members, pa.string()),
                pa.array([invalid[m][0] for m in members], pa.string()),
                pa.array([invalid[m][1] for m in members], pa.int64()),
            ],
            schema=INVALID_SCHEMA,
        )

    def misspelt_setting_members(self, settings: Collection[str]) -> pa.Table:
        """Members with an event for a setting spelt like one of ``settings`` (the policy's)
        but not the same: other case, ``-``, ``_``, ``.`` or spaces (``genai-training``,
        ``GENAI_TRAINING`` for ``genai_training``). Such an event may be an objection the build
        would otherwise not read, so its member is out as invalid; a setting of another name
        (another policy's) changes nothing. The same columns as :meth:`invalid_members` (the
        first such setting as the reason), by member id."""
        wanted = {setting_key(name): name for name in settings}
        with self._read("listing events for misspelt settings") as connection:
            names = connection.execute(sa.select(_ce.c.setting).distinct()).scalars().all()
            misspelt = sorted(n for n in names if n not in settings and setting_key(n) in wanted)
            rows = (
                connection.execute(
                    sa.select(
                        _ce.c.member_id,
                        sa.func.min(_ce.c.setting).label("setting"),
                        sa.func.count().label("events"),
                    )
                    .where(_ce.c.setting.in_(misspelt))
                    .group_by(_ce.c.member_id)
                    .order_by(_ce.c.member_id)
                ).all()
                if misspelt
                else []
            )
        return pa.Table.from_arrays(
            [
                pa.array([r.member_id for r in rows], pa.string()),
                pa.array(
                    [
                        f"{r.events} event(s) for setting {r.setting!r}, spelt unlike "
                        f"{wanted[setting_key(r.setting)]!r}"
                        for r in rows
                    ],
                    pa.string(),
                ),
                pa.array([r.events for r in rows], pa.int64()),
            ],
            schema=INVALID_SCHEMA,
        )

    def rejects(self, *, include_resolved: bool = False) -> pa.Table:
        """The recorded rejects (unresolved only, unless ``include_resolved``), in order."""
        query = sa.select(*(_cr.c[name] for name in REJECTS_SCHEMA.names)).order_by(_cr.c.reject_id)
        if not include_resolved:
            query = query.where(_cr.c.resolved_at.is_(None))
        with self._read("listing rejects") as connection:
            rows = connection.execute(query).all()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(REJECTS_SCHEMA)
        return pa.Table.from_arrays(
            [pa.array(list(c), f.type) for c, f in zip(columns, REJECTS_SCHEMA, strict=True)],
            schema=REJECTS_SCHEMA,
        )

    def holds_events(self, setting: str) -> bool:
        """Whether the registry holds a consent event for ``setting``, or any reject (whose
        setting may be what could not be read)."""
        with self._read("looking for consent events") as connection:
            queries = (
                sa.select(sa.literal(1)).select_from(_ce).where(_ce.c.setting == setting),
                sa.select(sa.literal(1)).select_from(_cr),
            )
            return any(connection.execute(q.limit(1)).first() for q in queries)

    def stats(self) -> RegistryStats:
        """Counts for the DPO: events by setting, value and channel, members, rejects."""
        counts_query = (
            sa.select(_ce.c.setting, _ce.c.value, _ce.c.channel, sa.func.count())
            .group_by(_ce.c.setting, _ce.c.value, _ce.c.channel)
            .order_by(_ce.c.setting, _ce.c.value, _ce.c.channel)
        )
        totals_query = sa.select(
            sa.func.count(),
            sa.func.count(sa.distinct(_ce.c.member_id)),
            sa.func.min(_ce.c.ts),
            sa.func.max(_ce.c.ts),
        )
        unresolved = _cr.c.resolved_at.is_(None)
        rejects_query = sa.select(
            sa.func.count(), sa.func.count().filter(_cr.c.member_id.is_(None))
        ).where(unresolved)
        rejected_members = (
            sa.select(_cr.c.member_id).where(unresolved, _cr.c.member_id.is_not(None)).distinct()
        )
        with self._read("computing statistics") as connection:
            counts = tuple(
                EventCount(setting, bool(value), channel, int(n))
                for setting, value, channel, n in connection.execute(counts_query)
            )
            events, members, first_ts, last_ts = connection.execute(totals_query).one()
            open_rejects, unattributed = connection.execute(rejects_query).one()
            invalid = len(
                set(connection.execute(rejected_members).scalars())
                | _dated_ahead(connection).keys()
            )
        return RegistryStats(
            url=self.url,
            revision=self.revision,
            events=int(events),
            members=int(members),
            counts=counts,
            first_ts=first_ts,
            last_ts=last_ts,
            unresolved_rejects=int(open_rejects),
            unattributed_rejects=int(unattributed),
            invalid_members=int(invalid),
        )


def _dated_ahead(connection: sa.Connection, member_id: str | None = None) -> dict[str, str]:
    """Members with an event dated later than it was recorded, beyond the clock-skew allowance
    (such events are refused on entry; a registry may hold some recorded before that check):
    member -> why, for the first such event. Such an event outranks every choice made before its
    date, so its member is invalid, as for a reject. Both instants are stored alike, so the
    database compares them; the allowance is applied here."""
    query = sa.select(_ce.c.member_id, _ce.c.event_id, _ce.c.ts, _ce.c.recorded_at).where(
        _ce.c.ts > _ce.c.recorded_at
    )
    if member_id is not None:
        query = query.where(_ce.c.member_id == member_id)
    ahead: dict[str, str] = {}
    for row in connection.execute(query.order_by(_ce.c.seq)):
        problem = future_ts(row.ts, row.recorded_at, "its recording")
        if problem is not None and row.member_id not in ahead:
            ahead[row.member_id] = f"event {row.event_id}: {problem}"
    return ahead


_INSERT_EVENT = (
    "INSERT INTO consent_events"
    " (event_id, member_id, setting, value, ts, channel, recorded_at)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
    " ON CONFLICT (event_id) DO NOTHING RETURNING seq"
)


def _insert_events(
    connection: sa.Connection, events: Sequence[ConsentEvent], recorded_at: datetime
) -> list[int | None]:
    """Insert each event unless its id is recorded; its new ``seq``, or None if it was not."""
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        params = [
            (e.event_id, e.member_id, e.setting, e.value, e.ts, e.channel, recorded_at)
            for e in events
        ]
        with raw.cursor() as cursor:
            # One pipelined round trip for the whole batch; a result set per event.
            cursor.executemany(_INSERT_EVENT.format(p="%s"), params, returning=True)
            seqs: list[int | None] = []
            while True:
                row = cursor.fetchone()
                seqs.append(None if row is None else int(row[0]))
                if not cursor.nextset():
                    break
        return seqs
    sql = _INSERT_EVENT.format(p="?")
    stamp = instant_text(recorded_at)
    cursor = raw.cursor()
    try:
        seqs = []
        for e in events:
            params_one = (
                e.event_id,
                e.member_id,
                e.setting,
                e.value,
                instant_text(e.ts),
                e.channel,
                stamp,
            )
            row = cursor.execute(sql, params_one).fetchone()
            seqs.append(None if row is None else int(row[0]))
        return seqs
    finally:
        cursor.close()


def _repeat_outcome(recorded: ConsentEvent, new: ConsentEvent) -> Appended | ConsentConflictError:
    """An event whose id is already recorded: a duplicate, or a conflict naming what differs."""
    differences = recorded.differences(new)
    if not differences:
        return Appended("duplicate", recorded)
    return ConsentConflictError(
        f"consent event {new.event_id!r} is already recorded with other content "
        f"({'; '.join(differences)}); an event id must not be reused"
    )


def _event(row: sa.Row[Any]) -> ConsentEvent:
    return ConsentEvent(
        event_id=row.event_id,
        member_id=row.member_id,
        setting=row.setting,
        value=bool(row.value),
        ts=row.ts,
        channel=row.channel,
        seq=row.seq,
        recorded_at=row.recorded_at,
    )
