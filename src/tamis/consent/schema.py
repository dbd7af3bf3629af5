"""The registry's tables, as SQLAlchemy Core objects (the migrations create them).

``consent_events`` is append-only (triggers reject UPDATE, DELETE and, on PostgreSQL, TRUNCATE);
``consent_rejects`` accepts one kind of UPDATE: resolving an unresolved reject.

Instants are stored so that ordering by the column is chronological on every backend:
``TIMESTAMPTZ`` on PostgreSQL, fixed-width UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` elsewhere
(SQLite has no timestamp type; fixed-width text sorts like the instants it spells). Text
identifiers use the ``"C"`` collation on PostgreSQL, so that they sort by code point, as SQLite and
Python do, whatever the database's locale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from tamis.errors import TimestampError

INSTANT_TEXT_WIDTH = 27  # len("2025-11-03T00:00:00.000000Z")


def instant_text(value: datetime) -> str:
    """The fixed-width UTC text form used on SQLite (always six fraction digits, 'Z').

    >>> instant_text(datetime(2025, 11, 3, tzinfo=UTC))
    '2025-11-03T00:00:00.000000Z'
    """
    v = value
    if v.tzinfo is not UTC:  # already UTC (every instant tamis makes): no conversion
        if v.tzinfo is None or v.utcoffset() is None:
            raise TimestampError(f"instant {v.isoformat()!r} has no offset; it is ambiguous")
        v = v.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f".{v.microsecond:06d}Z"
    )


def instant_texts(instants: pa.Array) -> pa.Array:
    """:func:`instant_text` over an Arrow ``timestamp[us, UTC]`` array (vectorised).

    Casting the UTC wall-clock time to text is several times faster than ``strftime``.
    """
    wall = instants.cast(pa.timestamp("us")).cast(pa.string())  # 2025-11-03 00:00:00.000000
    return pc.binary_join_element_wise(pc.utf8_replace_slice(wall, 10, 11, "T"), "Z", "")


def parse_instant_text(text: str) -> datetime:
    """Inverse of :func:`instant_text`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Instant(sa.types.TypeDecorator[datetime]):
    """An aware UTC ``datetime`` with microseconds; naive values are refused."""

    impl = sa.String(INSTANT_TEXT_WIDTH)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.String(INSTANT_TEXT_WIDTH))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise TimestampError(f"instant {value.isoformat()!r} has no offset; it is ambiguous")
        if dialect.name == "postgresql":
            return value.astimezone(UTC)
        return instant_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return parse_instant_text(str(value))


def ident(length: int | None = None) -> sa.types.TypeEngine[str]:
    """Text identifiers: code-point order everywhere ("C" collation on PostgreSQL)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


metadata = sa.MetaData()

consent_events = sa.Table(
    "consent_events",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("event_id", ident(), nullable=False),
    sa.Column("member_id", ident(), nullable=False),
    sa.Column("setting", ident(), nullable=False),
    sa.Column("value", sa.Boolean(), nullable=False),
    sa.Column("ts", Instant(), nullable=False),
    sa.Column("channel", ident(), nullable=False),
    sa.Column("recorded_at", Instant(), nullable=False),
    sa.UniqueConstraint("event_id", name="uq_consent_events_event_id"),
    sqlite_autoincrement=True,
)

consent_rejects = sa.Table(
    "consent_rejects",
    metadata,
    sa.Column(
        "reject_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("file", sa.Text(), nullable=False),
    sa.Column("line", sa.BigInteger(), nullable=True),
    sa.Column("member_id", ident(), nullable=True),
    sa.Column("event_id", ident(), nullable=True),
    sa.Column("field", sa.Text(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("recorded_at", Instant(), nullable=False),
    sa.Column("resolved_at", Instant(), nullable=True),
    sa.Column("resolution", sa.Text(), nullable=True),
    sqlite_autoincrement=True,
)

sa.Index(
    "ix_consent_events_decision",
    consent_events.c.setting,
    consent_events.c.member_id,
    consent_events.c.ts.desc(),
    consent_events.c.value,
    consent_events.c.event_id,
)
sa.Index("ix_consent_rejects_member", consent_rejects.c.member_id)
