"""The service's logic, without HTTP: a member's setting and why, their history, data use, and
objections. Routes (:mod:`.api`, :mod:`.pages`) only translate between this and HTTP."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from tamis.consent.model import NONMEMBER_PREFIX, ConsentEvent
from tamis.consent.registry import ConsentRegistry
from tamis.keys import KeyRing, PseudonymKey
from tamis.policy.categories import KIND_CATEGORY
from tamis.policy.loader import LoadedPolicy
from tamis.policy.model import Jurisdiction
from tamis.service.datause import DataUseSource, SnapshotUse
from tamis.service.identity import Principal, normalize_email
from tamis.service.writer import GroupCommitWriter
from tamis.timefmt import format_instant

if TYPE_CHECKING:
    from tamis.service.sweeper import ObjectionSweeper

Source = Literal["choice", "default", "not_covered"]


# Event ids: UUID version 7 (RFC 9562, 5.7): 48 bits of Unix milliseconds, then 12 bits of
# sub-millisecond time (method 3 of 6.2), then 62 random bits. Ids made close in time sort
# together, so that the registry's indexes on event ids (and the log's on refs) take new ids in
# the same few pages: a group commit of n events dirties a handful of B-tree pages, not n (a third
# of the WAL bytes of random UUID 4s, measured). The random bits come from a generator seeded
# once per process from the OS: os.urandom on every request releases the GIL to the writer thread
# and costs a thread switch; uniqueness is what the ids need (nothing relies on their secrecy:
# no endpoint looks an event up by id). They reveal when the event was made, as its ts does.
_ids = random.Random(os.urandom(32))  # nosec B311  # ids, not secrets
_ids_lock = threading.Lock()
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))  # forked workers differ
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62


def new_event_id() -> str:
    """A new UUID 7 (time-ordered) event id."""
    ns = time.time_ns()
    ms, sub = divmod(ns, 1_000_000)
    with _ids_lock:
        rand = _ids.getrandbits(62)
    unix_ms = (ms & 0xFFFF_FFFF_FFFF) << 80
    sub_ms = (sub * 4096 // 1_000_000) << 64  # 12 bits
    return str(uuid.UUID(int=unix_ms | _VERSION_7 | sub_ms | _VARIANT | rand))


def receipt_number(event_id: str) -> str:
    """The receipt shown to the person: the event id, which the DPO can look up."""
    return event_id


@dataclass(frozen=True)
class SettingStatus:
    """A member's current value and why.

    ``source``: ``choice`` (their latest event decides), ``default`` (no event: their region's
    default) or ``not_covered`` (unknown country or no jurisdiction covers it: never used).
    ``in_effect``: whether their data can be used now (the value, the region's start date).
    """

    setting: str
    value: bool
    source: Source
    decided_by: ConsentEvent | None
    jurisdiction: Jurisdiction | None
    country: str | None
    invalid: bool
    as_of: datetime

    @property
    def started(self) -> bool:
        return self.jurisdiction is not None and self.jurisdiction.start <= self.as_of

    def as_dict(self) -> dict[str, Any]:
        j = self.jurisdiction
        return {
            "setting": self.setting,
            "value": self.value,
            "source": self.source,
            "decided_by": None if self.decided_by is None else event_dict(self.decided_by),
            "country": self.country,
            "jurisdiction": None
            if j is None
            else {
                "name": j.name,
                "default": j.default == "allow",
                "start": format_instant(j.start),
                "notice_from": None if j.notice_from is None else format_instant(j.notice_from),
                "minimum_age": j.minimum_age,
            },
            "invalid": self.invalid,
            "as_of": format_instant(self.as_of),
        }


@dataclass(frozen=True)
class Request:
    """One of the member's objections or changes, with its state (in effect, or superseded)."""

    event: ConsentEvent
    state: Literal["in_effect", "superseded"]

    def as_dict(self) -> dict[str, Any]:
        return {**event_dict(self.event), "state": self.state}


@dataclass(frozen=True)
class DataUse:
    """The snapshots that include a member, how many were checked, how many could not be (built
    with a pseudonym key the key ring no longer holds), and their requests."""

    member_ref: str
    uses: list[SnapshotUse]
    snapshots_checked: int
    requests: list[Request]
    snapshots_unverifiable: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "member_ref": self.member_ref,
            "snapshots_checked": self.snapshots_checked,
            "snapshots_unverifiable": self.snapshots_unverifiable,
            "snapshots": [u.as_dict() for u in self.uses],
            "requests": [r.as_dict() for r in self.requests],
        }


def event_dict(event: ConsentEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "receipt": receipt_number(event.event_id),
        "setting": event.setting,
        "value": event.value,
        "ts": format_instant(event.ts),
        "channel": event.channel,
    }


class MemberService:
    """What the member side can do; one instance per service, shared by all requests."""

    def __init__(
        self,
        registry: ConsentRegistry,
        writer: GroupCommitWriter,
        loaded: LoadedPolicy,
        key: KeyRing | PseudonymKey,
        data_use: DataUseSource,
        setting: str = "genai_training",
        sweeper: ObjectionSweeper | None = None,
    ) -> None:
        self.registry = registry
        self.writer = writer
        self.sweeper = sweeper  # woken by each objection made with the switch
        self.loaded = loaded
        self.policy = loaded.policy
        # the pseudonym key ring: the member is searched in each snapshot under the key it was
        # built with (a single key is a ring of one); the active key names them now
        self.keyring = key if isinstance(key, KeyRing) else KeyRing(key)
        self.key = self.keyring.active
        self.data_use_source = data_use
        if setting not in self.policy.settings:
            raise KeyError(
                f"the policy {self.policy.name} has no setting {setting!r}; "
                f"it has: {', '.join(self.policy.settings)}"
            )
        self.setting = setting
        self.purposes = [n for n, p in self.policy.purposes.items() if p.setting == setting]

    # -- reads -----------------------------------------------------------------------------------

    def status(self, principal: Principal, now: datetime | None = None) -> SettingStatus:
        now = now or datetime.now(UTC)
        state = self.registry.state(
            principal.member_id, now, setting=self.setting, declared=list(self.policy.settings)
        )
        jurisdiction = self.policy.jurisdiction_for(principal.country)
        source: Source
        if jurisdiction is None:
            source, value = "not_covered", state.value if state.value is not None else False
        elif state.decided_by is not None:
            source, value = "choice", bool(state.value)
        else:
            source, value = "default", jurisdiction.default == "allow"
        return SettingStatus(
            self.setting,
            value,
            source,
            state.decided_by,
            jurisdiction,
            principal.country,
            state.invalid,
            now,
        )

    def history(self, member_id: str) -> list[ConsentEvent]:
        """The member's events for the setting, newest first."""
        return list(reversed(self.registry.history(member_id, setting=self.setting)))

    def member_ref(self, member_id: str) -> str:
        return self.key.member_ref(member_id)

    def data_use(self, member_id: str) -> DataUse:
        refs = {key.key_id: key.member_ref(member_id) for key in self.keyring.keys}
        found = self.data_use_source.lookup(refs)
        events = self.history(member_id)
        # the event that decides now, by the registry's rule (at the same instant an objection
        # wins): not merely the newest, which a tie would get wrong
        deciding = self.registry.state(member_id, datetime.now(UTC), setting=self.setting)
        in_effect = deciding.decided_by.event_id if deciding.decided_by else None
        requests = [
            Request(e, "in_effect" if e.event_id == in_effect else "superseded") for e in events
        ]
        return DataUse(
            refs[self.key.key_id], found.uses, found.checked, requests, len(found.unverifiable)
        )

    def used_categories(self) -> list[str]:
        """Categories the purposes governed by the setting may use (union, sorted)."""
        return sorted({c for p in self.purposes for c in self.policy.used_categories(p)})

    def used_kinds(self) -> list[str]:
        return sorted({k for p in self.purposes for k in self.policy.allowed_kinds(p)})

    def never_used(self) -> list[str]:
        """Categories no purpose may ever use (the policy's exclusions), with excluded kinds."""
        ex = self.policy.exclusions
        kinds = [KIND_CATEGORY[k] for k in ex.content_kinds]
        return sorted(set(ex.categories) | set(kinds))

    # -- writes ----------------------------------------------------------------------------------

    async def set_choice(self, member_id: str, value: bool, channel: str) -> ConsentEvent:
        """Record the member's choice now; returns once the event is committed. An objection
        wakes the sweeper, which makes it a request with its impact in the background."""
        event = ConsentEvent.create(
            new_event_id(), member_id, self.setting, value, datetime.now(UTC), channel
        )
        stored = await self.writer.write(event)
        if value is False and self.sweeper is not None:
            self.sweeper.wake()
        return stored

    async def object_on_form(self, member_id: str) -> ConsentEvent:
        """A signed-in member's objection on the objection form; returns its receipt (event).

        Idempotent while an objection decides: a second submit (a double click, a retry after
        an error) answers with the deciding objection, records no second event or request, and
        completes the request of that objection if an error had cut it short."""
        now = datetime.now(UTC)
        state = await asyncio.to_thread(self.registry.state, member_id, now, self.setting)
        if state.value is False and state.decided_by is not None:
            event = state.decided_by
        else:
            event = await self.writer.write(
                ConsentEvent.create(
                    new_event_id(), member_id, self.setting, False, now, "objection_form"
                )
            )
        await self._objection_impact(event)
        return event

    async def _objection_impact(self, event: ConsentEvent) -> None:
        """An objection made on the objection form (signed in, or by a verified e-mail link) is
        an Art. 21 request like one made to the DPO's desk: it is recorded as a request
        (answered: the member has their receipt) and the models trained on snapshots holding
        the member's data are queued (``tamis rights affected-models``), before the member has
        their receipt. The settings page's switch records a choice (its writes are batched for
        load), as ``consent set`` and imports do: it puts the member out of later builds at
        once, and the service's sweeper (:mod:`.sweeper`; ``tamis rights sweep`` beside it)
        makes it an answered request with the same impact within seconds; the sweep passes
        over this objection, whose request refers to it already."""
        from tamis.rights import RightsDesk

        desk = RightsDesk(self.registry, self.keyring, self.setting)
        answer = f"recorded through the member service ({event.channel}); receipt {event.event_id}"

        # records nothing when a request refers to the event already (a retry, or the sweep
        # took it first): object_recorded looks under the consent log's lock
        await asyncio.to_thread(desk.object_recorded, event, answer)

    def nonmember_id(self, email: str) -> str:
        """The registry subject of a verified e-mail address that is no member's: a keyed
        pseudonym (the address itself is never stored)."""
        return (
            NONMEMBER_PREFIX + self.key.digest("objection-email", normalize_email(email)).hex()[:32]
        )

    async def object_verified(self, subject: str, nonce: str) -> tuple[ConsentEvent, bool]:
        """Record a verified objection (idempotent on the verification token's nonce).

        Returns the event and whether it is new (False: the link was already used, and that
        objection still decides). A link used again after the member allowed once more is an
        objection made again: it is recorded anew, not answered with the old receipt while the
        member's data is in use.
        """
        event_id = f"objection-{nonce}"
        history = await asyncio.to_thread(self.registry.history, subject, self.setting)
        used = [e for e in history if e.event_id.partition("-again-")[0] == event_id]
        if used:
            state = await asyncio.to_thread(
                self.registry.state, subject, datetime.now(UTC), self.setting
            )
            if state.value is False:  # an objection decides: nothing new to record
                if not subject.startswith(NONMEMBER_PREFIX):  # its request, if cut short
                    await self._objection_impact(used[-1])
                return used[-1], False
            event_id = f"{event_id}-again-{len(used)}"
        event = ConsentEvent.create(
            event_id, subject, self.setting, False, datetime.now(UTC), "objection_form"
        )
        event = await self.writer.write(event)
        if not subject.startswith(NONMEMBER_PREFIX):  # a member's: their data may be in use
            await self._objection_impact(event)
        return event, True
