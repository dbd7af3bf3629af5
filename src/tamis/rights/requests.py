"""Rights requests (GDPR Art. 15, 17, 21): recorded, answered within their deadline, logged.

:class:`RightsDesk` records a request and does what it implies, in one transaction with its entry
in the consent log:

* access (Art. 15): the member's data-use report (:mod:`tamis.rights.report`), answered at once;
* objection (Art. 21): a consent event ``genai_training = false`` (the desk's ``setting``;
  channel ``objection_form``) at the instant the request was received, so every build with a
  cutoff at or after it puts the member out (``objected``; an earlier cutoff keeps the data as
  of then, and says so);
  then the impact (:mod:`tamis.rights.impact`). An objection made as a *choice* (the member
  service's switch, ``tamis consent set --object``, an import) is such an event already:
  :meth:`RightsDesk.record_objection_choices` sweeps those without a request into answered
  requests with their impact;
* erasure (Art. 17): a tombstone, so every later build puts the member out (``erased``) whatever
  the export still holds; then the impact.

The desk holds the pseudonym key ring: the member is looked for in every snapshot under the
pseudonym of the key that snapshot was built with, so that snapshots built before a key rotation
are found; those built with a key the ring no longer holds are reported (a warning logged with
the request, and in :class:`Outcome`).

Deadlines (Art. 12(3)): one month from receipt (the same day of the next month, or its last day
when it has none: 31 January -> 28/29 February), extendable by two further months, with a reason.
A request still open after its deadline is overdue.
"""

from __future__ import annotations

import calendar
import dataclasses
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tamis.consent import log as consent_log
from tamis.consent.model import GENAI_TRAINING, NONMEMBER_PREFIX, ConsentEvent, to_instant
from tamis.consent.registry import ConsentRegistry, setting_key
from tamis.consent.schema import consent_events, instant_text
from tamis.errors import InputError
from tamis.keys import KeyRing, PseudonymKey
from tamis.lineage.store import models as lineage_models
from tamis.rights import impact
from tamis.rights._tables import affected_models, erasure_tombstones, rights_requests
from tamis.timefmt import format_instant

KINDS = ("access", "objection", "erasure")
ANSWER_MONTHS = 1
EXTENSION_MONTHS = 2
_r = rights_requests
_ce = consent_events


def add_months(instant: datetime, months: int) -> datetime:
    """``instant`` plus calendar months, the day clamped to the month's last (UTC).

    >>> add_months(datetime(2025, 1, 31, 9, tzinfo=UTC), 1).isoformat()
    '2025-02-28T09:00:00+00:00'
    """
    instant = instant.astimezone(UTC)
    month0 = instant.month - 1 + months
    year, month = instant.year + month0 // 12, month0 % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class RightsRequest:
    """A recorded request and where it stands."""

    request_id: str
    kind: str
    member_id: str
    member_ref: str
    key_id: str
    received_at: datetime
    deadline: datetime
    extended: bool
    extension_reason: str | None
    status: str
    answered_at: datetime | None
    answer: str | None
    consent_event_id: str | None

    @classmethod
    def from_row(cls, row: Any) -> RightsRequest:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def overdue(self, now: datetime | None = None) -> bool:
        return self.status == "open" and self.deadline < (now or datetime.now(UTC))

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "kind": self.kind,
            "member_id": self.member_id,
            "received_at": format_instant(self.received_at),
            "deadline": format_instant(self.deadline),
            "extended": self.extended,
            "extension_reason": self.extension_reason,
            "status": self.status,
            "answered_at": None if self.answered_at is None else format_instant(self.answered_at),
            "answer": self.answer,
            "consent_event_id": self.consent_event_id,
            "overdue": self.overdue(now),
        }


@dataclass
class Outcome:
    """What an objection or erasure did: the request, snapshots affected, models queued."""

    request: RightsRequest
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    queued: int = 0
    models: list[str] = field(default_factory=list)
    unverifiable: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": self.request.as_dict(),
            "affected_snapshots": self.snapshots,
            "models_queued": self.queued,
            "affected_models": self.models,
            "unverifiable_snapshots": self.unverifiable,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class ChoiceSweep:
    """What a sweep of objection choices did (:meth:`RightsDesk.record_objection_choices`).

    ``objections``: objection events found without a request, each now an answered request;
    ``misspelt``: how many of them were for a misspelt form of the setting (``GenAI-Training``
    for ``genai_training``: its member is out of builds as invalid, and the impact is queued
    all the same); ``models_queued``: new entries of the affected-models queue; ``snapshots``:
    the snapshots affected (ids, sorted); ``warnings``: warnings logged with the requests
    (snapshots that could not be checked); ``through``: the consent event ``seq`` up to which
    every objection has a request (where a later sweep may start).
    """

    objections: int = 0
    misspelt: int = 0
    models_queued: int = 0
    snapshots: tuple[str, ...] = ()
    warnings: int = 0
    through: int = 0

    @property
    def requests(self) -> int:
        """Requests recorded: one per objection found."""
        return self.objections

    def __add__(self, later: ChoiceSweep) -> ChoiceSweep:
        """Two tallies of one sweep, ``later`` after this one."""
        return ChoiceSweep(
            self.objections + later.objections,
            self.misspelt + later.misspelt,
            self.models_queued + later.models_queued,
            tuple(sorted({*self.snapshots, *later.snapshots})),
            self.warnings + later.warnings,
            max(self.through, later.through),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "objections": self.objections,
            "requests_recorded": self.requests,
            "misspelt_setting": self.misspelt,
            "models_queued": self.models_queued,
            "snapshots_affected": list(self.snapshots),
            "warnings": self.warnings,
            "through_seq": self.through,
        }


def _unswept(after: int) -> sa.Select[Any]:
    """Events saying no (``value = false``) after consent event ``seq`` ``after`` that no
    request refers to, in insertion order, for any setting: the desk keeps those of its own,
    however spelt (:meth:`RightsDesk._objects_to`), since a build reads a misspelt one as a
    possible objection too. Non-members' (``nonmember:`` subjects, in no snapshot) are not
    requests to make. The request is looked up by the event (``ix_rights_requests_event``,
    migration 0003). Read in the order of ``seq`` (the primary key) from ``after``, a sweep
    reads each event once."""
    requested = sa.exists().where(
        _r.c.member_id == _ce.c.member_id, _r.c.consent_event_id == _ce.c.event_id
    )
    return (
        sa.select(
            _ce.c.seq, _ce.c.event_id, _ce.c.member_id, _ce.c.setting, _ce.c.ts, _ce.c.channel
        )
        .where(
            _ce.c.seq > after,
            _ce.c.value.is_(False),
            ~_ce.c.member_id.startswith(NONMEMBER_PREFIX, autoescape=True),
            ~requested,
        )
        .order_by(_ce.c.seq)
    )


def _choice_answer(event: Any, setting: str) -> str:
    if event.setting != setting:
        return (
            f"recorded as the member's choice ({event.channel}, event {event.event_id}) for "
            f"setting {event.setting!r}, a misspelt form of {setting!r}: while it stands, every "
            "build puts the member out as invalid (consent_invalid); the event's source needs "
            "fixing"
        )
    return (
        f"recorded as the member's choice ({event.channel}, event {event.event_id}): in effect "
        f"for every build whose cutoff is at or after {format_instant(event.ts)}, until the "
        "member allows again"
    )


def _received_payload(row: Any, tombstone_at: datetime | None) -> dict[str, Any]:
    return {
        "action": "received",
        "request_id": row.request_id,
        "kind": row.kind,
        "member_id": row.member_id,
        "member_ref": row.member_ref,
        "key_id": row.key_id,
        "received_at": instant_text(row.received_at),
        "deadline": instant_text(row.deadline),
        "consent_event_id": row.consent_event_id,
        "tombstone_at": None if tombstone_at is None else instant_text(tombstone_at),
    }


class RightsDesk:
    """Records and answers members' rights requests against the registry's lineage store.

    ``keys`` is the pseudonym key ring (:func:`tamis.keys.load_keyring`); requests are recorded
    under its active key. A single key is a ring of one: snapshots built with any other key are
    then reported as unverifiable, never searched with the wrong pseudonym.

    ``setting`` is the consent setting an objection objects to: the one that governs the
    policy's purposes (``genai_training`` in the presets). An objection recorded for another
    setting would be read by no build of that policy; sweeps look for objections to it.
    """

    def __init__(
        self,
        registry: ConsentRegistry,
        keys: KeyRing | PseudonymKey,
        setting: str = GENAI_TRAINING,
    ) -> None:
        self.registry = registry
        self.keyring = impact.as_ring(keys)
        self.key = self.keyring.active
        self.setting = setting

    # -- recording ----------------------------------------------------------------------------

    def _record(
        self,
        connection: sa.Connection,
        kind: str,
        member_id: str,
        received_at: datetime,
        recorded_event: str | None = None,
    ) -> Any:
        if kind not in KINDS:
            raise InputError(f"a request is one of {', '.join(KINDS)}, not {kind!r}")
        if not member_id:
            raise InputError("name the member", field="member_id")
        request_id = f"req-{uuid.uuid4().hex}"
        event_id = recorded_event
        if kind == "objection" and recorded_event is None:
            event = ConsentEvent.create(
                f"objection-{request_id}",
                member_id,
                self.setting,
                False,
                received_at,
                "objection_form",
            )
            event_id = self.registry.append_in(connection, event).event.event_id
        connection.execute(
            sa.insert(_r).values(
                request_id=request_id,
                kind=kind,
                member_id=member_id,
                member_ref=self.key.member_ref(member_id),
                key_id=self.key.key_id,
                received_at=received_at,
                deadline=add_months(received_at, ANSWER_MONTHS),
                extended=False,
                status="open",
                consent_event_id=event_id,
                recorded_at=datetime.now(UTC),
            )
        )
        tombstone_at = None
        if kind == "erasure":
            tombstone_at = received_at
            connection.execute(
                sa.insert(erasure_tombstones).values(
                    member_id=member_id, request_id=request_id, at=received_at
                )
            )
        row = connection.execute(sa.select(_r).where(_r.c.request_id == request_id)).one()
        consent_log.append_entry(
            connection, consent_log.REQUEST, request_id, _received_payload(row, tombstone_at)
        )
        return row

    def _impact(
        self,
        kind: str,
        member_id: str,
        received_at: datetime | str | None,
        event: ConsentEvent | None = None,
        answer: str | None = None,
    ) -> Outcome:
        """Record a request, then its impact, in one transaction. With ``event`` (an objection
        already recorded), nothing is recorded if a request refers to it already: that request
        is the outcome. With ``answer``, the request is answered at once."""
        when = _instant(received_at)
        with self.registry.writing(f"recording an {kind}") as connection:
            if event is not None:
                consent_log.lock_head(connection)  # first: a sweep running now waits for us
                existing = self._request_of(connection, event)
                if existing is not None:
                    return Outcome(
                        RightsRequest.from_row(existing),
                        models=self._models_of(connection, existing.request_id),
                    )
            recorded_event = None if event is None else event.event_id
            row = self._record(connection, kind, member_id, when, recorded_event)
            if answer is not None:
                row = self._answer_in(connection, row.request_id, answer, datetime.now(UTC))
            recorded = impact.recorded_refs(connection, [member_id]).get(member_id)
            affected, queued, unverifiable = self._affect(connection, row, recorded)
            warnings = impact.record_unverifiable(connection, [(row, unverifiable)])
            models = self._models_of(connection, row.request_id)
        messages = [w["message"] for w in warnings]
        if kind == "objection":
            messages += self._still_allowed(member_id)
        return Outcome(
            RightsRequest.from_row(row),
            [
                {
                    "snapshot_id": s.snapshot_id,
                    "manifest_sha256": s.manifest_sha256,
                    "cutoff": format_instant(s.cutoff),
                }
                for s in affected
            ],
            queued,
            models,
            [snap for w in warnings for snap in w["snapshots"]],
            messages,
        )

    def _affect(
        self, connection: sa.Connection, request: Any, recorded: Mapping[str, str] | None
    ) -> tuple[list[Any], int, list[Any]]:
        """Queue the models of every snapshot ``request`` (a ``rights_requests`` row) affects:
        returns (affected snapshot rows, new queue entries, unverifiable snapshot rows). The
        caller logs the warnings of the unverifiable ones (:func:`impact.record_unverifiable`,
        for one request or many in one append). ``recorded``: the member's pseudonyms recorded
        with their requests (:func:`impact.recorded_refs`)."""
        refs = impact.request_refs(request, self.keyring, recorded)
        unverifiable = impact.unverifiable_snapshots(connection, request, refs)
        affected, queued = impact.queue_request(connection, request, refs, unverifiable)
        return affected, queued, unverifiable

    @staticmethod
    def _models_of(connection: sa.Connection, request_id: str) -> list[str]:
        """The models queued for a request, by name."""
        q, m = affected_models, lineage_models
        return list(
            connection.execute(
                sa.select(m.c.name)
                .distinct()
                .join(q, q.c.model_pk == m.c.model_pk)
                .where(q.c.request_id == request_id)
                .order_by(m.c.name)
            ).scalars()
        )

    @staticmethod
    def _request_of(connection: sa.Connection, event: ConsentEvent) -> Any:
        """The request that refers to a consent event, or None."""
        return connection.execute(
            sa.select(_r)
            .where(_r.c.member_id == event.member_id, _r.c.consent_event_id == event.event_id)
            .order_by(_r.c.recorded_at, _r.c.request_id)
        ).first()

    def _still_allowed(self, member_id: str) -> list[str]:
        """Why a recorded objection may not be in effect now: a later choice of the member's
        (an objection received on an earlier date, entered after the member allowed again)."""
        state = self.registry.state(member_id, datetime.now(UTC), self.setting)
        if state.value is not True or state.decided_by is None:
            return []
        by = state.decided_by
        return [
            f"the objection is recorded, but {member_id}'s setting is still 'allow': a later "
            f"choice (event {by.event_id}, {format_instant(by.ts)}, {by.channel}) outranks it; "
            "builds keep the member in until the member objects again"
        ]

    def object(self, member_id: str, received_at: datetime | str | None = None) -> Outcome:
        """Record an objection (Art. 21): the member is out of every build whose cutoff is at or
        after it; impact."""
        return self._impact("objection", member_id, received_at)

    def object_recorded(self, event: ConsentEvent, answer: str) -> Outcome:
        """An objection already recorded as a consent event (the member service's objection
        form writes its event at once): its request, answered with ``answer`` (the member has
        had their receipt), and its impact, so that the models on snapshots that hold the
        member's data are queued as for any objection; in one transaction. When a request
        refers to the event already (a sweep of choices took it first), nothing is recorded:
        the outcome is that request, with the models queued for it."""
        if event.value is not False:
            raise InputError(f"event {event.event_id} is no objection")
        return self._impact("objection", event.member_id, event.ts, event, answer)

    def record_objection_choices(
        self,
        batch: int = 100,
        *,
        after: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> ChoiceSweep:
        """Make every objection made as a choice an Art. 21 request, with its impact.

        An objection is a consent event ``genai_training = false`` (the desk's ``setting``).
        Those recorded as choices (the member service's switch, ``tamis consent set --object``,
        imports) have no request yet: each gets one, received at the event's ``ts``, answered
        at once (the member's choice is in effect from then on), and its impact queued as for
        any objection (models on snapshots holding the member's data). Events a request refers
        to already (the objection form's, ``tamis rights object``'s, an earlier sweep's) are
        left alone, and so are non-members' (``nonmember:`` subjects, in no snapshot): a second
        sweep records nothing.

        Oldest first, ``batch`` events a transaction; each transaction takes the consent log's
        head before it selects, so that sweeps running at once (the service's and a command's)
        never record two requests for one event. ``after``: only events after this ``seq`` (a
        previous sweep's ``through``). ``progress(done, total)`` is called after each
        transaction.
        """
        total = 0
        if progress is not None:
            with self.registry.reading("counting objection choices") as connection:
                by_setting = _unswept(after).with_only_columns(
                    _ce.c.setting, sa.func.count(), maintain_column_froms=True
                )
                counts = connection.execute(by_setting.group_by(_ce.c.setting).order_by(None))
                total = sum(n for name, n in counts if self._objects_to(name))
        swept = ChoiceSweep(through=after)
        for tally in self.sweep_objection_choices(batch, after=after):
            swept += tally
            if progress is not None:
                progress(tally.objections, max(total, swept.objections))
        return swept

    def sweep_objection_choices(
        self,
        batch: int = 100,
        *,
        after: int = 0,
        lock: AbstractContextManager[Any] | None = None,
    ) -> Iterator[ChoiceSweep]:
        """:meth:`record_objection_choices` one transaction at a time: yields the tally of each
        once it is committed (the last one's ``through`` is where a later sweep may start), so
        that a caller may pace itself, or stop, between transactions. ``lock`` is held around
        each write transaction, not while looking for events (a process with a writer of its
        own passes that writer's lock, so that the two take turns without meeting in the
        database's)."""
        if batch < 1:
            raise InputError(f"a batch holds at least one event, not {batch}", field="batch")
        through = after
        while True:
            # Found in a read (no lock held while looking), then taken under the log's head.
            # The newest seq first: on PostgreSQL each statement sees what was committed before
            # it began, so the events up to it are all visible to the search that follows.
            with self.registry.reading("finding objection choices") as connection:
                newest = connection.execute(sa.select(sa.func.max(_ce.c.seq))).scalar() or 0
                found = connection.execute(_unswept(through).limit(batch)).all()
            tally = ChoiceSweep()
            if objections := [row.seq for row in found if self._objects_to(row.setting)]:
                with lock or nullcontext():
                    tally = self._sweep_batch(objections)
            if len(found) == batch:
                through = found[-1].seq
            else:  # every event up to the newest was looked at: events commit in seq order
                through = max([through, newest, *(row.seq for row in found[-1:])])
            yield dataclasses.replace(tally, through=through)
            if len(found) < batch:
                return

    def _objects_to(self, setting: str) -> bool:
        """Whether an event saying no to ``setting`` objects to the desk's: the same setting,
        or a misspelt form of it (``GenAI-Training``), which builds read as a possible
        objection (:meth:`ConsentRegistry.misspelt_setting_members`)."""
        return setting_key(setting) == setting_key(self.setting)

    def _sweep_batch(self, seqs: Sequence[int]) -> ChoiceSweep:
        """One transaction of a sweep: the events at ``seqs`` that no request refers to yet."""
        now = datetime.now(UTC)
        with self.registry.writing("recording objection choices") as connection:
            consent_log.lock_head(connection)  # before selecting: concurrent sweeps take turns
            unswept = _unswept(0).where(_ce.c.seq.in_(seqs))
            events = [e for e in connection.execute(unswept) if self._objects_to(e.setting)]
            recorded = impact.recorded_refs(connection, {e.member_id for e in events})
            queued, snapshots = 0, set[str]()
            unverifiable: list[tuple[Any, list[Any]]] = []
            for event in events:
                row = self._record(
                    connection, "objection", event.member_id, event.ts, event.event_id
                )
                answer = _choice_answer(event, self.setting)
                row = self._answer_in(connection, row.request_id, answer, now)
                affected, added, unchecked = self._affect(
                    connection, row, recorded.get(event.member_id)
                )
                queued += added
                snapshots.update(snap.snapshot_id for snap in affected)
                unverifiable.append((row, unchecked))
            warnings = impact.record_unverifiable(connection, unverifiable)
        return ChoiceSweep(
            objections=len(events),
            misspelt=sum(e.setting != self.setting for e in events),
            models_queued=queued,
            snapshots=tuple(sorted(snapshots)),
            warnings=len(warnings),
        )

    def erase(self, member_id: str, received_at: datetime | str | None = None) -> Outcome:
        """Record an erasure (Art. 17): a tombstone puts the member out of every later build."""
        return self._impact("erasure", member_id, received_at)

    def access(
        self, member_id: str, received_at: datetime | str | None = None, *, answer: bool = True
    ) -> Any:
        """Record an access request (Art. 15) and return the member's data-use report.

        With ``answer`` the request is marked answered by this report.
        """
        from tamis.rights.report import build_access_report

        when = _instant(received_at)
        with self.registry.writing("recording an access request") as connection:
            row = self._record(connection, "access", member_id, when)
        report = build_access_report(
            self.registry, self.keyring, member_id, request_id=row.request_id
        )
        if answer:
            self.answer(row.request_id, "data-use report issued")
        return report

    # -- follow-up ------------------------------------------------------------------------------

    def extend(self, request_id: str, reason: str) -> RightsRequest:
        """Extend an open request's deadline by two months (Art. 12(3)); say why."""
        if not reason.strip():
            raise InputError("an extension needs its reason (Art. 12(3))", field="reason")
        with self.registry.writing("extending a request") as connection:
            row = self._open(connection, request_id)
            if row.extended:
                raise InputError(f"request {request_id} was already extended")
            deadline = add_months(row.received_at, ANSWER_MONTHS + EXTENSION_MONTHS)
            connection.execute(
                sa.update(_r)
                .where(_r.c.request_id == request_id)
                .values(deadline=deadline, extended=True, extension_reason=reason)
            )
            consent_log.append_entry(
                connection,
                consent_log.REQUEST,
                request_id,
                {"action": "extended", "deadline": instant_text(deadline), "reason": reason},
            )
            return RightsRequest.from_row(
                connection.execute(sa.select(_r).where(_r.c.request_id == request_id)).one()
            )

    def answer(
        self, request_id: str, answer: str, at: datetime | str | None = None
    ) -> RightsRequest:
        """Mark an open request answered (what was answered, and when)."""
        when = _instant(at)
        with self.registry.writing("answering a request") as connection:
            return RightsRequest.from_row(self._answer_in(connection, request_id, answer, when))

    def _answer_in(
        self, connection: sa.Connection, request_id: str, answer: str, when: datetime
    ) -> Any:
        """:meth:`answer` in the caller's write transaction; returns the request's row."""
        self._open(connection, request_id)
        connection.execute(
            sa.update(_r)
            .where(_r.c.request_id == request_id)
            .values(status="answered", answered_at=when, answer=answer)
        )
        consent_log.append_entry(
            connection,
            consent_log.REQUEST,
            request_id,
            {"action": "answered", "answered_at": instant_text(when), "answer": answer},
        )
        return connection.execute(sa.select(_r).where(_r.c.request_id == request_id)).one()

    def _open(self, connection: sa.Connection, request_id: str) -> Any:
        row = connection.execute(sa.select(_r).where(_r.c.request_id == request_id)).first()
        if row is None:
            raise InputError(f"no request {request_id!r}")
        if row.status != "open":
            raise InputError(f"request {request_id} is already answered")
        return row

    # -- reading --------------------------------------------------------------------------------

    def requests(
        self, *, member_id: str | None = None, open_only: bool = False
    ) -> list[RightsRequest]:
        """Requests (of a member, or all; open only, or all), by deadline."""
        query = sa.select(_r).order_by(_r.c.deadline, _r.c.request_id)
        if member_id is not None:
            query = query.where(_r.c.member_id == member_id)
        if open_only:
            query = query.where(_r.c.status == "open")
        with self.registry.reading("listing requests") as connection:
            return [RightsRequest.from_row(r) for r in connection.execute(query)]

    def overdue(self, now: datetime | None = None) -> list[RightsRequest]:
        """Open requests past their deadline."""
        now = now or datetime.now(UTC)
        return [r for r in self.requests(open_only=True) if r.overdue(now)]

    def warnings(self, request_id: str) -> list[dict[str, Any]]:
        """The warnings logged with a request (snapshots that could not be checked), oldest
        first."""
        with self.registry.reading("reading a request's warnings") as connection:
            return impact.request_warnings(connection, request_id)

    def affected_models(self, *, include_resolved: bool = False) -> list[impact.AffectedModel]:
        """The affected-models queue, for the DPO."""
        with self.registry.reading("listing affected models") as connection:
            return impact.list_affected(connection, include_resolved=include_resolved)

    def resolve(self, item_id: int, action: str, note: str) -> None:
        """Close an affected-models entry: retrain, unlearn, or documented (with the reason)."""
        with self.registry.writing("resolving an affected model") as connection:
            impact.resolve_affected(connection, item_id, action, note)


def erased_members(registry: ConsentRegistry) -> list[str]:
    """Members with an erasure tombstone, sorted (every build puts them out: ``erased``)."""
    with registry.reading("reading erasure tombstones") as connection:
        rows = connection.execute(
            sa.select(erasure_tombstones.c.member_id)
            .distinct()
            .order_by(erasure_tombstones.c.member_id)
        ).scalars()
        return list(rows)


def _instant(value: datetime | str | None) -> datetime:
    return datetime.now(UTC) if value is None else to_instant(value, what="received_at")
