"""The tamper-evident consent log: a hash chain over consent events, rights requests, publications.

Every consent event, rights request (and each change to one) and snapshot publication appends one
entry to ``consent_log``, in the same transaction as the row it logs. Entry ``n`` commits to entry
``n - 1``::

    entry_hash(n) = SHA-256("tamis.log.v1" 0x00 ‖ prev_hash ‖ n as 8 bytes ‖ len‖kind ‖ len‖ref
                            ‖ len‖payload)

with ``prev_hash(1)`` = 64 zeros, and ``payload`` the canonical JSON (sorted keys, no spaces) of
what is logged (a consent event: every column, its insertion ``seq`` included). The chain is over
*insertion order*, so appending never rewrites anything. Appends are serialised: the writer takes
the one-row ``consent_log_head`` first (PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite: the write
transaction is ``BEGIN IMMEDIATE``), before it inserts the event, so the log's order is also the
events' ``seq`` order.

:func:`verify_log` recomputes the chain and compares each entry with the row it logs, and names
the first entry that is broken (an edited, deleted or moved event; an entry that does not link);
:func:`prove_event` shows that an event is in the prefix of the chain that a snapshot committed to
(its manifest's ``consent_log_head``); :func:`make_checkpoint` signs the head (Ed25519, the
platform key of receipts), so that a party holding an old checkpoint detects a rewrite.
See ``docs/consent-log.md``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from tamis.consent.location import build_registry_url
from tamis.consent.schema import Instant, consent_events, ident, instant_text
from tamis.errors import SnapshotError, TamisError, VerificationError

if TYPE_CHECKING:
    from tamis.consent.model import ConsentEvent
    from tamis.consent.registry import ConsentRegistry
    from tamis.lineage.signing import SigningKey
    from tamis.pipeline.build import BuildRun

LOG_FORMAT = "tamis.log.v1"
CHECKPOINT_FORMAT = "tamis.log-checkpoint/v1"
GENESIS = "0" * 64
MANIFEST_FIELD = "consent_log_head"
EVENT, REQUEST, PUBLICATION = "event", "request", "publication"
STREAM_ROWS = 10_000
_PREFIX = LOG_FORMAT.encode() + b"\x00"

metadata = sa.MetaData()
consent_log = sa.Table(
    "consent_log",
    metadata,
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("kind", ident(), nullable=False),
    sa.Column("ref", ident(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("event_ts", Instant(), nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", Instant(), nullable=False),
)
consent_log_head = sa.Table(
    "consent_log_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("head", sa.String(64), nullable=False),
)
log_checkpoints = sa.Table(
    "log_checkpoints",
    metadata,
    sa.Column(
        "checkpoint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    ),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("head", sa.String(64), nullable=False),
    sa.Column("signed_at", Instant(), nullable=False),
    sa.Column("key_id", ident(), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)
_log = consent_log
_ce = consent_events


# -- the chain --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The chain's head: the number of entries and the hash of the last (GENESIS when empty)."""

    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "head": self.hash}


@dataclass(frozen=True)
class Entry:
    """One entry to append: what is logged (``kind``, ``ref``) and its canonical ``payload``."""

    kind: str
    ref: str
    payload: str
    event_ts: datetime | None = None


def dumps(obj: Mapping[str, Any]) -> str:
    """Canonical JSON of a payload: sorted keys, no whitespace, UTF-8 as is."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def link(prev_hash: str, seq: int, kind: str, ref: str, payload: str) -> str:
    """The hash of entry ``seq`` (see the module docstring)."""
    message = b"".join(
        (
            _PREFIX,
            bytes.fromhex(prev_hash),
            seq.to_bytes(8, "big"),
            _field(kind.encode()),
            _field(ref.encode()),
            _field(payload.encode()),
        )
    )
    return hashlib.sha256(message).hexdigest()


def event_payload(
    seq: int,
    event_id: str,
    member_id: str,
    setting: str,
    value: bool,
    ts: str,
    channel: str,
    recorded_at: str,
) -> str:
    """The payload of a consent event (instants as fixed-width UTC text)."""
    return dumps(
        {
            "channel": channel,
            "event_id": event_id,
            "member_id": member_id,
            "recorded_at": recorded_at,
            "seq": seq,
            "setting": setting,
            "ts": ts,
            "value": bool(value),
        }
    )


def event_entry(event: ConsentEvent, recorded_text: str | None = None) -> Entry:
    """The log entry of a stored event (with its ``seq`` and ``recorded_at``; a batch that shares
    one ``recorded_at`` may pass its text form)."""
    assert event.seq is not None and event.recorded_at is not None, "a stored event"
    payload = event_payload(
        event.seq,
        event.event_id,
        event.member_id,
        event.setting,
        event.value,
        instant_text(event.ts),
        event.channel,
        recorded_text or instant_text(event.recorded_at),
    )
    return Entry(EVENT, event.event_id, payload, event.ts)


def _text(value: Any) -> str:
    return instant_text(value) if isinstance(value, datetime) else str(value)


def read_head(connection: sa.Connection) -> Head:
    row = connection.execute(sa.select(consent_log_head.c.seq, consent_log_head.c.head)).first()
    return Head(0, GENESIS) if row is None else Head(int(row[0]), str(row[1]))


def lock_head(connection: sa.Connection) -> Head:
    """Take the chain's head for this transaction (call before inserting what is logged)."""
    # Through the DB-API cursor: the service's group commit runs this on every transaction.
    raw: Any = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    cursor = raw.cursor()
    try:
        cursor.execute(_LOCK_HEAD_PG if postgres else _LOCK_HEAD)
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:  # pragma: no cover - the migration inserts it
        raise TamisError("the consent log has no head row; the registry is damaged")
    return Head(int(row[0]), str(row[1]))


_LOCK_HEAD = "SELECT seq, head FROM consent_log_head WHERE id = 1"
_LOCK_HEAD_PG = _LOCK_HEAD + " FOR UPDATE"
_MOVE_HEAD = "UPDATE consent_log_head SET seq = {p}, head = {p} WHERE id = 1"  # p: ? or %s


def append(
    connection: sa.Connection,
    head: Head,
    entries: Iterable[Entry],
    recorded_at: datetime | None = None,
) -> Head:
    """Link ``entries`` after ``head`` (taken with :func:`lock_head`), store them, move the head."""
    now = recorded_at or datetime.now(UTC)
    seq, prev = head.seq, head.hash
    rows: list[tuple[Any, ...]] = []
    for entry in entries:
        seq += 1
        entry_hash = link(prev, seq, entry.kind, entry.ref, entry.payload)
        rows.append((seq, entry.kind, entry.ref, entry.payload, entry.event_ts, prev, entry_hash))
        prev = entry_hash
    if not rows:
        return head
    _insert_rows(connection, rows, now)
    raw: Any = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    cursor = raw.cursor()
    try:
        cursor.execute(_MOVE_HEAD.format(p="%s" if postgres else "?"), (seq, prev))
    finally:
        cursor.close()
    return Head(seq, prev)


_COLUMNS = "seq, kind, ref, payload, event_ts, prev_hash, entry_hash, recorded_at"


def _insert_rows(connection: sa.Connection, rows: list[tuple[Any, ...]], now: datetime) -> None:
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY consent_log ({_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row((*row, now))
        return
    stamp = instant_text(now)
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO consent_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # nosec B608  # constant names, quoted literals
            [
                (*row[:4], None if row[4] is None else _text(row[4]), *row[5:], stamp)
                for row in rows
            ],
        )
    finally:
        cursor.close()


def append_events_since(connection: sa.Connection, head: Head, last_seq: int) -> Head:
    """Log the consent events with ``seq > last_seq``, in insertion order (bulk import)."""
    sql = (
        "SELECT seq, event_id, member_id, setting, value, ts, channel, recorded_at "
        "FROM consent_events WHERE seq > {p} ORDER BY seq"
    )
    raw: Any = connection.connection.driver_connection
    sqlite = connection.dialect.name != "postgresql"
    cursor = raw.cursor()
    try:
        cursor.execute(sql.format(p="?" if sqlite else "%s"), (last_seq,))

        def entries() -> Iterator[Entry]:
            while rows := cursor.fetchmany(STREAM_ROWS):
                for seq, event_id, member_id, setting, value, ts, channel, recorded in rows:
                    ts_text = _text(ts)
                    yield Entry(
                        EVENT,
                        event_id,
                        event_payload(
                            seq,
                            event_id,
                            member_id,
                            setting,
                            bool(value),
                            ts_text,
                            channel,
                            _text(recorded),
                        ),
                        ts if isinstance(ts, datetime) else ts_text,  # type: ignore[arg-type]
                    )

        batch: list[Entry] = []
        for entry in entries():
            batch.append(entry)
            if len(batch) >= STREAM_ROWS:
                head = append(connection, head, batch)
                batch = []
        return append(connection, head, batch)
    finally:
        cursor.close()


def append_entry(
    connection: sa.Connection, kind: str, ref: str, payload: Mapping[str, Any]
) -> Head:
    """Lock the head and append one entry (rights requests, publications)."""
    return append(connection, lock_head(connection), [Entry(kind, ref, dumps(payload))])


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LogProblem:
    """The first thing found broken: the entry (by ``seq``) and what is wrong."""

    seq: int | None
    kind: str | None
    ref: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class LogReport:
    """What :func:`verify_log` checked, and the first problem (None when the log holds)."""

    entries: int = 0
    head: Head = field(default_factory=lambda: Head(0, GENESIS))
    by_kind: dict[str, int] = field(default_factory=dict)
    checkpoints: int = 0
    problem: LogProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head.as_dict(),
            "by_kind": dict(sorted(self.by_kind.items())),
            "checkpoints_checked": self.checkpoints,
            "problem": None
            if self.problem is None
            else {
                "seq": self.problem.seq,
                "kind": self.problem.kind,
                "ref": self.problem.ref,
                "message": self.problem.message,
            },
        }


class _Stop(Exception):
    def __init__(self, problem: LogProblem) -> None:
        self.problem = problem


def _stream(connection: sa.Connection, query: sa.Select[Any]) -> sa.CursorResult[Any]:
    options = connection.execution_options(stream_results=True, yield_per=STREAM_ROWS)
    return options.execute(query)


def _row_payload(row: Any) -> str:
    return event_payload(
        int(row.seq),
        row.event_id,
        row.member_id,
        row.setting,
        bool(row.value),
        instant_text(row.ts),
        row.channel,
        instant_text(row.recorded_at),
    )


def _differences(logged: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    names = sorted(set(logged) | set(now))
    diffs = [
        f"{n} {logged.get(n)!r} (logged) vs {now.get(n)!r} (now)"
        for n in names
        if logged.get(n) != now.get(n)
    ]
    return "; ".join(diffs)


class _Walker:
    """Walks the log in order, recomputing the chain and checking consent events as it goes."""

    def __init__(self, connection: sa.Connection, upto: int | None = None) -> None:
        self.connection = connection
        self.upto = upto
        self.running = GENESIS
        self.count = 0
        self.by_kind: dict[str, int] = {}
        self.hashes_at: dict[int, str] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.publications: dict[str, dict[str, Any]] = {}
        self.event_entries: dict[str, int] = {}
        self._results: list[sa.CursorResult[Any]] = []
        self._events = iter(self._open(sa.select(_ce).order_by(_ce.c.seq)))
        self._pending: Any = next(self._events, None)

    def _open(self, query: sa.Select[Any]) -> sa.CursorResult[Any]:
        result = _stream(self.connection, query)
        self._results.append(result)
        return result

    def close(self) -> None:
        """Close the streaming cursors (a walk may stop half-way)."""
        for result in self._results:
            result.close()

    def _event_by_id(self, event_id: str) -> Any:
        return self.connection.execute(sa.select(_ce).where(_ce.c.event_id == event_id)).first()

    def walk(
        self,
        want: frozenset[int] | set[int] = frozenset(),
        find: str | None = None,
    ) -> int | None:
        """Walk the chain; remember hashes at the ``want`` seqs; return the entry of ``find``."""
        query = sa.select(_log).order_by(_log.c.seq)
        if self.upto is not None:
            query = query.where(_log.c.seq <= self.upto)
        found = None
        expected = 1
        for row in self._open(query):
            seq, kind, ref = int(row.seq), row.kind, row.ref
            where = f"log entry #{seq} ({kind} {ref})"
            if seq != expected:
                raise _Stop(
                    LogProblem(
                        expected,
                        None,
                        None,
                        f"log entry #{expected} is missing (the next is #{seq}): entries were "
                        "deleted from the log",
                    )
                )
            if row.prev_hash != self.running:
                raise _Stop(
                    LogProblem(
                        seq,
                        kind,
                        ref,
                        f"{where} does not link to the entry before it: an entry was deleted, "
                        "inserted or reordered, or this one was moved",
                    )
                )
            if link(self.running, seq, kind, ref, row.payload) != row.entry_hash:
                raise _Stop(
                    LogProblem(
                        seq, kind, ref, f"{where} was altered: its hash does not match its content"
                    )
                )
            self.running = row.entry_hash
            self.count = seq
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            if seq in want:
                self.hashes_at[seq] = self.running
            payload = orjson.loads(row.payload)
            if kind == EVENT:
                self._check_event(seq, ref, payload)
                if ref == find:
                    found = seq
            elif kind == REQUEST:
                self._fold_request(ref, payload)
            elif kind == PUBLICATION:
                self.publications[ref] = payload
            expected += 1
        return found

    def _check_event(self, seq: int, ref: str, payload: dict[str, Any]) -> None:
        position = int(payload["seq"])
        self.event_entries[ref] = seq
        while self._pending is not None and self._pending.seq < position:
            row = self._pending
            raise _Stop(_unlogged(row))
        row = self._pending
        if row is None or row.seq > position or row.event_id != ref:
            moved = self._event_by_id(ref)
            if moved is None:
                message = f"consent event {ref!r} (log entry #{seq}) was deleted from the registry"
            else:
                message = (
                    f"consent event {ref!r} (log entry #{seq}) was moved: logged at position "
                    f"{position}, now at {moved.seq} (events were reordered)"
                )
            raise _Stop(LogProblem(seq, EVENT, ref, message))
        now = _row_payload(row)
        if now != dumps(payload):
            raise _Stop(
                LogProblem(
                    seq,
                    EVENT,
                    ref,
                    f"consent event {ref!r} (log entry #{seq}) was edited after it was logged: "
                    + _differences(payload, orjson.loads(now)),
                )
            )
        self._pending = next(self._events, None)

    def _fold_request(self, ref: str, payload: dict[str, Any]) -> None:
        state = self.requests.setdefault(ref, {})
        action = payload.get("action")
        if action == "received":
            state.clear()
            state.update({k: v for k, v in payload.items() if k != "action"})
            state.setdefault("extended", False)
            state.setdefault("extension_reason", None)
            state.setdefault("status", "open")
            state.setdefault("answered_at", None)
            state.setdefault("answer", None)
        elif action == "extended":
            state.update(deadline=payload["deadline"], extended=True)
            state["extension_reason"] = payload.get("reason")
        elif action == "answered":
            state.update(
                status="answered", answered_at=payload["answered_at"], answer=payload.get("answer")
            )

    def finish_events(self) -> None:
        if self._pending is not None:
            raise _Stop(_unlogged(self._pending))


def _unlogged(row: Any) -> LogProblem:
    return LogProblem(
        None,
        EVENT,
        row.event_id,
        f"consent event {row.event_id!r} (position {row.seq}) is in the registry but not in the "
        "log: it was inserted behind tamis' back, or its id or position was changed",
    )


def _check_requests(connection: sa.Connection, walker: _Walker) -> None:
    from tamis.rights._tables import erasure_tombstones, rights_requests

    rows = {r.request_id: r for r in connection.execute(sa.select(rights_requests))}
    for request_id, state in walker.requests.items():
        row = rows.pop(request_id, None)
        if row is None:
            raise _Stop(
                LogProblem(None, REQUEST, request_id, f"rights request {request_id!r} was deleted")
            )
        now = {
            "request_id": row.request_id,
            "kind": row.kind,
            "member_id": row.member_id,
            "member_ref": row.member_ref,
            "key_id": row.key_id,
            "received_at": instant_text(row.received_at),
            "deadline": instant_text(row.deadline),
            "consent_event_id": row.consent_event_id,
            "extended": bool(row.extended),
            "extension_reason": row.extension_reason,
            "status": row.status,
            "answered_at": None if row.answered_at is None else instant_text(row.answered_at),
            "answer": row.answer,
        }
        logged = {k: state.get(k) for k in now}
        if logged != now:
            raise _Stop(
                LogProblem(
                    None,
                    REQUEST,
                    request_id,
                    f"rights request {request_id!r} was edited behind the log: "
                    + _differences(logged, now),
                )
            )
    if rows:
        first = sorted(rows)[0]
        raise _Stop(LogProblem(None, REQUEST, first, f"rights request {first!r} is not in the log"))
    logged_tombstones = {
        (s["member_id"], rid, s["tombstone_at"])
        for rid, s in walker.requests.items()
        if s.get("tombstone_at")
    }
    stored = {
        (r.member_id, r.request_id, instant_text(r.at))
        for r in connection.execute(sa.select(erasure_tombstones))
    }
    if logged_tombstones != stored:
        diff = sorted(logged_tombstones ^ stored)[0]
        raise _Stop(
            LogProblem(
                None,
                REQUEST,
                diff[1],
                f"the erasure tombstones differ from the log (request {diff[1]!r}): a tombstone "
                "was added, removed or edited behind tamis' back",
            )
        )


def _check_publications(connection: sa.Connection, walker: _Walker) -> None:
    from tamis.lineage.store import publication_payload, snapshots

    rows = {r.manifest_sha256: r for r in connection.execute(sa.select(snapshots))}
    for ref, payload in walker.publications.items():
        row = rows.pop(ref, None)
        if row is None:
            raise _Stop(
                LogProblem(None, PUBLICATION, ref, f"published snapshot {ref[:16]} was deleted")
            )
        now = publication_payload(row)
        if now != payload:
            raise _Stop(
                LogProblem(
                    None,
                    PUBLICATION,
                    ref,
                    f"published snapshot {row.snapshot_id} was edited behind the log: "
                    + _differences(payload, now),
                )
            )
    if rows:
        row = next(iter(rows.values()))
        raise _Stop(
            LogProblem(
                None, PUBLICATION, row.manifest_sha256, f"snapshot {row.snapshot_id} is not logged"
            )
        )


def verify_log(
    connection: sa.Connection,
    *,
    checkpoints: Sequence[Mapping[str, Any]] = (),
    public_keys: Sequence[bytes] = (),
) -> LogReport:
    """Recompute the chain and compare every entry with what it logs; see :class:`LogReport`.

    ``checkpoints`` (signed, e.g. held by an auditor) are checked too, with the stored ones: the
    chain must hash to each checkpoint's head at its ``seq``; signatures are checked with the
    ``public_keys`` (PEM) whose key id matches (a checkpoint signed by none of them fails).
    """
    stored = [
        {
            "format": CHECKPOINT_FORMAT,
            "seq": int(r.seq),
            "head": r.head,
            "signed_at": instant_text(r.signed_at),
            "key_id": r.key_id,
            "signature": r.signature,
        }
        for r in connection.execute(sa.select(log_checkpoints).order_by(log_checkpoints.c.seq))
    ]
    all_checkpoints = [*stored, *checkpoints]
    walker = _Walker(connection)
    report = LogReport()
    try:
        walker.walk(want={int(c["seq"]) for c in all_checkpoints})
        walker.finish_events()
        head = read_head(connection)
        if head != Head(walker.count, walker.running):
            raise _Stop(
                LogProblem(
                    head.seq,
                    None,
                    None,
                    f"the log's head says #{head.seq} {head.hash[:16]}…, but the chain ends at "
                    f"#{walker.count} {walker.running[:16]}…: entries were removed from the end "
                    "or the head was changed",
                )
            )
        _check_requests(connection, walker)
        _check_publications(connection, walker)
        for checkpoint in all_checkpoints:
            _check_checkpoint(checkpoint, walker, public_keys, stored=checkpoint in stored)
            report.checkpoints += 1
    except _Stop as stop:
        report.problem = stop.problem
    finally:
        walker.close()
    report.entries = walker.count
    report.head = Head(walker.count, walker.running)
    report.by_kind = walker.by_kind
    return report


def _check_checkpoint(
    checkpoint: Mapping[str, Any], walker: _Walker, public_keys: Sequence[bytes], *, stored: bool
) -> None:
    from tamis.lineage.signing import public_key_id, verify_json

    seq = int(checkpoint["seq"])
    what = f"checkpoint #{seq} signed {checkpoint.get('signed_at')}"
    chain = walker.hashes_at.get(seq)
    if chain is None:
        raise _Stop(
            LogProblem(seq, None, None, f"{what}: the log has no entry #{seq}; it was truncated")
        )
    if chain != checkpoint["head"]:
        raise _Stop(
            LogProblem(
                seq,
                None,
                None,
                f"{what}: the chain hashes to {chain[:16]}… at #{seq}, the checkpoint says "
                f"{str(checkpoint['head'])[:16]}…: the history up to #{seq} was rewritten",
            )
        )
    keys = [k for k in public_keys if public_key_id(k) == checkpoint["key_id"]]
    if not keys:
        if stored:
            return  # a stored checkpoint whose key is not given: its head is what matters here
        raise _Stop(
            LogProblem(
                seq,
                None,
                None,
                f"{what}: signed by key {checkpoint['key_id']}, not by the public key given",
            )
        )
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    try:
        verify_json(keys[0], body, str(checkpoint["signature"]))
    except VerificationError as exc:
        raise _Stop(LogProblem(seq, None, None, f"{what}: {exc}")) from None


def verify_registry(
    registry: ConsentRegistry,
    *,
    checkpoints: Sequence[Mapping[str, Any]] = (),
    public_keys: Sequence[bytes] = (),
) -> LogReport:
    """:func:`verify_log` in one read transaction of ``registry``."""
    with registry.reading("verifying the consent log") as connection:
        return verify_log(connection, checkpoints=checkpoints, public_keys=public_keys)


# -- proofs against a snapshot ----------------------------------------------------------------


@dataclass(frozen=True)
class EventProof:
    """An event is in the history (entries 1..``head.seq``) that a snapshot committed to."""

    event_id: str
    entry: int
    head: Head
    event: dict[str, Any]
    cutoff: str
    applied: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "entry": self.entry,
            "snapshot_log_head": self.head.as_dict(),
            "event": self.event,
            "cutoff": self.cutoff,
            "applied": self.applied,
        }


def manifest_head(manifest: Mapping[str, Any]) -> Head:
    """The ``consent_log_head`` a snapshot recorded."""
    section = manifest.get(MANIFEST_FIELD)
    if not isinstance(section, Mapping):
        raise VerificationError(
            "the snapshot's manifest records no consent_log_head (built without a registry, or "
            "by a tamis without the consent log)"
        )
    return Head(int(section["seq"]), str(section["head"]))


def prove_event(
    connection: sa.Connection, event_id: str, manifest: Mapping[str, Any]
) -> EventProof:
    """Show that ``event_id`` is in the consent history the snapshot of ``manifest`` applied.

    Recomputes the chain up to the manifest's ``consent_log_head``: it must hash to the recorded
    head (else the history was rewritten after the build); the event's entry must be in that
    prefix and the event, as stored now, must match it (else it was altered after the build).
    ``applied`` says whether the event's ``ts`` is at or before the snapshot's cutoff.
    """
    committed = manifest_head(manifest)
    cutoff = str(manifest.get("cutoff"))
    walker = _Walker(connection, upto=committed.seq)
    try:
        found = walker.walk(find=event_id)
    except _Stop as stop:
        raise VerificationError(
            f"the consent history the snapshot applied does not verify: {stop.problem}"
        ) from None
    finally:
        walker.close()
    if walker.count != committed.seq or walker.running != committed.hash:
        raise VerificationError(
            f"the registry's log up to entry #{committed.seq} hashes to {walker.running[:16]}… "
            f"(#{walker.count}), but the snapshot recorded {committed.hash[:16]}…: the consent "
            "history was rewritten after the build"
        )
    if found is None:
        later = connection.execute(
            sa.select(_log.c.seq).where(_log.c.kind == EVENT, _log.c.ref == event_id)
        ).first()
        if later is not None:
            raise VerificationError(
                f"consent event {event_id!r} was logged after the snapshot's history (entry "
                f"#{later[0]} > #{committed.seq}): the snapshot did not apply it"
            )
        raise VerificationError(f"consent event {event_id!r} is not in the consent log")
    payload = orjson.loads(
        connection.execute(sa.select(_log.c.payload).where(_log.c.seq == found)).scalar_one()
    )
    applied = str(payload["ts"]) <= _fixed(cutoff)
    return EventProof(event_id, found, committed, payload, cutoff, applied)


def _fixed(text: str) -> str:
    from tamis.timefmt import parse_instant

    return instant_text(parse_instant(text, what="cutoff"))


def prove_in_registry(
    registry: ConsentRegistry, event_id: str, snapshot_dir: str | os.PathLike[str]
) -> EventProof:
    """:func:`prove_event` for the snapshot in ``snapshot_dir``."""
    from tamis.pipeline.manifest import read_manifest

    manifest = read_manifest(Path(snapshot_dir))
    with registry.reading("proving an event") as connection:
        return prove_event(connection, event_id, manifest)


# -- checkpoints ------------------------------------------------------------------------------


def make_checkpoint(registry: ConsentRegistry, signer: SigningKey) -> dict[str, Any]:
    """Sign the current head and store the checkpoint; returns it (publish it, keep it)."""
    from tamis.lineage.signing import canonical_json  # noqa: F401 - sign_json uses it

    now = datetime.now(UTC)
    with registry.writing("signing a log checkpoint") as connection:
        head = lock_head(connection)
        body = {
            "format": CHECKPOINT_FORMAT,
            "seq": head.seq,
            "head": head.hash,
            "signed_at": instant_text(now),
            "key_id": signer.key_id,
        }
        signature = signer.sign_json(body)
        connection.execute(
            sa.insert(log_checkpoints).values(
                seq=head.seq,
                head=head.hash,
                signed_at=now,
                key_id=signer.key_id,
                signature=signature,
            )
        )
    return {**body, "signature": signature}


# -- the build --------------------------------------------------------------------------------


def _counts(connection: sa.Connection, upto: int, cutoff: datetime) -> dict[str, int]:
    applied = connection.execute(
        sa.select(sa.func.count()).where(
            _log.c.kind == EVENT, _log.c.seq <= upto, _log.c.event_ts <= cutoff
        )
    ).scalar_one()
    events = connection.execute(
        sa.select(sa.func.count()).where(_log.c.kind == EVENT, _log.c.seq <= upto)
    ).scalar_one()
    return {"events": int(events), "events_applied": int(applied)}


class _LogHeadSection:
    """Build observer: the manifest's ``consent_log_head`` (the chain head the build applied).

    The head is read when the build starts, and again before the manifest is written. Entries
    appended in between that could have changed the build (a consent event with ``ts <= cutoff``,
    an erasure) make the build fail: which of them it applied would be unknowable. Other entries
    (events after the cutoff, access requests, publications) are irrelevant to the snapshot, and
    the head at the start is the one recorded.
    """

    def __init__(self, db: str | None = None) -> None:
        self.db = db
        self._start: dict[str, Head] = {}

    def _url(self, run: BuildRun) -> str | None:
        return build_registry_url(self.db or run.request.registry_url)

    def build_started(self, run: BuildRun) -> None:
        from tamis.consent.registry import open_registry

        url = self._url(run)
        if url is None:
            return
        with (
            open_registry(url, existing=True) as registry,
            registry.reading("reading the log head") as c,
        ):
            self._start[run.run_id] = read_head(c)

    def manifest_sections(self, run: BuildRun, manifest: dict[str, Any]) -> dict[str, Any]:
        from tamis.consent.registry import open_registry
        from tamis.timefmt import parse_instant

        start = self._start.pop(run.run_id, None)
        url = self._url(run)
        if start is None or url is None:
            return {}
        cutoff = parse_instant(manifest["cutoff"], what="cutoff")
        with (
            open_registry(url, existing=True) as registry,
            registry.reading("reading the log head") as c,
        ):
            rows = c.execute(
                sa.select(_log.c.seq, _log.c.kind, _log.c.ref, _log.c.payload, _log.c.event_ts)
                .where(_log.c.seq > start.seq)
                .order_by(_log.c.seq)
            ).all()
            for row in rows:
                relevant = (row.kind == EVENT and row.event_ts <= cutoff) or (
                    row.kind == REQUEST
                    and '"erasure"' in row.payload
                    and '"received"' in row.payload
                )
                if relevant:
                    raise SnapshotError(
                        f"the consent history changed during the build ({row.kind} {row.ref}, "
                        f"log entry #{row.seq}, bears on the cutoff): whether the build applied "
                        "it is unknowable; build again"
                    )
            counts = _counts(c, start.seq, cutoff)
        return {
            MANIFEST_FIELD: {
                "format": LOG_FORMAT,
                **start.as_dict(),
                **counts,
            }
        }

    def build_completed(self, run: BuildRun, manifest: dict[str, Any]) -> None:
        self._start.pop(run.run_id, None)

    def build_failed(self, run: BuildRun, error: BaseException) -> None:
        self._start.pop(run.run_id, None)


_observer_class: type | None = None


def __getattr__(name: str) -> Any:
    """``LogHeadSection``: :class:`_LogHeadSection` as a ``BuildObserver`` subclass, made on first
    use so that importing the registry does not import the pipeline."""
    global _observer_class
    if name != "LogHeadSection":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _observer_class is None:
        from tamis.pipeline.build import BuildObserver

        _observer_class = type(
            "LogHeadSection",
            (_LogHeadSection, BuildObserver),
            {"__doc__": _LogHeadSection.__doc__, "__module__": __name__},
        )
    return _observer_class
