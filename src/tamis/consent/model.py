"""Value objects of the consent registry, and the rule that decides a member's value.

The rule (data contract, consent semantics 3): a member's value for a setting at an instant C is
the value of the member's latest event for that setting with ``ts <= C``; an objection
(``value = false``) wins a tie at the same instant; among events equal on both, the smallest
``event_id`` (code-point order) decides, so that the answer never depends on insertion order.
No event: ``None``, the jurisdiction's default applies (the snapshot builder knows it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

import pyarrow as pa

from tamis.errors import InputError, TimestampError
from tamis.sources.schema import CONSENT_CHANNELS
from tamis.timefmt import ARROW_TS, SubMicrosecond, format_instant, parse_instant

GENAI_TRAINING = "genai_training"
NONMEMBER_PREFIX = "nonmember:"
"""How the subject of a non-member's objection begins (the member service records a verified
e-mail objection under ``nonmember:`` and a keyed pseudonym of the address): no snapshot holds
such a subject, so no rights request is made of it."""
MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far past the registry's clock an event's ``ts`` may be (the platform's clock may run a
little ahead). Further is refused: a member acts before their choice is recorded, and an event
dated in the future would, once that date comes, outrank every choice made in between (an
"allow" dated next year would undo an objection made next month)."""

# Columns of bulk_state() and invalid_members().
STATE_SCHEMA = pa.schema(
    [
        pa.field("member_id", pa.string(), nullable=False),
        pa.field("value", pa.bool_(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("ts", ARROW_TS, nullable=False),
    ]
)
INVALID_SCHEMA = pa.schema(
    [
        pa.field("member_id", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("rejects", pa.int64(), nullable=False),
    ]
)
REJECTS_SCHEMA = pa.schema(
    [
        pa.field("reject_id", pa.int64(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int64()),
        pa.field("member_id", pa.string()),
        pa.field("event_id", pa.string()),
        pa.field("field", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("recorded_at", ARROW_TS, nullable=False),
        pa.field("resolved_at", ARROW_TS),
        pa.field("resolution", pa.string()),
    ]
)


def to_instant(
    value: datetime | str, *, what: str = "timestamp", sub_microsecond: SubMicrosecond = "refuse"
) -> datetime:
    """An aware UTC datetime from an aware datetime (any offset) or RFC 3339 text with an offset
    (finer than a microsecond: see :mod:`tamis.timefmt`)."""
    if isinstance(value, str):
        return parse_instant(value, what=what, sub_microsecond=sub_microsecond)
    if not isinstance(value, datetime):
        raise TimestampError(
            f"{what} must be a datetime or RFC 3339 text, not {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimestampError(
            f"{what} {value.isoformat()!r} has no offset; it is ambiguous (give tzinfo, e.g. UTC)"
        )
    return value.astimezone(UTC)


@dataclass(frozen=True)
class ConsentEvent:
    """One consent event: ``member_id`` set ``setting`` to ``value`` at ``ts`` through ``channel``.

    ``seq`` (insertion order) and ``recorded_at`` (when the registry stored it) are known once the
    event is stored.
    """

    event_id: str
    member_id: str
    setting: str
    value: bool
    ts: datetime
    channel: str
    seq: int | None = None
    recorded_at: datetime | None = None

    @classmethod
    def create(
        cls,
        event_id: str,
        member_id: str,
        setting: str,
        value: bool,
        ts: datetime | str,
        channel: str,
    ) -> ConsentEvent:
        """A validated event (UTC instant; known channel; non-empty ids; a real bool)."""
        for name, text in (("event_id", event_id), ("member_id", member_id), ("setting", setting)):
            if not isinstance(text, str) or not text:
                raise InputError(f"{name} must be a non-empty string, not {text!r}", field=name)
        if not isinstance(value, bool):
            raise InputError(
                f"value must be true (allows) or false (objects), not {value!r}", field="value"
            )
        if channel not in CONSENT_CHANNELS:
            raise InputError(
                f"unknown channel {channel!r}; expected one of {', '.join(CONSENT_CHANNELS)}",
                field="channel",
            )
        instant = to_instant(ts, what="ts", sub_microsecond="ceil")  # as the export reader
        check_not_future(instant, datetime.now(UTC))
        return cls(event_id, member_id, setting, value, instant, channel)

    CONTENT_FIELDS: ClassVar[tuple[str, ...]] = ("member_id", "setting", "value", "ts", "channel")

    def differences(self, other: ConsentEvent) -> list[str]:
        """Descriptions of the content fields where ``other`` differs from this event.

        This event, once recorded, may carry its recording instant as ``ts``
        (:func:`no_later_than`): ``other`` is compared as it would have been recorded then."""
        if self.recorded_at is not None:
            other = no_later_than(other, self.recorded_at)
        out = []
        for name in self.CONTENT_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out.append(f"{name} {_show(mine)} (recorded) vs {_show(theirs)} (new)")
        return out


def no_later_than(event: ConsentEvent, recorded_at: datetime) -> ConsentEvent:
    """``event`` as the registry records it at ``recorded_at``: dated no later than that.

    A member acts before their choice is recorded. An event dated after its recording (a
    platform clock a little ahead: up to :data:`MAX_CLOCK_SKEW` is accepted) would, once its
    date came, outrank a choice the member made after it was recorded (an objection on the
    settings page a minute later). Recorded as of its recording, it cannot."""
    if event.ts <= recorded_at:
        return event
    return dataclasses.replace(event, ts=recorded_at)


def future_ts(ts: datetime, now: datetime, now_is: str = "now") -> str | None:
    """Why an event dated ``ts`` may not be recorded at ``now`` (later than ``now`` plus
    :data:`MAX_CLOCK_SKEW`), or None. ``now_is`` names ``now`` in the message."""
    if ts <= now + MAX_CLOCK_SKEW:
        return None
    return (
        f"ts {format_instant(ts)} is later than {now_is} ({format_instant(now)}): a consent "
        "event is recorded after the member acted, and one dated in the future would outrank "
        "every choice made before that date"
    )


def check_not_future(ts: datetime, now: datetime) -> None:
    """Raise :class:`InputError` for an event dated in the future (:func:`future_ts`)."""
    problem = future_ts(ts, now)
    if problem is not None:
        raise InputError(problem, field="ts")


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_instant(value)
    return repr(value)


@dataclass(frozen=True)
class Appended:
    """What :meth:`ConsentRegistry.append` did: ``inserted`` or ``duplicate`` (already recorded)."""

    status: Literal["inserted", "duplicate"]
    event: ConsentEvent


@dataclass(frozen=True)
class ImportSummary:
    """Counts of one import: new events, repeats already known (no-ops), rejects recorded."""

    inserted: int
    duplicates: int
    rejected: int

    @property
    def events(self) -> int:
        return self.inserted + self.duplicates


@dataclass(frozen=True)
class MemberState:
    """A member's value for a setting at an instant.

    ``value`` is None when the member has no event (the jurisdiction's default applies);
    ``decided_by`` is the deciding event; ``invalid`` is true when a snapshot must put the
    member out whatever ``value`` says (``consent_invalid``: fail closed): an unresolved reject
    (a consent event that could not be parsed), an event dated ahead of its recording, or an
    event for a misspelt form of the setting. ``why`` says which, one sentence each.
    """

    value: bool | None
    decided_by: ConsentEvent | None
    invalid: bool
    why: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventCount:
    setting: str
    value: bool
    channel: str
    events: int


@dataclass(frozen=True)
class RegistryStats:
    """Figures for the DPO: events by setting, value and channel; members; rejects."""

    url: str
    revision: str
    events: int
    members: int
    counts: tuple[EventCount, ...]
    first_ts: datetime | None
    last_ts: datetime | None
    unresolved_rejects: int
    unattributed_rejects: int  # unresolved rejects without a member id: no one to put out
    invalid_members: int
